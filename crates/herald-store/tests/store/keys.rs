//! API keys: a key made for a vendor's cloud, a partner or a customer of the stored
//! directory authenticates as exactly that principal; anything else that looks like a
//! token authenticates as no one; a key for what the directory does not hold is refused
//! and writes nothing; the secret is never stored or listed.

use std::collections::BTreeSet;

use herald_store::{Actor, Engine, KeyFor, KeyInfo, NewKey, Pool, Principal, Store, StoreError};

use crate::common::{store_with_directory, temp_store, ACCEPTED_AT};

/// Makes a key that must be accepted.
async fn key(store: &Store, key_for: KeyFor, now: i64) -> NewKey {
    let what = format!("{key_for:?}");
    store
        .create_key(key_for, now, &Actor::Operator)
        .await
        .unwrap_or_else(|e| panic!("a key for {what} is refused: {e}"))
}

/// The refusal of a key that must be refused.
async fn refusal(store: &Store, key_for: KeyFor) -> StoreError {
    let what = format!("{key_for:?}");
    match store
        .create_key(key_for, ACCEPTED_AT, &Actor::Operator)
        .await
    {
        Ok(new) => panic!("a key for {what} was made: {}", new.id),
        Err(e) => e,
    }
}

fn vendor(cloud: &str) -> Principal {
    Principal::Vendor {
        cloud: cloud.to_owned(),
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The token with the last character of its secret changed.
fn with_wrong_secret(token: &str) -> String {
    let (kept, last) = token.split_at(token.len() - 1);
    format!("{kept}{}", if last == "0" { "1" } else { "0" })
}

#[tokio::test]
async fn each_kind_of_key_authenticates_as_its_principal() {
    let t = store_with_directory().await;
    let cases = [
        (
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            vendor("global"),
        ),
        (
            KeyFor::Vendor {
                cloud: "us-gov".into(),
            },
            vendor("us-gov"),
        ),
        (
            KeyFor::Partner("fabrikam".into()),
            Principal::Partner {
                cloud: "global".into(),
                partner: "fabrikam".into(),
            },
        ),
        (
            KeyFor::Partner("gov-fabrikam".into()),
            Principal::Partner {
                cloud: "us-gov".into(),
                partner: "gov-fabrikam".into(),
            },
        ),
        (
            KeyFor::Customer("contoso".into()),
            Principal::Customer {
                cloud: "global".into(),
                customer: "contoso".into(),
            },
        ),
        (
            KeyFor::Customer("gov-dept".into()),
            Principal::Customer {
                cloud: "us-gov".into(),
                customer: "gov-dept".into(),
            },
        ),
    ];
    let mut made = Vec::new();
    for (key_for, principal) in cases {
        let new = key(&t.store, key_for, ACCEPTED_AT).await;
        assert_eq!(new.principal, principal);
        let (id, secret) = new
            .token
            .strip_prefix("hk_")
            .and_then(|rest| rest.split_once('_'))
            .unwrap_or_else(|| panic!("token of key {} is not hk_<id>_<secret>", new.id));
        assert_eq!(id, new.id);
        assert!(is_lower_hex(id, 16), "id {id}");
        assert!(is_lower_hex(secret, 64), "secret of key {id}");
        assert_eq!(
            t.store
                .authenticate(&new.token)
                .await
                .unwrap()
                .map(|k| k.principal),
            Some(principal.clone()),
            "key {id}"
        );
        made.push((new.token, principal));
    }

    // The keys are in the file: a store opened on it later knows them.
    t.store.close().await;
    let reopened = t.scratch.open().await.expect("the store opens again");
    for (token, principal) in made {
        assert_eq!(
            reopened
                .authenticate(&token)
                .await
                .unwrap()
                .map(|k| k.principal),
            Some(principal)
        );
    }
    reopened.close().await;
}

#[tokio::test]
async fn a_token_that_is_not_a_live_key_authenticates_as_no_one() {
    let t = store_with_directory().await;
    let live = key(&t.store, KeyFor::Partner("fabrikam".into()), ACCEPTED_AT).await;
    let other = key(&t.store, KeyFor::Customer("contoso".into()), ACCEPTED_AT).await;
    let revoked = key(&t.store, KeyFor::Customer("adatum".into()), ACCEPTED_AT).await;
    t.store
        .revoke_key(&revoked.id, ACCEPTED_AT + 1, &Actor::Operator)
        .await
        .unwrap();
    let secret = |token: &str| token.rsplit('_').next().unwrap().to_owned();

    let tokens = [
        ("a wrong secret", with_wrong_secret(&live.token)),
        (
            "another key's secret",
            format!("hk_{}_{}", live.id, secret(&other.token)),
        ),
        (
            "an unknown id",
            format!("hk_{}_{}", "0".repeat(16), secret(&live.token)),
        ),
        ("a revoked key", revoked.token.clone()),
        ("nothing", String::new()),
        ("no prefix", live.token["hk_".len()..].to_owned()),
        (
            "another prefix",
            format!("hx_{}", &live.token["hk_".len()..]),
        ),
        (
            "upper case",
            format!("hk_{}", live.token["hk_".len()..].to_uppercase()),
        ),
        (
            "a short secret",
            live.token[..live.token.len() - 1].to_owned(),
        ),
        ("a long secret", format!("{}0", live.token)),
        ("a trailing space", format!("{} ", live.token)),
        ("a third part", format!("{}_00", live.token)),
        ("not hex", format!("hk_{}_{}", live.id, "g".repeat(64))),
        ("the id alone", live.id.clone()),
    ];
    for (what, token) in &tokens {
        assert_eq!(
            t.store
                .authenticate(token)
                .await
                .unwrap()
                .map(|k| k.principal),
            None,
            "{what}: {token:?}"
        );
    }
    // The live keys still authenticate: nothing above disturbed them.
    assert!(t.store.authenticate(&live.token).await.unwrap().is_some());
    assert!(t.store.authenticate(&other.token).await.unwrap().is_some());
}

#[tokio::test]
async fn revoking_keeps_the_first_time_and_an_unknown_id_is_refused() {
    let t = store_with_directory().await;
    let new = key(&t.store, KeyFor::Partner("northwind".into()), ACCEPTED_AT).await;
    let first = t
        .store
        .revoke_key(&new.id, ACCEPTED_AT + 10, &Actor::Operator)
        .await
        .unwrap();
    let expected = KeyInfo {
        id: new.id.clone(),
        principal: new.principal.clone(),
        created_at: ACCEPTED_AT,
        revoked_at: Some(ACCEPTED_AT + 10),
    };
    assert_eq!(first, expected);
    let again = t
        .store
        .revoke_key(&new.id, ACCEPTED_AT + 20, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(again, expected, "revoking twice keeps the first time");
    assert_eq!(t.store.keys().await.unwrap(), vec![expected]);
    assert_eq!(
        t.store
            .authenticate(&new.token)
            .await
            .unwrap()
            .map(|k| k.principal),
        None
    );

    let unknown = t
        .store
        .revoke_key("0123456789abcdef", ACCEPTED_AT, &Actor::Operator)
        .await;
    let e = unknown.expect_err("an unknown key is refused");
    assert!(
        matches!(&e, StoreError::UnknownKey(id) if id == "0123456789abcdef"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("no API key \"0123456789abcdef\""),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_for_what_the_directory_does_not_hold_is_refused_and_writes_nothing() {
    let t = store_with_directory().await;
    let e = refusal(&t.store, KeyFor::Partner("nope".into())).await;
    assert!(
        matches!(&e, StoreError::UnknownPartner(p) if p == "nope"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string().split(';').next().unwrap(),
        "there is no partner \"nope\" in the stored directory"
    );

    let e = refusal(&t.store, KeyFor::Customer("nope".into())).await;
    assert!(
        matches!(&e, StoreError::UnknownCustomer(c) if c == "nope"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("there is no customer \"nope\" in the stored directory"),
        "{e}"
    );

    // A partner is not a customer, nor a customer a partner.
    let e = refusal(&t.store, KeyFor::Customer("fabrikam".into())).await;
    assert!(
        matches!(&e, StoreError::UnknownCustomer(c) if c == "fabrikam"),
        "{e:?}"
    );
    let e = refusal(&t.store, KeyFor::Partner("contoso".into())).await;
    assert!(
        matches!(&e, StoreError::UnknownPartner(p) if p == "contoso"),
        "{e:?}"
    );

    for empty in ["", "  "] {
        let e = refusal(
            &t.store,
            KeyFor::Vendor {
                cloud: empty.into(),
            },
        )
        .await;
        assert!(matches!(e, StoreError::EmptyCloud), "{empty:?}: {e:?}");
        assert!(e.to_string().contains("no cloud was named"), "{e}");
    }
    for spaced in ["us gov", "global\t", " eu"] {
        let e = refusal(
            &t.store,
            KeyFor::Vendor {
                cloud: spaced.into(),
            },
        )
        .await;
        assert!(
            matches!(&e, StoreError::CloudWithSpace(c) if c == spaced),
            "{spaced:?}: {e:?}"
        );
        assert!(e.to_string().contains("holds a space"), "{e}");
    }

    assert_eq!(t.store.keys().await.unwrap(), Vec::new());
}

#[tokio::test]
async fn a_vendor_key_is_made_before_its_cloud_has_a_directory() {
    // A vendor needs its key to put its cloud's first directory through the API.
    let t = temp_store().await;
    let key = t
        .store
        .create_key(
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            1,
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(
        t.store
            .authenticate(&key.token)
            .await
            .unwrap()
            .map(|k| k.principal),
        Some(Principal::Vendor {
            cloud: "global".into()
        })
    );
}

#[tokio::test]
async fn keys_are_listed_oldest_first_and_never_with_a_secret() {
    let t = store_with_directory().await;
    // Two in the same millisecond list in the order made.
    let made = [
        key(&t.store, KeyFor::Customer("coho".into()), ACCEPTED_AT + 5).await,
        key(&t.store, KeyFor::Partner("litware".into()), ACCEPTED_AT).await,
        key(
            &t.store,
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            ACCEPTED_AT,
        )
        .await,
    ];
    t.store
        .revoke_key(&made[0].id, ACCEPTED_AT + 6, &Actor::Operator)
        .await
        .unwrap();

    let listed = t.store.keys().await.unwrap();
    let info = |new: &NewKey, created_at, revoked_at| KeyInfo {
        id: new.id.clone(),
        principal: new.principal.clone(),
        created_at,
        revoked_at,
    };
    assert_eq!(
        listed,
        vec![
            info(&made[1], ACCEPTED_AT, None),
            info(&made[2], ACCEPTED_AT, None),
            info(&made[0], ACCEPTED_AT + 5, Some(ACCEPTED_AT + 6)),
        ]
    );

    // As JSON, a key is its id, principal and times: no secret, no hash.
    let json = serde_json::to_value(&listed).unwrap();
    assert_eq!(
        json[0],
        serde_json::json!({
            "id": made[1].id,
            "principal": {"kind": "partner", "cloud": "global", "partner": "litware"},
            "created_at": ACCEPTED_AT,
            "revoked_at": null
        })
    );
    let text = json.to_string();
    for new in &made {
        let secret = new.token.rsplit('_').next().unwrap();
        assert!(!text.contains(secret), "the listing shows a secret: {text}");
        assert!(
            !format!("{new:?}").contains(secret),
            "a new key's Debug shows its secret"
        );
    }

    // The file holds a 32-byte hash per key and no secret anywhere.
    let hex = match t.store.engine() {
        Engine::Sqlite => "hex(hash)",
        Engine::Postgres => "encode(hash, 'hex')",
    };
    let sql = format!(
        "SELECT id || principal || cloud || coalesce(subject, '') || {hex}, \
         CAST(length(hash) AS BIGINT) FROM api_keys"
    );
    let rows: Vec<(String, i64)> = match t.store.pool() {
        Pool::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
        Pool::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
    }
    .unwrap();
    assert_eq!(rows.len(), made.len());
    for (row, hash_len) in &rows {
        assert_eq!(*hash_len, 32);
        for new in &made {
            let secret = new.token.rsplit('_').next().unwrap();
            assert!(
                !row.to_lowercase().contains(secret),
                "a stored row holds a secret"
            );
        }
    }
}

#[tokio::test]
async fn every_key_gets_its_own_id_and_secret() {
    let t = store_with_directory().await;
    let mut ids = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    const KEYS: usize = 200;
    for n in 0..KEYS {
        let new = key(
            &t.store,
            KeyFor::Partner("wingtip".into()),
            ACCEPTED_AT + n as i64,
        )
        .await;
        secrets.insert(new.token.rsplit('_').next().unwrap().to_owned());
        ids.insert(new.id);
    }
    assert_eq!((ids.len(), secrets.len()), (KEYS, KEYS));
    assert_eq!(t.store.keys().await.unwrap().len(), KEYS);
}
