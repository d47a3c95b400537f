//! What the CLI writes for a person: every line goes through [`say!`] (stdout) or
//! [`esay!`] (stderr), here and nowhere else.
//!
//! Ids, titles, names, receivers' replies and errors quoting them are data from files,
//! the database or the network, and a terminal obeys the control characters it is sent:
//! an id holding `\u{1b}[2J` would clear the screen, a right-to-left override would show
//! another text than the one stored. So text from data is written through [`escaped`],
//! control and bidirectional-formatting characters as Rust's `escape_debug` writes them
//! (`\u{1b}`, `\n`), and every line is escaped once more as it is written, keeping only
//! its own line breaks and tabs, so what a command forgot to escape still cannot reach the
//! terminal raw. JSON is written through [`json`], which escapes the same characters as
//! JSON escapes (`\u001b`), so it stays JSON.
//!
//! A reader that stops early (`herald messages | head -1`) closes the pipe: the command
//! then ends quietly with status 0, as a command killed by SIGPIPE would in a shell,
//! rather than panicking as `println!` does.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use herald_delivery::events::rfc3339;

use serde::Serialize;

/// Whether `c` may not reach a terminal as it is: a control character (C0, DEL, C1), a
/// line or paragraph separator, or a character that reorders or hides text (bidi
/// embeddings, overrides, isolates and marks, zero-width space, word joiner, BOM).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// `text` with every character that may not reach a terminal as `escape_debug` writes it,
/// except those `keep` keeps.
fn escape_except(text: &str, keep: fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_char(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) && !keep(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text from data, safe to print: control and bidirectional-formatting characters, line
/// breaks included, written as `escape_debug` writes them (`\u{1b}`, `\n`, `\u{202e}`),
/// without quotes; any other text is unchanged.
pub fn escaped(text: &str) -> Cow<'_, str> {
    escape_except(text, |_| false)
}

/// A whole text of the CLI's own, its line breaks and tabs kept.
fn escaped_text(text: &str) -> Cow<'_, str> {
    escape_except(text, |c| c == '\n' || c == '\t')
}

/// `value` as JSON (indented when `pretty`), every character [`escaped`] escapes written
/// as a JSON escape, so the text is the same JSON and safe on a terminal.
pub fn json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> serde_json::Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    // serde_json escapes C0 controls already; what is left is outside ASCII, so inside a
    // string, where a `\uXXXX` escape means the same character.
    if !text.chars().any(|c| unsafe_char(c) && c != '\n') {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Writes `args` and a line break to stdout (see [`say!`]).
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut line = args.to_string();
    line.push('\n');
    write_out(&line);
}

/// Writes `args` to stdout as it is, without a line break of its own (for a text that
/// ends with its own).
pub fn print_text(args: fmt::Arguments<'_>) {
    write_out(&args.to_string());
}

fn write_out(text: &str) {
    let mut out = io::stdout().lock();
    let written = out
        .write_all(escaped_text(text).as_bytes())
        .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // The reader is gone: nothing more can be shown, and that is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprint_line(format_args!("herald: could not write to stdout: {e}"));
            std::process::exit(1);
        }
    }
}

/// Writes `args` and a line break to stderr (see [`esay!`]); a closed stderr is ignored.
pub fn eprint_line(args: fmt::Arguments<'_>) {
    let mut line = args.to_string();
    line.push('\n');
    let _ = io::stderr()
        .lock()
        .write_all(escaped_text(&line).as_bytes());
}

/// `println!` for the CLI: the line is escaped for the terminal, and a closed stdout ends
/// the process quietly with status 0.
macro_rules! say {
    () => {
        $crate::terminal::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::terminal::print_line(format_args!($($arg)*))
    };
}

/// `eprintln!` for the CLI: the line is escaped for the terminal.
macro_rules! esay {
    ($($arg:tt)*) => {
        $crate::terminal::eprint_line(format_args!($($arg)*))
    };
}

pub(crate) use {esay, say};

/// Whether times are shown in this machine's time zone (`--local`) rather than UTC.
static LOCAL_TIMES: AtomicBool = AtomicBool::new(false);

/// Shows every time from now on in this machine's time zone (`herald --local`).
pub fn show_local_times(local: bool) {
    LOCAL_TIMES.store(local, Ordering::Relaxed);
}

/// Unix milliseconds as the CLI shows a time to a person: RFC 3339 to the millisecond, in
/// UTC (`2023-11-14T22:13:20.000Z`), or with `--local` in this machine's time zone with its
/// offset (`2023-11-14T23:13:20.000+01:00`).
pub fn time(millis: i64) -> String {
    if LOCAL_TIMES.load(Ordering::Relaxed) {
        if let Ok(at) = jiff::Timestamp::from_millisecond(millis) {
            return local(at, &jiff::tz::TimeZone::system());
        }
    }
    rfc3339(millis)
}

/// `at` in `zone`, as [`time`] writes it.
fn local(at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// `n` and what it counts, in the singular for one: `count(1, "customer", "customers")` is
/// `1 customer`, `count(3, …)` is `3 customers`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped_and_other_text_is_not() {
        assert_eq!(escaped("evil\u{1b}[2J"), "evil\\u{1b}[2J");
        assert_eq!(escaped("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(
            escaped("\u{9b}31m\u{202e}txt\u{2066}"),
            "\\u{9b}31m\\u{202e}txt\\u{2066}"
        );
        assert_eq!(
            escaped("Störung 障害 ‍👩‍💻 \"q\" \\"),
            "Störung 障害 ‍👩‍💻 \"q\" \\"
        );
        assert_eq!(escaped_text("one\n\ttwo\u{1b}\n"), "one\n\ttwo\\u{1b}\n");
        let text = json(&serde_json::json!({"id": "a\u{1b}\u{9b}\u{202e}b"}), false).unwrap();
        assert_eq!(text, r#"{"id":"a\u001b\u009b\u202eb"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["id"], "a\u{1b}\u{9b}\u{202e}b");
    }

    #[test]
    fn times_are_rfc_3339_in_utc_or_with_the_local_offset() {
        assert_eq!(time(1_795_601_069_123), "2026-11-25T10:04:29.123Z");
        let at = jiff::Timestamp::from_millisecond(1_795_601_069_123).unwrap();
        // Central European Time, with summer time from the last Sunday of March to the
        // last Sunday of October.
        let paris = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(local(at, &paris), "2026-11-25T11:04:29.123+01:00");
        let summer = jiff::Timestamp::from_millisecond(1_782_381_600_000).unwrap();
        assert_eq!(local(summer, &paris), "2026-06-25T12:00:00.000+02:00");
        assert_eq!(
            local(at, &jiff::tz::TimeZone::UTC),
            "2026-11-25T10:04:29.123+00:00"
        );
    }

    #[test]
    fn counts_name_what_they_count() {
        assert_eq!(count(1u64, "customer", "customers"), "1 customer");
        assert_eq!(count(0u64, "delivery", "deliveries"), "0 deliveries");
        assert_eq!(count(3u32, "partner", "partners"), "3 partners");
    }
}
