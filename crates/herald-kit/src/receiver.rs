//! A webhook receiver on 127.0.0.1 that checks each signature with a plain HMAC-SHA256 of
//! its own (not Herald's signing) and keeps every request it took, with when it arrived:
//! what `herald bench deliver` sends its webhooks to, Herald's worker and the bare loop
//! alike.
//!
//! It answers 204 when one of a request's `v1` signatures is the HMAC-SHA256 of
//! `"{id}.{timestamp}.{body}"` under its key, 401 otherwise, and counts those as forged;
//! [`Receiver::take`] and [`Receiver::wait_for`] fail once any arrived. Dropping the
//! [`Receiver`] stops it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use herald_delivery::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;

/// What went wrong with the receiver or what it took.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error("could not start the webhook receiver on 127.0.0.1: {0}")]
    Start(#[source] io::Error),
    #[error("{0} webhooks arrived with a bad signature")]
    Forged(usize),
    #[error("{arrived} of {wanted} webhooks arrived")]
    Late { arrived: usize, wanted: usize },
    #[error("the receiver has {distinct} distinct webhooks of {wanted}")]
    Missing { distinct: usize, wanted: usize },
}

/// One request the receiver took: its headers, its body and when it arrived.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
    pub at: Instant,
}

/// What the receiver took since it was last asked.
#[derive(Debug)]
pub struct Taken {
    pub arrivals: Vec<Arrival>,
}

impl Taken {
    /// The time from `started` to the last arrival, once `n` distinct webhooks arrived.
    pub fn span_from(&self, started: Instant, n: usize) -> Result<f64, ReceiverError> {
        let mut ids: Vec<&str> = self.arrivals.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let missing = ReceiverError::Missing {
            distinct: ids.len(),
            wanted: n,
        };
        if ids.len() != n {
            return Err(missing);
        }
        let last = self.arrivals.iter().map(|a| a.at).max().ok_or(missing)?;
        Ok((last - started).as_secs_f64())
    }
}

/// The receiver's state: the key it checks signatures with, and what arrived.
struct Inbox {
    key: Vec<u8>,
    arrivals: Mutex<Vec<Arrival>>,
    forged: AtomicUsize,
}

impl Inbox {
    fn forged(&self) -> Result<(), ReceiverError> {
        match self.forged.load(Ordering::Relaxed) {
            0 => Ok(()),
            forged => Err(ReceiverError::Forged(forged)),
        }
    }
}

/// A running receiver; dropping it stops it.
pub struct Receiver {
    addr: SocketAddr,
    secret: Secret,
    inbox: Arc<Inbox>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1, with a secret of its own.
    pub async fn start() -> Result<Receiver, ReceiverError> {
        let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        let secret = Secret::parse(&format!("whsec_{}", STANDARD.encode(key)))
            .expect("32 bytes make a secret");
        let inbox = Arc::new(Inbox {
            key: key.to_vec(),
            arrivals: Mutex::new(Vec::new()),
            forged: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ReceiverError::Start)?;
        let addr = listener.local_addr().map_err(ReceiverError::Start)?;
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Receiver {
            addr,
            secret,
            inbox,
            _stop: stop,
        })
    }

    /// The URL to send webhooks to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The secret a sender signs with for this receiver.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Everything that arrived since the last call; an error if a signature did not
    /// check.
    pub fn take(&self) -> Result<Taken, ReceiverError> {
        let forged = self.inbox.forged.swap(0, Ordering::Relaxed);
        if forged > 0 {
            return Err(ReceiverError::Forged(forged));
        }
        let arrivals = std::mem::take(&mut *self.inbox.arrivals.lock().expect("not poisoned"));
        Ok(Taken { arrivals })
    }

    /// Waits until `n` requests arrived, for at most `deadline`.
    pub async fn wait_for(&self, n: usize, deadline: Duration) -> Result<(), ReceiverError> {
        let started = Instant::now();
        loop {
            self.inbox.forged()?;
            let arrived = self.inbox.arrivals.lock().expect("not poisoned").len();
            if arrived >= n {
                return Ok(());
            }
            if started.elapsed() >= deadline {
                return Err(ReceiverError::Late { arrived, wanted: n });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Takes one webhook: 204 when one of its `v1` signatures checks under the receiver's
/// key, 401 otherwise.
async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&inbox.key).expect("any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signed = signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|s| mac.clone().verify_slice(&s).is_ok());
    if !signed {
        inbox.forged.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    // A copy of its own, so that a million kept bodies do not each pin the buffer the
    // request was read into.
    let body = Bytes::copy_from_slice(&body);
    inbox.arrivals.lock().expect("not poisoned").push(Arrival {
        id,
        timestamp,
        signature,
        body,
        at,
    });
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use herald_delivery::{signature_header, Secret};

    use super::{Receiver, ReceiverError};

    /// POSTs `body` as webhook `id`, signed with `secret`; the status it was answered.
    async fn post(receiver: &Receiver, secret: &Secret, id: &str, body: &str) -> u16 {
        let signature = signature_header(
            std::slice::from_ref(secret),
            id,
            1_800_000_000,
            body.as_bytes(),
        );
        reqwest::Client::new()
            .post(receiver.url())
            .header("webhook-id", id)
            .header("webhook-timestamp", "1800000000")
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .expect("the receiver answers")
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn a_webhook_signed_with_its_secret_is_kept_and_a_forged_one_refused() {
        let receiver = Receiver::start().await.unwrap();
        let started = Instant::now();
        let secret = receiver.secret().clone();
        assert_eq!(post(&receiver, &secret, "msg_1", "{\"n\":1}").await, 204);
        receiver.wait_for(1, Duration::from_secs(10)).await.unwrap();
        let taken = receiver.take().unwrap();
        assert_eq!(taken.arrivals.len(), 1);
        assert_eq!(taken.arrivals[0].id, "msg_1");
        assert_eq!(&taken.arrivals[0].body[..], b"{\"n\":1}");
        assert!(taken.span_from(started, 1).is_ok());
        assert!(matches!(
            taken.span_from(started, 2),
            Err(ReceiverError::Missing {
                distinct: 1,
                wanted: 2
            })
        ));

        let other = Secret::generate().unwrap();
        assert_eq!(post(&receiver, &other, "msg_2", "{}").await, 401);
        assert!(matches!(receiver.take(), Err(ReceiverError::Forged(1))));
        assert!(receiver.take().unwrap().arrivals.is_empty());
    }

    #[tokio::test]
    async fn waiting_for_more_than_arrived_ends_at_the_deadline() {
        let receiver = Receiver::start().await.unwrap();
        assert!(matches!(
            receiver.wait_for(1, Duration::from_millis(50)).await,
            Err(ReceiverError::Late {
                arrived: 0,
                wanted: 1
            })
        ));
    }
}
