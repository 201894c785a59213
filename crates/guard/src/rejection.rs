//! A refused request: the typed reason every guard layer answers with.
//!
//! A layer never builds a problem body itself (it does not know the request
//! id); it answers with the status, the challenge header and this value in the
//! response extensions, and the server's outermost layer renders the RFC 9457
//! body, logs and counts it.

use std::borrow::Cow;

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header::WWW_AUTHENTICATE};
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
        Self { code, detail: detail.into(), challenge }
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
        response.extensions_mut().insert(self);
        response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}
