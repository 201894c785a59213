//! Connection limits (SPEC §6 `limits.*`, `server.proxy_protocol_from`) and
//! the caps on open connections, globally and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipgate_proto::net::{IpRange, client_key};

use crate::stats::{Closed, TransportStats};

/// Connection-level limits of one listener.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// From the end of the TLS handshake to the end of the first request head
    /// (HTTP/2 preface and first HEADERS included), and again for each later
    /// head from its first byte; also bounds the handshake and the PROXY header.
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after it (HTTP/2:
    /// GOAWAY, then close), pings or not.
    pub idle_timeout: Duration,
    /// Open connections at most; the next one is closed at once.
    pub max_connections: usize,
    /// Open connections per client address (IPv6 by `ipv6_prefix`).
    pub max_connections_per_ip: usize,
    /// The IPv6 prefix length a client is keyed by.
    pub ipv6_prefix: u8,
    /// Peers that must open with a PROXY protocol v2 header.
    pub proxy_protocol_from: Vec<IpRange>,
    /// Where refusals are counted.
    pub stats: Arc<TransportStats>,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_connections_per_ip: 64,
            ipv6_prefix: 64,
            proxy_protocol_from: Vec::new(),
            stats: Arc::default(),
        }
    }
}

/// Open connections, in total and per client key.
#[derive(Debug)]
pub(crate) struct Caps {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The caps of one listener, shared by its connection tasks.
#[derive(Debug, Clone)]
pub(crate) struct ConnCaps {
    caps: Arc<Mutex<Caps>>,
    drained: Arc<tokio::sync::Notify>,
    limits: Arc<ConnLimits>,
}

/// One open connection's place under the caps; released on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    caps: ConnCaps,
    ip: Option<IpAddr>,
}

impl ConnCaps {
    pub(crate) fn new(limits: Arc<ConnLimits>) -> Self {
        let caps = Caps { total: 0, per_ip: HashMap::new() };
        Self { caps: Arc::new(Mutex::new(caps)), drained: Arc::default(), limits }
    }

    /// A slot under the global cap, or `None` (counted) when it is full.
    pub(crate) fn open(&self) -> Option<Slot> {
        let mut caps = self.caps.lock().ok()?;
        if caps.total >= self.limits.max_connections {
            drop(caps);
            self.limits.stats.record(Closed::MaxConnections);
            return None;
        }
        caps.total += 1;
        self.limits.stats.opened();
        Some(Slot { caps: self.clone(), ip: None })
    }

    /// Whether no connection is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.caps.lock().map_or(true, |c| c.total == 0)
    }

    pub(crate) async fn wait_empty(&self) {
        loop {
            let notified = self.drained.notified();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

impl Slot {
    /// Counts the connection against `client`; `false` (counted) when that
    /// client already holds `max_connections_per_ip`.
    pub(crate) fn assign(&mut self, client: IpAddr) -> bool {
        let limits = &self.caps.limits;
        let key = client_key(client, limits.ipv6_prefix);
        let Ok(mut caps) = self.caps.caps.lock() else { return false };
        let count = caps.per_ip.entry(key).or_insert(0);
        if *count >= limits.max_connections_per_ip {
            if *count == 0 {
                caps.per_ip.remove(&key);
            }
            drop(caps);
            limits.stats.record(Closed::MaxConnectionsPerIp);
            return false;
        }
        *count += 1;
        self.ip = Some(key);
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Ok(mut caps) = self.caps.caps.lock() else { return };
        caps.total = caps.total.saturating_sub(1);
        if let Some(ip) = self.ip
            && let Some(count) = caps.per_ip.get_mut(&ip)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                caps.per_ip.remove(&ip);
            }
        }
        let empty = caps.total == 0;
        drop(caps);
        self.caps.limits.stats.released();
        if empty {
            self.caps.drained.notify_waiters();
        }
    }
}
