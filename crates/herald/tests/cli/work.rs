//! `herald work` delivering to a real webhook receiver that verifies every signature with
//! the PyPI `standardwebhooks` package, and to a real SMTP server (aiosmtpd): a worker
//! killed with SIGKILL mid-fan-out loses nothing, one stopped with SIGTERM finishes what is
//! in flight and gives back the leases of what it did not send, a receiver that fails is tried again on the schedule (the worker logging how
//! far it has come meanwhile), a 410 disables its endpoint, an address inside the network
//! is refused at send time, and a partner hit through 5,000 customers gets one event and
//! one mail. Four workers sharing one store send each of 50,000 events exactly once, and
//! lose none when one of them is killed. Each test's store is on the engine
//! `HERALD_TEST_ENGINE` names: `cargo xtask test` runs them on SQLite and again on
//! PostgreSQL.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use herald_delivery::Secret;
use herald_kit::world::{
    register_relay_endpoint, relay_principal, relay_world, relay_world_with_desk, RELAY,
};
use herald_store::{Mode, Pool};
use serde_json::{json, Value};

use crate::common::{read_store, wait_until, Scratch};
use crate::smtp_server::Aiosmtpd;
use crate::webhook_receiver;

/// The shared webhook receiver, and every request it reported so far.
struct Receiver {
    peer: webhook_receiver::Receiver,
    seen: RefCell<Vec<Value>>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver {
            peer: webhook_receiver::Receiver::start(),
            seen: RefCell::new(Vec::new()),
        }
    }

    /// Every request received so far.
    fn received(&self) -> Vec<Value> {
        let mut seen = self.seen.borrow_mut();
        while let Some(report) = self.peer.next_within(Duration::ZERO) {
            seen.push(report);
        }
        seen.clone()
    }

    /// Every request received once `enough` holds of what arrived (the receiver reports
    /// a request before it answers, but its report may reach this test a moment after the
    /// worker saw the answer), and nothing more came for a little while.
    fn settled(&self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_until(Duration::from_secs(60), "the receiver's reports", || {
            enough(&self.received())
        });
        std::thread::sleep(Duration::from_millis(300));
        self.received()
    }

    /// How many distinct webhook ids arrived.
    fn distinct(&self) -> usize {
        distinct_ids(&self.received())
    }
}

/// How many distinct webhook ids `reports` hold.
fn distinct_ids(reports: &[Value]) -> usize {
    reports
        .iter()
        .map(|l| l["webhook_id"].as_str().unwrap())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Registers a webhook endpoint of partner relay at `url`, and gives its id and secret.
fn endpoint(db: &str, url: &str, mode: Mode) -> (String, String) {
    let secret = Secret::generate().unwrap().to_string();
    let made = read_store(db, async |store| {
        register_relay_endpoint(store, url, &secret, mode, 1_700_000_000_000)
            .await
            .unwrap()
    });
    (made.id, secret)
}

/// A scratch folder with a directory of `customers` imported (relay's desk in it when
/// `desk`), a receiver, and relay's endpoint at `path` on it, taking events `mode`.
fn set_up(customers: usize, desk: bool, path: &str, mode: Mode) -> (Scratch, Receiver, String) {
    let s = Scratch::on_engine();
    let world = if desk {
        relay_world_with_desk(customers)
    } else {
        relay_world(customers)
    };
    let world = s.write_json("world.json", &serde_json::to_value(world).unwrap());
    s.run(&["import", &world, "--db", &s.db()]).success();
    let mut receiver = Receiver::start();
    let (id, secret) = endpoint(&s.db(), &receiver.peer.url("127.0.0.1", path), mode);
    receiver.peer.know(RELAY, &Secret::parse(&secret).unwrap());
    s.publish_exchange_incident();
    (s, receiver, id)
}

/// `herald work` on `s`'s database, delivering to loopback, with `extra` flags.
fn work(s: &Scratch, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args(["work", "--db", &s.db()])
        .args(extra)
        .current_dir(s.path(""))
        .env_remove("HERALD_DB")
        .env_remove("HERALD_SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs `herald work --until-idle` with `extra` flags to the end, which must be a success;
/// what it said on stderr.
fn until_idle(s: &Scratch, extra: &[&str]) -> String {
    let run = work(s, extra).arg("--until-idle").output().unwrap();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{said}");
    said
}

/// What a worker says on stderr, line by line as it says it.
struct Said {
    lines: std::sync::mpsc::Receiver<String>,
    heard: Vec<String>,
}

impl Said {
    /// Listens to what `worker` says.
    fn of(worker: &mut std::process::Child) -> Said {
        let stderr = worker.stderr.take().unwrap();
        let (tell, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
                let Ok(line) = line else { break };
                if tell.send(line).is_err() {
                    break;
                }
            }
        });
        Said {
            lines,
            heard: Vec::new(),
        }
    }

    /// Waits, for at most a minute, until the worker has said `words`.
    fn wait_for(&mut self, words: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.heard.iter().any(|l| l.contains(words)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.heard.push(line),
                Err(_) => panic!("the worker never said {words:?}: {:?}", self.heard),
            }
        }
    }
}

