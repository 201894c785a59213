//! Load shedding (SPEC §1 "denial of service"): at most `limits.max_concurrency`
//! requests are served at once; the next one is answered 503 `overloaded` at
//! once, with `Retry-After: 1`, instead of queueing without bound.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::RETRY_AFTER;
use slipgate_proto::ProblemCode;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// The permits, shared by every connection of the API listener.
#[derive(Debug, Clone)]
pub struct InFlight(pub Arc<Semaphore>);

/// Middleware: a permit per request, or 503.
pub async fn shed(State(in_flight): State<InFlight>, request: Request, next: Next) -> Response {
    let Ok(_permit) = in_flight.0.clone().try_acquire_owned() else {
        let mut response = ApiError::new(ProblemCode::Overloaded, "the server is at capacity; retry shortly")
            .into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    next.run(request).await
}
