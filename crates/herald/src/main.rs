//! The `herald` command: parses arguments and hands each subcommand to its module.

mod audit;
mod bench;
mod cli;
mod commands;
mod consume;
mod deliveries;
mod demo;
mod inputs;
mod keys;
mod listen;
mod logging;
mod manual;
mod messages;
mod policy;
mod routing;
mod serve;
mod store;
mod terminal;
mod work;

use std::process::ExitCode;

use clap::Parser;
use terminal::esay;

/// Directories of a million customers are millions of small records; mimalloc builds and
/// frees them without the fragmentation and consolidation stalls of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    terminal::show_local_times(args.local);
    match commands::run(args) {
        Ok(code) => code,
        Err(e) => {
            esay!("herald: {e:#}");
            ExitCode::FAILURE
        }
    }
}
