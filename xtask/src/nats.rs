//! The NATS server with JetStream the tests run against. `HERALD_TEST_NATS` names one;
//! failing that, the server of this machine when one answers on 127.0.0.1:4222; failing
//! that, a throwaway `nats-server -js` of our own, listening on a free port of 127.0.0.1
//! with its JetStream store under `target/xtask-nats`, and stopped when xtask ends. A port
//! "answers" when what listens there greets a new connection with NATS's `INFO` line.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::servers::Kind;
use crate::system::install;

/// NATS with JetStream, as the tests use it.
pub struct Nats;

impl Kind for Nats {
    const VARIABLE: &'static str = "HERALD_TEST_NATS";
    const MACHINE: &'static str = "127.0.0.1:4222";
    type Throwaway = Throwaway;

    fn answers(address: SocketAddr) -> bool {
        answers(address)
    }

    fn machine_url() -> String {
        format!("nats://{}", Self::MACHINE)
    }
}

/// Where Debian's `nats-server` package puts the server.
const BINARY: &str = "/usr/sbin/nats-server";

/// Whether a NATS server answers at `address`: it greets a new connection with `INFO {…}`.
pub fn answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let mut greeting = [0; 5];
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .and_then(|()| stream.read_exact(&mut greeting))
        .is_ok_and(|()| &greeting == b"INFO ")
}

/// A `nats-server -js` started by xtask for the tests only; dropping it stops it.
pub struct Throwaway {
    home: PathBuf,
    port: u16,
    child: Child,
}

impl crate::servers::Throwaway for Throwaway {
    /// Starts a server with JetStream keeping its store in `home` (anything there before is
    /// removed). NATS is installed with apt-get when this machine has none.
    fn start(home: &Path) -> Result<Throwaway, String> {
        if !Path::new(BINARY).exists() {
            install("nats-server")?;
        }
        if home.exists() {
            fs::remove_dir_all(home)
                .map_err(|e| format!("could not remove {}: {e}", home.display()))?;
        }
        fs::create_dir_all(home)
            .map_err(|e| format!("could not create {}: {e}", home.display()))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let log = fs::File::create(home.join("server.log"))
            .map_err(|e| format!("could not create the server's log: {e}"))?;
        let child = Command::new(BINARY)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(home.join("jetstream"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("could not start {BINARY}: {e}"))?;
        let mut server = Throwaway {
            home: home.to_path_buf(),
            port,
            child,
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers(address) {
            if Instant::now() > deadline || matches!(server.child.try_wait(), Ok(Some(_))) {
                server.stop();
                return Err(format!(
                    "the throwaway NATS server did not answer on {address}; its log is {}",
                    home.join("server.log").display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn home(&self) -> &Path {
        &self.home
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Throwaway {
    /// Stops the server; stopping one already stopped does nothing.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Throwaway as _;

    #[test]
    fn a_throwaway_server_answers_while_it_runs_and_is_gone_afterwards() {
        let mut server = Throwaway::start(&crate::root().join("target/xtask-nats-test")).unwrap();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        assert!(answers(address), "the server answers on {address}");
        assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
        server.stop();
        assert!(
            !answers(address),
            "nothing answers on {address} once stopped"
        );
    }

    #[test]
    fn a_listener_that_is_not_nats_does_not_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let other = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            std::io::Write::write_all(&mut stream, b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        });
        assert!(!answers(address));
        other.join().unwrap();
    }
}
