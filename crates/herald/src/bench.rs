//! `herald bench …`: runs a benchmark of `herald-bench` and prints its report, as one JSON
//! object or as a table for a person.

use std::process::ExitCode;

use anyhow::Result;
use herald_bench::BenchCommand;

use crate::terminal::{self, say};

/// Runs one benchmark and prints its figures.
pub async fn run(command: BenchCommand) -> Result<ExitCode> {
    let report = herald_bench::run(command).await?;
    if report.json {
        say!("{}", terminal::json(&report.figures, false)?);
    } else {
        say!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
