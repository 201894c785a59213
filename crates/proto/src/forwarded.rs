//! Which address a request counts against (SPEC §3.7): the TCP peer, unless
//! the peer is a trusted proxy; then the right-most `X-Forwarded-For` entry
//! that is not itself a trusted proxy.
//!
//! Only the right-most entries can be trusted: each proxy appends the address
//! it saw, and everything to the left of the first untrusted hop was written by
//! the client. A peer that is not a trusted proxy cannot choose its key.
//!
//! Shared by the API's rate limits and the identity server's login throttle,
//! so both pick the same client for the same request.

use std::net::IpAddr;

/// At most this many `X-Forwarded-For` entries are read, from the right.
pub const MAX_FORWARDED_ENTRIES: usize = 32;

pub use crate::net::IpRange;
use crate::net::canonical;

/// A `trusted_proxies` entry that is neither an address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trusted proxy `{0}`: expected an IP address or a CIDR range such as `10.0.0.0/8`")]
pub struct InvalidProxy(String);

/// The proxies whose `X-Forwarded-For` is believed (`rate_limit.trusted_proxies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    ranges: Vec<IpRange>,
}

impl TrustedProxies {
    /// No trusted proxies: the TCP peer is always the client.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses addresses and CIDR ranges (`10.0.0.0/8`, `::1`, `127.0.0.1`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidProxy> {
        let ranges = entries
            .iter()
            .map(|e| {
                e.as_ref().parse::<IpRange>().map_err(|_| InvalidProxy(e.as_ref().chars().take(60).collect()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { ranges })
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// The address a request counts against. `xff` holds every `X-Forwarded-For`
/// line, joined with commas. A trusted peer whose header is missing, too long
/// to reach an untrusted hop within [`MAX_FORWARDED_ENTRIES`], or holds a
/// malformed entry before one, counts as itself.
pub fn client_ip(peer: IpAddr, xff: Option<&str>, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    let Some(xff) = xff else { return peer };
    for entry in xff.rsplit(',').take(MAX_FORWARDED_ENTRIES) {
        let Some(ip) = parse_entry(entry.trim()) else { return peer };
        if !trusted.contains(ip) {
            return ip;
        }
    }
    peer
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:80`,
/// `[::1]:80`), as some proxies write them.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn ignores_spoofed_xff_from_an_untrusted_peer() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.1.1.1"), &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.1.1.1"), &TrustedProxies::none()), ip("203.0.113.9"));
    }

    #[test]
    fn takes_the_rightmost_untrusted_entry_behind_trusted_proxies() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1", "::1"]);
        let xff = "6.6.6.6, 198.51.100.7, 10.1.2.3";
        assert_eq!(client_ip(ip("127.0.0.1"), Some(xff), &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("::1"), Some("2001:db8::5"), &trusted), ip("2001:db8::5"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.1"), Some("192.0.2.1:4711"), &trusted), ip("192.0.2.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), Some("[2001:db8::7]:80"), &trusted), ip("2001:db8::7"));
    }

    #[test]
    fn falls_back_to_the_peer_on_garbage_or_missing_headers() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.9.9.9");
        assert_eq!(client_ip(peer, None, &trusted), peer);
        assert_eq!(client_ip(peer, Some(""), &trusted), peer);
        assert_eq!(client_ip(peer, Some("1.1.1.1, not-an-ip"), &trusted), peer);
        assert_eq!(client_ip(peer, Some("10.0.0.2, 10.0.0.3"), &trusted), peer);
    }

    #[test]
    fn reads_at_most_32_entries() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.9.9.9");
        let mut xff = String::from("192.0.2.1");
        for _ in 0..MAX_FORWARDED_ENTRIES {
            xff.push_str(", 10.0.0.1");
        }
        assert_eq!(client_ip(peer, Some(&xff), &trusted), peer);
        let shorter = xff.replacen(", 10.0.0.1", "", 1);
        assert_eq!(client_ip(peer, Some(&shorter), &trusted), ip("192.0.2.1"));
    }

    #[test]
    fn parses_addresses_and_cidr_ranges() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "0.0.0.0/0"]);
        assert!(trusted.contains(ip("8.8.8.8")));
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "127.0.0.1"]);
        assert!(trusted.contains(ip("10.255.0.1")));
        assert!(trusted.contains(ip("192.168.1.200")));
        assert!(!trusted.contains(ip("192.168.2.1")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("fe80::1")));
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(!trusted.contains(ip("127.0.0.2")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "example.com", "1.2.3.4/+8", ""] {
            assert!(TrustedProxies::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
