//! The guard against server-side request forgery: a webhook URL is someone else's input,
//! and Herald must not be made to POST into the network it runs in. An address that is
//! loopback, private, link-local (the cloud metadata service among them), shared (CGNAT),
//! unspecified, multicast, broadcast or reserved is refused, in IPv4 and IPv6 alike,
//! IPv4 addresses written as IPv6 included.
//!
//! The guard runs twice: [`check_url`] when an endpoint is registered, and
//! [`GuardedResolver`] whenever the sender connects, so a name that resolved to a public
//! address at registration and to an inner one later is still refused. An operator may
//! allow private addresses ([`Guard::allow_private`]); the tests do, to reach receivers on
//! loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// The longest a registration waits for its host to resolve.
const RESOLVE_WITHIN: Duration = Duration::from_secs(5);

/// Whether private addresses may be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    /// Allows every address: for an operator whose receivers are on its own network, and
    /// for tests on loopback.
    pub allow_private: bool,
}

/// Why a webhook URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("\"{url}\" is not a URL: {reason}")]
    Unparsable { url: String, reason: String },
    #[error("a webhook URL starts with http:// or https://, and \"{0}\" does not")]
    Scheme(String),
    #[error("\"{0}\" names no host; a webhook URL names the host that receives the events")]
    NoHost(String),
    #[error("the host \"{host}\" does not resolve ({reason}); register a URL whose host has a public address")]
    Unresolved { host: String, reason: String },
    #[error(
        "\"{host}\" is {address}, {kind}, which Herald does not send to; register a public address"
    )]
    Refused {
        host: String,
        address: IpAddr,
        kind: &'static str,
    },
}

impl Guard {
    /// Why `address` is refused, in words (`"a loopback address"`), or `None` when it may
    /// be reached.
    pub fn refuses(self, address: IpAddr) -> Option<&'static str> {
        if self.allow_private {
            return None;
        }
        match address {
            IpAddr::V4(v4) => refused_v4(v4),
            IpAddr::V6(v6) => refused_v6(v6),
        }
    }

    /// Refuses `host` when any of `addresses` is refused.
    fn check_all(
        self,
        host: &str,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Result<(), GuardError> {
        for address in addresses {
            if let Some(kind) = self.refuses(address) {
                return Err(GuardError::Refused {
                    host: host.to_owned(),
                    address,
                    kind,
                });
            }
        }
        Ok(())
    }

    /// Refuses a URL whose host is an address literal the guard refuses; a host name is
    /// left to [`GuardedResolver`], which sees what it resolves to when connecting.
    pub fn check_literal(self, url: &Url) -> Result<(), GuardError> {
        match literal(url) {
            Some(address) => self.check_all(url.host_str().unwrap_or_default(), [address]),
            None => Ok(()),
        }
    }

    /// The resolver the sender connects through.
    pub fn resolver(self) -> GuardedResolver {
        GuardedResolver { guard: self }
    }
}

/// The host of `url` when it is an IP address rather than a name.
fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Why an IPv4 address is refused.
fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "the cloud metadata address",
        _ if ip.is_broadcast() => "the broadcast address",
        (0, _) => "an unspecified address",
        (127, _) => "a loopback address",
        (10, _) | (172, 16..=31) | (192, 168) => "a private address",
        (169, 254) => "a link-local address",
        (100, 64..=127) => "a shared (carrier-grade NAT) address",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved address",
        _ => return None,
    })
}

/// Why an IPv6 address is refused; an IPv4 address written as IPv6 is judged as IPv4.
fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if let Some(v4) = embedded_v4(ip) {
        return refused_v4(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => {
            "the cloud metadata address"
        }
        0xfc00..=0xfdff => "a unique local (private) address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = || Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(v4()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(v4()),
        _ => None,
    }
}

/// Checks a webhook URL when an endpoint is registered: http or https, a host, and every
/// address that host resolves to allowed by `guard`. Returns the URL as parsed.
pub async fn check_url(text: &str, guard: Guard) -> Result<Url, GuardError> {
    let url = Url::parse(text).map_err(|e| GuardError::Unparsable {
        url: text.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(GuardError::Scheme(text.to_owned()));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| GuardError::NoHost(text.to_owned()))?
        .to_owned();
    if let Some(address) = literal(&url) {
        guard.check_all(&host, [address])?;
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let unresolved = |reason: String| GuardError::Unresolved {
        host: host.clone(),
        reason,
    };
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        RESOLVE_WITHIN,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| {
        unresolved(format!(
            "no answer within {} seconds",
            RESOLVE_WITHIN.as_secs()
        ))
    })?
    .map_err(|e| unresolved(e.to_string()))?
    .collect();
    if addresses.is_empty() {
        return Err(GuardError::Unresolved {
            host,
            reason: "no address".to_owned(),
        });
    }
    guard.check_all(&host, addresses.iter().map(SocketAddr::ip))?;
    Ok(url)
}

/// Resolves host names for the sender and refuses a name any of whose addresses the guard
/// refuses, at every connection.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        Box::pin(async move {
            let host = name.as_str();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            guard.check_all(host, addresses.iter().map(SocketAddr::ip))?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<&'static str> {
        Guard::default().refuses(text.parse().unwrap())
    }

    #[test]
    fn inner_addresses_are_refused_and_public_ones_pass() {
        for (address, kind) in [
            ("127.0.0.1", "a loopback address"),
            ("127.255.0.9", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.169.254", "the cloud metadata address"),
            ("169.254.10.1", "a link-local address"),
            ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("100.127.255.254", "a shared (carrier-grade NAT) address"),
            ("0.0.0.0", "an unspecified address"),
            ("224.0.0.1", "a multicast address"),
            ("255.255.255.255", "the broadcast address"),
            ("240.0.0.1", "a reserved address"),
            ("::1", "a loopback address"),
            ("::", "an unspecified address"),
            ("fc00::1", "a unique local (private) address"),
            ("fd12:3456::1", "a unique local (private) address"),
            ("fd00:ec2::254", "the cloud metadata address"),
            ("fe80::1", "a link-local address"),
            ("ff02::1", "a multicast address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.0.0.1", "a private address"),
            ("::ffff:169.254.169.254", "the cloud metadata address"),
            ("::10.0.0.1", "a private address"),
            ("64:ff9b::192.168.0.1", "a private address"),
        ] {
            assert_eq!(refused(address), Some(kind), "{address}");
        }
        for address in [
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "203.0.113.9",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(address), None, "{address}");
        }
        let open = Guard {
            allow_private: true,
        };
        assert_eq!(open.refuses("127.0.0.1".parse().unwrap()), None);
    }
}
