//! The API's one error type and the one place errors become responses
//! (SPEC §3.6: RFC 9457 problem details).
//!
//! Handlers and layers return an [`ApiError`]; its response carries the typed
//! problem in the response extensions and no body yet. The `respond` layer
//! (outermost but for response signing) renders every problem with the request id, the
//! security headers and the metrics, so no response can skip them.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use slipgate_proto::{FieldError, ProblemCode};

/// An error answered to the client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    /// The SPEC code.
    pub code: ProblemCode,
    /// Human detail; never a secret, token or salary figure.
    pub detail: String,
    /// Field errors of a 422.
    pub errors: Vec<FieldError>,
    /// Policies a 429 violated.
    pub violated_policies: Vec<String>,
}

impl ApiError {
    /// An error of `code` with `detail`.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), errors: Vec::new(), violated_policies: Vec::new() }
    }

    /// A 422 listing `errors`.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        Self {
            code: ProblemCode::ValidationFailed,
            detail: format!("{n} field{} failed validation", if n == 1 { "" } else { "s" }),
            errors,
            violated_policies: Vec::new(),
        }
    }

    /// A generic 500; the cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ProblemCode::Internal, "the server could not complete the request")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<slipgate_guard::Rejection> for ApiError {
    fn from(rejection: slipgate_guard::Rejection) -> Self {
        let mut error = Self::new(rejection.code, rejection.detail.into_owned());
        error.violated_policies = rejection.violated_policies.iter().map(|p| (*p).to_owned()).collect();
        error
    }
}
