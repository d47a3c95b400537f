//! What Herald's tests, benchmarks and demo run against, kept in one place so each builds
//! the same peers and the same worlds: [`sink`], an SMTP server on loopback that accepts
//! every mail; [`receiver`], a webhook receiver on loopback checking every signature with
//! an HMAC of its own; [`world`], small directories and messages built by name (a relay
//! partner with N customers, its endpoint, an incident on Exchange).

pub mod receiver;
pub mod sink;
pub mod world;
