//! bench
use anyhow::Result;
use std::process::ExitCode;
pub async fn run(_c: crate::cli::BenchCommand) -> Result<ExitCode> {
    todo!()
}
