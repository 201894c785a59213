//! Client addresses (SPEC §3.7): CIDR ranges for `trusted_proxies` and
//! `server.proxy_protocol_from`, and the key a client address counts against
//! (an IPv6 client by its `/64`, or `rate_limit.ipv6_prefix`), shared by the
//! rate limits, the concurrency caps and the connection caps.
//!
//! ```
//! use std::net::IpAddr;
//! use slipgate_proto::net::{IpRange, client_key};
//!
//! let range: IpRange = "10.0.0.0/8".parse().unwrap();
//! assert!(range.contains("10.1.2.3".parse().unwrap()));
//! let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
//! let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
//! assert_eq!(client_key(a, 64), client_key(b, 64));
//! ```

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps; others unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address a client counts against: IPv4 as is, IPv6 with everything
/// after the first `ipv6_prefix` bits cleared (one bucket per /64 by default,
/// since one subscriber usually holds a whole /64).
pub fn client_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(ipv6_prefix.min(128))).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

/// Text that is neither an address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address range `{0}`: expected an IP address or a CIDR range such as `10.0.0.0/8`")]
pub struct InvalidRange(pub String);

impl FromStr for IpRange {
    type Err = InvalidRange;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidRange(s.chars().take(60).collect());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| err())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(err)?
            }
            Some(_) => return Err(err()),
        };
        Ok(Self { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn keys_ipv6_clients_by_their_prefix() {
        assert_eq!(client_key(ip("2001:db8:0:1::5"), 64), ip("2001:db8:0:1::"));
        assert_ne!(client_key(ip("2001:db8:0:1::5"), 64), client_key(ip("2001:db8:0:2::5"), 64));
        assert_eq!(client_key(ip("2001:db8:0:1::5"), 128), ip("2001:db8:0:1::5"));
        assert_eq!(client_key(ip("2001:db8:ffff:1::5"), 32), ip("2001:db8::"));
        assert_eq!(client_key(ip("::ffff:192.0.2.7"), 64), ip("192.0.2.7"));
        assert_eq!(client_key(ip("192.0.2.7"), 64), ip("192.0.2.7"));
    }

    #[test]
    fn parses_ranges_and_refuses_garbage() {
        let r: IpRange = "192.168.1.0/24".parse().unwrap_or(IpRange { network: ip("0.0.0.0"), prefix: 32 });
        assert!(r.contains(ip("192.168.1.200")));
        assert!(!r.contains(ip("192.168.2.1")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "example.com", "1.2.3.4/+8", ""] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }
}
