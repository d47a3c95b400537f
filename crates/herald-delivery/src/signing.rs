//! Signatures per the Standard Webhooks specification: an endpoint's secret is `whsec_`
//! followed by the base64 of its key, and an event is signed by HMAC-SHA256 of
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, sent as `v1,<base64>`. While a rotated
//! secret overlaps its successor, the `webhook-signature` header carries one signature per
//! secret, separated by spaces, so a receiver holding either secret accepts the event.
//!
//! A receiver checks an event with [`Secret::verify`]: one of the header's `v1`
//! signatures must match (compared in constant time) and the timestamp must be within
//! [`TOLERANCE_SECONDS`] of the receiver's clock, so a captured event cannot be replayed
//! later.
//!
//! A [`Secret`] keeps its HMAC key state computed once (the key hashed into the inner and
//! outer SHA-256 states), so signing an event hashes only the event.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every secret starts with.
const PREFIX: &str = "whsec_";
/// Random bytes in a secret Herald draws.
const GENERATED_BYTES: usize = 32;
/// The shortest and longest keys a secret may hold, in bytes, per the specification.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Why a text is not a signing secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with `whsec_`")]
    Prefix,
    #[error("a webhook secret is `whsec_` followed by base64, and this one's base64 does not decode: {0}")]
    Base64(base64::DecodeError),
    #[error("a webhook secret holds 24 to 64 bytes, and this one holds {0}")]
    Length(usize),
    #[error("no random bytes could be had from the operating system for a webhook secret: {0}")]
    Random(getrandom::Error),
}

/// How far an event's `webhook-timestamp` may be from the receiver's clock, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a receiver refuses an event.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("`webhook-timestamp` is not a number of Unix seconds")]
    Timestamp,
    #[error(
        "the event was signed at {signed} (Unix seconds), more than 5 minutes from now ({now})"
    )]
    Stale { signed: i64, now: i64 },
    #[error("no `v1` signature in `webhook-signature` matches the secret")]
    Mismatch,
}

/// An endpoint's signing secret, ready to sign.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
    /// The HMAC state after the key, cloned for every signature.
    mac: Hmac<Sha256>,
}

impl Secret {
    /// A new secret of 32 bytes from the operating system's random number generator.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut key = vec![0; GENERATED_BYTES];
        getrandom::fill(&mut key).map_err(SecretError::Random)?;
        Ok(Secret::from_key(key))
    }

    /// The secret `text` spells (`whsec_` and base64).
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(SecretError::Base64)?;
        if !KEY_BYTES.contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Secret::from_key(key))
    }

    fn from_key(key: Vec<u8>) -> Secret {
        let mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
        Secret { key, mac }
    }

    /// The HMAC-SHA256 of `"{id}.{timestamp}.{body}"` under this secret.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        self.mac_of(id, timestamp, body)
            .finalize()
            .into_bytes()
            .into()
    }

    /// The HMAC state of `"{id}.{timestamp}.{body}"` under this secret, not yet finalised.
    fn mac_of(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Checks an event as a receiver gets it: the `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature` headers and the body, at `now` (Unix seconds). Accepted when the
    /// timestamp is within [`TOLERANCE_SECONDS`] of `now` and any `v1,<base64>` signature
    /// of the header (space-separated, as during a rotation) matches; signatures of other
    /// versions are skipped.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let signed: i64 = timestamp.parse().map_err(|_| VerifyError::Timestamp)?;
        if signed.abs_diff(now) > TOLERANCE_SECONDS.unsigned_abs() {
            return Err(VerifyError::Stale { signed, now });
        }
        let mac = self.mac_of(id, timestamp, body);
        let matches = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| STANDARD.decode(s).ok())
            // `verify_slice` compares in constant time.
            .any(|signature| mac.clone().verify_slice(&signature).is_ok());
        if matches {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

/// Spells the secret as it is stored and shown: `whsec_` and base64.
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD.encode(&self.key))
    }
}

/// Shows no part of the key, so that printing a secret for debugging leaks nothing.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

