//! The audit log through the API: a vendor key's directory change is found under that
//! key's id in its cloud's log and in no other cloud's; the log pages newest first; only a
//! vendor key reads it.

use herald_store::KeyFor;
use serde_json::{json, Value};

use crate::common::{conformance, Server};

async fn vendor(server: &Server, cloud: &str) -> String {
    server
        .key(KeyFor::Vendor {
            cloud: cloud.into(),
        })
        .await
}

/// The id of the key a token names: the part between `hk_` and the second `_`.
fn key_id(token: &str) -> &str {
    token
        .split('_')
        .nth(1)
        .expect("a token is hk_<id>_<secret>")
}

/// Every entry `key` may read, newest first, read `limit` at a time.
async fn every_entry(server: &Server, key: &str, limit: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = format!("/v1/audit?limit={limit}");
    loop {
        let (status, page) = server.get(key, &path).await;
        assert_eq!(status, 200, "{page}");
        let got = page["entries"].as_array().unwrap();
        assert!(got.len() <= limit, "{page}");
        entries.extend(got.iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/audit?limit={limit}&before={next}"),
            None => return entries,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_keys_record_change_is_in_its_clouds_log_under_its_key_id() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let gov = vendor(&server, "us-gov").await;
    let mut contoso = conformance("world.json")["customers"][0].clone();
    assert_eq!(contoso["id"], "contoso");
    contoso["name"] = json!("Contoso Renamed");
    let (status, body) = server
        .put(&global, "/v1/directory/customers/contoso", &contoso)
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, page) = server.get(&global, "/v1/audit").await;
    assert_eq!(status, 200, "{page}");
    let newest = &page["entries"][0];
    assert_eq!(newest["action"], "directory.put", "{page}");
    assert_eq!(newest["target"], "contoso");
    assert_eq!(newest["cloud"], "global");
    assert_eq!(
        newest["actor"],
        json!({"kind": "key", "id": key_id(&global), "principal": {"kind": "vendor", "cloud": "global"}})
    );
    assert_eq!(newest["detail"]["kind"], "customer");
    assert!(newest["at"].as_i64().unwrap() > 1_700_000_000_000);

    // The vendor put each cloud's directory through the API: each finds its own import,
    // and the operator making the keys.
    let actions = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let global_log = every_entry(&server, &global, 100).await;
    assert!(actions(&global_log).contains(&"directory.import".to_owned()));
    assert!(global_log.iter().any(|e| e["action"] == "key.create"
        && e["target"] == key_id(&global)
        && e["actor"] == json!({"kind": "operator"})));

    // Another cloud's vendor sees none of it.
    let gov_log = every_entry(&server, &gov, 100).await;
    assert!(!gov_log.is_empty());
    for entry in &gov_log {
        assert!(
            entry["cloud"] == "us-gov" || entry["cloud"].is_null(),
            "{entry}"
        );
        assert!(!entry.to_string().contains("contoso"), "{entry}");
        assert!(!entry.to_string().contains(key_id(&global)), "{entry}");
    }
    assert!(gov_log
        .iter()
        .any(|e| e["action"] == "directory.import" && e["target"] == "us-gov"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_pages_newest_first_and_refuses_a_bad_page() {
    let server = Server::with_conformance().await;
    let global = vendor(&server, "global").await;
    let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
    for n in 0..5 {
        let product =
            json!({"id": format!("extra-{n}"), "services": [format!("extra-service-{n}")]});
        let path = format!("/v1/directory/products/extra-{n}");
        let (status, body) = server.put(&catalog, &path, &product).await;
        assert_eq!(status, 201, "{body}");
    }
    let whole = every_entry(&server, &global, 100).await;
    let paged = every_entry(&server, &global, 2).await;
    assert_eq!(paged, whole, "pages of two are the whole log");
    let seqs: Vec<i64> = whole.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let newest: Vec<&str> = whole[..5]
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        newest,
        ["extra-4", "extra-3", "extra-2", "extra-1", "extra-0"]
    );
    assert!(
        whole[..5].iter().all(|e| e["cloud"].is_null()),
        "the catalog is every cloud's"
    );

    // The catalog changed every cloud's routing: the other cloud's vendor sees it too.
    let gov = vendor(&server, "us-gov").await;
    let gov_log = every_entry(&server, &gov, 100).await;
    assert!(gov_log.iter().any(|e| e["target"] == "extra-4"));

    for bad in [
        "/v1/audit?limit=0",
        "/v1/audit?limit=501",
        "/v1/audit?before=x",
    ] {
        let (status, problem) = server.get(&global, bad).await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_vendor_key_reads_the_log() {
    let server = Server::with_conformance().await;
    let partner = server.key(KeyFor::Partner("northwind".into())).await;
    let customer = server.key(KeyFor::Customer("contoso".into())).await;
    for key in [&partner, &customer] {
        let (status, problem) = server.get(key, "/v1/audit").await;
        assert_eq!(status, 403, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("only a vendor key may read the audit log"),
            "{problem}"
        );
    }
    let (status, _) = server.get("", "/v1/audit").await;
    assert_eq!(status, 401);
    server.stop().await;
}
