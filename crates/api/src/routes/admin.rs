//! The admin listener (plain HTTP, for localhost or a private network):
//! `GET /healthz`, `GET /readyz`, `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use serde_json::json;

use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Readiness: every dependency this instance is configured with answers
/// (503 with the failing checks named otherwise).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let results = crate::readiness::check_all(&state.probes).await;
    let ready = results.iter().all(|(_, r)| r.is_ok());
    let checks: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| {
            (name.to_owned(), r.map_or_else(|e| json!({"ok": false, "error": e}), |()| json!({"ok": true})))
        })
        .collect();
    let status = if ready { http::StatusCode::OK } else { http::StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks})))
}

/// Prometheus text format (`prometheus-client`; every series in `docs/observability.md`).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE))], state.metrics.render())
}
