//! When a delivery is tried again: a list of waits, one before each attempt, the first
//! usually none. Once every wait is spent, the delivery is a dead letter.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use herald_store::Next;

/// The waits before each attempt at a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(Vec<Duration>);

/// A schedule that does not parse, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the retry schedule {text:?} does not parse: {reason}")]
pub struct ScheduleError {
    text: String,
    reason: String,
}

impl Default for Schedule {
    /// Immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts
    /// over a day and a bit.
    fn default() -> Schedule {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        Schedule(
            [
                0,
                5,
                5 * MINUTE,
                30 * MINUTE,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                10 * HOUR,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        )
    }
}

impl Schedule {
    /// How many attempts a delivery gets.
    pub fn attempts(&self) -> usize {
        self.0.len()
    }

    /// What follows attempt number `made` (1 for the first) that did not deliver, at
    /// `now` (Unix milliseconds): the next attempt's time, or a dead letter once the
    /// schedule is spent.
    pub fn after_failure(&self, made: i64, now: i64) -> Next {
        match usize::try_from(made).ok().and_then(|m| self.0.get(m)) {
            Some(wait) => Next::RetryAt(now.saturating_add(wait.as_millis() as i64)),
            None => Next::Dead,
        }
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// Waits separated by commas, each a number and a unit (`ms`, `s`, `m`, `h`):
    /// `0s,5s,5m,30m,2h,5h,10h,10h`.
    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        let fail = |reason: String| ScheduleError {
            text: text.to_owned(),
            reason,
        };
        let waits = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                let digits = part
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(part.len());
                let (number, unit) = part.split_at(digits);
                let number: u64 = number.parse().map_err(|_| {
                    fail(format!(
                        "{part:?} should be a whole number and a unit, like 5s"
                    ))
                })?;
                let millis = match unit {
                    "ms" => 1,
                    "s" => 1_000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    _ => {
                        return Err(fail(format!(
                            "{part:?} has no known unit; use ms, s, m or h"
                        )))
                    }
                };
                Ok(Duration::from_millis(number * millis))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if waits.is_empty() {
            return Err(fail("it names no attempt".into()));
        }
        Ok(Schedule(waits))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, wait) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let ms = wait.as_millis();
            match ms {
                0 => f.write_str("0s")?,
                _ if ms.is_multiple_of(3_600_000) => write!(f, "{}h", ms / 3_600_000)?,
                _ if ms.is_multiple_of(60_000) => write!(f, "{}m", ms / 60_000)?,
                _ if ms.is_multiple_of(1_000) => write!(f, "{}s", ms / 1_000)?,
                _ => write!(f, "{ms}ms")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_documented_schedule() {
        assert_eq!(
            Schedule::default().to_string(),
            "0s,5s,5m,30m,2h,5h,10h,10h"
        );
        assert_eq!(
            "0s,5s,5m,30m,2h,5h,10h,10h".parse::<Schedule>(),
            Ok(Schedule::default())
        );
    }

    #[test]
    fn each_failure_waits_the_next_step_then_the_delivery_is_dead() {
        let schedule: Schedule = "0ms,100ms,2s".parse().unwrap();
        assert_eq!(schedule.after_failure(1, 1_000), Next::RetryAt(1_100));
        assert_eq!(schedule.after_failure(2, 1_000), Next::RetryAt(3_000));
        assert_eq!(schedule.after_failure(3, 1_000), Next::Dead);
    }

    #[test]
    fn a_bad_schedule_says_which_part() {
        let e = "0s,5x".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("\"5x\" has no known unit"), "{e}");
        let e = "".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
    }
}
