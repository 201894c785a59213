//! One module per resource.

pub mod admin;
pub mod console;
pub mod openapi;
pub mod slip;

use crate::error::ApiError;
use slipgate_proto::ProblemCode;

/// Fallback for paths no route matches.
pub async fn not_found() -> ApiError {
    ApiError::new(ProblemCode::NotFound, "no such resource")
}

/// Fallback for a known path with the wrong method (axum adds `Allow`).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ProblemCode::MethodNotAllowed, "method not allowed on this resource")
}
