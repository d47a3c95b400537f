//! demo
use anyhow::Result;
use std::process::ExitCode;
pub async fn run(_c: usize, _s: u64, _d: Option<std::path::PathBuf>) -> Result<ExitCode> {
    todo!()
}
