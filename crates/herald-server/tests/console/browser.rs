//! (browser tests: next)
