//! One module per resource.

pub mod admin;
pub mod console;
pub mod openapi;
pub mod slip;

use slipgate_guard::Rejection;
use slipgate_proto::ProblemCode;

/// Fallback for paths no route matches.
pub async fn not_found() -> Rejection {
    Rejection::new(ProblemCode::NotFound, "no such resource")
}

/// Fallback for a known path with the wrong method (axum adds `Allow`).
pub async fn method_not_allowed() -> Rejection {
    Rejection::new(ProblemCode::MethodNotAllowed, "method not allowed on this resource")
}
