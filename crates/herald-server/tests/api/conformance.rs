//! The public routing cases through the API: each cloud's vendor puts its part of the
//! world, posts every message, and reads back the decisions `expected.json` names.

use std::collections::BTreeMap;

use herald_store::KeyFor;
use serde_json::Value;

use crate::common::{conformance, Server};

type Triple = (String, bool, Vec<String>);

fn triples(decisions: &Value) -> Vec<Triple> {
    let mut out: Vec<Triple> = decisions
        .as_array()
        .unwrap_or_else(|| panic!("decisions is a list: {decisions}"))
        .iter()
        .map(|d| {
            (
                d["customer"].as_str().unwrap().to_owned(),
                d["direct"].as_bool().unwrap(),
                serde_json::from_value(d["partners"].clone()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_case_is_decided_through_the_api_as_expected() {
    let server = Server::with_conformance().await;
    let mut vendors = BTreeMap::new();
    for cloud in ["global", "us-gov"] {
        vendors.insert(
            cloud,
            server
                .key(KeyFor::Vendor {
                    cloud: cloud.into(),
                })
                .await,
        );
    }
    let expected: Vec<Value> = serde_json::from_value(conformance("expected.json")).unwrap();
    let messages: Vec<Value> = serde_json::from_value(conformance("messages.json")).unwrap();
    assert_eq!(messages.len(), 22);
    for message in &messages {
        let id = message["id"].as_str().unwrap();
        let case = expected.iter().find(|c| c["message"] == id).unwrap();
        let cloud = message
            .get("cloud")
            .and_then(Value::as_str)
            .unwrap_or("global");
        let vendor = &vendors[cloud];

        let dry = server.post(vendor, "/v1/route", message).await;
        let (status, body) = server.post(vendor, "/v1/messages", message).await;
        if case["rejected"] == true {
            assert_eq!(status, 422, "{id}: {body}");
            assert_eq!(body["type"], "/problems/invalid-message", "{id}");
            assert!(!body["detail"].as_str().unwrap().is_empty(), "{id}");
            assert_eq!(dry.0, 422, "{id}: {}", dry.1);
            continue;
        }
        assert_eq!(status, 201, "{id}: {body}");
        assert_eq!(body["id"], id);
        assert_eq!(dry.0, 200, "{id}: {}", dry.1);
        let want = triples(&case["decisions"]);
        assert_eq!(triples(&dry.1["decisions"]), want, "{id}: the dry run");

        let (status, stored) = server
            .get(vendor, &format!("/v1/messages/{id}/decisions"))
            .await;
        assert_eq!(status, 200, "{id}: {stored}");
        assert_eq!(triples(&stored["decisions"]), want, "{id}: as stored");
        assert_eq!(stored["next"], Value::Null);
        assert_eq!(body["customers_in_scope"], want.len());
    }
    server.stop().await;
}
