//! What the delivery tests share: the Python interpreter that runs the real peers (an SMTP
//! server, a webhook receiver verifying signatures) from PyPI packages Herald did not write.

use std::path::PathBuf;

/// The interpreter of `target/xtask-venv`, where `cargo xtask python` (run by `cargo xtask
/// test`) installs aiosmtpd and standardwebhooks; `HERALD_PYTHON` names another.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("HERALD_PYTHON") {
        return python.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/xtask-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `cargo xtask python` to install the Python peers the delivery tests talk to",
        venv.display()
    );
    venv
}
