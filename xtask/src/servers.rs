//! A server the tests need, found the same way whatever its kind (`postgres`, `nats`): the
//! one a variable names, else the machine's when one answers on its usual address, else a
//! throwaway one xtask starts for the run and stops afterwards.

use std::net::SocketAddr;
use std::path::Path;

/// A kind of server the tests use.
pub trait Kind {
    /// The variable naming the server the tests use; xtask sets it for `cargo test`.
    const VARIABLE: &'static str;
    /// The address a server installed on this machine listens on.
    const MACHINE: &'static str;
    /// A server of this kind started by xtask, stopped when dropped.
    type Throwaway: Throwaway;

    /// Whether a server of this kind answers at `address`.
    fn answers(address: SocketAddr) -> bool;
    /// The URL of the machine's server.
    fn machine_url() -> String;
}

/// A server xtask started in a folder of its own.
pub trait Throwaway: Sized {
    /// Starts one keeping what it writes in `home`.
    fn start(home: &Path) -> Result<Self, String>;
    /// The URL the tests connect to.
    fn url(&self) -> String;
    /// The port it listens on, on 127.0.0.1.
    fn port(&self) -> u16;
    /// The folder holding what it writes.
    fn home(&self) -> &Path;
}

/// A server for the tests and how it was found.
pub enum Server<K: Kind> {
    /// Named by [`Kind::VARIABLE`].
    Given(String),
    /// The server of this machine, on [`Kind::MACHINE`].
    Running,
    /// Started by xtask, stopped when dropped.
    Throwaway(K::Throwaway),
}

impl<K: Kind> Server<K> {
    /// The server named by the kind's variable, else the machine's, else a throwaway one
    /// started in `home`.
    pub fn find(home: &Path) -> Result<Server<K>, String> {
        if let Ok(url) = std::env::var(K::VARIABLE) {
            return Ok(Server::Given(url));
        }
        if K::answers(K::MACHINE.parse().expect("an address")) {
            return Ok(Server::Running);
        }
        K::Throwaway::start(home).map(Server::Throwaway)
    }

    /// The URL the tests connect to.
    pub fn url(&self) -> String {
        match self {
            Server::Given(url) => url.clone(),
            Server::Running => K::machine_url(),
            Server::Throwaway(server) => server.url(),
        }
    }

    /// Which server this is, for a person reading the log (never a URL's password).
    pub fn describe(&self) -> String {
        match self {
            Server::Given(_) => format!("the server named by {}", K::VARIABLE),
            Server::Running => format!("{} (running)", K::MACHINE),
            Server::Throwaway(server) => format!(
                "throwaway server on port {} in {}",
                server.port(),
                server.home().display()
            ),
        }
    }
}
