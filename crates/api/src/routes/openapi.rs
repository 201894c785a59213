//! `GET /openapi.json`: the OpenAPI 3.1 document of the contract.

use axum::response::IntoResponse;
use http::HeaderValue;
use http::header::CONTENT_TYPE;

/// The document, checked in at `crates/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// The handler.
pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI_JSON)
}
