//! `herald keys create`, `list` and `revoke` over a real SQLite file: a token is printed
//! once and authenticates as whom it was made for; the listing never shows it; a revoked
//! key is listed as revoked and no longer authenticates; a key for what the directory does
//! not hold is refused and writes nothing.

use herald_store::{KeyFor, Principal, EVERY_CLOUD};
use serde_json::{json, Value};

use crate::common::{authenticate, imported, key_made_at, Scratch};

/// The secret part of a token `hk_<id>_<secret>`.
fn secret(token: &str) -> &str {
    token.rsplit('_').next().expect("a token has parts")
}

/// Runs `herald keys create args… --db`, and gives the id and the token it printed.
fn create(s: &Scratch, args: &[&str]) -> (String, String) {
    let db = s.db();
    let mut all = vec!["keys", "create"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", &db]);
    let run = s.run(&all).success();
    let token = run.stdout.trim_end_matches('\n');
    assert!(
        !token.contains('\n'),
        "stdout is more than the token:\n{}",
        run.stdout
    );
    let id = token
        .strip_prefix("hk_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("stdout is not a token hk_<id>_<secret>: {token}"));
    assert!(
        run.stderr.contains("shown this once only"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(secret(token)),
        "stderr repeats the secret"
    );
    (id, token.to_owned())
}

/// `herald keys list --json` as a list.
fn listed(s: &Scratch) -> Vec<Value> {
    let run = s
        .run(&["keys", "list", "--json", "--db", &s.db()])
        .success();
    run.json().as_array().expect("a JSON list").clone()
}

#[test]
fn a_key_is_made_listed_and_revoked_through_the_binary() {
    let s = imported();
    let db = s.db();
    let (partner_id, partner) = create(&s, &["--partner", "fabrikam"]);
    let (vendor_id, vendor) = create(&s, &["--vendor", "--cloud", "us-gov"]);
    let (customer_id, customer) = create(&s, &["--customer", "contoso"]);
    assert_eq!(
        authenticate(&db, &partner),
        Some(Principal::Partner {
            cloud: "global".into(),
            partner: "fabrikam".into()
        })
    );
    assert_eq!(
        authenticate(&db, &vendor),
        Some(Principal::Vendor {
            cloud: "us-gov".into()
        })
    );
    assert_eq!(
        authenticate(&db, &customer),
        Some(Principal::Customer {
            cloud: "global".into(),
            customer: "contoso".into()
        })
    );

    // One line per key, oldest first, each active; no token anywhere.
    let list = s.run(&["keys", "list", "--db", &db]).success();
    let lines: Vec<&str> = list.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    for (line, (id, kind, cloud, subject)) in lines.iter().zip([
        (&partner_id, "partner", "global", "fabrikam"),
        (&vendor_id, "vendor", "us-gov", "-"),
        (&customer_id, "customer", "global", "contoso"),
    ]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[..4], [id.as_str(), kind, cloud, subject], "{line}");
        assert_eq!(words.last(), Some(&"active"), "{line}");
    }
    let json = listed(&s);
    assert_eq!(
        json[1],
        json!({
            "id": vendor_id,
            "principal": {"kind": "vendor", "cloud": "us-gov"},
            "created_at": json[1]["created_at"],
            "revoked_at": null
        })
    );
    for token in [&partner, &vendor, &customer] {
        assert!(!list.stdout.contains(secret(token)), "{}", list.stdout);
        assert!(!Value::Array(json.clone())
            .to_string()
            .contains(secret(token)));
    }

    // Revoked: listed as revoked, and the token no longer authenticates.
    let revoke = s
        .run(&["keys", "revoke", &partner_id, "--db", &db])
        .success();
    assert!(
        revoke
            .stdout
            .contains(&format!("revoked key {partner_id} (partner \"fabrikam\"")),
        "{}",
        revoke.stdout
    );
    assert_eq!(authenticate(&db, &partner), None);
    assert!(authenticate(&db, &vendor).is_some());
    let list = s.run(&["keys", "list", "--db", &db]).success();
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with(&partner_id))
        .unwrap_or_else(|| panic!("key {partner_id} is not listed:\n{}", list.stdout));
    assert!(line.contains("revoked 20"), "{line}");
    let revoked_at = listed(&s)[0]["revoked_at"].clone();
    assert!(revoked_at.is_i64(), "{revoked_at}");

    // Revoking again changes nothing and says so.
    let again = s
        .run(&["keys", "revoke", &partner_id, "--db", &db])
        .success();
    assert!(
        again.stdout.contains("was already revoked"),
        "{}",
        again.stdout
    );
    assert_eq!(listed(&s)[0]["revoked_at"], revoked_at);
}

#[test]
fn every_token_is_new() {
    let s = imported();
    let tokens: Vec<String> = (0..3)
        .map(|_| create(&s, &["--partner", "tailspin"]).1)
        .collect();
    assert!(tokens[0] != tokens[1] && tokens[1] != tokens[2] && tokens[0] != tokens[2]);
    assert_eq!(listed(&s).len(), 3);
}

#[test]
fn a_key_for_what_the_directory_does_not_hold_is_refused_and_writes_nothing() {
    let s = imported();
    let db = s.db();
    for (args, says) in [
        (
            &["--partner", "nope"][..],
            "there is no partner \"nope\" in the stored directory",
        ),
        (
            &["--customer", "fabrikam"][..],
            "there is no customer \"fabrikam\" in the stored directory",
        ),
        (
            &["--vendor", "--cloud", "us gov"][..],
            "cloud \"us gov\" holds a space",
        ),
        (&["--vendor", "--cloud", ""][..], "no cloud was named"),
        (&["--vendor"][..], "--cloud"),
        (&["--vendor", "--cloud", "*"][..], "--all-clouds"),
        (&["--all-clouds"][..], "--vendor"),
        (
            &["--partner", "fabrikam", "--customer", "contoso"][..],
            "cannot be used with",
        ),
        (&[][..], "--vendor|--partner"),
    ] {
        let mut all = vec!["keys", "create"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--db", &db]);
        let run = s.run(&all).failure();
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    assert_eq!(listed(&s), Vec::<Value>::new());
    let list = s.run(&["keys", "list", "--db", &db]).success();
    assert!(
        list.stdout.starts_with("no API keys in "),
        "{}",
        list.stdout
    );

    let run = s
        .run(&["keys", "revoke", "0123456789abcdef", "--db", &db])
        .failure();
    assert!(
        run.stderr
            .contains("there is no API key \"0123456789abcdef\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_vendor_key_for_every_cloud_is_made_and_listed() {
    let s = imported();
    let (id, token) = create(&s, &["--vendor", "--all-clouds"]);
    assert_eq!(
        authenticate(&s.db(), &token),
        Some(Principal::Vendor {
            cloud: EVERY_CLOUD.into()
        })
    );
    let list = s.run(&["keys", "list", "--db", &s.db()]).success();
    let line = list.stdout.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(line.contains("vendor") && line.contains('*'), "{line}");
}

#[test]
fn keys_need_an_existing_database() {
    let s = Scratch::new();
    let db = s.db();
    for args in [
        &["keys", "create", "--partner", "fabrikam", "--db", &db][..],
        &["keys", "list", "--db", &db][..],
        &["keys", "revoke", "0123456789abcdef", "--db", &db][..],
    ] {
        let run = s.run(args).failure();
        assert!(
            run.stderr.contains("there is no database at")
                && run
                    .stderr
                    .contains("`herald import WORLD` or `herald serve`"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(
        !std::path::Path::new(&db).exists(),
        "a keys command created {db}"
    );
}

#[test]
fn the_listing_gives_times_in_utc() {
    let s = imported();
    let db = s.db();
    let made = [
        // Made later, listed last.
        (1_700_000_000_000, "2023-11-14T22:13:20.000Z"),
        // A leap day, and the last second of February in 2100, a century that is no leap year.
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
    ];
    let ids: Vec<String> = made
        .iter()
        .map(|(at, _)| {
            let token = key_made_at(&db, KeyFor::Customer("gov-dept".into()), *at);
            token["hk_".len().."hk_".len() + 16].to_owned()
        })
        .collect();
    let list = s.run(&["keys", "list", "--db", &db]).success();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let expected: Vec<Vec<&str>> = [1, 0, 2]
        .into_iter()
        .map(|n| {
            vec![
                ids[n].as_str(),
                "customer",
                "us-gov",
                "gov-dept",
                made[n].1,
                "active",
            ]
        })
        .collect();
    assert_eq!(rows, expected, "{}", list.stdout);
}
