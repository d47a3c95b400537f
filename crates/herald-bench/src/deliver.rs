//! `herald bench deliver`: the delivery channels measured against a bare baseline doing
//! the same work in the same run. Each channel is one key of the JSON object it prints.
//!
//! - `email`: mails through [`Mailer`] (lettre, a pool of `--pool` connections, as many
//!   sends at once) into Herald's SMTP sink on loopback, against a hand-written SMTP client
//!   sending the same mails, rendered and dot-stuffed beforehand, over as many raw TCP
//!   connections, one command at a time as lettre does. The baseline is the floor the sink
//!   and the loopback allow: the ratio is what building each mail with lettre, its pool
//!   and its checks cost on top.
//! - `signing`, `webhooks` and `latency`: the webhook channel, from signing alone to the
//!   whole path through the store and the worker ([`crate::webhooks`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use herald_delivery::email::{compose, Mail, Mailer, MailerConfig, Named, Names};
use herald_domain::message::Content;
use herald_domain::wire::Text;
use herald_kit::sink::Sink;
use herald_store::AttemptOutcome;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::webhooks::{bench_webhooks, Sizes};

/// The sender of the benchmark's mails.
const FROM: &str = "Herald Bench <bench@herald.example>";
/// The rate the email channel should reach into a local server.
const GOAL_EMAILS_PER_S: f64 = 1_000.0;

/// Runs every delivery channel's benchmark and gathers their figures.
pub async fn bench_deliver(emails: usize, pool: u32, webhooks: &Sizes) -> Result<Value> {
    ensure!(emails > 0, "--emails must be at least 1");
    ensure!(pool > 0, "--pool must be at least 1");
    let email = bench_email(emails, pool).await?;
    let (signing, webhooks, latency) = bench_webhooks(webhooks).await?;
    Ok(json!({
        "bench": "deliver",
        "email": email,
        "signing": signing,
        "webhooks": webhooks,
        "latency": latency,
    }))
}

/// The email channel: [`Mailer`] against the hand-written client, into one sink.
async fn bench_email(emails: usize, pool: u32) -> Result<Value> {
    let sink = Sink::start("127.0.0.1:0", 0)
        .await
        .context("could not start the SMTP sink on 127.0.0.1")?;
    let mailer = Mailer::with_config(&MailerConfig {
        pool_size: pool,
        ..MailerConfig::new(&format!("smtp://{}", sink.addr()), FROM)
    })?;
    let mails = Arc::new(mails(emails));
    let mut wire = Vec::with_capacity(emails);
    for mail in mails.iter() {
        let rendered = mailer.render(mail).map_err(anyhow::Error::msg)?;
        wire.push((mail.to.clone(), stuff(&rendered)));
    }
    let mean_bytes = wire.iter().map(|(_, data)| data.len()).sum::<usize>() / emails;

    let baseline = by_hand(&sink, Arc::new(wire), pool as usize).await?;
    let connections_before = sink.connections();
    let herald = through_mailer(&sink, &mailer, mails, pool as usize).await?;
    let herald_rate = emails as f64 / herald.seconds;
    let baseline_rate = emails as f64 / baseline.seconds;
    Ok(json!({
        "emails": emails,
        "mean_bytes": mean_bytes,
        "pool": pool,
        "herald": {
            "seconds": herald.seconds,
            "emails_per_s": herald_rate.round(),
            "p50_ms": herald.quantile_ms(0.50),
            "p99_ms": herald.quantile_ms(0.99),
            "connections": sink.connections() - connections_before,
        },
        "baseline": {
            "what": "a hand-written SMTP client over the same number of raw TCP connections, sending the same mails rendered beforehand",
            "seconds": baseline.seconds,
            "emails_per_s": baseline_rate.round(),
            "p50_ms": baseline.quantile_ms(0.50),
            "p99_ms": baseline.quantile_ms(0.99),
        },
        "ratio_to_baseline": (herald_rate / baseline_rate * 1000.0).round() / 1000.0,
        "goal_emails_per_s": GOAL_EMAILS_PER_S,
        "meets_goal": herald_rate >= GOAL_EMAILS_PER_S,
    }))
}

