//! The connection layer shared by the API and the identity server (SPEC §2,
//! §3.7, §6): rustls configuration (TLS 1.3 and 1.2 only, ALPN `h2` +
//! `http/1.1`), the accept loop with its connection caps, the PROXY protocol
//! v2, the head, idle and handshake timeouts, the raw HTTP/1.1 head check
//! (`Content-Length` with `Transfer-Encoding` → 400 `bad_request`), and a
//! graceful drain on shutdown.
//!
//! ```no_run
//! # async fn demo(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use slipgate_transport::{ConnLimits, serve_tls, tls};
//!
//! let config = tls::server_config("server.pem".as_ref(), "server-key.pem".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let limits = ConnLimits { header_timeout: Duration::from_secs(10), ..ConnLimits::default() };
//! serve_tls(listener, config, app, limits, std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! # Security
//! Covers: downgrade to TLS ≤ 1.1 and plaintext (refused at the handshake);
//! silent, one-byte and slow-loris connections, before and after the first
//! request and over HTTP/2 (closed after `header_timeout`); idle keep-alive
//! and idle HTTP/2 connections that answer pings (closed after
//! `idle_timeout`); connection floods (`max_connections`, and
//! `max_connections_per_ip` so one address cannot take them all: the next
//! connection is closed at once and counted in [`TransportStats`]); request
//! smuggling through `Content-Length` + `Transfer-Encoding`; client-address
//! spoofing through PROXY headers (believed only from `proxy_protocol_from`).
//! Not covered here: slow bodies (the body reader's `body_timeout`), request
//! floods (the rate-limit layer), distributed floods from many addresses.

pub mod head;
mod limits;
pub mod proxy;
mod serve;
pub mod stats;
pub mod tls;
mod watch;

pub use limits::ConnLimits;
pub use serve::{ProxyPeer, serve_plain, serve_tls};
pub use stats::{Closed, TransportStats};
