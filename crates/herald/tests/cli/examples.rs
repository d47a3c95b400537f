//! The samples in `examples/` that the README's tour uses: the messages route and publish
//! against the world, every one accepted and every category there; each refused sample is
//! refused, saying why; the policy variant is a valid policy that routes them too.

use std::collections::BTreeSet;
use std::path::Path;

use herald_domain::Policy;
use serde_json::Value;

use crate::common::{read, Scratch};

/// A file of `examples/`, as a path argument.
fn example(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(file)
        .to_str()
        .expect("test paths are UTF-8")
        .to_owned()
}

/// The messages of a sample file.
fn messages(file: &str) -> Vec<Value> {
    serde_json::from_str(&read(&example(file))).expect("a sample file is a JSON list")
}

#[test]
fn the_sample_messages_route_and_publish_and_cover_every_category() {
    let s = Scratch::new();
    let (world, good) = (example("world.json"), example("messages.json"));
    let routed = s.run(&["route", "--world", &world, &good]).success();
    let lines = routed.json_lines();
    assert_eq!(lines.len(), messages("messages.json").len());
    assert!(
        lines.iter().all(|l| l.get("error").is_none()),
        "{}",
        routed.stdout
    );
    let policy = Policy::default_policy();
    let categories: BTreeSet<&str> = policy
        .categories()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let samples = messages("messages.json");
    let sampled: BTreeSet<&str> = samples
        .iter()
        .map(|m| m["category"].as_str().unwrap())
        .collect();
    assert_eq!(sampled, categories, "a sample of every category");

    s.run(&["import", &world, "--db", &s.db()]).success();
    let published = s.run(&["publish", &good, "--db", &s.db()]).success();
    assert_eq!(
        published.stdout.matches("accepted ").count(),
        samples.len(),
        "{}",
        published.stdout
    );
}

#[test]
fn each_refused_sample_is_refused_saying_why() {
    let s = Scratch::new();
    s.run(&["import", &example("world.json"), "--db", &s.db()])
        .success();
    let refused = s
        .run(&[
            "publish",
            &example("refused-messages.json"),
            "--db",
            &s.db(),
        ])
        .failure();
    for message in messages("refused-messages.json") {
        let id = message["id"].as_str().unwrap();
        assert!(
            refused.stdout.contains(id) || refused.stderr.contains(id),
            "{id} is not named: {}{}",
            refused.stdout,
            refused.stderr
        );
    }
    assert!(!refused.stdout.contains("accepted "), "{}", refused.stdout);
}

#[test]
fn the_sample_policy_is_valid_and_routes_the_samples() {
    let s = Scratch::new();
    let policy = example("policy-incident-partners-only.toml");
    s.run(&["policy", "check", &policy]).success();
    let routed = s
        .run(&[
            "route",
            "--policy",
            &policy,
            "--world",
            &example("world.json"),
            &example("messages.json"),
        ])
        .success();
    assert_eq!(routed.json_lines().len(), messages("messages.json").len());
}
