//! The identity server's admin listener (SPEC §3.9, `idp.admin_listen`; plain
//! HTTP, for localhost or a private network): `GET /healthz`, `GET /readyz`
//! (the database answers, and the log sink takes lines) and `GET /metrics`
//! (Prometheus text format through `prometheus-client`; every series is listed
//! in `docs/observability.md`).
//!
//! # Security
//! Label values are bounded: routes are the matched ones (`unmatched`
//! otherwise), grants and outcomes come from fixed lists, so a client cannot
//! mint series. No series or answer holds a username, token or secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;
use slipgate_proto::oauth;

use crate::state::IdpState;

/// Bucket bounds (seconds) of the latency histograms.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Bound on one readiness ping of the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Store errors since the start, over every identity server of the process
/// (counted where a store error becomes an OAuth answer).
static DB_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts one failed store call.
pub(crate) fn db_error() {
    DB_ERRORS.fetch_add(1, Ordering::Relaxed);
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    code: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The identity server's metrics.
#[derive(Debug)]
pub struct IdpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    grants: Family<GrantLabels, Counter>,
    login_failures: Family<ReasonLabels, Counter>,
    db_ping: Histogram,
    transport: Arc<slipgate_transport::TransportStats>,
}

impl Default for IdpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IdpMetrics {
    /// The registry with every series.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let grants = Family::<GrantLabels, Counter>::default();
        let login_failures = Family::<ReasonLabels, Counter>::default();
        let db_ping = histogram();
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        let transport = Arc::<slipgate_transport::TransportStats>::default();
        registry.register(
            "slipgate_idp_http_requests",
            "Requests answered, by method, route and status code",
            requests.clone(),
        );
        registry.register(
            "slipgate_idp_http_request_duration_seconds",
            "Time to answer, by method, route and status code",
            durations.clone(),
        );
        registry.register(
            "slipgate_idp_token_requests",
            "Token requests by grant type and outcome (issued, or the OAuth error code)",
            grants.clone(),
        );
        registry.register(
            "slipgate_idp_login_failures",
            "Failed logins (password grant and login form), by reason",
            login_failures.clone(),
        );
        registry.register(
            "slipgate_idp_db_ping_duration_seconds",
            "Round trips of the readiness check to the database",
            db_ping.clone(),
        );
        registry.register("slipgate_idp_build_info", "The running build: its version; always 1", build);
        registry.register_collector(Box::new(Scraped(transport.clone())));
        Self { registry, requests, durations, grants, login_failures, db_ping, transport }
    }

    /// The TLS listener's connection counters.
    pub fn transport(&self) -> Arc<slipgate_transport::TransportStats> {
        self.transport.clone()
    }

    /// One token request of `grant` that ended in `outcome`.
    pub(crate) fn grant(&self, grant: &'static str, outcome: &'static str) {
        self.grants.get_or_create(&GrantLabels { grant, outcome }).inc();
    }

    /// One failed login: `invalid_credentials`, `throttled` or `queue_full`.
    pub(crate) fn login_failure(&self, reason: &'static str) {
        self.login_failures.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The registry in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        out
    }
}

#[derive(Debug)]
struct Scraped(Arc<slipgate_transport::TransportStats>);

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let errors = ConstCounter::new(DB_ERRORS.load(Ordering::Relaxed));
        errors.encode(encoder.encode_descriptor(
            "slipgate_idp_db_errors",
            "Database calls that failed (answered 503 temporarily_unavailable)",
            None,
            errors.metric_type(),
        )?)?;
        let health = slipgate_proto::logsink::health();
        let lost = ConstCounter::new(health.lines_lost());
        lost.encode(encoder.encode_descriptor(
            "slipgate_log_lines_lost",
            "Log lines the destination refused (a full disk)",
            None,
            lost.metric_type(),
        )?)?;
        slipgate_transport::stats::encode(&self.0, &mut encoder)
    }
}

fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::HEAD => "HEAD",
        _ => "other",
    }
}

fn route_label(matched: Option<&str>) -> &'static str {
    const ROUTES: [&str; 9] = [
        oauth::AUTHORIZE_PATH,
        oauth::TOKEN_PATH,
        oauth::INTROSPECT_PATH,
        oauth::REVOKE_PATH,
        oauth::JWKS_PATH,
        oauth::METADATA_PATH,
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    matched.and_then(|m| ROUTES.into_iter().find(|r| *r == m)).unwrap_or("unmatched")
}

/// Middleware: counts and times every answer.
pub async fn observe(State(state): State<IdpState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(request.extensions().get::<MatchedPath>().map(MatchedPath::as_str));
    let method = method_label(request.method());
    let response = next.run(request).await;
    let labels = RequestLabels { method, route, code: response.status().as_u16() };
    state.metrics.requests.get_or_create(&labels).inc();
    state.metrics.durations.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// The admin listener's routes.
pub fn admin_router(state: IdpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(crate::routes::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Readiness: the database answers within [`PING_TIMEOUT`] (for SQLite, its
/// file is still in place), and the log sink takes lines.
async fn readyz(State(state): State<IdpState>) -> impl IntoResponse {
    let started = Instant::now();
    let db = match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database does not answer");
            Err("the database does not answer".to_owned())
        }
        Err(_) => Err(format!("the database did not answer within {PING_TIMEOUT:?}")),
    };
    state.metrics.db_ping.observe(started.elapsed().as_secs_f64());
    let health = slipgate_proto::logsink::health();
    let log = if health.failing() {
        Err(format!("log lines cannot be written ({} lost)", health.lines_lost()))
    } else {
        Ok(())
    };
    let ready = db.is_ok() && log.is_ok();
    let check =
        |r: Result<(), String>| r.map_or_else(|e| json!({"ok": false, "error": e}), |()| json!({"ok": true}));
    let status = if ready { http::StatusCode::OK } else { http::StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {"database": check(db), "log_sink": check(log)},
    });
    (status, Json(body))
}

async fn metrics(State(state): State<IdpState>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
        )],
        state.metrics.render(),
    )
}
