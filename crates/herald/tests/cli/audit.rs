//! `herald audit` over a real SQLite file: an import, key creations and a revocation at
//! the command line are listed newest first under the operator, readably and as JSON
//! lines, and `--cloud` keeps that cloud's entries and those of every cloud.

use serde_json::{json, Value};

use crate::common::imported;

#[test]
fn the_audit_log_lists_an_import_and_keys_made_at_the_command_line_by_the_operator() {
    let s = imported();
    let db = s.db();
    let made = s
        .run(&["keys", "create", "--partner", "fabrikam", "--db", &db])
        .success();
    let partner_id = made.stdout.trim().split('_').nth(1).unwrap().to_owned();
    let made = s
        .run(&[
            "keys", "create", "--vendor", "--cloud", "us-gov", "--db", &db,
        ])
        .success();
    let vendor_id = made.stdout.trim().split('_').nth(1).unwrap().to_owned();
    s.run(&["keys", "revoke", &partner_id, "--db", &db])
        .success();

    let entries = s
        .run(&["audit", "--json", "--db", &db])
        .success()
        .json_lines();
    let summary: Vec<(Value, Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].clone(),
                e["target"].clone(),
                e["cloud"].clone(),
                e["actor"].clone(),
            )
        })
        .collect();
    let operator = json!({"kind": "operator"});
    assert_eq!(
        summary,
        [
            (
                json!("key.revoke"),
                json!(partner_id),
                json!("global"),
                operator.clone()
            ),
            (
                json!("key.create"),
                json!(vendor_id),
                json!("us-gov"),
                operator.clone()
            ),
            (
                json!("key.create"),
                json!(partner_id),
                json!("global"),
                operator.clone()
            ),
            (json!("directory.import"), json!("*"), Value::Null, operator),
        ]
    );
    assert_eq!(entries[3]["detail"], json!({"products": 5}));
    assert_eq!(
        entries[2]["detail"]["principal"],
        json!({"kind": "partner", "cloud": "global", "partner": "fabrikam"})
    );

    // Readably: one line each, newest first, with the time in UTC and the operator named.
    let text = s.run(&["audit", "--db", &db]).success().stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].contains("key.revoke") && lines[0].contains(&partner_id),
        "{text}"
    );
    assert!(lines[3].contains("directory.import"), "{text}");
    for line in &lines {
        assert!(line.contains("by operator (command line)"), "{line}");
        let time = line.split_whitespace().nth(1).unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{line}"
        );
    }
    // A time inside what changed reads the same way, never as Unix milliseconds.
    assert!(lines[0].contains(r#""revoked_at":"20"#), "{}", lines[0]);

    // A cloud's entries and every cloud's, and no more than asked for.
    let gov = s
        .run(&["audit", "--cloud", "us-gov", "--json", "--db", &db])
        .success()
        .json_lines();
    let targets: Vec<&str> = gov.iter().map(|e| e["target"].as_str().unwrap()).collect();
    assert_eq!(targets, [vendor_id.as_str(), "*"]);
    let newest = s
        .run(&["audit", "--limit", "1", "--json", "--db", &db])
        .success()
        .json_lines();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["action"], "key.revoke");
}

#[test]
fn an_empty_log_says_so_and_a_missing_database_is_refused() {
    let s = crate::common::Scratch::new();
    s.run(&["audit", "--db", &s.db()]).failure();
    // A database the store made and nothing wrote to.
    crate::common::read_store(&s.db(), async |_| ());
    let run = s.run(&["audit", "--db", &s.db()]).success();
    assert!(
        run.stdout.starts_with("no audit entries in "),
        "{}",
        run.stdout
    );
}
