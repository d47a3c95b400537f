//! Signing speed: `signature_header` (the key state computed once per secret, the
//! signature in base64 in its header) against a bare HMAC-SHA256 loop over the same
//! payloads, as a ratio. Run with `cargo bench -p herald-delivery --bench signing`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use herald_delivery::{signature_header, Secret};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Events per run, and runs per measurement (the fastest run counts).
const EVENTS: usize = 20_000;
const RUNS: usize = 7;

/// The fastest of [`RUNS`] runs of `f`.
fn fastest(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn main() {
    let key = [7u8; 32];
    let secret = Secret::parse(&format!(
        "whsec_{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key)
    ))
    .expect("a secret");
    let timestamp = 1_800_000_000i64;
    let stamp = timestamp.to_string();
    for size in [256usize, 1024, 4096] {
        let events: Vec<(String, Vec<u8>)> = (0..EVENTS)
            .map(|n| {
                let mut body =
                    format!("{{\"type\":\"message.published\",\"data\":{{\"n\":{n},\"text\":\"");
                body.extend(std::iter::repeat_n(
                    'x',
                    size.saturating_sub(body.len() + 3),
                ));
                body.push_str("\"}}");
                (format!("msg_{n:08}"), body.into_bytes())
            })
            .collect();
        let bare = fastest(|| {
            for (id, body) in &events {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key");
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(stamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                black_box(mac.finalize().into_bytes());
            }
        });
        let signed = fastest(|| {
            for (id, body) in &events {
                black_box(signature_header(
                    std::slice::from_ref(&secret),
                    id,
                    timestamp,
                    body,
                ));
            }
        });
        let per = |d: Duration| d.as_nanos() as f64 / EVENTS as f64;
        println!(
            "{size:>5} B events, {EVENTS} per run: bare HMAC-SHA256 {:>7.0} ns/event, signature_header {:>7.0} ns/event, ratio {:.2} (goal ≤ 1.20)",
            per(bare),
            per(signed),
            per(signed) / per(bare)
        );
    }
}
