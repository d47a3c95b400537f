//! `herald explain`: why a customer or a partner did or did not hear about a message.

use crate::common::{conformance, Scratch};

fn explain(s: &Scratch, message: &str, who: &[&str]) -> crate::common::Run {
    let (world, messages) = (conformance("world.json"), conformance("messages.json"));
    let mut args = vec![
        "explain",
        "--world",
        &world,
        &messages,
        "--message",
        message,
    ];
    args.extend_from_slice(who);
    s.run(&args)
}

#[test]
fn a_csp_renewal_is_not_sent_to_the_customer() {
    let s = Scratch::new();
    let run = explain(&s, "renewal-contoso-e3", &["--customer", "contoso"]).success();
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("contoso") && first.contains("does not hear"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("R2"), "{}", run.stdout);
    assert!(run.stdout.contains("contoso-e3"), "{}", run.stdout);
}

#[test]
fn an_advisor_is_not_told_about_an_incident() {
    let s = Scratch::new();
    let run = explain(&s, "incident-teams-everywhere", &["--partner", "proseware"]).success();
    assert!(
        run.stdout.contains("proseware is not told"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("advisor"), "{}", run.stdout);
}

#[test]
fn explanations_print_as_json() {
    let s = Scratch::new();
    let customer = explain(
        &s,
        "renewal-contoso-e3",
        &["--customer", "contoso", "--json"],
    )
    .success()
    .json();
    assert_eq!(customer["about"], "customer");
    assert_eq!(customer["id"], "contoso");
    assert_eq!(customer["heard"], false);
    assert!(
        customer["rules"].as_array().unwrap().contains(&"R2".into()),
        "{customer}"
    );
    assert!(customer["lines"].as_array().is_some_and(|l| !l.is_empty()));

    let partner = explain(
        &s,
        "incident-teams-everywhere",
        &["--partner", "proseware", "--json"],
    )
    .success()
    .json();
    assert_eq!(partner["about"], "partner");
    assert_eq!(partner["heard"], false);

    let told = explain(
        &s,
        "incident-teams-everywhere",
        &["--partner", "tailspin", "--json"],
    )
    .success()
    .json();
    assert_eq!(told["heard"], true, "{told}");
}

#[test]
fn explain_names_what_it_cannot_find() {
    let s = Scratch::new();
    let run = explain(&s, "no-such-message", &["--customer", "contoso"]).failure();
    assert!(run.stderr.contains("no-such-message"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let run = explain(&s, "renewal-contoso-e3", &["--customer", "nobody"]).failure();
    assert!(run.stderr.contains("\"nobody\""), "{}", run.stderr);
}
