//! The database's files hold webhook secrets and contacts' personal data: the database,
//! its write-ahead log and its shared-memory index are readable by their owner only,
//! whatever the umask, and a database made readable by others is made private when opened.
//! A store left open copies its write-ahead log into the database file as it goes, so the
//! log does not grow without end under a long-running server or worker.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use herald_store::{Actor, Store};

use crate::common::{fixture, temp_sqlite, ACCEPTED_AT};

/// The usual umask, under which a file is created readable by everyone.
fn usual_umask() {
    // SAFETY: umask only swaps the process's file creation mask.
    unsafe { libc::umask(0o022) };
}

/// The database file and the two SQLite keeps beside it.
fn files(path: &Path) -> [PathBuf; 3] {
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_owned(), beside("-wal"), beside("-shm")]
}

/// The permission bits of each file, in octal, with its name.
fn modes(path: &Path) -> Vec<(String, String)> {
    files(path)
        .iter()
        .map(|file| {
            let meta = std::fs::metadata(file)
                .unwrap_or_else(|e| panic!("{} exists: {e}", file.display()));
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                format!("{:o}", meta.permissions().mode() & 0o777),
            )
        })
        .collect()
}

/// Writes a directory and a message, so the log and its index exist and hold data.
async fn write_something(store: &Store) {
    let fx = fixture();
    store
        .import(&fx.directory, ACCEPTED_AT, &Actor::Operator)
        .await
        .unwrap();
    let rows = fx.routed("incident-teams-everywhere", ACCEPTED_AT);
    store
        .publish(&rows.publish(), None, &Actor::Operator)
        .await
        .unwrap();
}

/// What [`modes`] says of private files.
fn private(path: &Path) -> Vec<(String, String)> {
    files(path)
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, "600".to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_new_database_and_its_log_are_readable_by_their_owner_only() {
    usual_umask();
    let t = temp_sqlite().await;
    let path = t.scratch.path().expect("a file");
    write_something(&t.store).await;
    assert_eq!(modes(&path), private(&path));
}

#[tokio::test]
async fn a_database_readable_by_others_is_made_private_when_opened() {
    usual_umask();
    let t = temp_sqlite().await;
    let path = t.scratch.path().expect("a file");
    t.store.close().await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = t.scratch.open().await.expect("the store opens again");
    write_something(&store).await;
    assert_eq!(modes(&path), private(&path));
}

#[tokio::test]
async fn an_open_store_copies_its_log_into_the_database_file_as_it_goes() {
    let t = temp_sqlite().await;
    let path = t.scratch.path().expect("a file");
    let before = std::fs::metadata(&path).unwrap().len();
    write_something(&t.store).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::metadata(&path).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file still has {before} bytes: nothing left the log while the store was open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
