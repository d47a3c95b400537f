//! `herald bench route`, `publish`, `api` and `deliver` (also across processes:
//! `deliver --processes`, `api --servers`) and `intake` (through NATS JetStream): with
//! `--json` one JSON object of figures each, with a positive ratio to the baseline; without,
//! a table for a person. Speed is measured, not asserted.

use serde_json::Value;

use crate::common::{nats_url, Scratch};

fn positive(value: &Value, what: &str) -> f64 {
    let x = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!(x.is_finite() && x > 0.0, "{what} is {x}");
    x
}

#[test]
fn bench_route_prints_its_figures_as_json() {
    let s = Scratch::new();
    let run = s
        .run(&["bench", "route", "--customers", "2000", "--json"])
        .success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let figures = run.json();
    assert_eq!(figures["bench"], "route");
    assert_eq!(figures["customers"], 2000);
    positive(
        &figures["incident"]["ratio_to_baseline"],
        "incident.ratio_to_baseline",
    );
    positive(&figures["incident"]["seconds"], "incident.seconds");
    assert!(figures["incident"]["decisions"]
        .as_u64()
        .is_some_and(|d| d > 0));
}

#[test]
fn bench_publish_prints_its_figures_and_leaves_the_folder_as_it_found_it() {
    let s = Scratch::new();
    let dir = s.path("bench");
    std::fs::create_dir(&dir).unwrap();
    let mine = format!("{dir}/keep.txt");
    std::fs::write(&mine, "not the benchmark's").unwrap();

    let run = s
        .run(&[
            "bench",
            "publish",
            "--customers",
            "2000",
            "--json",
            "--dir",
            &dir,
        ])
        .success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let figures = run.json();
    assert_eq!(figures["bench"], "publish");
    positive(&figures["ratio_to_baseline"], "ratio_to_baseline");
    let rows = &figures["rows"];
    let part = |k: &str| {
        rows[k]
            .as_u64()
            .unwrap_or_else(|| panic!("rows.{k}: {rows}"))
    };
    assert!(
        part("decision_batches") > 0 && part("delivery_batches") > 0,
        "{rows}"
    );
    assert_eq!(
        part("total"),
        part("messages")
            + part("decision_batches")
            + part("partner_copies")
            + part("delivery_batches")
    );
    assert!(figures["decisions"].as_u64() >= Some(part("decision_batches")));
    assert!(figures["deliveries"].as_u64() >= Some(part("delivery_batches")));

    // The folder was the caller's: the benchmark removes its own database, nothing else.
    assert_eq!(
        std::fs::read_to_string(&mine).ok().as_deref(),
        Some("not the benchmark's"),
        "the benchmark removed a file it did not make"
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["keep.txt"]);
}

#[test]
fn bench_api_prints_each_phase_against_its_baseline_as_json() {
    let s = Scratch::new();
    let run = s
        .run(&[
            "bench",
            "api",
            "--customers",
            "200",
            "--seconds",
            "1",
            "--json",
        ])
        .success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let figures = run.json();
    assert_eq!(figures["bench"], "api");
    assert_eq!(figures["customers"], 200);
    for (phase, path, rate, goal) in [
        ("publish", "POST /v1/messages", 200, 10.0),
        ("inbox", "GET /v1/inbox", 1000, 5.0),
    ] {
        let figures = &figures[phase];
        assert_eq!(figures["path"], path, "{figures}");
        assert_eq!(figures["rate"], rate, "{figures}");
        assert_eq!(figures["goal_p99_ms"], goal, "{figures}");
        assert_eq!(
            figures["requests"], rate,
            "one second at the rate: {figures}"
        );
        assert_eq!(figures["errors"], 0, "{figures}");
        assert_eq!(figures["baseline"]["path"], "GET /healthz", "{figures}");
        assert_eq!(figures["baseline"]["rate"], rate, "{figures}");
        for key in ["requests_per_s", "p50_ms", "p99_ms", "max_ms"] {
            positive(&figures[key], &format!("{phase}.{key}"));
            positive(
                &figures["baseline"][key],
                &format!("{phase}.baseline.{key}"),
            );
        }
        positive(
            &figures["ratio_p99_to_baseline"],
            &format!("{phase}.ratio_p99_to_baseline"),
        );
    }
    // Every small message was accepted, and the whole-directory incident after them.
    assert_eq!(figures["messages_stored"], 201, "{figures}");
    let whole = &figures["whole_directory_incident"];
    assert!(
        whole["customers_in_scope"]
            .as_u64()
            .is_some_and(|c| c > 0 && c <= 200),
        "{whole}"
    );
    positive(&whole["seconds"], "whole_directory_incident.seconds");
    assert_eq!(figures["keys"]["customers"], 200, "{figures}");
    assert_eq!(figures["sqlite"]["journal_mode"], "wal", "{figures}");
}

