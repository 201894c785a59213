//! TLS clients that trust a test CA: rustls configurations, a reqwest client,
//! a raw TLS stream for tests that speak bytes.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpStream;

/// A rustls client configuration trusting `ca`, limited to `versions`, offering `alpn`.
pub fn client_tls(
    ca: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    let mut config = slipgate_proto::tls::client_config_with_versions(ca, None, versions).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// [`client_tls`] presenting the client certificate `cert` with `key` (mutual TLS).
pub fn client_tls_with_identity(ca: &Path, cert: &Path, key: &Path) -> rustls::ClientConfig {
    slipgate_proto::tls::client_config(ca, Some((cert, key))).unwrap()
}

/// A reqwest client over [`client_tls`].
pub fn https_client(
    ca: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> reqwest::Client {
    let builder = reqwest::Client::builder().tls_backend_preconfigured(client_tls(ca, versions, alpn));
    let builder = if alpn == [b"h2".as_slice()] { builder.http2_prior_knowledge() } else { builder };
    builder.build().unwrap()
}

/// A raw TLS stream to `addr`, for tests that speak bytes.
pub async fn tls_connect(addr: SocketAddr, ca: &Path) -> tokio_rustls::client::TlsStream<TcpStream> {
    let config = client_tls(ca, &[&rustls::version::TLS13], &[b"http/1.1"]);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    connector.connect(name, tcp).await.unwrap()
}