/// `n` mails of a subscription message in English or German, each to its own reader.
fn mails(n: usize) -> Vec<Mail> {
    let localized = |en: &str, de: &str| {
        Text::Localized(
            [("en", en), ("de", de)]
                .map(|(l, t)| (l.to_owned(), t.to_owned()))
                .into(),
        )
    };
    let content = Content::new(
        Some(localized("Your renewal is due", "Ihre Verlängerung steht an")),
        Some(localized(
            "Your subscription renews on the first of next month.\n\nNothing changes for you unless you cancel before then.",
            "Ihr Abonnement verlängert sich am Ersten des nächsten Monats.\n\nFür Sie ändert sich nichts, wenn Sie nicht vorher kündigen.",
        )),
        "en".to_owned(),
    );
    let subscriptions = [
        Named {
            id: "sub-1".to_owned(),
            name: Some("Mail & Calendar".to_owned()),
        },
        Named {
            id: "sub-2".to_owned(),
            name: Some("Storage".to_owned()),
        },
    ];
    let letters = ["en", "de"].map(|l| compose(&content, l, Names::Customer(&subscriptions)));
    (0..n)
        .map(|i| Mail {
            delivery: i as i64,
            store: "bench".to_owned(),
            to: format!("reader{i}@customer{}.example", i % 97),
            to_name: Some(format!("Reader {i}")),
            letter: letters[i % 2].clone(),
        })
        .collect()
}

/// How long a run took and each send's latency.
struct Run {
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Run {
    fn quantile_ms(&self, q: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        (sorted[i].as_secs_f64() * 1e6).round() / 1e3
    }
}

/// Sends every mail through `mailer` from `workers` tasks, and waits for the sink to have them.
async fn through_mailer(
    sink: &Sink,
    mailer: &Mailer,
    mails: Arc<Vec<Mail>>,
    workers: usize,
) -> Result<Run> {
    let before = sink.count();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (mailer, mails, next) = (mailer.clone(), mails.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(mail) = mails.get(i) else {
                    return Ok(latencies);
                };
                let attempt = mailer.send(mail).await;
                if attempt.outcome != AttemptOutcome::Delivered {
                    bail!("the mailer did not deliver mail {i} into the sink: {attempt:?}");
                }
                latencies.push(Duration::from_micros(attempt.latency_us as u64));
            }
        });
    }
    let mut latencies = Vec::with_capacity(mails.len());
    for done in tasks.join_all().await {
        latencies.extend(done?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = before + mails.len() as u64;
    ensure!(
        sink.wait_for(total, Duration::from_secs(10)).await,
        "the sink has {} of the {} mails sent through the mailer",
        sink.count() - before,
        mails.len()
    );
    Ok(Run { seconds, latencies })
}

/// `data` as it goes after `DATA`: every line that begins with a dot gets another, and the
/// line holding a single dot ends it.
fn stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    let mut at_line_start = true;
    for &b in data {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The baseline: `connections` hand-written SMTP sessions share the mails, one command and
/// one reply at a time.
async fn by_hand(
    sink: &Sink,
    wire: Arc<Vec<(String, Vec<u8>)>>,
    connections: usize,
) -> Result<Run> {
    let before = sink.count();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (wire, next, addr) = (wire.clone(), next.clone(), sink.addr());
        tasks.spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut line = String::new();
            expect(&mut read, &mut line, "220").await?;
            write.write_all(b"EHLO bench.example\r\n").await?;
            expect(&mut read, &mut line, "250").await?;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((to, data)) = wire.get(i) else { break };
                let sent = Instant::now();
                write
                    .write_all(b"MAIL FROM:<bench@herald.example>\r\n")
                    .await?;
                expect(&mut read, &mut line, "250").await?;
                write
                    .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
                    .await?;
                expect(&mut read, &mut line, "250").await?;
                write.write_all(b"DATA\r\n").await?;
                expect(&mut read, &mut line, "354").await?;
                write.write_all(data).await?;
                expect(&mut read, &mut line, "250").await?;
                latencies.push(sent.elapsed());
            }
            write.write_all(b"QUIT\r\n").await?;
            expect(&mut read, &mut line, "221").await?;
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(wire.len());
    for done in tasks.join_all().await {
        latencies.extend(done?);
    }
    let seconds = started.elapsed().as_secs_f64();
    ensure!(
        sink.wait_for(before + wire.len() as u64, Duration::from_secs(10))
            .await,
        "the sink has {} of the {} mails the baseline sent",
        sink.count() - before,
        wire.len()
    );
    Ok(Run { seconds, latencies })
}

/// Reads one reply (every line of it) and checks its code.
async fn expect(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut String,
    code: &str,
) -> Result<()> {
    loop {
        line.clear();
        ensure!(
            read.read_line(line).await? > 0,
            "the sink closed the connection"
        );
        ensure!(
            line.starts_with(code),
            "the sink answered {line:?} where {code} was due"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}
