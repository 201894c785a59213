//! The API's metrics (SPEC §3.9), served on the admin listener at `/metrics`
//! in the Prometheus text format through `prometheus-client`. Every series is
//! listed in `docs/observability.md`.
//!
//! Labels follow the Prometheus conventions: `method`, `route` (the matched
//! route, or `unmatched`, so an attacker cannot mint series) and `code` (the
//! HTTP status). Gauges that mirror state elsewhere (the nonce store, the
//! transport's connections) are read at scrape time by collectors.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use slipgate_guard::metrics::GuardMetrics;
use slipgate_guard::replay::NonceStore;

/// Latency histogram bucket bounds, in seconds.
pub const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The labels of one answered request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `GET`, `POST`, … (`other` for anything else).
    pub method: &'static str,
    /// The matched route, `unmatched` otherwise.
    pub route: &'static str,
    /// The HTTP status.
    pub code: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The API's metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    rejections: Family<CodeLabels, Counter>,
    in_flight: Gauge,
    guard: GuardMetrics,
}

/// What the scrape-time collectors read.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The nonce store (its fill level when it keeps one in memory).
    pub nonces: Arc<dyn NonceStore>,
    /// The API listener's connection counters.
    pub transport: Arc<slipgate_transport::TransportStats>,
    /// `limits.max_concurrency`: where load shedding starts.
    pub max_concurrency: u64,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Metrics {
    /// The registry with every series of the API.
    pub fn new(sources: Sources, guard: GuardMetrics) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let rejections = Family::<CodeLabels, Counter>::default();
        let in_flight = Gauge::default();
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register(
            "slipgate_http_requests",
            "Requests answered, by method, route and status code",
            requests.clone(),
        );
        registry.register(
            "slipgate_http_request_duration_seconds",
            "Time to answer, by method, route and status code",
            durations.clone(),
        );
        registry.register("slipgate_rejections", "Requests refused, by problem code", rejections.clone());
        registry.register(
            "slipgate_http_requests_in_flight",
            "Requests being answered now (load shedding starts at slipgate_max_concurrency)",
            in_flight.clone(),
        );
        registry.register("slipgate_build_info", "The running build: its version; always 1", build);
        guard.register(&mut registry);
        crate::audit::register(&mut registry);
        registry.register_collector(Box::new(Scraped(sources)));
        Self { registry, requests, durations, rejections, in_flight, guard }
    }

    /// Counters that the guard's stores and token validators update.
    pub fn guard(&self) -> &GuardMetrics {
        &self.guard
    }

    /// Records one answered request.
    pub fn record(&self, labels: &RequestLabels, elapsed: Duration) {
        self.requests.get_or_create(labels).inc();
        self.durations.get_or_create(labels).observe(elapsed.as_secs_f64());
    }

    /// Counts one refusal with `code`.
    pub fn record_rejection(&self, code: &'static str) {
        self.rejections.get_or_create(&CodeLabels { code }).inc();
    }

    /// Counts a request in flight until the returned guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.in_flight.inc();
        InFlightGuard(self.in_flight.clone())
    }

    /// The registry in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        out
    }
}

/// The `Content-Type` of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One request in `slipgate_http_requests_in_flight`.
#[derive(Debug)]
pub struct InFlightGuard(Gauge);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The label of a method: a static name for the usual ones, `other` otherwise
/// (a client cannot mint label values).
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::HEAD => "HEAD",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The label of a matched route: one of the API's and the admin listener's
/// routes, `unmatched` for anything else.
pub fn route_label(matched: Option<&str>) -> &'static str {
    const ROUTES: [&str; 6] = [
        slipgate_proto::SLIP_PATH,
        "/openapi.json",
        "/.well-known/slipgate-keys",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    matched.and_then(|m| ROUTES.into_iter().find(|r| *r == m)).unwrap_or("unmatched")
}

/// The scrape-time series: nonce-store fill, the concurrency cap, connections.
#[derive(Debug)]
struct Scraped(Sources);

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        gauge(
            &mut encoder,
            "slipgate_max_concurrency",
            "limits.max_concurrency: requests answered at once before load shedding (503 overloaded)",
            to_i64(self.0.max_concurrency),
        )?;
        // Nothing for a Redis store, whose memory Redis reports.
        if let Some(usage) = self.0.nonces.usage() {
            let as_i64 = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
            gauge(
                &mut encoder,
                "slipgate_nonce_store_bytes",
                "Bytes reserved by the memory nonce store's tables",
                as_i64(usage.bytes),
            )?;
            gauge(
                &mut encoder,
                "slipgate_nonce_store_capacity_bytes",
                "The memory nonce store's budget (replay.max_memory); full answers 503 overloaded",
                as_i64(usage.capacity_bytes),
            )?;
            gauge(
                &mut encoder,
                "slipgate_nonce_store_entries",
                "Nonces held by the memory nonce store",
                as_i64(usage.entries),
            )?;
        }
        slipgate_transport::stats::encode(&self.0.transport, &mut encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(
            Sources {
                nonces: Arc::new(slipgate_guard::replay::MemoryNonceStore::new(1 << 20)),
                transport: Arc::default(),
                max_concurrency: 1024,
            },
            GuardMetrics::default(),
        )
    }

    #[test]
    fn renders_counts_and_cumulative_buckets_with_conventional_labels() {
        let m = metrics();
        let labels = RequestLabels { method: "POST", route: "/generate/salaryslip", code: 200 };
        m.record(&labels, Duration::from_micros(800));
        m.record(&labels, Duration::from_millis(20));
        let text = m.render();
        assert!(
            text.contains(
                "slipgate_http_requests_total{method=\"POST\",route=\"/generate/salaryslip\",code=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.001\"} 1"), "{text}");
        assert!(text.contains("le=\"0.025\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("slipgate_build_info{version=\""), "{text}");
        assert!(text.contains("slipgate_max_concurrency 1024"), "{text}");
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops() {
        let m = metrics();
        let held = m.enter();
        assert!(m.render().contains("slipgate_http_requests_in_flight 1\n"));
        drop(held);
        assert!(m.render().contains("slipgate_http_requests_in_flight 0\n"));
    }

    #[test]
    fn unknown_routes_and_methods_do_not_mint_labels() {
        assert_eq!(route_label(Some("/generate/salaryslip")), "/generate/salaryslip");
        assert_eq!(route_label(Some("/x/{anything}")), "unmatched");
        assert_eq!(route_label(None), "unmatched");
        assert_eq!(method_label(&http::Method::from_bytes(b"BREW").unwrap_or_default()), "other");
    }
}
