//! Herald's pure core: who hears about a vendor's message when the vendor sells through
//! partners.
//!
//! The crate holds the directory ([`Directory`]), messages ([`Message`]), the policy as
//! data ([`Policy`]), routing ([`route()`]), the copies each reader gets ([`plan`]) and
//! explanations ([`explain`]). It does no I/O, reads no clock and draws no random number:
//! the same policy, directory and message always give the same decisions. The JSON shapes
//! at the edges are in [`wire`], and what any id or text given from outside may be in
//! [`limits`]; [`synthetic`] makes seeded directories for the demo and
//! benchmarks.

pub mod directory;
pub mod explain;
pub mod ids;
pub mod limits;
pub mod message;
pub mod plan;
pub mod policy;
pub mod report;
pub mod route;
pub mod synthetic;
pub mod thread;
pub mod wire;

pub use directory::{Directory, DirectoryError};
pub use message::{Message, MessageError};
pub use policy::{Policy, PolicyError};
pub use route::{route, Routing};
