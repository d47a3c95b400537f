//! `herald consume` reading publish requests from a real NATS JetStream server (the one
//! `HERALD_TEST_NATS` names, which `cargo xtask test` finds or starts): two consumers
//! share the stream and one is SIGKILLed mid-stream, and still every message is stored
//! exactly once, every accepted one is announced and every refused one announced with its
//! reason; a request sent again changes nothing. `herald serve` with `--nats` reads the
//! bus too, and is ready only while NATS answers (cut off through a TCP relay in front of
//! the real server, the one fault the server itself cannot be asked for). Each test has a subject prefix and a
//! stream of its own, deleted afterwards, and its store on the engine `HERALD_TEST_ENGINE`
//! names.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use futures_util::StreamExt;
use herald_store::{Action, Actor};
use serde_json::{json, Value};

use crate::common::{
    get, imported_into, loopback_address, nats_url, read_store, wait_listening, wait_until, Scratch,
};

/// An announcement heard on the bus.
#[derive(Clone, Debug)]
struct Heard {
    subject: String,
    body: Value,
    /// Whether it carried `Idempotent-Replayed: true`.
    replayed: bool,
}

/// A bus of the test's own: a subject prefix and a stream no other test uses, what has
/// been announced on it so far, and the stream deleted when dropped.
struct Bus {
    runtime: tokio::runtime::Runtime,
    jetstream: jetstream::Context,
    prefix: String,
    stream: String,
    heard: Arc<Mutex<Vec<Heard>>>,
}

impl Bus {
    fn new(name: &str) -> Bus {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let unique = format!("{name}-{}-{nanos}", std::process::id());
        let client = runtime
            .block_on(async_nats::connect(nats_url()))
            .unwrap_or_else(|e| panic!("NATS at {} answers: {e}", nats_url()));
        let heard = Arc::new(Mutex::new(Vec::new()));
        for kind in ["published", "rejected"] {
            let mut subscriber = runtime
                .block_on(client.subscribe(format!("{unique}.{kind}.>")))
                .unwrap();
            let heard = Arc::clone(&heard);
            runtime.spawn(async move {
                while let Some(m) = subscriber.next().await {
                    let replayed = m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Idempotent-Replayed"))
                        .is_some_and(|v| v.as_str() == "true");
                    heard.lock().unwrap().push(Heard {
                        subject: m.subject.to_string(),
                        body: serde_json::from_slice(&m.payload).expect("an announcement is JSON"),
                        replayed,
                    });
                }
            });
        }
        runtime.block_on(client.flush()).unwrap();
        let jetstream = runtime.block_on(async { jetstream::new(client.clone()) });
        Bus {
            runtime,
            jetstream,
            stream: unique.to_uppercase(),
            prefix: unique,
            heard,
        }
    }

    /// The flags naming this bus, reached at `url`.
    fn flags(&self, url: &str) -> Vec<String> {
        [
            "--nats",
            url,
            "--nats-prefix",
            &self.prefix,
            "--nats-stream",
            &self.stream,
            "--nats-ack-wait-seconds",
            "2",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// `herald consume` on this bus and `s`'s store, logging into `log` in the scratch
    /// folder; a silent consumer's requests go to another after two seconds.
    fn consume(&self, s: &Scratch, log: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command
            .args(["consume", "--db", &s.db(), "--workers", "0"])
            .args(self.flags(&nats_url()))
            .current_dir(s.path(""))
            .env_remove("HERALD_DB")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(s.path(log)).unwrap());
        command
    }

    /// Waits until a consumer has made the stream.
    fn wait_for_stream(&self) {
        wait_until(Duration::from_secs(30), "the stream", || {
            self.runtime
                .block_on(self.jetstream.get_stream(&self.stream))
                .is_ok()
        });
    }

    /// Publishes each `(cloud, body)` into the stream, waiting for JetStream to store
    /// them all: a few hundred at a time, since the connection stops reading (and the
    /// announcements wait) while the answers pile up unread.
    fn send(&self, requests: &[(String, Vec<u8>)]) {
        self.runtime.block_on(async {
            for some in requests.chunks(256) {
                let mut stored = Vec::with_capacity(some.len());
                for (cloud, body) in some {
                    let subject = format!("{}.publish.{cloud}", self.prefix);
                    let ack = self.jetstream.publish(subject, body.clone().into());
                    stored.push(ack.await.unwrap());
                }
                for ack in stored {
                    ack.await.unwrap();
                }
            }
        });
    }

    fn heard(&self) -> Vec<Heard> {
        self.heard.lock().unwrap().clone()
    }

    /// The message ids announced as published, and the bodies of the rejections.
    fn sorted(&self) -> (BTreeMap<String, Vec<Heard>>, Vec<Value>) {
        let mut published: BTreeMap<String, Vec<Heard>> = BTreeMap::new();
        let mut rejected = Vec::new();
        for heard in self.heard() {
            if heard
                .subject
                .starts_with(&format!("{}.published.", self.prefix))
            {
                let id = heard.body["id"].as_str().unwrap().to_owned();
                published.entry(id).or_default().push(heard);
            } else {
                rejected.push(heard.body);
            }
        }
        (published, rejected)
    }

    /// Requests in the stream not yet acknowledged nor terminated.
    fn outstanding(&self) -> u64 {
        self.runtime.block_on(async {
            let mut stream = self.jetstream.get_stream(&self.stream).await.unwrap();
            stream.info().await.unwrap().state.messages
        })
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self
            .runtime
            .block_on(self.jetstream.delete_stream(&self.stream));
    }
}

/// A process of the test's, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What became of a request the test sent, as it expects.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fate {
    Accepted,
    /// Refused, as this kind of problem, with this in its reason.
    Refused(&'static str, &'static str),
}

