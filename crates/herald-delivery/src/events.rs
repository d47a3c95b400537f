//! What a webhook event says: the Standard Webhooks payload shape (`type`, `timestamp`,
//! `data`), where `data` is the copy its receiver may see, exactly as the API shows it.

use herald_store::MessageView;
use serde::Serialize;

/// One webhook event.
#[derive(Serialize)]
pub struct Event<'a> {
    /// `message.published` for a copy of a message, `test` for a test event.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// When the message was accepted, in RFC 3339.
    pub timestamp: String,
    pub data: &'a MessageView,
}

impl Event<'_> {
    /// The event as the bytes a receiver gets and the signature covers.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event serialises")
    }
}

/// `millis` (Unix milliseconds) in RFC 3339, in UTC: `2026-11-25T10:04:29.123Z`.
pub fn rfc3339(millis: i64) -> String {
    let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1_000 % 60,
        ms_of_day % 1_000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn times_read_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_601_069_123), "2026-11-25T10:04:29.123Z");
    }
}
