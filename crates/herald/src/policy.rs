//! `herald policy show` and `herald policy check`: the active policy printed, and a policy
//! file checked.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_domain::Policy;

use crate::cli::PolicyArgs;
use crate::inputs::{load_policy, read};
use crate::terminal::{self, count, say};

/// Prints the policy `--policy` names, or the default one.
pub fn show(args: &PolicyArgs) -> Result<ExitCode> {
    terminal::print_text(format_args!("{}", load_policy(args.policy.as_deref())?));
    Ok(ExitCode::SUCCESS)
}

/// Checks the policy file at `file` and says what it holds, or what is wrong with it.
pub fn check(file: &Path) -> Result<ExitCode> {
    let text = read(file)?;
    match Policy::parse(&text) {
        Ok(p) => {
            say!(
                "{}: a valid policy, version {}, with {} and {} ({})",
                file.display(),
                p.version(),
                count(p.rules().len() as u64, "rule", "rules"),
                count(p.categories().len() as u64, "category", "categories"),
                p.category_names()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => bail!("{}: {e}", file.display()),
    }
}