/// Sends `signal` (`-INT`, `-TERM`) to process `pid`.
fn signal(signal: &str, pid: u32) {
    assert!(Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

/// How many batches and retries still to be sent carry a lease, whether it has run out
/// or not.
fn leased(db: &str) -> i64 {
    const LEASED: &str = "SELECT \
        (SELECT count(*) FROM delivery_batches WHERE status = 'pending' AND lease_until IS NOT NULL) \
        + (SELECT count(*) FROM delivery_retries WHERE status = 'retrying' AND lease_until IS NOT NULL)";
    read_store(db, async |store| match store.pool() {
        Pool::Sqlite(pool) => sqlx::query_scalar(LEASED).fetch_one(pool).await,
        Pool::Postgres(pool) => sqlx::query_scalar(LEASED).fetch_one(pool).await,
    })
    .expect("the leases read")
}

/// Whether `at` reads as `2026-12-04T15:34:35.123Z`: RFC 3339, in UTC, to the millisecond.
fn rfc3339_utc(at: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    at.len() == shape.len()
        && at
            .chars()
            .zip(shape.chars())
            .all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s })
}

/// Every delivery of the message, as `herald deliveries list --json` shows them.
fn deliveries(s: &Scratch) -> Vec<Value> {
    let listed = s
        .run(&[
            "deliveries",
            "list",
            "--message",
            "exchange-down",
            "--limit",
            "100000",
            "--json",
            "--db",
            &s.db(),
        ])
        .success();
    listed.json().as_array().unwrap().clone()
}

