//! The outermost layer of the API listener: signs every response (SPEC §3.8)
//! with [`super::response_sig::ResponseSigner`]; an answer that cannot be
//! signed is replaced by a 500 from the one renderer ([`super::problem`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderName;
use slipgate_guard::Rejection;
use slipgate_guard::signature::VerifiedKey;
use slipgate_httpsig::params::{SIGNATURE, SIGNATURE_INPUT};
use slipgate_proto::{ProblemCode, headers};

use super::problem;
use super::response_sig::RequestSummary;
use crate::state::AppState;

/// Middleware (outermost on the API listener): runs [`super::respond::respond`]
/// and signs its answer (SPEC §3.8). One middleware rather than two: each
/// layer of the router costs every request a boxed service clone and two
/// boxed futures.
///
/// A request the signature layer verified hands over its label and signature
/// in the response's [`VerifiedKey`]; only a refused one has its signature
/// fields parsed again here, to bind the answer to what it sent.
pub async fn respond_and_sign(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let key_bound = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(slipgate_guard::signature::is_httpsig);
    let mut sent = http::HeaderMap::new();
    for name in [SIGNATURE_INPUT, SIGNATURE] {
        for value in request.headers().get_all(&name) {
            sent.append(name.clone(), value.clone());
        }
    }
    let response = super::respond::respond(State(state.clone()), request, next).await;
    let (mut parts, body) = response.into_parts();
    let summary = match parts.extensions.get::<VerifiedKey>() {
        Some(verified) => RequestSummary::new(method, uri, Some(verified)),
        None if sent.is_empty() => RequestSummary::new(method, uri, None),
        None => RequestSummary::unverified(method, uri, &sent, key_bound),
    };
    let now = state.clock.unix_seconds();
    let bytes = match axum::body::to_bytes(body, MAX_SIGNED_BODY).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let cause = format!("cannot buffer a response to sign it: {error}");
            return unsignable(&state, &summary, &parts, now, &cause);
        }
    };
    match state.response_signer.sign(&summary, &mut parts, &bytes, now) {
        Ok(()) => Response::from_parts(parts, Body::from(bytes)),
        Err(error) => unsignable(&state, &summary, &parts, now, &format!("cannot sign a response: {error}")),
    }
}

/// Headers of the refused answer that the replacing 500 keeps: the request id
/// and the rate-limit state (SPEC §3.7); the security headers are written anew.
const KEPT_ON_500: [HeaderName; 3] = [
    HeaderName::from_static(headers::REQUEST_ID),
    HeaderName::from_static(headers::RATELIMIT),
    HeaderName::from_static(headers::RATELIMIT_POLICY),
];

/// The answer sent instead of one that could not be signed (SPEC §3.8: a
/// response is never sent unsigned): a generic 500 problem from the one
/// renderer — nothing of the original body or its other headers — with the
/// security headers, the request id and the rate-limit headers. It is signed
/// in turn; only when the signer fails for it too does it go out unsigned,
/// holding nothing but the generic problem.
fn unsignable(
    state: &AppState,
    summary: &RequestSummary,
    original: &http::response::Parts,
    now: i64,
    cause: &str,
) -> Response {
    state.metrics.record_rejection(ProblemCode::Internal.as_str());
    let request_id = original.headers.get(headers::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    let rejection = Rejection::internal(&cause);
    problem::log_cause(&rejection, request_id);
    let (mut parts, ()) = http::Response::new(()).into_parts();
    for name in &KEPT_ON_500 {
        for value in original.headers.get_all(name) {
            parts.headers.append(name.clone(), value.clone());
        }
    }
    problem::security_headers(&mut parts.headers);
    let body = problem::write(&mut parts, rejection, request_id);
    if let Err(error) = state.response_signer.sign(summary, &mut parts, &body, now) {
        tracing::error!(%error, request_id, "cannot sign the replacing 500 either; it goes out unsigned");
    }
    Response::from_parts(parts, Body::from(body))
}

/// Largest response body that is signed (PDF slips are ~60 KiB).
const MAX_SIGNED_BODY: usize = 32 * 1024 * 1024;
