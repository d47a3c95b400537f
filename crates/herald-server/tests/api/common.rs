//! A server on a free port over a fresh database, keys for every kind of caller, and the
//! public conformance data.

use std::path::Path;

use std::sync::Arc;

use herald_delivery::{run, Channels, Guard, Secret, Sender, SenderConfig, Tally, WorkerConfig};
use herald_domain::Policy;
use herald_server::{serve, AppState, ServeConfig};
use herald_store::scratch::Scratch;
use herald_store::{Actor, Endpoint, KeyFor, NewEndpoint, Principal, Store};
use serde_json::Value;
use tokio::sync::oneshot;

/// A file of the conformance suite kept by `herald-domain`.
pub fn conformance(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../herald-domain/tests/data/conformance")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("conformance files are JSON")
}

/// The conformance world split by cloud: the products with each cloud's records.
pub fn world_of(cloud: &str) -> Value {
    let world = conformance("world.json");
    let in_cloud = |r: &Value| r.get("cloud").and_then(Value::as_str).unwrap_or("global") == cloud;
    let customers: Vec<Value> = world["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| in_cloud(c))
        .cloned()
        .collect();
    let ids: Vec<&str> = customers
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let subscriptions: Vec<Value> = world["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| ids.contains(&s["customer"].as_str().unwrap()))
        .cloned()
        .collect();
    let partners: Vec<&Value> = world["partners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| in_cloud(p))
        .collect();
    serde_json::json!({
        "products": world["products"],
        "partners": partners,
        "customers": customers,
        "subscriptions": subscriptions,
    })
}

/// A running server and the keys to speak to it.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _scratch: Scratch,
}

impl Server {
    /// A server over a new, empty database.
    pub async fn start() -> Server {
        Server::start_with(ServeConfig::default()).await
    }

    /// A server over a new, empty database, configured by `config`.
    pub async fn start_with(config: ServeConfig) -> Server {
        let scratch = Scratch::new().await.expect("a place for the store");
        let store = scratch.open().await.expect("the store opens");
        let state = AppState::new(store.clone(), Policy::default_policy(), &config)
            .await
            .expect("the state loads");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, state, &config, async {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        });
        Server {
            base,
            client: reqwest::Client::new(),
            store,
            stop: Some(stop),
            task: Some(task),
            _scratch: scratch,
        }
    }

    /// A server holding the conformance directory, put through the API: the catalog by
    /// the vendor for every cloud, then each cloud by its vendor.
    pub async fn with_conformance() -> Server {
        Server::with_conformance_and(ServeConfig::default()).await
    }

    /// A server configured by `config`, holding the conformance directory.
    pub async fn with_conformance_and(config: ServeConfig) -> Server {
        let server = Server::start_with(config).await;
        let catalog = server.key(KeyFor::VendorOfEveryCloud).await;
        let products = serde_json::json!({
            "products": conformance("world.json")["products"],
            "partners": [], "customers": [], "subscriptions": []
        });
        let answer = server.put(&catalog, "/v1/directory", &products).await;
        assert_eq!(answer.0, 200, "the catalog: {}", answer.1);
        for cloud in ["global", "us-gov"] {
            let vendor = server
                .key(KeyFor::Vendor {
                    cloud: cloud.into(),
                })
                .await;
            let answer = server.put(&vendor, "/v1/directory", &world_of(cloud)).await;
            assert_eq!(answer.0, 200, "{cloud}: {}", answer.1);
        }
        server
    }

    /// Publishes every public message of the global cloud through its vendor; those the
    /// policy refuses are refused.
    pub async fn publish_global_messages(&self) {
        let vendor = self
            .key(KeyFor::Vendor {
                cloud: "global".into(),
            })
            .await;
        for message in conformance("messages.json").as_array().unwrap() {
            if message.get("cloud").is_none() {
                self.post(&vendor, "/v1/messages", message).await;
            }
        }
    }

    /// Registers an endpoint of global partner `partner` at `url`, signing with `secret`,
    /// straight in the store, past the address guard, so a test may point it anywhere.
    pub async fn partner_endpoint(&self, partner: &str, url: &str, secret: &Secret) -> Endpoint {
        self.store
            .create_endpoint(
                &Principal::Partner {
                    cloud: "global".into(),
                    partner: partner.into(),
                },
                NewEndpoint {
                    url: url.into(),
                    description: String::new(),
                    categories: None,
                    mode: None,
                },
                &secret.to_string(),
                1_700_000_000_000,
                &Actor::Operator,
            )
            .await
            .expect("the endpoint is registered")
    }

    /// Runs a worker over the server's store, private addresses allowed, retrying on
    /// `schedule`, until every delivery it can send is settled.
    pub async fn work_until_idle(&self, schedule: &str) -> Tally {
        let channels = Channels {
            email: None,
            webhooks: Sender::new(SenderConfig {
                guard: Guard {
                    allow_private: true,
                },
                ..SenderConfig::default()
            })
            .unwrap(),
        };
        let config = WorkerConfig {
            schedule: schedule.parse().unwrap(),
            until_idle: true,
            ..WorkerConfig::default()
        };
        run(
            self.store.clone(),
            Arc::new(channels),
            config,
            std::future::pending(),
        )
        .await
        .unwrap()
    }

    /// A new key's bearer token.
    pub async fn key(&self, key_for: KeyFor) -> String {
        self.store
            .create_key(key_for, 1_700_000_000_000, &Actor::Operator)
            .await
            .expect("the key is created")
            .token
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorized(&self, request: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
        if key.is_empty() {
            request
        } else {
            request.bearer_auth(key)
        }
    }

    /// GET `path` with `key` (none when empty): the status and the body as JSON (or as a
    /// JSON string when it is not JSON).
    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        answer(self.authorized(self.client.get(self.url(path)), key)).await
    }

    /// POST `body` to `path`.
    pub async fn post(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        answer(self.authorized(self.client.post(self.url(path)).json(body), key)).await
    }

    /// PUT `body` to `path`.
    pub async fn put(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        answer(self.authorized(self.client.put(self.url(path)).json(body), key)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, key: &str, path: &str) -> (u16, Value) {
        answer(self.authorized(self.client.delete(self.url(path)), key)).await
    }

    /// Stops the server, letting requests in flight finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the server stops cleanly");
        }
    }
}

/// Sends a request: its status and body; a problem must say so in its content type.
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("a body");
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{status}: {text}");
    }
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}
