//! `GET /openapi.json` (the OpenAPI 3.1 document of the contract) and
//! `GET /.well-known/slipgate-keys` (the response-signing keys, SPEC §3.8).

use axum::response::IntoResponse;
use http::HeaderValue;
use http::header::CONTENT_TYPE;

/// The document, checked in at `crates/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// The handler.
pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static(slipgate_proto::headers::JSON))], OPENAPI_JSON)
}

/// The JWKS of the keys that sign responses.
pub async fn response_keys(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> impl IntoResponse {
    axum::Json(state.response_signer.jwks().clone())
}
