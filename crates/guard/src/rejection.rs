//! A refused request: the typed reason every guard layer answers with.
//!
//! A layer never builds a problem body itself (it does not know the request
//! id); it answers with the status, the challenge header and this value in the
//! response extensions, and the server's outermost layer renders the RFC 9457
//! body, logs and counts it.

use std::borrow::Cow;
use std::time::Duration;

use axum::body::Body;
use http::{
    HeaderValue, Response, StatusCode,
    header::{RETRY_AFTER, WWW_AUTHENTICATE},
};
use slipgate_proto::ProblemCode;

/// Why a guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The SPEC §3.6 code.
    pub code: ProblemCode,
    /// Human detail: names the failed check, never a secret or a value sent.
    pub detail: Cow<'static, str>,
    /// The `WWW-Authenticate` challenge, if the code has one.
    pub challenge: Option<&'static str>,
    /// When a retry may succeed; sent as `Retry-After` in whole seconds,
    /// rounded up (the rate-limit layer's 429).
    pub retry_after: Option<Duration>,
    /// The rate-limit policies the request exceeded (`"ip"`, `"user"`), for
    /// the problem body's `violated-policies` member (SPEC §3.6).
    pub violated_policies: Vec<&'static str>,
}

impl Rejection {
    /// A rejection with `code` and `detail`, with the challenge SPEC §3.6 assigns.
    pub fn new(code: ProblemCode, detail: impl Into<Cow<'static, str>>) -> Self {
        use ProblemCode as C;
        let challenge = match code {
            C::SignatureMissing
            | C::SignatureMalformed
            | C::UnknownKey
            | C::AlgorithmMismatch
            | C::ComponentsMissing
            | C::DigestMissing
            | C::DigestMismatch
            | C::SignatureInvalid
            | C::RequestExpired
            | C::NonceMissing
            | C::Replayed => Some("Signature"),
            _ => None,
        };
        Self { code, detail: detail.into(), challenge, retry_after: None, violated_policies: Vec::new() }
    }

    /// Adds a `Retry-After` (whole seconds, rounded up, at least 1).
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// `Retry-After` in whole seconds: rounded up so a client that waits that
    /// long is not refused again, and never 0 (which would invite a hot loop).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// Replaces the challenge (the token layer's RFC 6750 forms).
    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The response: status, challenge, and `self` in the extensions.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(secs) = self.retry_after_secs() {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipgate_proto::ProblemCode;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let r = Rejection::new(ProblemCode::RateLimited, "slow down")
            .with_retry_after(Duration::from_millis(1001));
        let response = r.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
        let r = Rejection::new(ProblemCode::RateLimited, "x").with_retry_after(Duration::from_millis(1));
        assert_eq!(r.retry_after_secs(), Some(1));
        let r = Rejection::new(ProblemCode::RateLimited, "x").with_retry_after(Duration::from_secs(12));
        assert_eq!(r.retry_after_secs(), Some(12));
    }

    #[test]
    fn existing_rejections_carry_no_retry_after() {
        let response = Rejection::new(ProblemCode::Replayed, "again").into_response();
        assert!(response.headers().get(RETRY_AFTER).is_none());
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Signature");
        let r = response.extensions().get::<Rejection>().cloned();
        assert_eq!(r.map(|r| r.violated_policies.len()), Some(0));
    }
}
