//! The PostgreSQL server the tests run against. `HERALD_TEST_POSTGRES` names one; failing
//! that, the server of this machine when one answers on 127.0.0.1:5432; failing that, a
//! throwaway server of our own: initialised under `target/xtask-postgres` (as root, under the
//! system's temporary folder instead, since the user `postgres` that runs it may not be able
//! to reach into a checkout under a private folder), listening on a
//! free port of 127.0.0.1 with its socket beside its data, never syncing to disk (a test
//! database need not survive a power cut), and stopped when xtask ends, whether the checks
//! passed or not. A port "answers" when it replies to PostgreSQL's `SSLRequest` as only
//! PostgreSQL does, so another program listening there is not mistaken for one.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::servers::Kind;
use crate::system::{check, install, is_root};

/// PostgreSQL, as the tests use it: user `postgres`, database `test`, trust authentication.
pub struct Postgres;

impl Kind for Postgres {
    const VARIABLE: &'static str = "HERALD_TEST_POSTGRES";
    const MACHINE: &'static str = "127.0.0.1:5432";
    type Throwaway = Throwaway;

    fn answers(address: SocketAddr) -> bool {
        answers(address)
    }

    fn machine_url() -> String {
        format!("postgres://postgres@{}/test", Self::MACHINE)
    }
}

/// Whether a PostgreSQL server answers at `address`: it replies to an `SSLRequest` (length
/// 8, code 80877103) with the single byte `S` or `N`.
pub fn answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let mut request = [0; 8];
    request[..4].copy_from_slice(&8u32.to_be_bytes());
    request[4..].copy_from_slice(&80_877_103u32.to_be_bytes());
    let mut reply = [0; 1];
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .and_then(|()| stream.write_all(&request))
        .and_then(|()| stream.read_exact(&mut reply))
        .is_ok_and(|()| matches!(&reply, b"S" | b"N"))
}

/// A server initialised and started by xtask in a folder of its own, for the tests only:
/// trust authentication, user `postgres`, database `test`. Dropping it stops it.
pub struct Throwaway {
    home: PathBuf,
    bin: PathBuf,
    port: u16,
    stopped: bool,
}

impl crate::servers::Throwaway for Throwaway {
    /// Initialises a server in `home/data` (anything there before is removed), starts it
    /// and creates the database `test`. PostgreSQL is installed with apt-get when this
    /// machine has none. As root, `home` moves to the temporary folder; see [`reachable`].
    fn start(home: &Path) -> Result<Throwaway, String> {
        let home = &reachable(home);
        let bin = match binaries() {
            Some(bin) => bin,
            None => {
                install("postgresql")?;
                binaries().ok_or(
                    "PostgreSQL was installed but no /usr/lib/postgresql/*/bin/initdb is there",
                )?
            }
        };
        let data = home.join("data");
        if data.join("postmaster.pid").exists() {
            // A server an earlier run could not stop; it goes with its folder.
            let _ = as_owner(&bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&data)
                .output();
        }
        if home.exists() {
            fs::remove_dir_all(home)
                .map_err(|e| format!("could not remove {}: {e}", home.display()))?;
        }
        fs::create_dir_all(home)
            .map_err(|e| format!("could not create {}: {e}", home.display()))?;
        if is_root() {
            check(
                "chown",
                Command::new("chown").arg("postgres:postgres").arg(home),
            )?;
        }
        check(
            "initdb",
            as_owner(&bin.join("initdb"))
                .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
                .args(["--no-locale", "--no-sync", "-D"])
                .arg(&data),
        )?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let server = Throwaway {
            home: home.to_path_buf(),
            bin,
            port,
            stopped: false,
        };
        check(
            "pg_ctl start",
            as_owner(&server.bin.join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(home.join("server.log"))
                .arg("-o")
                .arg(format!(
                    "-F -c fsync=off -c listen_addresses=127.0.0.1 -p {port} -k '{}'",
                    home.display()
                )),
        )?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers(address) {
            if Instant::now() > deadline {
                return Err(format!(
                    "the throwaway PostgreSQL server did not answer on {address}; its log is {}",
                    home.join("server.log").display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        check(
            "createdb test",
            as_owner(&server.bin.join("createdb"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(port.to_string())
                .arg("test"),
        )?;
        Ok(server)
    }

    /// The folder holding its data, socket and log.
    fn home(&self) -> &Path {
        &self.home
    }

    /// The port it listens on, on 127.0.0.1.
    fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its database `test`.
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }
}

impl Throwaway {
    /// Stops the server (fast: open connections are ended), once.
    pub fn stop(&mut self) -> Result<(), String> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        check(
            "pg_ctl stop",
            as_owner(&self.bin.join("pg_ctl"))
                .args(["stop", "-m", "fast", "-w", "-D"])
                .arg(self.home.join("data")),
        )
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if let Err(why) = self.stop() {
            eprintln!("xtask: the throwaway PostgreSQL server may still run: {why}");
        }
    }
}

/// Where a server meant for `home` can live. As root the server runs as the user `postgres`,
/// which must reach its data folder through every folder above it, and a checkout often sits
/// under a folder only root may enter (a home folder, a `mktemp -d`); so a root's server lives
/// in a folder of the system's temporary folder named after `home`, which every user may
/// traverse, and two checkouts never share one.
fn reachable(home: &Path) -> PathBuf {
    if !is_root() {
        return home.to_path_buf();
    }
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(home, &mut hasher);
    let name = home.file_name().map_or_else(
        || "xtask-postgres".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    std::env::temp_dir().join(format!(
        "herald-{name}-{:016x}",
        std::hash::Hasher::finish(&hasher)
    ))
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn binaries() -> Option<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// A command running `program` as the owner of the server's files: the user `postgres`
/// when xtask runs as root, else xtask's own user.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Throwaway as _;

    #[test]
    fn a_throwaway_server_answers_while_it_runs_and_is_gone_afterwards() {
        let home = crate::root().join("target/xtask-postgres-test");
        let mut server = Throwaway::start(&home).unwrap();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        assert!(answers(address), "the server answers on {address}");
        assert_eq!(
            server.url(),
            format!("postgres://postgres@127.0.0.1:{}/test", server.port())
        );
        server.stop().unwrap();
        assert!(
            !answers(address),
            "nothing answers on {address} once stopped"
        );
        assert!(!server.home().join("data/postmaster.pid").exists());
    }

    #[test]
    fn a_listener_that_is_not_postgresql_does_not_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let other = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0; 8];
            stream.read_exact(&mut request).unwrap();
            stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .unwrap();
        });
        assert!(!answers(address));
        other.join().unwrap();
    }
}
