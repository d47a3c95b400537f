//! `herald route` and `herald explain`: a world file and a messages file routed by the
//! policy, with no store; the routing report as JSON lines, or why a customer or partner
//! did or did not hear.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use herald_domain::explain::{explain_customer, explain_partner};
use herald_domain::report::report;
use herald_domain::{route, Message};

use crate::cli::PolicyArgs;
use crate::inputs::{load_messages, load_policy, load_world};
use crate::terminal::{self, escaped, say};

/// Routes every message of `messages` against the world in `world`: one report a line.
pub fn route_file(world: &Path, messages: &Path, policy: &PolicyArgs) -> Result<ExitCode> {
    let policy = load_policy(policy.policy.as_deref())?;
    let directory = load_world(world)?;
    let messages = load_messages(messages)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = messages.into_iter().try_for_each(|item| {
        let parsed = item.and_then(|w| {
            Message::parse(w, &policy, &directory).map_err(|e| (e.message, e.reason))
        });
        match parsed {
            Ok(message) => {
                let routing = route(&policy, &directory, &message);
                let report = report(&policy, &directory, &message, &routing);
                out.write_all(terminal::json(&report, false)?.as_bytes())?;
            }
            Err((id, reason)) => {
                let refused = serde_json::json!({"message": id, "error": reason});
                out.write_all(terminal::json(&refused, false)?.as_bytes())?;
            }
        }
        out.write_all(b"\n")
    });
    match written.and_then(|()| out.flush()) {
        // A reader that stops early (`herald route … | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// Why `customer` or `partner` did or did not hear each message of `messages` (or only
/// message `only`).
pub fn explain(
    world: &Path,
    messages: &Path,
    only: Option<&str>,
    customer: Option<&str>,
    partner: Option<&str>,
    json: bool,
    policy: &PolicyArgs,
) -> Result<ExitCode> {
    let policy = load_policy(policy.policy.as_deref())?;
    let directory = load_world(world)?;
    let all = load_messages(messages)?;
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|m| match (only, m) {
            (None, _) => true,
            (Some(id), Ok(w)) => w.id.as_str() == id,
            (Some(id), Err((got, _))) => got.as_ref().is_some_and(|g| g.as_str() == id),
        })
        .collect();
    if chosen.is_empty() {
        bail!(
            "{} holds no message{}",
            messages.display(),
            only.map(|id| format!(" with id \"{}\"", escaped(id)))
                .unwrap_or_default()
        );
    }
    for item in chosen {
        let wire =
            item.map_err(|(id, e)| anyhow::anyhow!("message {}: {e}", id.unwrap_or_default()))?;
        let message = Message::parse(wire, &policy, &directory)?;
        let routing = route(&policy, &directory, &message);
        let answers = customer
            .map(|c| explain_customer(&policy, &directory, &message, &routing, c))
            .into_iter()
            .chain(partner.map(|p| explain_partner(&policy, &directory, &message, &routing, p)));
        for answer in answers {
            let answer = answer?;
            if json {
                say!("{}", terminal::json(&answer, false)?);
            } else {
                terminal::print_text(format_args!("{answer}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