/// The `n`th of the test's requests: its cloud, its body, its id (when it has one) and
/// what should become of it. One in ten is refused, in four ways; one in nine of the rest
/// is an incident of the us-gov cloud.
fn request(n: usize) -> (String, Vec<u8>, Option<String>, Fate) {
    let id = format!("bus-{n:05}");
    let global = |body: Value| ("global".to_owned(), body.to_string().into_bytes());
    let ((cloud, body), fate) = match (n % 10, n / 10 % 4) {
        (0, 0) => (
            global(json!({"id": id, "category": "subscription", "subscriptions": ["no-such-subscription"], "title": "t"})),
            Fate::Refused("invalid-message", "no-such-subscription"),
        ),
        (0, 1) => (
            ("global".to_owned(), format!("{{\"id\": \"{id}\", \"category\"").into_bytes()),
            Fate::Refused("malformed-request", "not JSON"),
        ),
        (0, 2) => (
            global(json!({"id": id, "cloud": "us-gov", "category": "service_incident", "services": ["exchange"], "title": "t"})),
            Fate::Refused("forbidden", "publishes in cloud \"global\" only"),
        ),
        (0, _) => (
            global(json!({"id": id, "category": "marketing", "products": ["azure-plan"], "title": "t"})),
            Fate::Refused("invalid-message", "marketing"),
        ),
        _ if n.is_multiple_of(9) => (
            (
                "us-gov".to_owned(),
                json!({"id": id, "category": "service_incident", "services": ["exchange"], "title": format!("Mail delays {n}")})
                    .to_string()
                    .into_bytes(),
            ),
            Fate::Accepted,
        ),
        _ => (
            global(json!({"id": id, "category": "subscription", "subscriptions": ["contoso-e3"], "title": format!("Renewal {n}")})),
            Fate::Accepted,
        ),
    };
    let named = !matches!(fate, Fate::Refused("malformed-request", _));
    (cloud, body, named.then_some(id), fate)
}

