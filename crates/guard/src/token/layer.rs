//! [`TokenLayer`]: token validation (SPEC §3.3 step 7; for `HTTPSig` the
//! signature layer validated the token already, §3.2.1). The scope is step 9
//! ([`super::ScopeLayer`], inside the per-user rate limit); the object-level
//! rule needs the body and runs in the handler right after the JSON parse
//! ([`super::employee::check`], step 11).

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap, Request, Response};
use slipgate_proto::{Presentation, ProblemCode};

use super::claims::{TokenClaims, TokenValidator};
use super::validity::{self, token_invalid};
use crate::Rejection;
use crate::guarded::{Guard, guard_layer};
use crate::signature::is_httpsig;

/// Longest token accepted in `Authorization`.
const MAX_TOKEN: usize = 8 * 1024;

/// The bearer token of an `Authorization` header value.
pub fn bearer(value: &str) -> Option<&str> {
    scheme_token(value, "bearer")
}

/// The key-bound token of an `Authorization: HTTPSig <token>` value (scheme
/// case-insensitive, SPEC §3.2.1).
pub fn httpsig(value: &str) -> Option<&str> {
    scheme_token(value, "httpsig")
}

fn scheme_token<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case(name) && !token.is_empty() && token.len() <= MAX_TOKEN).then_some(token)
}

/// A token the signature layer validated for an `HTTPSig` request and whose key verified the
/// signature; the token layer takes it out of the extensions. Only this crate makes one.
#[derive(Debug, Clone)]
pub(crate) struct BoundClaims(pub(crate) TokenClaims);

/// Step 7's verdict, reached by the signature layer when it runs steps 6–8 in one Redis
/// round trip ([`crate::signature::SignatureLayer::with_redis_steps`]); the token layer
/// takes it out of the extensions instead of validating again. Only this crate makes one.
#[derive(Debug, Clone)]
pub(crate) struct TokenVerdict(pub(crate) Result<(TokenClaims, Presentation), Rejection>);

/// The authenticated subject, in the response extensions for the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSubject {
    /// The token's `sub`.
    pub sub: String,
    /// The token's `username`, when it carries one (user tokens).
    pub username: Option<String>,
}

impl AuditSubject {
    /// What the audit line shows of `claims`.
    pub fn of(claims: &TokenClaims) -> Self {
        Self { sub: claims.sub.clone(), username: claims.username.clone() }
    }
}

/// Validates the token of every request: a `Bearer` token here, an `HTTPSig` one by taking
/// what the signature layer validated (it must run before this layer). What passed goes
/// on as [`TokenClaims`] and [`Presentation`] extensions.
#[derive(Debug, Clone)]
pub struct TokenLayer {
    validator: Arc<dyn TokenValidator>,
    require_bound: bool,
}

guard_layer!(TokenLayer);

impl TokenLayer {
    /// A layer asking `validator`, accepting unbound user tokens as `Bearer`.
    pub fn new(validator: Arc<dyn TokenValidator>) -> Self {
        Self { validator, require_bound: false }
    }

    /// `auth.require_bound_tokens`: refuse user tokens that are not key-bound (401
    /// `token_invalid`); service tokens (client credentials) may still come as `Bearer`.
    #[must_use]
    pub fn with_require_bound(mut self, require_bound: bool) -> Self {
        self.require_bound = require_bound;
        self
    }

    /// Step 7 for a request with these headers and extensions: the claims of its token
    /// and how it was presented, or the refusal.
    pub(crate) async fn verdict(
        &self,
        headers: &HeaderMap,
        extensions: &mut Extensions,
    ) -> Result<(TokenClaims, Presentation), Rejection> {
        let bound = extensions.remove::<BoundClaims>();
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        match (bound, authorization) {
            (Some(BoundClaims(claims)), _) => {
                let presented = Presentation::HttpSig;
                Ok((validity::check(presented, self.require_bound, Ok(claims))?, presented))
            }
            // The signature layer verifies every HTTPSig request; without its verdict, refuse.
            (None, Some(value)) if is_httpsig(value) => {
                Err(token_invalid(Presentation::HttpSig, "the key-bound token's signature was not verified"))
            }
            (None, value) => match value.and_then(bearer) {
                Some(token) => {
                    let presented = Presentation::Bearer;
                    let answer = self.validator.validate(token).await;
                    Ok((validity::check(presented, self.require_bound, answer)?, presented))
                }
                None => Err(Rejection::new(
                    ProblemCode::TokenMissing,
                    "send Authorization: Bearer <access token> or HTTPSig <access token>",
                )),
            },
        }
    }
}

impl<B: Send + 'static> Guard<B> for TokenLayer {
    /// The subject, for the audit line.
    type Note = Option<AuditSubject>;

    async fn admit(&self, request: Request<B>, note: &mut Self::Note) -> Result<Request<B>, Rejection> {
        let (mut parts, body) = request.into_parts();
        let verdict = match parts.extensions.remove::<TokenVerdict>() {
            Some(TokenVerdict(verdict)) => verdict,
            None => self.verdict(&parts.headers, &mut parts.extensions).await,
        };
        let (claims, presented) = verdict?;
        *note = Some(AuditSubject::of(&claims));
        parts.extensions.insert(claims);
        parts.extensions.insert(presented);
        Ok(Request::from_parts(parts, body))
    }

    fn finish<R>(&self, note: Self::Note, response: &mut Response<R>) {
        if let Some(subject) = note {
            response.extensions_mut().insert(subject);
        }
    }
}
