//! aiosmtpd (`smtp_server.py`) as a child process: an SMTP server Herald did not write,
//! where it listens, and the mails it reports. The CLI's delivery tests use it too.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// aiosmtpd in a child process, and the mails it reports, one JSON value each.
pub struct Aiosmtpd {
    child: Child,
    pub port: u16,
    mails: mpsc::Receiver<String>,
    _certificate: Option<tempfile::TempDir>,
}

impl Aiosmtpd {
    /// Starts the server in `mode` (see `support/smtp_server.py`), serving `certificate`
    /// for the TLS modes.
    pub fn start(mode: &str, certificate: Option<&(String, String)>) -> Aiosmtpd {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../herald-delivery/tests/support/smtp_server.py"
        );
        let mut command = Command::new(crate::support::python());
        command.arg(script).arg(mode);
        let folder = certificate.map(|(cert, key)| {
            let folder = tempfile::tempdir().expect("a temporary folder");
            std::fs::write(folder.path().join("cert.pem"), cert)
                .expect("the certificate is written");
            std::fs::write(folder.path().join("key.pem"), key).expect("the key is written");
            command
                .arg(folder.path().join("cert.pem"))
                .arg(folder.path().join("key.pem"));
            folder
        });
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP server starts");
        let stdout = child.stdout.take().expect("its output is piped");
        let (lines, mails) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = mails
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP server says it is ready within 30 s");
        let port = ready
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server said {ready:?} instead of READY <port>"));
        Aiosmtpd {
            child,
            port,
            mails,
            _certificate: folder,
        }
    }

    /// The next mail the server accepted. The server reports a mail before it answers the
    /// client, so a mail the client saw accepted is there already.
    pub fn next_mail(&self) -> Value {
        let line = self
            .mails
            .recv_timeout(Duration::from_secs(10))
            .expect("the SMTP server reports the mail it accepted");
        serde_json::from_str(&line).expect("the SMTP server reports JSON")
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
