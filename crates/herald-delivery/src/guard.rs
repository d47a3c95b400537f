//! The guard against server-side request forgery: a webhook URL is someone else's input,
//! and Herald must not be made to POST into the network it runs in. An address is refused
//! when it lies in one of the ranges of IANA's special-purpose address registries that is
//! not globally reachable (loopback, private, link-local with the cloud metadata service
//! among them, shared (CGNAT), unspecified, multicast, broadcast, documentation,
//! benchmarking, protocol assignments, reserved), or, for IPv6, outside global unicast. An
//! IPv6 address that carries an IPv4 address (mapped, translated, compatible, NAT64, 6to4)
//! is judged by the IPv4 address; local-use NAT64 and Teredo, whose far end cannot be
//! checked, are refused.
//!
//! The table is our own: the crates that know "global" (`ip_network`, `ip_rfc`; the
//! standard library's `is_global` is unstable) count global multicast as reachable and
//! unwrap none of these IPv6 forms, so they would still need the wrappers written here.
//!
//! The guard runs twice: [`check_url`] when an endpoint is registered, and
//! [`GuardedResolver`] whenever the sender connects, so a name that resolved to a public
//! address at registration and to an inner one later is still refused. An operator may
//! allow private addresses ([`Guard::allow_private`]); the tests do, to reach receivers on
//! loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
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

/// `a.b.c.d/len`, for the tables below.
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// `s0:s1:s2:s3::/len`, for the tables below.
const fn v6(s0: u16, s1: u16, s2: u16, s3: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(s0, s1, s2, s3, 0, 0, 0, 0), len)
}

/// The IPv4 ranges Herald does not send to, from IANA's special-purpose address registry,
/// most specific first: the first range holding an address names why it is refused.
const REFUSED_V4: &[(Ipv4Net, &str)] = &[
    (v4(169, 254, 169, 254, 32), "the cloud metadata address"),
    (v4(255, 255, 255, 255, 32), "the broadcast address"),
    (v4(0, 0, 0, 0, 8), "an unspecified address"),
    (v4(10, 0, 0, 0, 8), "a private address"),
    (
        v4(100, 64, 0, 0, 10),
        "a shared (carrier-grade NAT) address",
    ),
    (v4(127, 0, 0, 0, 8), "a loopback address"),
    (v4(169, 254, 0, 0, 16), "a link-local address"),
    (v4(172, 16, 0, 0, 12), "a private address"),
    (v4(192, 0, 0, 0, 24), "an IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "a documentation address"),
    (v4(192, 88, 99, 0, 24), "a reserved address"),
    (v4(192, 168, 0, 0, 16), "a private address"),
    (v4(198, 18, 0, 0, 15), "a benchmarking address"),
    (v4(198, 51, 100, 0, 24), "a documentation address"),
    (v4(203, 0, 113, 0, 24), "a documentation address"),
    (v4(224, 0, 0, 0, 4), "a multicast address"),
    (v4(240, 0, 0, 0, 4), "a reserved address"),
];

/// The IPv6 ranges Herald does not send to, most specific first, after the wrappers of an
/// IPv4 address ([`inner_v4`]) were judged by the address they carry.
const REFUSED_V6: &[(Ipv6Net, &str)] = &[
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), 128),
        "the cloud metadata address",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::UNSPECIFIED, 128),
        "an unspecified address",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128),
        "a loopback address",
    ),
    (v6(0x64, 0xff9b, 1, 0, 48), "a local-use NAT64 address"),
    (v6(0x100, 0, 0, 0, 64), "a discard-only address"),
    (v6(0x2001, 0, 0, 0, 32), "a Teredo tunnel address"),
    (v6(0x2001, 2, 0, 0, 48), "a benchmarking address"),
    (v6(0x2001, 0, 0, 0, 23), "an IETF protocol assignment"),
    (v6(0x2001, 0xdb8, 0, 0, 32), "a documentation address"),
    (v6(0x3fff, 0, 0, 0, 20), "a documentation address"),
    (v6(0x5f00, 0, 0, 0, 16), "a segment routing (SRv6) address"),
    (v6(0xfc00, 0, 0, 0, 7), "a unique local (private) address"),
    (v6(0xfe80, 0, 0, 0, 10), "a link-local address"),
    (v6(0xfec0, 0, 0, 0, 10), "a site-local address"),
    (v6(0xff00, 0, 0, 0, 8), "a multicast address"),
];

/// Global unicast: the only IPv6 addresses outside [`REFUSED_V6`] that Herald sends to.
const GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 0, 3);

/// Why an IPv4 address is refused.
fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    REFUSED_V4
        .iter()
        .find(|(range, _)| range.contains(&ip))
        .map(|&(_, why)| why)
}

/// Why an IPv6 address is refused; an IPv6 address that carries an IPv4 address is judged
/// by the IPv4 address.
fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = inner_v4(ip) {
        return refused_v4(v4);
    }
    let special = REFUSED_V6.iter().find(|(range, _)| range.contains(&ip));
    match special {
        Some(&(_, why)) => Some(why),
        None if !GLOBAL_UNICAST.contains(&ip) => Some("a reserved address"),
        None => None,
    }
}

/// The IPv4 address an IPv6 address reaches: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, but not `::` and
/// `::1`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::/48` for `AA.BB.CC.DD`).
/// Teredo (`2001::/32`) is refused whole rather than unwrapped.
fn inner_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let join = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0xffff, ..]
        | [0, 0, 0, 0, 0xffff, 0, ..]
        | [0, 0, 0, 0, 0, 0, ..]
        | [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(join(s[6], s[7])),
        [0x2002, high, low, ..] => Some(join(high, low)),
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
