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

/// Readiness: every dependency this instance is configured with answers.
/// Today the API has none beyond its own listeners; the identity server and
/// Redis checks join here with the issues that add them.
pub async fn readyz() -> impl IntoResponse {
    Json(json!({"status": "ready", "checks": {}}))
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        state.metrics.render(),
    )
}