/// The `webhook-signature` header of an event: `v1,<base64>` for each secret, in the order
/// given, separated by spaces.
pub fn signature_header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mut header = String::with_capacity(secrets.len() * 48);
    for secret in secrets {
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str("v1,");
        STANDARD.encode_string(secret.sign(id, &timestamp, body), &mut header);
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries, signed the same way.
    #[test]
    fn signs_as_the_specifications_reference_libraries_do() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let header = signature_header(
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_reads_back_as_it_is_spelled_and_refuses_other_shapes() {
        let secret = Secret::generate().unwrap();
        let text = secret.to_string();
        assert!(text.starts_with("whsec_") && text.len() == 6 + 44, "{text}");
        assert_eq!(Secret::parse(&text).unwrap().to_string(), text);
        assert!(matches!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::Prefix)
        ));
        assert!(matches!(
            Secret::parse("whsec_not base64!"),
            Err(SecretError::Base64(_))
        ));
        assert!(matches!(
            Secret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Length(5))
        ));
        assert_eq!(format!("{secret:?}"), "Secret(whsec_…)");
    }

    #[test]
    fn verify_accepts_what_sign_makes_within_five_minutes_and_nothing_else() {
        let (secret, other) = (Secret::generate().unwrap(), Secret::generate().unwrap());
        let body = br#"{"type":"test"}"#;
        let header = signature_header(std::slice::from_ref(&secret), "msg_1", 1_000, body);
        let verify =
            |s: &Secret, id, ts, sig: &str, body: &[u8], now| s.verify(id, ts, sig, body, now);
        assert_eq!(
            verify(&secret, "msg_1", "1000", &header, body, 1_000),
            Ok(())
        );
        assert_eq!(
            verify(&secret, "msg_1", "1000", &header, body, 1_300),
            Ok(())
        );
        assert_eq!(verify(&secret, "msg_1", "1000", &header, body, 700), Ok(()));
        assert_eq!(
            verify(&secret, "msg_1", "1000", &header, body, 1_301),
            Err(VerifyError::Stale {
                signed: 1_000,
                now: 1_301
            })
        );
        assert_eq!(
            verify(&secret, "msg_1", "1000", &header, body, 699),
            Err(VerifyError::Stale {
                signed: 1_000,
                now: 699
            })
        );
        assert_eq!(
            verify(&secret, "msg_1", "soon", &header, body, 1_000),
            Err(VerifyError::Timestamp)
        );
        let mismatch = Err(VerifyError::Mismatch);
        assert_eq!(
            verify(&other, "msg_1", "1000", &header, body, 1_000),
            mismatch
        );
        assert_eq!(
            verify(&secret, "msg_2", "1000", &header, body, 1_000),
            mismatch
        );
        assert_eq!(
            verify(&secret, "msg_1", "1000", &header, b"{}", 1_000),
            mismatch
        );
        assert_eq!(verify(&secret, "msg_1", "1000", "", body, 1_000), mismatch);
        assert_eq!(
            verify(&secret, "msg_1", "1000", "v1,not base64!", body, 1_000),
            mismatch
        );
        let v2 = header.replace("v1,", "v2,");
        assert_eq!(verify(&secret, "msg_1", "1000", &v2, body, 1_000), mismatch);
    }

    #[test]
    fn verify_accepts_either_secret_of_a_rotation() {
        let (old, new) = (Secret::generate().unwrap(), Secret::generate().unwrap());
        let both = signature_header(&[new.clone(), old.clone()], "msg_1", 5, b"{}");
        assert_eq!(old.verify("msg_1", "5", &both, b"{}", 5), Ok(()));
        assert_eq!(new.verify("msg_1", "5", &both, b"{}", 5), Ok(()));
        // And the specification's example, by the secret its reference libraries use.
        let reference = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let (id, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", br#"{"test": 2432232314}"#);
        assert_eq!(
            reference.verify(id, "1614265330", signature, body, 1614265330),
            Ok(())
        );
    }

    #[test]
    fn every_secret_signs_in_the_header_in_order() {
        let (old, new) = (Secret::generate().unwrap(), Secret::generate().unwrap());
        let both = signature_header(&[new.clone(), old.clone()], "msg_1", 1, b"{}");
        let alone = |s: &Secret| signature_header(std::slice::from_ref(s), "msg_1", 1, b"{}");
        assert_eq!(both, format!("{} {}", alone(&new), alone(&old)));
        assert_ne!(alone(&new), alone(&old));
    }
}
