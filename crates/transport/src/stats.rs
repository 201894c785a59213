//! Counters of what the transport refused or closed, in the Prometheus text
//! format (the API appends them to its `/metrics`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a connection was refused or closed early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Closed {
    /// `limits.max_connections` reached: closed at once.
    MaxConnections,
    /// `limits.max_connections_per_ip` reached for the client: closed at once.
    MaxConnectionsPerIp,
    /// A peer in `server.proxy_protocol_from` sent no valid PROXY v2 header.
    ProxyHeader,
    /// The TLS handshake did not complete (or failed).
    Handshake,
    /// A request head did not complete within `limits.header_timeout`.
    HeaderTimeout,
    /// No request in flight for `limits.idle_timeout`.
    IdleTimeout,
    /// An HTTP/1.1 head with both `Content-Length` and `Transfer-Encoding`
    /// (or a head the transport could not follow): answered 400, then closed.
    ConflictingFraming,
}

impl Closed {
    const ALL: [Closed; 7] = [
        Closed::MaxConnections,
        Closed::MaxConnectionsPerIp,
        Closed::ProxyHeader,
        Closed::Handshake,
        Closed::HeaderTimeout,
        Closed::IdleTimeout,
        Closed::ConflictingFraming,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Closed::MaxConnections => "max_connections",
            Closed::MaxConnectionsPerIp => "max_connections_per_ip",
            Closed::ProxyHeader => "proxy_header",
            Closed::Handshake => "handshake",
            Closed::HeaderTimeout => "header_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::ConflictingFraming => "conflicting_framing",
        }
    }
}

/// The transport's counters, shared by every connection of a listener.
#[derive(Debug, Default)]
pub struct TransportStats {
    closed: [AtomicU64; 7],
    open: AtomicU64,
}

impl TransportStats {
    /// Counts one connection closed for `reason`.
    pub fn record(&self, reason: Closed) {
        if let Some(i) = Closed::ALL.iter().position(|r| *r == reason) {
            self.closed[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many connections were closed for `reason`.
    pub fn count(&self, reason: Closed) -> u64 {
        Closed::ALL.iter().position(|r| *r == reason).map_or(0, |i| self.closed[i].load(Ordering::Relaxed))
    }

    pub(crate) fn opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn released(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP slipgate_connections_closed_total Connections refused or closed by the transport, by reason.\n");
        out.push_str("# TYPE slipgate_connections_closed_total counter\n");
        for (i, reason) in Closed::ALL.iter().enumerate() {
            let n = self.closed[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "slipgate_connections_closed_total{{reason=\"{}\"}} {n}", reason.as_str());
        }
        out.push_str("# HELP slipgate_connections_open Connections open now.\n");
        out.push_str("# TYPE slipgate_connections_open gauge\n");
        let _ = writeln!(out, "slipgate_connections_open {}", self.open.load(Ordering::Relaxed));
        out
    }
}
