//! PROXY protocol v2 (SPEC §3.7): behind a TCP load balancer, the client
//! address comes from the header the balancer writes before the TLS bytes.
//!
//! Only peers in `server.proxy_protocol_from` are read this way, and they
//! must send a valid v2 header first; from any other peer a PROXY header is
//! just bytes that are not a TLS ClientHello, so the handshake fails and the
//! connection is closed. The header is read exactly (16 bytes, then the
//! length they announce, at most [`MAX_HEADER`]), so no TLS byte is consumed,
//! and parsed by the `ppp` crate.
//!
//! ```
//! use std::net::SocketAddr;
//! use ppp::v2::{Builder, Command, Protocol, Version};
//! use slipgate_transport::proxy::{ProxySource, parse_v2};
//!
//! let client: SocketAddr = "192.0.2.7:50000".parse().unwrap();
//! let server: SocketAddr = "10.0.0.11:8443".parse().unwrap();
//! let header = Builder::with_addresses(Version::Two | Command::Proxy, Protocol::Stream, (client, server))
//!     .build()
//!     .unwrap();
//! assert_eq!(parse_v2(&header), Ok(ProxySource::Client(client)));
//! assert!(parse_v2(b"PROXY TCP4 192.0.2.7 10.0.0.11 50000 8443\r\n").is_err());
//! ```

use std::net::SocketAddr;

use tokio::io::AsyncReadExt as _;

/// The v2 signature every header starts with.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Largest header accepted (addresses plus TLVs; HAProxy sends far less).
pub const MAX_HEADER: usize = 16 + 1024;

/// What a valid header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    /// `PROXY` over TCP: the client's address.
    Client(SocketAddr),
    /// `LOCAL` (the balancer's own health check) or an unspecified family:
    /// the peer itself is the client.
    Local,
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// Not a v2 header, or one `ppp` refuses.
    #[error("invalid PROXY protocol v2 header: {0}")]
    Invalid(String),
    /// A v2 header with a Unix or datagram source, which no HTTPS client has.
    #[error("PROXY protocol v2 header with an unsupported address family or transport")]
    Unsupported,
}

/// Parses one complete v2 header (exactly the bytes of the header).
pub fn parse_v2(bytes: &[u8]) -> Result<ProxySource, ProxyError> {
    use ppp::v2::{Addresses, Command, Header, Protocol};
    let header = Header::try_from(bytes).map_err(|e| ProxyError::Invalid(e.to_string()))?;
    if header.len() != bytes.len() {
        return Err(ProxyError::Invalid("trailing bytes after the header".into()));
    }
    match header.command {
        Command::Local => return Ok(ProxySource::Local),
        Command::Proxy => {}
    }
    match (header.protocol, header.addresses) {
        (_, Addresses::Unspecified) => Ok(ProxySource::Local),
        (Protocol::Stream, Addresses::IPv4(a)) => {
            Ok(ProxySource::Client(SocketAddr::from((a.source_address, a.source_port))))
        }
        (Protocol::Stream, Addresses::IPv6(a)) => {
            Ok(ProxySource::Client(SocketAddr::from((a.source_address, a.source_port))))
        }
        _ => Err(ProxyError::Unsupported),
    }
}

/// Reads one v2 header from `stream`, consuming exactly its bytes.
pub async fn read_v2<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> Result<ProxySource, ProxyError> {
    let io = |e: std::io::Error| ProxyError::Invalid(e.to_string());
    let mut buf = vec![0u8; 16];
    stream.read_exact(&mut buf).await.map_err(io)?;
    if buf[..12] != SIGNATURE {
        return Err(ProxyError::Invalid("missing the v2 signature".into()));
    }
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if 16 + len > MAX_HEADER {
        return Err(ProxyError::Invalid(format!("header of {len} bytes is too long")));
    }
    buf.resize(16 + len, 0);
    stream.read_exact(&mut buf[16..]).await.map_err(io)?;
    parse_v2(&buf)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ppp::v2::{Builder, Command, Protocol, Version};

    use super::*;

    fn header(command: Command, client: &str) -> Vec<u8> {
        let client: SocketAddr = client.parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        let server = if client.is_ipv4() { "10.0.0.1:443" } else { "[2001:db8::1]:443" };
        let server: SocketAddr = server.parse().unwrap_or(client);
        Builder::with_addresses(Version::Two | command, Protocol::Stream, (client, server))
            .build()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn reads_exactly_the_header_and_leaves_the_tls_bytes() {
        let mut bytes = header(Command::Proxy, "[2001:db8::7]:4711");
        bytes.extend_from_slice(b"\x16\x03\x01rest");
        let mut reader = bytes.as_slice();
        let got = read_v2(&mut reader).await;
        assert_eq!(
            got,
            Ok(ProxySource::Client("[2001:db8::7]:4711".parse().unwrap_or(SocketAddr::from(([0; 4], 0)))))
        );
        assert_eq!(reader, b"\x16\x03\x01rest");
    }

    #[tokio::test]
    async fn refuses_v1_text_truncated_and_oversized_headers() {
        let v1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec();
        assert!(read_v2(&mut v1.as_slice()).await.is_err());
        let full = header(Command::Proxy, "192.0.2.1:1");
        assert!(read_v2(&mut &full[..full.len() - 1]).await.is_err());
        let mut long = full[..16].to_vec();
        long[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
        long.resize(16 + usize::from(u16::MAX), 0);
        assert!(read_v2(&mut long.as_slice()).await.is_err());
        let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00\x00\x00".to_vec();
        assert!(read_v2(&mut tls.as_slice()).await.is_err());
    }

    #[test]
    fn a_local_header_means_the_peer_itself() {
        assert_eq!(parse_v2(&header(Command::Local, "192.0.2.1:1")), Ok(ProxySource::Local));
    }
}