#[test]
fn bench_deliver_prints_each_phase_against_its_baseline_as_json() {
    let s = Scratch::new();
    let run = s
        .run(&[
            "bench",
            "deliver",
            "--emails",
            "300",
            "--pool",
            "3",
            "--webhooks",
            "300",
            "--concurrency",
            "8",
            "--seconds",
            "1",
            "--signatures",
            "200",
            "--json",
        ])
        .success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let figures = run.json();
    assert_eq!(figures["bench"], "deliver");
    let email = &figures["email"];
    assert_eq!(email["emails"], 300, "{email}");
    assert_eq!(email["pool"], 3, "{email}");
    assert_eq!(email["goal_emails_per_s"], 1000.0, "{email}");
    // The mailer's pool opened exactly its connections and no more.
    assert_eq!(email["herald"]["connections"], 3, "{email}");
    for side in ["herald", "baseline"] {
        for key in ["seconds", "emails_per_s", "p50_ms", "p99_ms"] {
            positive(&email[side][key], &format!("email.{side}.{key}"));
        }
    }
    positive(&email["ratio_to_baseline"], "email.ratio_to_baseline");
    positive(&email["mean_bytes"], "email.mean_bytes");

    let signing = &figures["signing"];
    assert_eq!(signing["events"], 200, "{signing}");
    assert_eq!(signing["goal_ratio"], 1.2, "{signing}");
    let sizes = signing["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 3, "{signing}");
    for size in sizes {
        for key in [
            "event_bytes",
            "herald_ns_per_event",
            "baseline_ns_per_event",
            "ratio_to_baseline",
        ] {
            positive(&size[key], &format!("signing.sizes.{key}"));
        }
    }
    positive(
        &signing["worst_ratio_to_baseline"],
        "signing.worst_ratio_to_baseline",
    );

    let webhooks = &figures["webhooks"];
    assert_eq!(webhooks["webhooks"], 300, "{webhooks}");
    assert_eq!(webhooks["concurrency"], 8, "{webhooks}");
    assert_eq!(webhooks["goal_webhooks_per_s"], 5000.0, "{webhooks}");
    for side in ["herald", "baseline"] {
        for key in ["seconds", "webhooks_per_s"] {
            positive(&webhooks[side][key], &format!("webhooks.{side}.{key}"));
        }
    }
    positive(&webhooks["ratio_to_baseline"], "webhooks.ratio_to_baseline");
    positive(&webhooks["mean_bytes"], "webhooks.mean_bytes");

    // One second at 1,000 webhooks/s: a hundred messages of ten, every one received.
    let latency = &figures["latency"];
    assert_eq!(latency["rate_per_s"], 1000, "{latency}");
    assert_eq!(latency["messages"], 100, "{latency}");
    assert_eq!(latency["webhooks"], 1000, "{latency}");
    assert_eq!(latency["goal_p99_ms"], 50.0, "{latency}");
    for side in ["herald", "baseline"] {
        for key in ["p50_ms", "p99_ms", "max_ms"] {
            positive(&latency[side][key], &format!("latency.{side}.{key}"));
        }
    }
    positive(
        &latency["ratio_p99_to_baseline"],
        "latency.ratio_p99_to_baseline",
    );
}

#[test]
fn bench_deliver_across_processes_prints_both_runs_as_json() {
    let s = Scratch::new();
    let args = ["bench", "deliver", "--processes", "2", "--webhooks", "300"];
    let run = s
        .run(&[&args[..], &["--concurrency", "8", "--json"]].concat())
        .success();
    let figures = run.json();
    assert_eq!(figures["bench"], "deliver");
    assert_eq!(figures["webhooks"], 300, "{figures}");
    assert_eq!(figures["processes"]["processes"], 2, "{figures}");
    for side in [
        &figures["processes"],
        &figures["baseline"],
        &figures["oversubscribed"]["processes"],
        &figures["oversubscribed"]["one_process"],
    ] {
        positive(&side["webhooks_per_s"], "webhooks_per_s");
        positive(&side["seconds"], "seconds");
    }
    positive(&figures["ratio_to_baseline"], "ratio_to_baseline");
    positive(&figures["oversubscribed"]["ratio"], "oversubscribed.ratio");
    assert_eq!(figures["goal_ratio"], 0.9, "{figures}");
}

#[test]
fn bench_api_across_servers_prints_both_runs_as_json() {
    let s = Scratch::new();
    let run = s
        .run(&[
            "bench",
            "api",
            "--servers",
            "2",
            "--messages",
            "60",
            "--connections",
            "4",
            "--customers",
            "300",
            "--json",
        ])
        .success();
    let figures = run.json();
    assert_eq!(figures["bench"], "api");
    assert_eq!(figures["servers"]["servers"], 2, "{figures}");
    assert_eq!(figures["messages"], 60, "{figures}");
    positive(
        &figures["servers"]["publishes_per_s"],
        "servers.publishes_per_s",
    );
    positive(
        &figures["baseline"]["publishes_per_s"],
        "baseline.publishes_per_s",
    );
    positive(&figures["ratio_to_baseline"], "ratio_to_baseline");
}

#[test]
fn bench_intake_prints_nats_against_http_as_json() {
    let s = Scratch::new();
    let nats = nats_url();
    let run = s
        .run(&[
            "bench",
            "intake",
            "--nats",
            &nats,
            "--messages",
            "60",
            "--customers",
            "300",
            "--json",
        ])
        .success();
    let figures = run.json();
    assert_eq!(figures["bench"], "intake");
    assert_eq!(figures["messages"], 60, "{figures}");
    for side in ["herald", "baseline"] {
        positive(
            &figures[side]["requests_per_s"],
            &format!("{side}.requests_per_s"),
        );
        positive(&figures[side]["seconds"], &format!("{side}.seconds"));
    }
    positive(&figures["ratio_to_baseline"], "ratio_to_baseline");
}

#[test]
fn bench_without_json_prints_a_table_for_a_person() {
    let s = Scratch::new();
    let run = s.run(&["bench", "route", "--customers", "2000"]).success();
    assert!(
        serde_json::from_str::<Value>(&run.stdout).is_err(),
        "without --json the figures are not JSON: {}",
        run.stdout
    );
    let header = run
        .stdout
        .lines()
        .find(|l| l.starts_with("figure"))
        .unwrap_or_else(|| panic!("no table: {}", run.stdout));
    for column in ["Herald", "baseline", "ratio", "goal"] {
        assert!(header.contains(column), "{header}");
    }
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("incident.seconds "))
        .unwrap_or_else(|| panic!("no incident.seconds row: {}", run.stdout));
    assert_eq!(row.split_whitespace().count(), 5, "{row}");
    assert!(run.stdout.contains("customers: 2000"), "{}", run.stdout);
}
