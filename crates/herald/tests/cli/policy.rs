//! `herald policy show` and `herald policy check`.

use crate::common::{domain_policy, Scratch};

#[test]
fn policy_show_prints_the_default_policy() {
    let s = Scratch::new();
    let run = s.run(&["policy", "show"]).success();
    assert!(
        run.stdout.contains("version = \"default/1\""),
        "{}",
        run.stdout
    );
    // What it prints is a policy `policy check` accepts.
    let file = s.write("default.toml", &run.stdout);
    let check = s.run(&["policy", "check", &file]).success();
    assert!(
        check.stdout.contains("a valid policy, version default/1"),
        "{}",
        check.stdout
    );
}

#[test]
fn policy_show_prints_the_policy_it_is_given() {
    let s = Scratch::new();
    let file = domain_policy("incident-partners-only.toml");
    let run = s.run(&["policy", "show", "--policy", &file]).success();
    assert!(
        run.stdout
            .contains("version = \"incident-partners-only/1\""),
        "{}",
        run.stdout
    );
}

#[test]
fn policy_check_accepts_valid_policies() {
    let s = Scratch::new();
    for file in ["incident-partners-only.toml", "security-advisories.toml"] {
        let run = s.run(&["policy", "check", &domain_policy(file)]).success();
        assert!(run.stdout.contains("a valid policy"), "{}", run.stdout);
    }
}

#[test]
fn policy_check_names_a_category_using_an_undefined_rule() {
    let s = Scratch::new();
    let default = s.run(&["policy", "show"]).success().stdout;
    let broken = default.replacen(
        "scope_rule = \"S-product\"",
        "scope_rule = \"S-nothing\"",
        1,
    );
    assert_ne!(
        broken, default,
        "the default policy has a product scope rule"
    );
    let file = s.write("broken.toml", &broken);
    let run = s.run(&["policy", "check", &file]).failure();
    assert!(run.stderr.contains("category `product`"), "{}", run.stderr);
    assert!(run.stderr.contains("S-nothing"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    let garbled = s.write("garbled.toml", "version = [");
    s.run(&["policy", "check", &garbled]).failure();
}
