//! The connection layer shared by the API and the identity server (SPEC §2):
//! rustls configuration (TLS 1.3 and 1.2 only, ALPN `h2` + `http/1.1`), a
//! bound on the TLS handshake and on each request head, HTTP/2 stream and
//! header-size limits, and a graceful drain on shutdown.
//!
//! ```no_run
//! # async fn demo(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use slipgate_transport::{ConnLimits, serve_tls, tls};
//!
//! let config = tls::server_config("server.pem".as_ref(), "server-key.pem".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let limits = ConnLimits { header_timeout: Duration::from_secs(10) };
//! serve_tls(listener, config, app, limits, std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! # Security
//! Covers: downgrade to TLS ≤ 1.1 and plaintext (refused at the handshake),
//! slow-loris heads and stalled handshakes (closed after `header_timeout`),
//! oversized heads. Not covered here: slow bodies (the body reader's timeout)
//! and request floods (the rate-limit layer).

mod serve;
pub mod tls;

pub use serve::{ConnLimits, serve_plain, serve_tls};
