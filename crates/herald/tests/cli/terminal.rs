//! What `herald` prints is safe for a terminal: ids and other text from data holding
//! control or bidirectional-formatting characters are printed escaped, whatever the
//! database holds, and a reader that stops early (`| head -1`) ends the command quietly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{conformance, imported, read_store, Run, Scratch};

/// An id that would clear the screen, turn text red and reverse what follows it.
const EVIL: &str = "incident\u{1b}[2J\u{9b}31m\u{202e}evil";

/// Asserts that nothing `run` printed can drive a terminal.
#[track_caller]
fn printable(run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || c == '\u{202e}')
            .collect();
        assert!(
            raw.is_empty(),
            "herald {:?} wrote {raw:?} raw to {stream}:\n{text}",
            run.args
        );
    }
}

#[test]
fn ids_holding_control_characters_are_printed_escaped() {
    let s = imported();
    let db = s.db();
    s.run(&["publish", &conformance("messages.json"), "--db", &db]);
    // Stored before any check of ids could refuse it: a database written earlier.
    read_store(&db, async |store| {
        sqlx::query("UPDATE messages SET id = ? WHERE id = 'incident-teams-everywhere'")
            .bind(EVIL)
            .execute(crate::common::sqlite(store))
            .await
            .unwrap();
    });
    let shown = "incident\\u{1b}[2J\\u{9b}31m\\u{202e}evil";

    let listed = s.run(&["messages", "--db", &db]).success();
    printable(&listed);
    assert!(listed.stdout.contains(shown), "{}", listed.stdout);

    let text = s.run(&["show", EVIL, "--db", &db]).success();
    printable(&text);
    assert!(
        text.stdout.contains(&format!("message {shown} (")),
        "{}",
        text.stdout
    );

    let json = s.run(&["show", EVIL, "--json", "--db", &db]).success();
    printable(&json);
    assert_eq!(
        json.json()["summary"]["id"],
        EVIL,
        "the JSON holds the id itself"
    );

    let deliveries = s
        .run(&["deliveries", "list", "--message", EVIL, "--db", &db])
        .success();
    printable(&deliveries);

    let missing = format!("{EVIL}-missing");
    let refused = s.run(&["show", &missing, "--db", &db]).failure();
    printable(&refused);
    assert!(refused.stderr.contains(shown), "{}", refused.stderr);
}

#[test]
fn messages_and_worlds_holding_control_characters_are_explained_escaped() {
    let s = Scratch::new();
    let messages: Value =
        serde_json::from_str(&crate::common::read(&conformance("messages.json"))).unwrap();
    let mut message = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "incident-teams-everywhere")
        .unwrap()
        .clone();
    message["id"] = EVIL.into();
    message["title"] = format!("Teams \u{1b}]0;owned\u{7} down {EVIL}").into();
    let file = s.write_json("evil.json", &Value::Array(vec![message]));
    let world = conformance("world.json");
    for args in [
        vec!["explain", "--world", &world, &file, "--customer", "adatum"],
        vec![
            "explain",
            "--world",
            &world,
            &file,
            "--partner",
            "northwind",
        ],
        vec![
            "explain",
            "--world",
            &world,
            &file,
            "--customer",
            "adatum",
            "--json",
        ],
        vec!["route", "--world", &world, &file],
    ] {
        printable(&s.run(&args));
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let s = Scratch::new();
    let db = s.path("demo.db");
    s.run(&["demo", "--customers", "5000", "--db", &db])
        .success();
    // Hundreds of kilobytes of JSON: far more than a pipe holds, so herald is still
    // writing when the reader goes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["show", "demo-product-azure", "--json", "--db", &db])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\n");
    // The reader was dropped: the pipe is closed.
    let out = child.wait_with_output().expect("herald ends");
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(0), "")
    );
}
