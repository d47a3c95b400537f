//! Webhook endpoints: each owner reaches only its own, a rotation keeps the old secret
//! signing until the overlap ends, a disabled or deleted endpoint is no longer sent to,
//! and a publish finds a cloud's endpoints for a category in one query.

use herald_store::{Actor, Endpoint, Mode, NewEndpoint, Pool, Principal, StoreError};
use sqlx::Row;

use crate::common::store_with_directory;

const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiBhIHdlYmhvb2sh";
const NEWER: &str = "whsec_dGhpcmQgc2VjcmV0IG9mIGEgd2ViaG9vayEh";

fn partner(cloud: &str, id: &str) -> Principal {
    Principal::Partner {
        cloud: cloud.into(),
        partner: id.into(),
    }
}

fn new(categories: Option<&[&str]>, mode: Option<Mode>) -> NewEndpoint {
    NewEndpoint {
        url: "https://203.0.113.7/hooks".into(),
        description: "operations".into(),
        categories: categories.map(|c| c.iter().map(|s| s.to_string()).collect()),
        mode,
    }
}

#[tokio::test]
async fn an_endpoint_is_its_owners_alone() {
    let t = store_with_directory().await;
    let store = &t.store;
    let northwind = partner("global", "northwind");
    let vendor = Principal::Vendor {
        cloud: "global".into(),
    };
    let gov_vendor = Principal::Vendor {
        cloud: "us-gov".into(),
    };
    let adatum = Principal::Customer {
        cloud: "global".into(),
        customer: "adatum".into(),
    };
    let mine = store
        .create_endpoint(
            &northwind,
            new(None, Some(Mode::PerCustomer)),
            OLD,
            10,
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert!(
        mine.id.starts_with("ep_") && mine.id.len() == 19,
        "{}",
        mine.id
    );
    assert_eq!(
        (mine.owner_kind.as_str(), mine.owner.as_deref()),
        ("partner", Some("northwind"))
    );
    assert_eq!(
        store.endpoints(&northwind).await.unwrap(),
        vec![mine.clone()]
    );
    for other in [
        &vendor,
        &gov_vendor,
        &adatum,
        &partner("global", "tailspin"),
        &partner("us-gov", "northwind"),
    ] {
        assert!(
            store.endpoints(other).await.unwrap().is_empty(),
            "{other:?}"
        );
        assert_eq!(store.endpoint(other, &mine.id).await.unwrap(), None);
        assert_eq!(
            store
                .rotate_endpoint_secret(other, &mine.id, NEW, 20, 0, &Actor::Operator)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .disable_endpoint(other, &mine.id, "not yours", 20, &Actor::Operator)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .enable_endpoint(other, &mine.id, 0, &Actor::Operator)
                .await
                .unwrap(),
            None
        );
        assert!(!store
            .delete_endpoint(other, &mine.id, 0, &Actor::Operator)
            .await
            .unwrap());
    }
    assert_eq!(
        store.endpoint(&northwind, &mine.id).await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(
        store.signing_secrets(&mine.id, 20).await.unwrap(),
        vec![OLD]
    );

    for owner in [&vendor, &adatum] {
        assert!(matches!(
            store
                .create_endpoint(
                    owner,
                    new(None, Some(Mode::PerCustomer)),
                    OLD,
                    10,
                    &Actor::Operator
                )
                .await,
            Err(StoreError::PerCustomerForPartnersOnly)
        ));
        assert!(
            store.endpoints(owner).await.unwrap().is_empty(),
            "nothing was written"
        );
    }
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_its_successor_until_the_overlap_ends() {
    let t = store_with_directory().await;
    let store = &t.store;
    let owner = partner("global", "northwind");
    let endpoint = store
        .create_endpoint(&owner, new(None, None), OLD, 0, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(endpoint.mode, Mode::Aggregated);
    store
        .rotate_endpoint_secret(&owner, &endpoint.id, NEW, 1_000, 500, &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.signing_secrets(&endpoint.id, 1_499).await.unwrap(),
        vec![NEW, OLD]
    );
    assert_eq!(
        store.signing_secrets(&endpoint.id, 1_500).await.unwrap(),
        vec![NEW]
    );
    // A second rotation within the overlap shortens no promise already made to OLD and
    // lengthens none: OLD still ends at 1,500, NEW overlaps NEWER until 2,200.
    store
        .rotate_endpoint_secret(&owner, &endpoint.id, NEWER, 1_200, 1_000, &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.signing_secrets(&endpoint.id, 1_499).await.unwrap(),
        vec![NEWER, NEW, OLD]
    );
    assert_eq!(
        store.signing_secrets(&endpoint.id, 2_199).await.unwrap(),
        vec![NEWER, NEW]
    );
    assert_eq!(
        store.signing_secrets(&endpoint.id, 2_200).await.unwrap(),
        vec![NEWER]
    );
    assert!(store
        .delete_endpoint(&owner, &endpoint.id, 0, &Actor::Operator)
        .await
        .unwrap());
    assert!(store
        .signing_secrets(&endpoint.id, 0)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_publish_finds_the_enabled_endpoints_of_its_cloud_that_want_its_category() {
    let t = store_with_directory().await;
    let store = &t.store;
    let northwind = partner("global", "northwind");
    let all = store
        .create_endpoint(&northwind, new(None, None), OLD, 0, &Actor::Operator)
        .await
        .unwrap();
    let incidents = store
        .create_endpoint(
            &northwind,
            new(Some(&["service_incident", "operational"]), None),
            OLD,
            0,
            &Actor::Operator,
        )
        .await
        .unwrap();
    store
        .create_endpoint(
            &partner("us-gov", "gov-fabrikam"),
            new(None, None),
            OLD,
            0,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let ids = |endpoints: Vec<Endpoint>| endpoints.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let mut both = vec![all.id.clone(), incidents.id.clone()];
    both.sort();
    assert_eq!(
        ids(store.endpoints_for("global", "operational").await.unwrap()),
        both
    );
    assert_eq!(
        ids(store.endpoints_for("global", "product").await.unwrap()),
        vec![all.id.clone()]
    );

    let disabled = store
        .disable_endpoint(&northwind, &all.id, "paused", 5, &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (disabled.disabled_at, disabled.disabled_reason.as_deref()),
        (Some(5), Some("paused"))
    );
    let again = store.endpoint_gone(&all.id, 6).await.unwrap().unwrap();
    assert_eq!(again, disabled, "the first disabling is kept");
    assert_eq!(
        ids(store.endpoints_for("global", "operational").await.unwrap()),
        vec![incidents.id.clone()]
    );
    assert!(store
        .endpoints_for("global", "product")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .enable_endpoint(&northwind, &all.id, 0, &Actor::Operator)
        .await
        .unwrap()
        .unwrap()
        .enabled());
    assert_eq!(
        ids(store.endpoints_for("global", "operational").await.unwrap()),
        both
    );

    let gone = store
        .endpoint_gone(&incidents.id, 7)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        gone.disabled_reason.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    assert_eq!(
        store.endpoint_gone("ep_0000000000000000", 7).await.unwrap(),
        None
    );

    // The query `endpoints_for` runs reads the index of enabled endpoints by cloud, on
    // SQLite, whose planner picks by the schema; PostgreSQL's picks by the table's size.
    if let Pool::Sqlite(pool) = store.pool() {
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT id FROM endpoints WHERE cloud = ? AND disabled_at IS NULL \
             AND (categories IS NULL OR EXISTS (SELECT 1 FROM json_each(endpoints.categories) WHERE value = ?))",
        )
        .bind("global")
        .bind("product")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(3))
        .collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX endpoints_enabled")),
            "{plan:?}"
        );
    }
}
