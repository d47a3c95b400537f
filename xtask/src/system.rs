//! What xtask asks of the machine: whether it runs as root, a package installed from the
//! distribution, a command run to its end with what it printed kept for the error.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// Installs `package` from the distribution's packages, through sudo unless root.
pub fn install(package: &str) -> Result<(), String> {
    let what = format!("apt-get install -y {package}");
    eprintln!("==> {what}");
    let mut command = if is_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("apt-get");
        sudo
    };
    check(
        &what,
        command
            .args(["install", "-y", package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Whether xtask runs as root (which PostgreSQL refuses to run as).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|me| me.uid() == 0)
}

/// Runs a command to its end; what it printed is kept for the error should it fail.
pub fn check(what: &str, command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("could not start {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
