//! The README's tour, run as written: every indented command block of its "A short tour"
//! section, read from `README.md` itself, runs in order in one `bash` in a scratch folder
//! (holding links to `examples/` and `target/`), against the release binary, with a real
//! SMTP server on loopback for the step that delivers mail. Each command must exit as the
//! tour says (0, or the `exits N` of its own comment), and each claim the tour makes in a
//! comment line under a command must hold of what that command printed: `# 403` that it
//! printed that status, `# {"key":value,...}` that its output holds each `"key":value`.
//! What each command printed is kept in the scratch folder's `transcript.txt`.

use std::fmt::Write as _;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the tour's mail goes: `herald work` in the tour names this server.
const SMTP_ADDRESS: &str = "127.0.0.1:2525";

/// One command of the tour, its continuation lines joined, with what the tour says of it.
#[derive(Debug)]
struct Step {
    command: String,
    /// The exit status the tour says it ends with.
    exits: i32,
    /// Comment lines under the command: what its output shows.
    claims: Vec<String>,
}

/// The commands of the section of `readme` headed `## A short tour`.
fn steps(readme: &str) -> Result<Vec<Step>, String> {
    let readme = format!("\n{readme}");
    let start = readme
        .find("\n## A short tour")
        .ok_or("README.md has no `## A short tour` section")?;
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let mut steps: Vec<Step> = Vec::new();
    let mut pending = String::new();
    for line in section.lines() {
        let Some(code) = line.strip_prefix("    ") else {
            continue;
        };
        if let Some(claim) = code.trim_start().strip_prefix('#') {
            if pending.is_empty() {
                if let Some(step) = steps.last_mut() {
                    step.claims.push(claim.trim().to_owned());
                }
            }
            continue;
        }
        let code = if pending.is_empty() {
            code
        } else {
            code.trim_start()
        };
        pending.push_str(code.trim_end_matches('\\').trim_end());
        if code.trim_end().ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let command = std::mem::take(&mut pending);
        let exits = command
            .split_once(" # ")
            .and_then(|(_, comment)| comment.split_once("exits "))
            .and_then(|(_, n)| n.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        steps.push(Step {
            command,
            exits,
            claims: Vec::new(),
        });
    }
    if steps.is_empty() {
        return Err("the tour holds no command".into());
    }
    Ok(steps)
}

/// The port a command run in the background listens on, which the tour waits for before
/// going on, as a person would before typing the next command. The command's step fails,
/// saying so, when nothing listens there within 30 seconds.
fn port_of(command: &str) -> u16 {
    command
        .split_whitespace()
        .skip_while(|w| *w != "--listen")
        .nth(1)
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

/// The command `command` puts in the background, without its `&` and its comment, if it
/// ends so (`herald serve &  # why`).
fn in_background(command: &str) -> Option<&str> {
    let code = command
        .rfind(" #")
        .map_or(command, |comment| &command[..comment]);
    code.trim_end().strip_suffix('&').map(str::trim_end)
}

/// The script running `steps` in `dir`, each command's output, errors and exit status in
/// files numbered by step.
fn script(steps: &[Step], dir: &Path) -> String {
    let mut script = String::from("set -u\n");
    let _ = writeln!(script, "cd '{}'", dir.display());
    for (n, step) in steps.iter().enumerate() {
        let command = step.command.trim_end();
        if let Some(background) = in_background(command) {
            let port = port_of(background);
            let _ = writeln!(
                script,
                "{background} > out.{n} 2> err.{n} &\necho 1 > code.{n}\n\
                 for _ in $(seq 300); do if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; \
                 then echo 0 > code.{n}; break; fi; sleep 0.1; done\n\
                 [ \"$(cat code.{n})\" = 0 ] || echo 'xtask: nothing listened on 127.0.0.1:{port} within 30 s' >> err.{n}"
            );
        } else {
            let _ = writeln!(
                script,
                "{{ {command}\n}} > out.{n} 2> err.{n} < /dev/null; echo $? > code.{n}"
            );
        }
    }
    script.push_str("kill $(jobs -p) 2>/dev/null; wait\n");
    script
}

/// Whether `output` holds what `claim` says: a leading status, or each `"key":value` of a
/// JSON fragment (`...` standing for what the tour leaves out, between pairs or inside a
/// value).
fn holds(claim: &str, output: &str) -> Result<(), String> {
    let compact: String = output.split_whitespace().collect();
    if let Some(status) = claim.split_whitespace().next().filter(|w| {
        w.trim_end_matches(',').len() == 3 && w.trim_end_matches(',').parse::<u16>().is_ok()
    }) {
        let status = status.trim_end_matches(',');
        return if output.trim_start().starts_with(status) {
            Ok(())
        } else {
            Err(format!("it says {status}"))
        };
    }
    let Some(open) = claim.find('{') else {
        return Ok(());
    };
    let fragment = claim[open..].trim_start_matches('{').trim_end_matches('}');
    for part in fragment.split(",...").flat_map(split_pairs) {
        let part: String = part.split_whitespace().collect();
        // `...` inside a value stands for what the tour leaves out of it.
        let mut rest = compact.as_str();
        for piece in part.split("...").filter(|p| !p.is_empty()) {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return Err(format!("it shows {part}")),
            }
        }
    }
    Ok(())
}

/// The top-level `"key":value` pairs of a JSON object's inside, split at commas outside
/// brackets and quotes.
fn split_pairs(text: &str) -> Vec<String> {
    let (mut pairs, mut current, mut depth, mut quoted) = (Vec::new(), String::new(), 0, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    pairs.push(current);
    pairs
        .into_iter()
        .map(|p| p.trim_start_matches("...").to_owned())
        .collect()
}

/// An SMTP server on [`SMTP_ADDRESS`] that takes every mail (aiosmtpd, from the tests'
/// virtual environment), stopped when dropped.
struct Smtp(Child);

impl Smtp {
    fn start(python: &Path) -> Result<Smtp, String> {
        let (host, port) = SMTP_ADDRESS.split_once(':').expect("host:port");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l"])
            .arg(format!("{host}:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start aiosmtpd: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(SMTP_ADDRESS).is_err() {
            if Instant::now() > deadline {
                return Err(format!("aiosmtpd did not listen on {SMTP_ADDRESS}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Smtp(child))
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the tour of `root`'s README in `scratch` with the binary in `root/target/release`;
/// on failure, says which step and why.
pub fn run(root: &Path, scratch: &Path, python: &Path) -> Result<usize, String> {
    let readme = fs::read_to_string(root.join("README.md")).map_err(|e| e.to_string())?;
    let steps = steps(&readme)?;
    let _ = fs::remove_dir_all(scratch);
    fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
    for linked in ["examples", "target"] {
        std::os::unix::fs::symlink(root.join(linked), scratch.join(linked))
            .map_err(|e| format!("linking {linked}: {e}"))?;
    }
    let _smtp = Smtp::start(python)?;
    let status = Command::new("bash")
        .arg("-c")
        .arg(script(&steps, scratch))
        .env_remove("HERALD_DB")
        .env_remove("HERALD_CONFIG")
        .env_remove("HERALD_LISTEN")
        .env_remove("HERALD_SMTP_URL")
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("could not start bash: {e}"))?;
    if !status.success() {
        return Err(format!("the tour's shell ended with {status}"));
    }
    let read = |name: String| fs::read_to_string(scratch.join(name)).unwrap_or_default();
    let mut transcript = String::new();
    for (n, step) in steps.iter().enumerate() {
        let (out, err) = (read(format!("out.{n}")), read(format!("err.{n}")));
        let _ = writeln!(transcript, "$ {}\n{out}{err}", step.command);
        let code: i32 = read(format!("code.{n}")).trim().parse().unwrap_or(-1);
        let fail = |why: String| {
            Err(format!(
                "step {} of the README's tour, `{}`: {why}\n--- stdout\n{out}\n--- stderr\n{err}",
                n + 1,
                step.command
            ))
        };
        if code != step.exits {
            return fail(format!("exited {code}, and the tour says {}", step.exits));
        }
        for claim in &step.claims {
            if let Err(why) = holds(claim, &out) {
                return fail(format!("the tour says `# {claim}`, but {why} nowhere"));
            }
        }
    }
    fs::write(scratch.join(TRANSCRIPT), transcript).map_err(|e| e.to_string())?;
    Ok(steps.len())
}

/// The file in the scratch folder holding every command of the tour and what it printed.
pub const TRANSCRIPT: &str = "transcript.txt";

/// The scratch folder of the tour.
pub fn scratch(root: &Path) -> PathBuf {
    root.join("target/xtask-tour")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_joined_and_claims_kept() {
        let readme = "## A short tour\n\nText.\n\n    herald a \\\n         --b  # exits 1\n    # {\"x\":1,...,\"y\":[\"z\"]}\n\n## Next\n\n    herald no\n";
        let steps = steps(readme).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].command, "herald a --b  # exits 1");
        assert_eq!(steps[0].exits, 1);
        assert!(holds(&steps[0].claims[0], "{\"x\": 1, \"w\": 2, \"y\": [\"z\"]}").is_ok());
        assert!(holds(&steps[0].claims[0], "{\"x\": 2}").is_err());
        assert!(holds("403, problem+json", "403\n").is_ok());
        assert!(holds("403, problem+json", "200\n").is_err());
        assert!(holds(
            "a page: {\"list\":[...],...}",
            "{\"list\": [1, 2], \"next\": null}"
        )
        .is_ok());
    }

    #[test]
    fn a_command_put_in_the_background_is_known_by_its_ampersand_whatever_its_comment() {
        assert_eq!(
            in_background("herald serve --x &     # loopback, for the receiver"),
            Some("herald serve --x")
        );
        assert_eq!(
            in_background("herald listen --listen 127.0.0.1:9000 &"),
            Some("herald listen --listen 127.0.0.1:9000")
        );
        assert_eq!(in_background("herald serve # not &"), None);
        assert_eq!(in_background("curl 'a#b' && herald x"), None);
    }
}
