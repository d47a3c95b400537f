//! The database's files on disk. They hold webhook secrets and contacts' personal data, so
//! the database is created readable and writable by its owner only (0600) before SQLite
//! opens it, and a database that others may read or write is made so when opened. SQLite
//! gives its write-ahead log (`-wal`) and shared-memory index (`-shm`) the mode of the
//! database file; those already there from an earlier process are made private too.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Creates the database at `path` empty and private when missing (SQLite takes an empty
/// file for a new database), and takes away others' access to it and to its log and index.
#[cfg(unix)]
pub(crate) fn make_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let explain = |file: &Path, e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "{} could not be made readable by its owner only: {e}",
                file.display()
            ),
        )
    };
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(explain(path, e)),
    }
    for file in [path.to_owned(), beside(path, "-wal"), beside(path, "-shm")] {
        let mode = match fs::metadata(&file) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(explain(&file, e)),
        };
        if mode & 0o077 != 0 {
            fs::set_permissions(&file, fs::Permissions::from_mode(mode & 0o700))
                .map_err(|e| explain(&file, e))?;
        }
    }
    Ok(())
}

/// Elsewhere the files keep the permissions the system gives them.
#[cfg(not(unix))]
pub(crate) fn make_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// The file SQLite keeps beside the database under `suffix`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
