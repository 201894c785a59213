//! The one renderer of refusals (SPEC §3.6): a [`Rejection`] becomes an RFC
//! 9457 `application/problem+json` answer with its code's status and
//! `WWW-Authenticate` challenge, `Retry-After` when it has one, and the request
//! id. Every refusal — a guard layer's, the handler's, load shedding's, and the
//! 500 sent instead of an answer that could not be signed — is written here;
//! [`security_headers`] are the headers every API answer carries (SPEC §3.5).
//!
//! ```
//! use std::time::Duration;
//! use slipgate_api::Rejection;
//! use slipgate_api::middleware::problem::render;
//! use slipgate_proto::ProblemCode;
//!
//! let refusal = Rejection::new(ProblemCode::RateLimited, "slow down").with_retry_after(Duration::from_millis(1001));
//! let answer = render(http::Response::new(axum::body::Body::empty()), refusal, "r-1");
//! assert_eq!(answer.status(), 429);
//! assert_eq!(answer.headers()["retry-after"], "2");
//! assert_eq!(answer.headers()["content-type"], "application/problem+json");
//! ```

use axum::body::Body;
use axum::response::Response;
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, STRICT_TRANSPORT_SECURITY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use slipgate_guard::Rejection;
use slipgate_proto::{Problem, ProblemCode, headers};

/// `response` — whose head the layers may have written to (rate-limit
/// headers, extensions) — answering `rejection` for request `request_id`:
/// status, challenge, `Retry-After`, and the problem body in place of any body.
pub fn render(response: Response, rejection: Rejection, request_id: &str) -> Response {
    let (mut parts, _) = response.into_parts();
    let body = write(&mut parts, rejection, request_id);
    Response::from_parts(parts, Body::from(body))
}

/// [`render`] into a response head, returning the body bytes (the response
/// signer needs them before the answer is sent).
pub fn write(parts: &mut http::response::Parts, rejection: Rejection, request_id: &str) -> Vec<u8> {
    parts.status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = &mut parts.headers;
    match rejection.challenge() {
        Some(challenge) => h.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge)),
        None => h.remove(WWW_AUTHENTICATE),
    };
    match rejection.retry_after_secs() {
        Some(secs) => h.insert(RETRY_AFTER, HeaderValue::from(secs)),
        None => h.remove(RETRY_AFTER),
    };
    h.insert(CONTENT_TYPE, HeaderValue::from_static(headers::PROBLEM_JSON));
    h.remove(CONTENT_LENGTH);
    let mut problem = Problem::new(rejection.code, rejection.detail, request_id);
    problem.errors = rejection.errors;
    problem.violated_policies = rejection.violated_policies.iter().map(|p| (*p).to_owned()).collect();
    serde_json::to_vec(&problem).unwrap_or_default()
}

/// `Cache-Control: no-store`, HSTS and `nosniff` (SPEC §3.5).
pub fn security_headers(h: &mut HeaderMap) {
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(headers::HSTS_VALUE));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// Logs what the client is not told: the cause behind a 5xx, with the request id.
pub fn log_cause(rejection: &Rejection, request_id: &str) {
    let Some(cause) = rejection.cause.as_deref() else { return };
    let code = rejection.code.as_str();
    if rejection.code == ProblemCode::Overloaded {
        tracing::warn!(code, %cause, request_id, "refused: the server is at capacity");
    } else {
        tracing::error!(code, %cause, request_id, "refused: the server could not complete the request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipgate_proto::{FieldError, Presentation};

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn writes_status_challenge_and_body_from_the_table() {
        let refusal = Rejection::new(ProblemCode::Replayed, "again").presented(Presentation::HttpSig);
        let answer = render(Response::default(), refusal, "r-7");
        assert_eq!(answer.status(), 401);
        assert_eq!(answer.headers()[WWW_AUTHENTICATE], "HTTPSig");
        assert!(answer.headers().get(RETRY_AFTER).is_none());
        let v = body(answer).await;
        assert_eq!((v["code"].as_str(), v["request_id"].as_str()), (Some("replayed"), Some("r-7")));
    }

    #[tokio::test]
    async fn a_validation_failure_lists_its_fields_and_a_429_its_policies() {
        let answer =
            render(Response::default(), Rejection::validation(vec![FieldError::new("emp_id", "bad")]), "r");
        assert_eq!(answer.status(), 422);
        assert!(answer.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(body(answer).await["errors"][0]["field"], "emp_id");
        let mut limited = Rejection::new(ProblemCode::RateLimited, "slow")
            .with_retry_after(std::time::Duration::from_secs(12));
        limited.violated_policies = vec!["user"];
        let answer = render(Response::default(), limited, "r");
        assert_eq!(answer.headers()[RETRY_AFTER], "12");
        assert_eq!(body(answer).await["violated-policies"][0], "user");
    }

    #[tokio::test]
    async fn a_500_names_no_cause() {
        let answer = render(Response::default(), Rejection::internal(&"disk on fire"), "r-9");
        assert_eq!(answer.status(), 500);
        let v = body(answer).await;
        assert!(!v["detail"].as_str().unwrap_or("disk").contains("disk"), "{v}");
    }
}
