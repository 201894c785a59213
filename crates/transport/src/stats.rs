//! Counters of what the transport refused or closed; [`encode`] adds them to
//! a `prometheus-client` scrape (the API's and the identity server's `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

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

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Encodes `slipgate_connections_closed_total{reason}` (every reason, zeros
/// included) and `slipgate_connections_open` into a scrape: call it from a
/// `prometheus_client::collector::Collector`.
pub fn encode(stats: &TransportStats, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(0_u64);
    let mut family = encoder.encode_descriptor(
        "slipgate_connections_closed",
        "Connections refused or closed by the transport, by reason",
        None,
        counter.metric_type(),
    )?;
    for reason in Closed::ALL {
        let labels = ReasonLabels { reason: reason.as_str() };
        ConstCounter::new(stats.count(reason)).encode(family.encode_family(&labels)?)?;
    }
    let open = ConstGauge::new(i64::try_from(stats.open()).unwrap_or(i64::MAX));
    open.encode(encoder.encode_descriptor(
        "slipgate_connections_open",
        "Connections open now",
        None,
        open.metric_type(),
    )?)
}
