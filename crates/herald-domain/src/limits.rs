//! What an id, a title and a body given from outside may be, checked in one place.
//!
//! Every id a vendor or publisher chooses (a message's and a thread's, and every directory
//! record's: product, service, partner, customer, subscription, contact, cloud) is at most
//! [`MAX_ID_BYTES`] bytes, not empty, without leading or trailing whitespace, and holds no
//! control character, no bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069)
//! and no zero-width character (U+200B–U+200D, U+2060, U+FEFF): an id reads as what it is,
//! fits in a URL to be asked for again, and never hides one record behind the look of
//! another. A message's title is at most [`MAX_TITLE_BYTES`] and its body at most
//! [`MAX_BODY_BYTES`] per locale, and neither holds a control character (a body may hold
//! line breaks and tabs), so what every reader's inbox carries stays small.
//!
//! Errors quote what they refuse through [`shown`]: escaped, and cut short when long, so a
//! refusal never echoes a megabyte back.

use std::fmt;

/// The longest id, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 200;
/// The longest title of one locale, in bytes of UTF-8.
pub const MAX_TITLE_BYTES: usize = 500;
/// The longest body of one locale, in bytes of UTF-8 (64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most characters of a refused value an error quotes.
const SHOWN_CHARS: usize = 64;

/// Why an id or a text was refused, as the end of a sentence naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An id with nothing in it, or only whitespace.
    #[error("it is empty")]
    Empty,
    /// Longer than its limit.
    #[error("it is {len} bytes long; at most {max} bytes are allowed")]
    TooLong { len: usize, max: usize },
    /// An id beginning or ending with whitespace.
    #[error("it begins or ends with whitespace")]
    Whitespace,
    /// A character that is not allowed there.
    #[error("it holds {}, {}, which is not allowed", Codepoint(*.0), hidden(*.0).unwrap_or("a character"))]
    Character(char),
}

/// `U+202E`.
struct Codepoint(char);

impl fmt::Display for Codepoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", self.0 as u32)
    }
}

/// What kind of character `c` is, when it is one a reader cannot see for what it is.
fn hidden(c: char) -> Option<&'static str> {
    match c {
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("a bidirectional override or isolate")
        }
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some("a zero-width character"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

/// Checks `id` against the rule every id keeps (see the module documentation).
pub fn check_id(id: &str) -> Result<(), Refusal> {
    if id.len() > MAX_ID_BYTES {
        return Err(Refusal::TooLong {
            len: id.len(),
            max: MAX_ID_BYTES,
        });
    }
    if id.trim().is_empty() {
        return Err(Refusal::Empty);
    }
    if id.trim() != id {
        return Err(Refusal::Whitespace);
    }
    check_characters(id)
}

/// Checks that `text` holds no control, bidirectional or zero-width character: the
/// character rule of an id, for a label a person reads (a webhook endpoint's description).
pub fn check_characters(text: &str) -> Result<(), Refusal> {
    match text.chars().find(|c| hidden(*c).is_some()) {
        Some(c) => Err(Refusal::Character(c)),
        None => Ok(()),
    }
}

/// Checks the title of one locale: at most [`MAX_TITLE_BYTES`], no control character.
pub fn check_title(title: &str) -> Result<(), Refusal> {
    check_text(title, MAX_TITLE_BYTES, |c| c.is_control())
}

/// Checks the body of one locale: at most [`MAX_BODY_BYTES`], no control character but
/// line breaks and tabs.
pub fn check_body(body: &str) -> Result<(), Refusal> {
    check_text(body, MAX_BODY_BYTES, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

fn check_text(text: &str, max: usize, refused: impl Fn(char) -> bool) -> Result<(), Refusal> {
    if text.len() > max {
        return Err(Refusal::TooLong {
            len: text.len(),
            max,
        });
    }
    match text.chars().find(|c| refused(*c)) {
        Some(c) => Err(Refusal::Character(c)),
        None => Ok(()),
    }
}

/// `value` as an error may quote it: see [`Shown`].
pub fn shown(value: &str) -> Shown<'_> {
    Shown(value)
}

/// A value given from outside, written for an error message: quotes, backslashes and
/// characters a reader cannot see are escaped (`\u{202E}`), and a value longer than 64
/// characters is cut there, saying how long it was. It writes no quotes around itself.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(SHOWN_CHARS) {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if hidden(c).is_some() => write!(f, "\\u{{{:04X}}}", c as u32)?,
                c => write!(f, "{c}")?,
            }
        }
        if chars.next().is_some() {
            write!(f, "… ({} bytes in all)", self.0.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_keeps_the_rule_or_says_why_not() {
        assert_eq!(check_id("contoso-e3"), Ok(()));
        assert_eq!(check_id("Contoso Ltd. (EU)"), Ok(()));
        assert_eq!(check_id("контора"), Ok(()));
        assert_eq!(check_id(&"x".repeat(MAX_ID_BYTES)), Ok(()));
        assert_eq!(
            check_id(&"x".repeat(MAX_ID_BYTES + 1)),
            Err(Refusal::TooLong { len: 201, max: 200 })
        );
        // Multi-byte characters count by their bytes.
        assert!(check_id(&"ж".repeat(101)).is_err());
        assert_eq!(check_id(""), Err(Refusal::Empty));
        assert_eq!(check_id(" \t"), Err(Refusal::Empty));
        assert_eq!(check_id(" contoso"), Err(Refusal::Whitespace));
        assert_eq!(check_id("contoso\u{a0}"), Err(Refusal::Whitespace));
        for c in [
            '\0', '\n', '\u{7f}', '\u{85}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
            '\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            assert_eq!(
                check_id(&format!("con{c}toso")),
                Err(Refusal::Character(c)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn titles_and_bodies_have_their_limits_and_bodies_their_lines() {
        assert_eq!(
            check_title("Exchange is down \u{2067}في EU\u{2069}"),
            Ok(())
        );
        assert!(check_title("two\nlines").is_err());
        assert!(check_title(&"t".repeat(MAX_TITLE_BYTES + 1)).is_err());
        assert_eq!(check_body("line one\r\n\tline two"), Ok(()));
        assert_eq!(check_body("bell\u{7}"), Err(Refusal::Character('\u{7}')));
        assert!(check_body(&"b".repeat(MAX_BODY_BYTES + 1)).is_err());
        assert_eq!(
            Refusal::Character('\u{202E}').to_string(),
            "it holds U+202E, a bidirectional override or isolate, which is not allowed"
        );
    }

    #[test]
    fn a_refused_value_is_shown_escaped_and_cut_short() {
        assert_eq!(shown("contoso").to_string(), "contoso");
        assert_eq!(shown("a\"b\\c").to_string(), "a\\\"b\\\\c");
        assert_eq!(shown("evil\u{202E}gpj").to_string(), "evil\\u{202E}gpj");
        let long = shown(&"x".repeat(1 << 20)).to_string();
        assert!(long.len() < 100, "{long}");
        assert!(long.ends_with("… (1048576 bytes in all)"), "{long}");
    }
}
