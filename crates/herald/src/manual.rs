//! `herald completions` and `herald man`: the shell completions and the man pages, both
//! made from the same definition of the commands as `--help`, so they never drift from it.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::terminal::{esay, escaped};

/// Prints the completions of `herald` for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "herald", &mut out);
    let script = String::from_utf8(out).context("the completions are not UTF-8")?;
    crate::terminal::print_text(format_args!("{script}"));
    Ok(ExitCode::SUCCESS)
}

/// Writes `herald.1` and one page per command (`herald-route.1`, `herald-keys-create.1`,
/// …) into `out`.
pub fn man_pages(out: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("could not make {}", out.display()))?;
    let mut written = 0;
    write_pages(Cli::command(), "herald", out, &mut written)?;
    esay!(
        "wrote {written} man pages into {}",
        escaped(&out.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `command`, named `name`, and those of its subcommands.
fn write_pages(command: clap::Command, name: &str, out: &Path, written: &mut usize) -> Result<()> {
    let command = command.name(name.to_owned());
    let path = out.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&page))
        .with_context(|| format!("could not write {}", path.display()))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(
            sub.clone(),
            &format!("{name}-{}", sub.get_name()),
            out,
            written,
        )?;
    }
    Ok(())
}