#[test]
fn two_consumers_store_each_request_once_and_announce_it_though_one_is_killed_mid_stream() {
    const REQUESTS: usize = 10_000;
    let s = imported_into(Scratch::on_engine());
    let bus = Bus::new("kill");
    let mut consumers: Vec<Running> = ["killed.log", "kept.log"]
        .iter()
        .map(|log| Running(bus.consume(&s, log).spawn().unwrap()))
        .collect();
    bus.wait_for_stream();
    let requests: Vec<_> = (0..REQUESTS).map(request).collect();
    let accepted: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.3 == Fate::Accepted)
        .map(|r| r.2.clone().unwrap())
        .collect();
    bus.send(
        &requests
            .iter()
            .map(|r| (r.0.clone(), r.1.clone()))
            .collect::<Vec<_>>(),
    );

    let named_refusals: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.3 != Fate::Accepted)
        .filter_map(|r| r.2.clone())
        .collect();
    let unnamed_refusals = requests.iter().filter(|r| r.2.is_none()).count();
    wait_until(
        Duration::from_secs(120),
        "a quarter of the announcements",
        || bus.heard().len() >= REQUESTS / 4,
    );
    assert!(
        matches!(consumers[0].0.try_wait(), Ok(None)),
        "the consumer to be killed is still running"
    );
    consumers[0].0.kill().unwrap(); // SIGKILL: whatever it has in hand is not acknowledged.
    consumers[0].0.wait().unwrap();
    let at_kill = bus.heard().len();
    assert!(
        at_kill < REQUESTS,
        "the consumer was killed mid-stream ({at_kill} announced)"
    );
    let killed = std::fs::read_to_string(s.path("killed.log")).unwrap();
    assert!(
        killed.contains("refused: "),
        "the killed consumer took requests: {killed}"
    );

    wait_until(Duration::from_secs(300), "every request announced", || {
        let (published, rejected) = bus.sorted();
        let named: BTreeSet<&str> = rejected.iter().filter_map(|r| r["id"].as_str()).collect();
        let unnamed = rejected.iter().filter(|r| r["id"].is_null()).count();
        published.len() >= accepted.len()
            && named.len() >= named_refusals.len()
            && unnamed >= unnamed_refusals
    });
    wait_until(Duration::from_secs(60), "the stream drained", || {
        bus.outstanding() == 0
    });

    // Every accepted request announced, with one summary however often; newly accepted
    // (no `Idempotent-Replayed`) at most once, since it was stored once.
    let (published, rejected) = bus.sorted();
    assert_eq!(published.keys().cloned().collect::<BTreeSet<_>>(), accepted);
    for (id, heard) in &published {
        assert!(
            heard.iter().filter(|h| !h.replayed).count() <= 1,
            "{id}: {heard:?}"
        );
        assert!(
            heard.iter().all(|h| h.body == heard[0].body),
            "{id}: {heard:?}"
        );
        let cloud = heard[0].body["cloud"].as_str().unwrap();
        assert_eq!(
            heard[0].subject,
            format!("{}.published.{cloud}", bus.prefix)
        );
        assert!(
            heard[0].body["deliveries"].as_i64().unwrap() > 0,
            "{id}: {heard:?}"
        );
    }
    // Every refused request announced with its kind and reason, on its cloud's subject.
    let mut refused_ids = BTreeSet::new();
    let mut unnamed = 0;
    for r in &rejected {
        let subject = r["subject"].as_str().unwrap();
        assert!(
            subject.starts_with(&format!("{}.publish.", bus.prefix)),
            "{r}"
        );
        match r["id"].as_str() {
            None => unnamed += 1,
            Some(id) => {
                let n: usize = id["bus-".len()..].parse().unwrap();
                let Fate::Refused(kind, reason) = request(n).3 else {
                    panic!("{id} was refused: {r}");
                };
                assert_eq!(r["kind"], kind, "{r}");
                assert!(r["reason"].as_str().unwrap().contains(reason), "{r}");
                refused_ids.insert(id.to_owned());
            }
        }
    }
    assert_eq!(refused_ids, named_refusals);
    assert!(
        unnamed >= unnamed_refusals,
        "{unnamed} requests that are not JSON refused"
    );

    // The store holds each accepted message once, published by the bus.
    let (counts, entries) = read_store(&s.db(), async |store| {
        let counts = store.counts().await.unwrap();
        let page = store.audit(None, None, REQUESTS * 2).await.unwrap();
        (counts, page.entries)
    });
    assert_eq!(counts.messages as usize, accepted.len());
    let publishes: Vec<_> = entries
        .iter()
        .filter(|e| e.action == Action::MessagePublish)
        .collect();
    assert_eq!(publishes.len(), accepted.len());
    for entry in publishes {
        let Actor::Bus { cloud, subject } = &entry.actor else {
            panic!("published by {:?}", entry.actor);
        };
        assert_eq!(subject, &format!("{}.publish.{cloud}", bus.prefix));
        assert_eq!(entry.cloud.as_deref(), Some(cloud.as_str()));
    }

    // Sent again, an accepted request is announced again as replayed, and one under a taken
    // id with other content is refused as a conflict; the store is unchanged.
    let before = bus.heard().len();
    let again: Vec<_> = accepted.iter().take(50).collect();
    let mut resent = Vec::new();
    for id in &again {
        let (cloud, body, _, _) = request(id["bus-".len()..].parse().unwrap());
        let mut changed: Value = serde_json::from_slice(&body).unwrap();
        changed["title"] = json!("Changed");
        resent.push((cloud.clone(), body));
        resent.push((cloud, changed.to_string().into_bytes()));
    }
    bus.send(&resent);
    wait_until(
        Duration::from_secs(60),
        "the second sending announced",
        || bus.heard().len() >= before + resent.len(),
    );
    let later = &bus.heard()[before..];
    for id in &again {
        let of = |h: &&Heard| h.body["id"] == json!(id);
        assert!(
            later
                .iter()
                .filter(of)
                .any(|h| h.replayed && h.body == published[*id][0].body),
            "{id} announced again: {later:?}"
        );
        assert!(
            later
                .iter()
                .filter(of)
                .any(|h| h.body["kind"] == "message-id-conflict"),
            "{id} refused as a conflict: {later:?}"
        );
    }
    let counts = read_store(&s.db(), async |store| store.counts().await.unwrap());
    assert_eq!(counts.messages as usize, accepted.len());

    // SIGTERM: the consumer finishes what it has in hand and says what it did.
    let signalled = Command::new("kill")
        .args(["-TERM", &consumers[1].0.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let status = consumers[1].0.wait().unwrap();
    let said = std::fs::read_to_string(s.path("kept.log")).unwrap();
    assert!(status.success(), "{said}");
    assert!(said.contains("stopped: "), "{said}");
    assert!(said.contains(" accepted, "), "{said}");
}

/// A TCP relay on loopback in front of the NATS server, which can be cut off (every
/// connection closed, nothing more accepted) and started again on the same address.
struct Relay {
    address: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accepting: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(address: &str) -> Relay {
        let upstream = nats_url().trim_start_matches("nats://").to_owned();
        let listener = TcpListener::bind(address).unwrap();
        listener.set_nonblocking(true).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let accepting = {
            let (cut, open) = (Arc::clone(&cut), Arc::clone(&open));
            std::thread::spawn(move || {
                while !cut.load(Ordering::SeqCst) {
                    let Ok((client, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    client.set_nonblocking(false).unwrap();
                    let server = TcpStream::connect(&upstream).unwrap();
                    for (mut from, mut to) in [
                        (client.try_clone().unwrap(), server.try_clone().unwrap()),
                        (server.try_clone().unwrap(), client.try_clone().unwrap()),
                    ] {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(Shutdown::Both);
                        });
                    }
                    open.lock().unwrap().extend([client, server]);
                }
            })
        };
        Relay {
            address: address.to_owned(),
            cut,
            open,
            accepting: Some(accepting),
        }
    }

    /// Closes every connection and stops accepting: NATS is gone, as far as anyone
    /// connected through the relay can tell.
    fn cut(&mut self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Some(accepting) = self.accepting.take() {
            accepting.join().unwrap();
        }
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

#[test]
fn serve_reads_the_bus_too_and_is_ready_only_while_nats_answers() {
    let s = imported_into(Scratch::on_engine());
    let key = s.token(&["--vendor", "--cloud", "global"]);
    let bus = Bus::new("ready");
    let mut relay = Relay::start(&loopback_address());
    let address = loopback_address();
    let log = s.path("serve.log");
    let server = Running(
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args([
                "serve",
                "--db",
                &s.db(),
                "--listen",
                &address,
                "--workers",
                "0",
            ])
            .args(bus.flags(&format!("nats://{}", relay.address)))
            .current_dir(s.path(""))
            .env_remove("HERALD_DB")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_listening(&address);
    wait_until(Duration::from_secs(30), "the server ready", || {
        get(&address, "/readyz", "").0.contains("200")
    });
    let (status, body) = get(&address, "/readyz", "");
    assert!(status.contains("200"), "{status}: {body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"ready": true, "database": "ok", "nats": "ok"})
    );

    // A request on the bus is stored, announced and readable through the API at once.
    bus.send(&[request(1)].map(|(cloud, body, _, _)| (cloud, body)));
    wait_until(Duration::from_secs(30), "the announcement", || {
        bus.heard().len() == 1
    });
    assert_eq!(bus.heard()[0].body["id"], "bus-00001");
    let (status, body) = get(&address, "/v1/messages/bus-00001", &key);
    assert!(status.contains("200"), "{status}: {body}");

    // NATS gone: not ready, saying why; back: ready again.
    relay.cut();
    wait_until(
        Duration::from_secs(30),
        "/readyz to say NATS is gone",
        || get(&address, "/readyz", "").0.contains("503"),
    );
    let (_, body) = get(&address, "/readyz", "");
    assert!(body.contains("NATS does not answer"), "{body}");
    let _relay = Relay::start(&relay.address);
    wait_until(Duration::from_secs(60), "/readyz to be ready again", || {
        get(&address, "/readyz", "").0.contains("200")
    });
    // And it reads the bus again.
    bus.send(&[request(2)].map(|(cloud, body, _, _)| (cloud, body)));
    wait_until(Duration::from_secs(30), "the second announcement", || {
        bus.heard().len() == 2
    });
    let (status, body) = get(&address, "/v1/messages/bus-00002", &key);
    assert!(status.contains("200"), "{status}: {body}");

    // SIGTERM: the server, the intake and all stop cleanly.
    let signalled = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let mut server = server;
    let status = server.0.wait().unwrap();
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{said}");
    assert!(said.contains("intake stopped: 2 accepted"), "{said}");
}
