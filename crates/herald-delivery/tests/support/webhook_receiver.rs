//! The Python webhook receiver (`webhook_receiver.py`) as a child process: where it
//! listens, and the requests it reports, each verified by the PyPI `standardwebhooks`
//! package. The server's API tests use it too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use herald_delivery::Secret;
use serde_json::Value;
use tempfile::TempDir;

/// How long a test waits for the receiver to report a request.
const WAIT: Duration = Duration::from_secs(20);

/// A running receiver.
pub struct Receiver {
    child: Child,
    port: u16,
    reports: mpsc::Receiver<Value>,
    /// The file the receiver reads its secrets from.
    secrets: PathBuf,
    known: BTreeMap<String, String>,
    _folder: TempDir,
}

impl Receiver {
    /// A receiver that knows no secret yet.
    pub fn start() -> Receiver {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let secrets = folder.path().join("secrets.json");
        std::fs::write(&secrets, "{}").expect("the secrets file is written");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../herald-delivery/tests/support/webhook_receiver.py"
        );
        let mut child = Command::new(crate::support::python())
            .arg(script)
            .arg(&secrets)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
        let first = lines
            .next()
            .expect("the receiver says where it listens")
            .expect("a line");
        let port = first
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the receiver said {first:?}"));
        let (send, reports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let report = serde_json::from_str(&line).expect("the receiver reports JSON");
                if send.send(report).is_err() {
                    break;
                }
            }
        });
        Receiver {
            child,
            port,
            reports,
            secrets,
            known: BTreeMap::new(),
            _folder: folder,
        }
    }

    /// Has the receiver verify every request from now on with `secret` too, reporting
    /// under `name` whether it verified.
    pub fn know(&mut self, name: &str, secret: &Secret) {
        self.known.insert(name.to_owned(), secret.to_string());
        let text = serde_json::to_string(&self.known).expect("strings serialise");
        std::fs::write(&self.secrets, text).expect("the secrets file is written");
    }

    /// `http://{host}:{port}{path}` for this receiver's port.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// The next request the receiver reports.
    pub fn next(&self) -> Value {
        self.next_within(WAIT)
            .expect("the receiver reports the request")
    }

    /// The next request the receiver reports within `wait`, if one comes.
    pub fn next_within(&self, wait: Duration) -> Option<Value> {
        self.reports.recv_timeout(wait).ok()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
