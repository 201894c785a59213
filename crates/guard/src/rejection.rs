//! A refused request: the one refusal type of the API, from the guard layers
//! and the handler alike (SPEC §3.6).
//!
//! A check returns a [`Rejection`]; a layer or handler answers with
//! [`Rejection::into_response`], a bodiless response that carries the value in
//! its extensions. The server's outermost layer renders it — status,
//! `WWW-Authenticate`, `Retry-After`, the RFC 9457 body with the request id —
//! and logs and counts it, so every refusal is written by one renderer. What a
//! code's status, title and challenge are comes from the one table in
//! [`slipgate_proto::ProblemCode`].
//!
//! ```
//! use std::time::Duration;
//! use slipgate_guard::Rejection;
//! use slipgate_proto::{Presentation, ProblemCode};
//!
//! let r = Rejection::new(ProblemCode::TokenInvalid, "the access token is not valid");
//! assert_eq!(r.status(), 401);
//! assert_eq!(r.challenge(), Some("Bearer error=\"invalid_token\""));
//! assert_eq!(r.presented(Presentation::HttpSig).challenge(), Some("HTTPSig error=\"invalid_token\""));
//! let r = Rejection::new(ProblemCode::RateLimited, "slow down").with_retry_after(Duration::from_millis(1001));
//! assert_eq!(r.retry_after_secs(), Some(2));
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use slipgate_proto::{FieldError, Presentation, ProblemCode};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The SPEC §3.6 code.
    pub code: ProblemCode,
    /// Human detail: names the failed check, never a secret or a value sent.
    pub detail: Cow<'static, str>,
    /// How the request presented its credentials: picks the challenge's scheme.
    pub presentation: Presentation,
    /// When a retry may succeed; sent as `Retry-After` in whole seconds,
    /// rounded up (429, and 503 `overloaded` from load shedding).
    pub retry_after: Option<Duration>,
    /// The rate-limit policies the request exceeded (`"ip"`, `"user"`), for
    /// the problem body's `violated-policies` member (SPEC §3.6).
    pub violated_policies: Vec<&'static str>,
    /// Field-level failures of a 422 (`validation_failed`).
    pub errors: Vec<FieldError>,
    /// For the server log only, never the client: what failed behind a 5xx
    /// (a store or identity-server error). The renderer logs it with the
    /// request id.
    pub cause: Option<Arc<str>>,
}

impl Rejection {
    /// A rejection with `code` and `detail`.
    pub fn new(code: ProblemCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            detail: detail.into(),
            presentation: Presentation::Bearer,
            retry_after: None,
            violated_policies: Vec::new(),
            errors: Vec::new(),
            cause: None,
        }
    }

    /// A 422 listing `errors`.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let detail = format!("{n} field{} failed validation", if n == 1 { "" } else { "s" });
        Self { errors, ..Self::new(ProblemCode::ValidationFailed, detail) }
    }

    /// A generic 500: the client learns nothing of `cause`, which goes to the log.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        Self::new(ProblemCode::Internal, "the server could not complete the request").with_cause(cause)
    }

    /// 413 for a body over `max_body` bytes, declared or read.
    pub fn payload_too_large(max_body: usize) -> Self {
        Self::new(ProblemCode::PayloadTooLarge, format!("the body exceeds the limit of {max_body} bytes"))
    }

    /// Adds a `Retry-After` (whole seconds, rounded up, at least 1).
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Keeps `cause` for the server log (never sent).
    #[must_use]
    pub fn with_cause(mut self, cause: &dyn std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string().into());
        self
    }

    /// The same refusal for a request presented as `presentation`: a key-bound
    /// request (SPEC §3.2.1) is challenged with `HTTPSig`.
    #[must_use]
    pub fn presented(mut self, presentation: Presentation) -> Self {
        self.presentation = presentation;
        self
    }

    /// The HTTP status of the code.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `WWW-Authenticate` challenge, from the code's row of the table.
    pub fn challenge(&self) -> Option<&'static str> {
        self.code.challenge(self.presentation)
    }

    /// `Retry-After` in whole seconds: rounded up so a client that waits that
    /// long is not refused again, and never 0 (which would invite a hot loop).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// The answer of a layer or handler that refuses: the status and `self` in
    /// the extensions, for the server's renderer to write out.
    pub fn into_response<B: Default>(self) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        response.extensions_mut().insert(self);
        response
    }
}

impl axum::response::IntoResponse for Rejection {
    fn into_response(self) -> axum::response::Response {
        Rejection::into_response(self)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let r = Rejection::new(ProblemCode::RateLimited, "slow down")
            .with_retry_after(Duration::from_millis(1001));
        assert_eq!(r.retry_after_secs(), Some(2));
        let response: Response<()> = r.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let r = Rejection::new(ProblemCode::RateLimited, "x").with_retry_after(Duration::from_millis(1));
        assert_eq!(r.retry_after_secs(), Some(1));
        let r = Rejection::new(ProblemCode::RateLimited, "x").with_retry_after(Duration::from_secs(12));
        assert_eq!(r.retry_after_secs(), Some(12));
    }

    #[test]
    fn existing_rejections_carry_no_retry_after() {
        let response: Response<()> = Rejection::new(ProblemCode::Replayed, "again").into_response();
        let r = response.extensions().get::<Rejection>().cloned();
        assert_eq!(r.as_ref().and_then(Rejection::retry_after_secs), None);
        assert_eq!(r.as_ref().and_then(Rejection::challenge), Some("Signature"));
        assert_eq!(r.map(|r| r.violated_policies.len()), Some(0));
    }

    #[test]
    fn the_cause_is_kept_apart_from_the_detail() {
        let r = Rejection::internal(&"disk on fire");
        assert_eq!(r.code, ProblemCode::Internal);
        assert!(!r.detail.contains("disk"));
        assert_eq!(r.cause.as_deref(), Some("disk on fire"));
    }
}