#[test]
fn a_worker_killed_mid_fan_out_loses_nothing_and_repeats_only_under_the_same_webhook_id() {
    const CUSTOMERS: usize = 10_240;
    let (s, receiver, _) = set_up(CUSTOMERS, false, "/hooks", Mode::PerCustomer);

    let mut first = work(&s, &["--webhooks-allow-private", "--lease-seconds", "2"])
        .spawn()
        .unwrap();
    wait_until(
        Duration::from_secs(120),
        "a first share of the events",
        || receiver.distinct() >= 2_000,
    );
    first.kill().unwrap(); // SIGKILL: no chance to record what is in flight.
    first.wait().unwrap();
    let at_kill = receiver.distinct();
    assert!(at_kill < CUSTOMERS, "the worker was killed mid-fan-out");

    until_idle(&s, &["--webhooks-allow-private", "--lease-seconds", "2"]);

    let received = receiver.settled(|r| distinct_ids(r) >= CUSTOMERS);
    let bodies = events_by_id(&received);
    assert_eq!(bodies.len(), CUSTOMERS, "every customer's event arrived");
    let customers: BTreeSet<String> = bodies
        .values()
        .map(|b| {
            let event: Value = serde_json::from_str(b).unwrap();
            assert_eq!(event["type"], "message.published");
            assert_eq!(event["data"]["message"]["id"], "exchange-down");
            let listed = event["data"]["customers"].as_array().unwrap();
            assert_eq!(listed.len(), 1, "one customer per event: {event}");
            listed[0].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        customers.len(),
        CUSTOMERS,
        "each event names another customer"
    );
    eprintln!(
        "{} events arrived before the kill, {} requests in all for {} events",
        at_kill,
        received.len(),
        CUSTOMERS
    );

    let stored = deliveries(&s);
    assert_eq!(stored.len(), CUSTOMERS);
    assert!(
        stored.iter().all(|d| d["status"] == "delivered"),
        "every delivery is recorded delivered"
    );
}

/// What four `herald work` processes sharing one store leave behind for a 50,000-customer
/// fan-out, once every one has ended: the receiver's reports and the store's deliveries.
/// With `kill`, the first is SIGKILLed once a fifth of the events arrived, and not
/// restarted: the others take its leases over when they run out.
fn four_workers(kill: bool) -> (Vec<Value>, Vec<Value>) {
    const CUSTOMERS: usize = 50_000;
    let (s, receiver, _) = set_up(CUSTOMERS, false, "/hooks", Mode::PerCustomer);
    // Together the four keep half as many requests in flight as one worker does by
    // default, which the receiver (one Python process checking every signature) answers in
    // time even on a busy machine: more, and it answers some after the worker's timeout,
    // which the worker rightly sends again. A killed worker's leases are taken over
    // once they run out: soon, in that test; otherwise the default lease, which no renewal
    // comes close to letting lapse.
    let mut flags = vec!["--webhooks-allow-private", "--until-idle", "--workers", "8"];
    if kill {
        flags.extend(["--lease-seconds", "2"]);
    }
    let mut workers: Vec<_> = (0..4).map(|_| work(&s, &flags).spawn().unwrap()).collect();
    if kill {
        wait_until(Duration::from_secs(120), "a fifth of the events", || {
            receiver.distinct() >= CUSTOMERS / 5
        });
        workers[0].kill().unwrap(); // SIGKILL: no chance to record what is in flight.
        workers[0].wait().unwrap();
        assert!(
            receiver.distinct() < CUSTOMERS,
            "a worker was killed mid-fan-out"
        );
    }
    for (n, worker) in workers.iter_mut().enumerate().skip(usize::from(kill)) {
        let status = worker.wait().unwrap();
        assert!(status.success(), "worker {n} ended with {status}");
    }
    let received = receiver.settled(|r| distinct_ids(r) >= CUSTOMERS);
    let stored = deliveries(&s);
    assert_eq!(stored.len(), CUSTOMERS);
    assert!(
        stored.iter().all(|d| d["status"] == "delivered"),
        "every delivery is recorded delivered"
    );
    (received, stored)
}

/// Each event of `received` by its webhook id, checking that every one was verified and
/// that a repeat carries the same event as the first.
fn events_by_id(received: &[Value]) -> BTreeMap<String, String> {
    let mut bodies = BTreeMap::new();
    for line in received {
        assert_eq!(line["verified"]["relay"], true, "{line}");
        let id = line["webhook_id"].as_str().unwrap().to_owned();
        let body = line["body"].as_str().unwrap().to_owned();
        if let Some(earlier) = bodies.insert(id.clone(), body.clone()) {
            assert_eq!(earlier, body, "a repeat of {id} carries the same event");
        }
    }
    bodies
}

#[test]
fn four_workers_on_one_store_send_each_event_exactly_once() {
    let (received, stored) = four_workers(false);
    let events = events_by_id(&received);
    assert_eq!(events.len(), stored.len(), "every customer's event arrived");
    let again: Vec<&Value> = stored.iter().filter(|d| d["attempts"] != 1).collect();
    assert!(
        again.is_empty(),
        "none tried twice: {:?}",
        &again[..again.len().min(3)]
    );
    assert_eq!(received.len(), stored.len(), "and none sent twice");
}

#[test]
fn four_workers_lose_nothing_when_one_is_killed_and_repeat_only_under_the_same_webhook_id() {
    let (received, stored) = four_workers(true);
    let events = events_by_id(&received);
    assert_eq!(events.len(), stored.len(), "every customer's event arrived");
    eprintln!(
        "{} requests for {} events with one of four workers killed",
        received.len(),
        events.len()
    );
}

#[test]
fn a_failing_receiver_is_tried_again_on_the_schedule_until_it_takes_the_event() {
    let (s, receiver, _) = set_up(1, false, "/flaky/3", Mode::Aggregated);
    let said = until_idle(
        &s,
        &[
            "--webhooks-allow-private",
            "--retry-schedule",
            "0ms,200ms,400ms,800ms,1600ms",
        ],
    );
    // Deliveries are counted, not attempts: the one delivery arrived in the end.
    assert!(
        said.contains("stopped: 1 delivered, 0 to be tried again, 0 dead"),
        "{said}"
    );

    let received = receiver.settled(|r| r.len() >= 4);
    assert_eq!(received.len(), 4, "three failures, then success");
    assert!(received.iter().all(|l| l["verified"]["relay"] == true));
    let ids: BTreeSet<&str> = received
        .iter()
        .map(|l| l["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt is the same event");

    let [delivery] = &deliveries(&s)[..] else {
        panic!("one delivery");
    };
    assert_eq!(delivery["status"], "delivered");
    let id = delivery["id"].to_string();
    let shown = s
        .run(&["deliveries", "show", &id, "--json", "--db", &s.db()])
        .success()
        .json();
    let attempts = shown["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "failed", "failed", "delivered"]);
    assert_eq!(attempts[0]["code"], 503);
    let at: Vec<i64> = attempts.iter().map(|a| a["at"].as_i64().unwrap()).collect();
    for (gap, wait) in at.windows(2).map(|w| w[1] - w[0]).zip([200, 400, 800]) {
        assert!(gap >= wait, "attempts {at:?} wait at least {wait} ms");
    }
}

#[test]
fn a_worker_logs_how_far_it_has_come_as_it_goes() {
    let (s, _receiver, _) = set_up(1, false, "/flaky/2", Mode::Aggregated);
    let said = until_idle(
        &s,
        &[
            "--webhooks-allow-private",
            "--retry-schedule",
            "0s,0s,3s",
            "--progress-seconds",
            "1",
        ],
    );
    // While the one delivery waits three seconds for its third attempt, a line says so.
    assert!(
        said.lines()
            .any(|l| l.contains("progress: 0 delivered, 1 to be tried again, 0 dead")),
        "{said}"
    );
    assert!(
        said.contains("stopped: 1 delivered, 0 to be tried again, 0 dead"),
        "{said}"
    );
}

#[test]
fn a_receiver_answering_410_disables_its_endpoint_and_the_delivery_is_dead() {
    let (s, receiver, endpoint) = set_up(1, false, "/gone", Mode::Aggregated);
    until_idle(&s, &["--webhooks-allow-private"]);
    assert_eq!(receiver.peer.next()["path"], "/gone");
    assert!(
        receiver.received().is_empty(),
        "a gone endpoint is not tried again"
    );
    let [delivery] = &deliveries(&s)[..] else {
        panic!("one delivery");
    };
    assert_eq!(delivery["status"], "dead");
    let disabled = read_store(&s.db(), async |store| {
        store
            .endpoint(&relay_principal(), &endpoint)
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some(herald_store::GONE_REASON)
    );
}

#[test]
fn an_endpoint_inside_the_network_is_refused_at_send_time_and_a_replay_sends_it() {
    let (s, receiver, _) = set_up(1, false, "/hooks", Mode::Aggregated);
    until_idle(&s, &[]);
    assert!(receiver.received().is_empty(), "nothing reached loopback");
    let [delivery] = &deliveries(&s)[..] else {
        panic!("one delivery");
    };
    assert_eq!(delivery["status"], "dead");
    let dead = s
        .run(&["deliveries", "list", "--status", "dead", "--db", &s.db()])
        .success();
    assert!(dead.stdout.contains("dead"), "{}", dead.stdout);

    // Shown to a person: times in RFC 3339, and what to do with a dead letter.
    let id = delivery["id"].to_string();
    let shown = s
        .run(&["deliveries", "show", &id, "--db", &s.db()])
        .success()
        .stdout;
    assert!(!shown.contains("Unix ms"), "{shown}");
    assert!(!shown.contains("tried again"), "{shown}");
    assert!(
        shown.contains(&format!("herald deliveries retry {id}")),
        "{shown}"
    );
    let attempt = shown
        .lines()
        .find(|l| l.trim_start().starts_with("1. at "))
        .unwrap_or_else(|| panic!("no first attempt in {shown}"));
    let at = attempt.trim_start()["1. at ".len()..]
        .split(' ')
        .next()
        .unwrap();
    assert!(
        rfc3339_utc(at),
        "{at} is not an RFC 3339 time in UTC: {shown}"
    );

    // Once the operator allows it, a replay delivers the dead letter.
    s.run(&["deliveries", "retry", &id, "--db", &s.db()])
        .success();
    s.run(&["deliveries", "retry", &id, "--db", &s.db()])
        .failure();
    until_idle(&s, &["--webhooks-allow-private"]);
    assert_eq!(receiver.settled(|r| !r.is_empty()).len(), 1);
    assert_eq!(deliveries(&s)[0]["status"], "delivered");
}

#[test]
fn a_partner_whose_5000_customers_are_hit_gets_one_event_and_one_mail_listing_them() {
    const CUSTOMERS: usize = 5_000;
    let (s, receiver, _) = set_up(CUSTOMERS, true, "/hooks", Mode::Aggregated);
    let mail = Aiosmtpd::start("plain", None);
    until_idle(
        &s,
        &[
            "--webhooks-allow-private",
            "--smtp-url",
            &format!("smtp://127.0.0.1:{}", mail.port),
        ],
    );

    let [event] = &receiver.settled(|r| !r.is_empty())[..] else {
        panic!("one event, not one per customer");
    };
    assert_eq!(event["verified"]["relay"], true);
    let event: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        event["data"]["customers"].as_array().unwrap().len(),
        CUSTOMERS
    );
    assert_eq!(
        event["data"]["subscriptions"].as_array().unwrap().len(),
        CUSTOMERS
    );

    // One mail to relay's desk, not one per customer: the worker stopped once every
    // delivery was recorded, and the store holds two (checked below).
    let letter = mail.next_mail();
    assert_eq!(letter["rcpt_tos"], json!(["desk@relay.example"]));
    let text = letter["parts"][0]["text"].as_str().unwrap();
    assert!(text.contains("Mail delayed"), "{text}");
    for customer in ["Customer c000000 (c000000)", "Customer c004999 (c004999)"] {
        assert!(text.contains(customer), "the letter lists {customer}");
    }
    assert!(
        text.contains("Exchange Online (c004999-exo)"),
        "with its subscription"
    );
    let delivered = deliveries(&s);
    assert_eq!(
        delivered.len(),
        2,
        "one webhook and one mail: {delivered:?}"
    );
    assert!(delivered.iter().all(|d| d["status"] == "delivered"));
}

#[test]
fn a_worker_stopped_by_sigterm_finishes_what_is_in_flight_gives_back_the_rest_and_the_next_sends_only_that(
) {
    const CUSTOMERS: usize = 3_000;
    let (s, receiver, _) = set_up(CUSTOMERS, false, "/hooks", Mode::PerCustomer);
    let first = work(&s, &["--webhooks-allow-private", "--lease-seconds", "1"])
        .spawn()
        .unwrap();
    wait_until(
        Duration::from_secs(120),
        "a first share of the events",
        || receiver.distinct() >= 300,
    );
    signal("-TERM", first.id());
    let stopped = first.wait_with_output().unwrap();
    assert!(stopped.status.success(), "a stopped worker exits cleanly");
    let said = String::from_utf8_lossy(&stopped.stderr);
    assert!(said.contains("herald::work: stopped:"), "{said}");
    assert!(receiver.distinct() < CUSTOMERS, "stopped before the end");
    assert_eq!(
        leased(&s.db()),
        0,
        "what the stopped worker had leased and not sent is free for the next at once"
    );

    until_idle(&s, &["--webhooks-allow-private", "--lease-seconds", "1"]);
    let received = receiver.settled(|r| distinct_ids(r) >= CUSTOMERS);
    assert_eq!(distinct_ids(&received), CUSTOMERS);
    assert_eq!(
        received.len(),
        CUSTOMERS,
        "what the first worker sent it recorded, so nothing arrived twice"
    );
}

#[test]
fn a_mail_server_that_cannot_be_reached_is_named_at_once() {
    let s = crate::common::imported_into(Scratch::on_engine());
    let messages = crate::common::conformance("messages.json");
    s.run(&["publish", &messages, "--db", &s.db()]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let said = until_idle(
        &s,
        &[
            "--retry-schedule",
            "0s",
            "--smtp-url",
            &format!("smtp://127.0.0.1:{closed}"),
        ],
    );
    assert!(
        said.contains("the mail server cannot be reached")
            && said.contains(&format!("127.0.0.1:{closed}")),
        "{said}"
    );
    assert!(said.contains("0 delivered, 0 to be tried again"), "{said}");
}

#[test]
fn a_stopped_worker_keeps_its_lease_on_what_is_in_flight_until_that_is_recorded() {
    let (s, receiver, _) = set_up(1, false, "/slow", Mode::Aggregated);
    let lease = ["--webhooks-allow-private", "--lease-seconds", "3"];
    let mut first = work(&s, &lease).spawn().unwrap();
    let mut said = Said::of(&mut first);
    wait_until(Duration::from_secs(60), "the event in flight", || {
        receiver.distinct() == 1
    });
    signal("-TERM", first.id());
    said.wait_for("stopping: finishing what is in flight");

    // The slow receiver answers after 5 s, more than a lease: a second worker started
    // meanwhile finds the event still leased to the first, and then recorded by it.
    until_idle(&s, &lease);
    assert!(first.wait().unwrap().success(), "{:?}", said.heard);
    let received = receiver.settled(|r| !r.is_empty());
    assert_eq!(received.len(), 1, "sent once: {received:?}");
    assert_eq!(deliveries(&s)[0]["status"], "delivered");
}

#[test]
fn a_second_interrupt_abandons_what_is_in_flight_and_another_worker_sends_it() {
    let (s, receiver, _) = set_up(1, false, "/slow", Mode::Aggregated);
    let mut first = work(&s, &["--webhooks-allow-private", "--lease-seconds", "1"])
        .spawn()
        .unwrap();
    let mut said = Said::of(&mut first);
    // The slow receiver holds the event: it reports the request before it answers.
    wait_until(Duration::from_secs(60), "the event in flight", || {
        receiver.distinct() == 1
    });
    signal("-INT", first.id());
    said.wait_for("Ctrl-C again to abandon it");
    signal("-INT", first.id());
    said.wait_for("abandoning what is in flight");
    assert!(first.wait().unwrap().success(), "{:?}", said.heard);
    let [abandoned] = &deliveries(&s)[..] else {
        panic!("one delivery");
    };
    assert_ne!(abandoned["status"], "delivered", "nothing was recorded");

    // Once its lease ran out, another worker sends it, under the same webhook id.
    until_idle(&s, &["--webhooks-allow-private", "--lease-seconds", "1"]);
    let received = receiver.settled(|r| r.len() >= 2);
    assert_eq!(distinct_ids(&received), 1, "{received:?}");
    assert_eq!(deliveries(&s)[0]["status"], "delivered");
}
