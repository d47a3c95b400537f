//! Two `herald serve` processes on one store: whole-cloud replacements and record changes
//! made at the same moment through different processes are each kept, each process answers
//! from the directory as the other left it, and a message naming a record just made through
//! one process is accepted by the other at once. The store is on the engine
//! `HERALD_TEST_ENGINE` names: `cargo xtask test` runs this on SQLite and on PostgreSQL.

use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use crate::common::{conformance, imported_into, loopback_address, read, wait_listening, Scratch};

/// Rounds of concurrent writes; each round makes four changes through two processes.
const ROUNDS: usize = 40;

/// A `herald serve` on a free loopback port, killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(db: &str) -> Served {
        let address = loopback_address();
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["serve", "--listen", &address, "--workers", "0", "--db", db])
            .env_remove("HERALD_DB")
            .stderr(Stdio::null())
            .spawn()
            .expect("herald serve starts");
        wait_listening(&address);
        Served {
            child,
            base: format!("http://{address}"),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `method` `path` on `server` with `key` and `body`: the status and the JSON answer.
async fn call(
    client: &reqwest::Client,
    server: &Served,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// PUT `body` to `path` on `server` with `key`.
async fn put(
    client: &reqwest::Client,
    server: &Served,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    call(client, server, reqwest::Method::PUT, path, key, Some(body)).await
}

/// GET `path` on `server` with `key`.
async fn get(client: &reqwest::Client, server: &Served, path: &str, key: &str) -> (u16, Value) {
    call(client, server, reqwest::Method::GET, path, key, None).await
}

/// The conformance world's part of `cloud`: the catalog, its partners and customers, and
/// their subscriptions.
fn cloud_world(cloud: &str) -> Value {
    let world: Value = serde_json::from_str(&read(&conformance("world.json"))).unwrap();
    let of = |r: &Value| r["cloud"].as_str().unwrap_or("global") == cloud;
    let customers: Vec<Value> = world["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| of(c))
        .cloned()
        .collect();
    let held = |s: &&Value| customers.iter().any(|c| c["id"] == s["customer"]);
    json!({
        "products": world["products"],
        "partners": world["partners"].as_array().unwrap().iter().filter(|p| of(p)).collect::<Vec<_>>(),
        "subscriptions": world["subscriptions"].as_array().unwrap().iter().filter(held).collect::<Vec<_>>(),
        "customers": customers,
    })
}

/// `world` with customer `id` named `name`.
fn named(mut world: Value, id: &str, name: &str) -> Value {
    for customer in world["customers"].as_array_mut().unwrap() {
        if customer["id"] == id {
            customer["name"] = json!(name);
        }
    }
    world
}

/// A new us-gov customer of round `round`.
fn gov_customer(round: usize) -> Value {
    json!({"id": format!("gov-agency-{round}"), "name": format!("Agency {round}"), "cloud": "us-gov"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_store_keep_every_accepted_change() {
    let s = imported_into(Scratch::on_engine());
    let db = s.db();
    let key = |cloud: &str| s.token(&["--vendor", "--cloud", cloud]);
    let (global, gov) = (key("global"), key("us-gov"));
    let servers = [Served::start(&db), Served::start(&db)];
    let client = reqwest::Client::new();
    let mut agencies: Vec<Value> = Vec::new();

    for round in 0..ROUNDS {
        // Alternate which process takes which write.
        let (a, b) = (&servers[round % 2], &servers[1 - round % 2]);

        // Each cloud replaced whole at once, through different processes.
        let mut gov_world = named(cloud_world("us-gov"), "gov-dept", &format!("Dept {round}"));
        gov_world["customers"]
            .as_array_mut()
            .unwrap()
            .extend(agencies.iter().cloned());
        let global_world = named(
            cloud_world("global"),
            "contoso",
            &format!("Contoso {round}"),
        );
        let (put_global, put_gov) = tokio::join!(
            put(&client, a, "/v1/directory", &global, &global_world),
            put(&client, b, "/v1/directory", &gov, &gov_world),
        );
        assert_eq!(put_global.0, 200, "round {round}: {}", put_global.1);
        assert_eq!(put_gov.0, 200, "round {round}: {}", put_gov.1);

        // One cloud replaced whole while the other gains a record.
        let agency = gov_customer(round);
        let path = format!("/v1/directory/customers/gov-agency-{round}");
        let global_world = named(
            cloud_world("global"),
            "contoso",
            &format!("Contoso {round}b"),
        );
        let (put_global, put_agency) = tokio::join!(
            put(&client, b, "/v1/directory", &global, &global_world),
            put(&client, a, &path, &gov, &agency),
        );
        assert_eq!(put_global.0, 200, "round {round}: {}", put_global.1);
        assert_eq!(put_agency.0, 201, "round {round}: {}", put_agency.1);
        agencies.push(agency);

        // The other process takes a message naming the customer just made, at once.
        let notice = json!({
            "id": format!("agency-notice-{round}"),
            "category": "operational",
            "customers": [format!("gov-agency-{round}")],
            "title": "Your tenant moves to a new datacenter",
        });
        let (status, answer) = call(
            &client,
            b,
            reqwest::Method::POST,
            "/v1/messages",
            &gov,
            Some(&notice),
        )
        .await;
        assert_eq!(status, 201, "round {round}: {answer}");

        // Both processes see every change, whichever made it.
        for server in &servers {
            let (_, contoso) =
                get(&client, server, "/v1/directory/customers/contoso", &global).await;
            assert_eq!(
                contoso["name"],
                format!("Contoso {round}b"),
                "round {round}"
            );
            let (_, gov_directory) = get(&client, server, "/v1/directory", &gov).await;
            let customers = gov_directory["customers"].as_array().unwrap();
            let dept = customers.iter().find(|c| c["id"] == "gov-dept").unwrap();
            assert_eq!(dept["name"], format!("Dept {round}"), "round {round}");
            let kept = customers
                .iter()
                .filter(|c| c["id"].as_str().unwrap().starts_with("gov-agency-"))
                .count();
            assert_eq!(kept, round + 1, "round {round}: {gov_directory}");
        }
    }
}
