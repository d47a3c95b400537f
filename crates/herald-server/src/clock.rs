//! The wall clock, read only at the edge: the time a request is taken, in Unix
//! milliseconds, which the use cases below are given rather than read themselves.

/// The wall clock in Unix milliseconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
