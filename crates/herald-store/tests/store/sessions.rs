//! Console sessions: a session opened with a valid key acts as that key until it expires,
//! is closed, or the key is revoked; a token of another shape, or an unknown one, is no
//! session; only the token's hash is stored.

use herald_store::{Actor, KeyFor, Principal};

use crate::common::{store_with_directory, ACCEPTED_AT};

/// An hour, in milliseconds.
const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn a_session_acts_as_its_key_until_it_expires_is_closed_or_its_key_is_revoked() {
    let t = store_with_directory().await;
    let store = &t.store;
    let key = store
        .create_key(
            KeyFor::Partner("fabrikam".into()),
            ACCEPTED_AT,
            &Actor::Operator,
        )
        .await
        .expect("the key is made");

    let (info, session) = store
        .open_session(&key.token, ACCEPTED_AT, HOUR)
        .await
        .unwrap()
        .expect("a valid key opens a session");
    assert_eq!(info.id, key.id);
    assert_eq!(session.expires_at, ACCEPTED_AT + HOUR);
    assert_ne!(session.token, session.csrf);
    assert!(!session.token.contains(&key.token));

    let live = store
        .session(&session.token, ACCEPTED_AT + HOUR - 1)
        .await
        .unwrap()
        .expect("the session is live before it expires");
    assert_eq!(live.key.id, key.id);
    assert_eq!(
        live.key.principal,
        Principal::Partner {
            cloud: "global".into(),
            partner: "fabrikam".into()
        }
    );
    assert_eq!(live.csrf, session.csrf);
    assert_eq!(
        store
            .session(&session.token, ACCEPTED_AT + HOUR)
            .await
            .unwrap(),
        None,
        "a session ends when it expires"
    );

    // Nothing but the hash is stored: the token itself is found nowhere in the table.
    let stored: Vec<Vec<u8>> = match store.pool() {
        herald_store::Pool::Sqlite(pool) => sqlx::query_scalar("SELECT hash FROM console_sessions")
            .fetch_all(pool)
            .await
            .unwrap(),
        herald_store::Pool::Postgres(pool) => {
            sqlx::query_scalar("SELECT hash FROM console_sessions")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32);

    // Closing ends it at once; a second session of the same key lives on.
    let (_, second) = store
        .open_session(&key.token, ACCEPTED_AT, HOUR)
        .await
        .unwrap()
        .unwrap();
    store.close_session(&session.token).await.unwrap();
    assert_eq!(
        store.session(&session.token, ACCEPTED_AT).await.unwrap(),
        None
    );
    assert!(store
        .session(&second.token, ACCEPTED_AT)
        .await
        .unwrap()
        .is_some());

    // A revoked key ends its sessions.
    store
        .revoke_key(&key.id, ACCEPTED_AT + 1, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(
        store.session(&second.token, ACCEPTED_AT + 2).await.unwrap(),
        None
    );
    assert!(
        store
            .open_session(&key.token, ACCEPTED_AT + 2, HOUR)
            .await
            .unwrap()
            .is_none(),
        "a revoked key opens no session"
    );
}

#[tokio::test]
async fn what_is_not_a_live_session_token_is_no_session() {
    let t = store_with_directory().await;
    let store = &t.store;
    assert!(store
        .open_session("hk_0000000000000000_00", ACCEPTED_AT, HOUR)
        .await
        .unwrap()
        .is_none());
    for token in [
        "",
        "not a token",
        &"0".repeat(64),
        &"A".repeat(64),
        &"0".repeat(63),
    ] {
        assert_eq!(
            store.session(token, ACCEPTED_AT).await.unwrap(),
            None,
            "{token:?}"
        );
        store.close_session(token).await.unwrap();
    }
}

#[tokio::test]
async fn ended_sessions_are_cleared_when_another_opens() {
    let t = store_with_directory().await;
    let store = &t.store;
    let key = store
        .create_key(
            KeyFor::Vendor {
                cloud: "global".into(),
            },
            ACCEPTED_AT,
            &Actor::Operator,
        )
        .await
        .unwrap();
    for _ in 0..3 {
        store
            .open_session(&key.token, ACCEPTED_AT, HOUR)
            .await
            .unwrap();
    }
    store
        .open_session(&key.token, ACCEPTED_AT + HOUR, HOUR)
        .await
        .unwrap();
    let count: i64 = match store.pool() {
        herald_store::Pool::Sqlite(pool) => {
            sqlx::query_scalar("SELECT count(*) FROM console_sessions")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        herald_store::Pool::Postgres(pool) => {
            sqlx::query_scalar("SELECT count(*) FROM console_sessions")
                .fetch_one(pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count, 1, "the three ended sessions were cleared");
}
