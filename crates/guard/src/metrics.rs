//! Counters the guard's token validators and Redis stores update, registered
//! by the API in its `/metrics` registry (SPEC §3.9; `docs/observability.md`).
//!
//! Clones share the series, so one [`GuardMetrics`] is handed to every
//! validator and store of a process. A fresh `GuardMetrics::default()` counts
//! into series that nobody scrapes, which is what tests and benches get.
//!
//! ```
//! let metrics = slipgate_guard::metrics::GuardMetrics::default();
//! let mut registry = prometheus_client::registry::Registry::default();
//! metrics.register(&mut registry);
//! metrics.introspection_cache(true);
//! ```

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Bucket bounds (seconds) of the identity-server and Redis latency histograms.
const BUCKETS: [f64; 12] = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

type Latency = Family<OpLabels, Histogram, fn() -> Histogram>;

/// The guard's series; clones share them.
#[derive(Debug, Clone)]
pub struct GuardMetrics {
    cache_hits: Counter,
    cache_misses: Counter,
    idp_duration: Latency,
    idp_errors: Family<OpLabels, Counter>,
    redis_duration: Latency,
    redis_errors: Family<OpLabels, Counter>,
}

/// The `op` values of the identity-server series.
pub const IDP_OPS: [&str; 2] = ["introspect", "jwks"];
/// The `op` values of the Redis series: one per kind of round trip.
pub const REDIS_OPS: [&str; 4] = ["PING", "SET NX", "rate-limit script", "nonce and quota script"];

impl Default for GuardMetrics {
    fn default() -> Self {
        let metrics = Self {
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            idp_duration: Latency::new_with_constructor(histogram),
            idp_errors: Family::default(),
            redis_duration: Latency::new_with_constructor(histogram),
            redis_errors: Family::default(),
        };
        // Error counters start at zero for every op, so an alert on their rate
        // sees the series before the first failure.
        for op in IDP_OPS {
            let _ = metrics.idp_errors.get_or_create(&OpLabels { op });
        }
        for op in REDIS_OPS {
            let _ = metrics.redis_errors.get_or_create(&OpLabels { op });
        }
        metrics
    }
}

impl GuardMetrics {
    /// Adds every series to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "slipgate_introspection_cache_hits",
            "Token checks answered from the introspection cache",
            self.cache_hits.clone(),
        );
        registry.register(
            "slipgate_introspection_cache_misses",
            "Token checks that asked the identity server",
            self.cache_misses.clone(),
        );
        registry.register(
            "slipgate_idp_request_duration_seconds",
            "Calls to the identity server (op: introspect, jwks), successful or not",
            self.idp_duration.clone(),
        );
        registry.register(
            "slipgate_idp_request_errors",
            "Calls to the identity server that failed (unreachable, timed out, bad answer), by op",
            self.idp_errors.clone(),
        );
        registry.register(
            "slipgate_redis_command_duration_seconds",
            "Redis round trips of the shared stores, by op",
            self.redis_duration.clone(),
        );
        registry.register(
            "slipgate_redis_errors",
            "Redis round trips that failed or timed out (answered 503 store_unavailable), by op",
            self.redis_errors.clone(),
        );
    }

    /// One token check: from the cache (`hit`) or not.
    pub fn introspection_cache(&self, hit: bool) {
        if hit { &self.cache_hits } else { &self.cache_misses }.inc();
    }

    /// One call to the identity server.
    pub fn idp_call(&self, op: &'static str, elapsed: Duration, ok: bool) {
        self.idp_duration.get_or_create(&OpLabels { op }).observe(elapsed.as_secs_f64());
        if !ok {
            self.idp_errors.get_or_create(&OpLabels { op }).inc();
        }
    }

    /// One Redis round trip.
    pub fn redis_call(&self, op: &'static str, elapsed: Duration, ok: bool) {
        self.redis_duration.get_or_create(&OpLabels { op }).observe(elapsed.as_secs_f64());
        if !ok {
            self.redis_errors.get_or_create(&OpLabels { op }).inc();
        }
    }
}
