//! [`SignatureLayer`] and the service it builds: adapts the pure checks of
//! [`super::check`] to tower, reads the body under a bound, and records the
//! nonce only after the signature verified.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use slipgate_proto::ProblemCode;
use slipgate_proto::clock::Clock;
use tower::{Layer, Service};

use super::bound::{CHALLENGE_HTTPSIG, bound_replay_key, httpsig_challenge, is_httpsig};
use super::check::SignaturePolicy;
use super::keys::{KeyResolver, VerifiedKey};
use crate::Rejection;
use crate::replay::{NonceStore, NonceVerdict};
use crate::store::StoreError;
use crate::token::{
    BoundClaims, CHALLENGE_HTTPSIG_INVALID, TokenClaims, TokenValidator, httpsig, validate_bound,
};

#[derive(Debug)]
struct Shared {
    policy: SignaturePolicy,
    keys: Arc<dyn KeyResolver>,
    nonces: Arc<dyn NonceStore>,
    clock: Arc<dyn Clock>,
    max_body: usize,
    body_timeout: Duration,
    tokens: Option<Arc<dyn TokenValidator>>,
}

/// Verifies RFC 9421 request signatures and refuses replays (SPEC §3.2–§3.3).
#[derive(Debug, Clone)]
pub struct SignatureLayer {
    shared: Arc<Shared>,
}

impl SignatureLayer {
    /// A layer with the default policy, a 16 KiB body limit and a 30 s body timeout.
    pub fn new(keys: Arc<dyn KeyResolver>, nonces: Arc<dyn NonceStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            shared: Arc::new(Shared {
                policy: SignaturePolicy::default(),
                keys,
                nonces,
                clock,
                max_body: 16 * 1024,
                body_timeout: Duration::from_secs(30),
                tokens: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            f(shared);
            self
        } else {
            let s = &self.shared;
            let mut shared = Shared {
                policy: s.policy.clone(),
                keys: s.keys.clone(),
                nonces: s.nonces.clone(),
                clock: s.clock.clone(),
                max_body: s.max_body,
                body_timeout: s.body_timeout,
                tokens: s.tokens.clone(),
            };
            f(&mut shared);
            Self { shared: Arc::new(shared) }
        }
    }

    /// Replaces the policy (required components, freshness window).
    pub fn with_policy(self, policy: SignaturePolicy) -> Self {
        self.edit(|s| s.policy = policy)
    }

    /// Accepts key-bound tokens (`Authorization: HTTPSig`, SPEC §3.2.1), validated by
    /// `tokens` before the body is read. Without it such a request is `token_invalid`.
    pub fn with_bound_tokens(self, tokens: Arc<dyn TokenValidator>) -> Self {
        self.edit(|s| s.tokens = Some(tokens))
    }

    /// Bounds the body read for digest and verification.
    pub fn with_body_limits(self, max_body: usize, timeout: Duration) -> Self {
        self.edit(|s| {
            s.max_body = max_body;
            s.body_timeout = timeout;
        })
    }
}

impl<S> Layer<S> for SignatureLayer {
    type Service = SignatureService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SignatureService { inner, shared: self.shared.clone() }
    }
}

/// The service [`SignatureLayer`] builds.
#[derive(Debug, Clone)]
pub struct SignatureService<S> {
    inner: S,
    shared: Arc<Shared>,
}

async fn read_body(body: Body, max: usize, timeout: Duration) -> Result<Bytes, Rejection> {
    match tokio::time::timeout(timeout, http_body_util::Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(Rejection::new(
            ProblemCode::PayloadTooLarge,
            format!("the body exceeds the limit of {max} bytes"),
        )),
        Ok(Err(_)) => Err(Rejection::new(ProblemCode::BadRequest, "the request body could not be read")),
        Err(_) => Err(Rejection::new(
            ProblemCode::BadRequest,
            "the request body did not arrive within the time limit",
        )),
    }
}

impl<S> Service<Request<Body>> for SignatureService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // A key-bound request (`Authorization: HTTPSig`) takes SPEC §3.2.1's order.
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let now = shared.clock.unix_seconds();
            let (parts, body) = request.into_parts();
            let bound =
                parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(is_httpsig);
            let admitted = if bound {
                admit_bound(&shared, parts, body, now).await.map_err(httpsig_challenge)
            } else {
                admit_registered(&shared, parts, body, now).await
            };
            let Admitted { mut parts, bytes, verified, replay_key, claims } = match admitted {
                Ok(admitted) => admitted,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            // Only now, so forged requests cannot fill the store (SPEC §3.3 step 6).
            let ttl = shared.policy.nonce_ttl(verified.created, now);
            let refused = match shared.nonces.check_and_record(&replay_key, &verified.nonce, now, ttl).await {
                Ok(NonceVerdict::Fresh) => None,
                Ok(NonceVerdict::Replayed) => {
                    Some(Rejection::new(ProblemCode::Replayed, "this nonce was already used"))
                }
                Err(StoreError::Full(_)) => {
                    tracing::warn!("nonce store full; refusing new requests until entries expire");
                    Some(Rejection::new(ProblemCode::Overloaded, "too many requests in flight; retry later"))
                }
                Err(error) => {
                    tracing::error!(%error, "nonce store unavailable");
                    Some(Rejection::new(ProblemCode::StoreUnavailable, "the replay store is unavailable"))
                }
            };
            if let Some(rejection) = refused {
                let rejection = if bound { httpsig_challenge(rejection) } else { rejection };
                return Ok(rejection.into_response());
            }
            parts.extensions.insert(verified.clone());
            if let Some(claims) = claims {
                parts.extensions.insert(BoundClaims(claims));
            }
            let mut response = inner.call(Request::from_parts(parts, Body::from(bytes))).await?;
            // For the audit line: which key this request was verified with.
            response.extensions_mut().insert(verified);
            Ok(response)
        })
    }
}

/// A request whose signature verified, before its nonce is spent.
struct Admitted {
    parts: Parts,
    bytes: Bytes,
    verified: VerifiedKey,
    /// The first half of the replay pair: the registry keyid, or [`bound_replay_key`].
    replay_key: String,
    /// The validated token of a bound request, for the token layer.
    claims: Option<TokenClaims>,
}

/// Steps 3–5 with a registry key (SPEC §3.3).
async fn admit_registered(
    shared: &Shared,
    parts: Parts,
    body: Body,
    now: i64,
) -> Result<Admitted, Rejection> {
    let head = shared.policy.check_head(&parts, shared.keys.as_ref(), now)?;
    let bytes = read_body(body, shared.max_body, shared.body_timeout).await?;
    let verified = shared.policy.check_body(head, &parts, &bytes)?;
    Ok(Admitted { replay_key: verified.keyid.clone(), parts, bytes, verified, claims: None })
}

/// Steps 3, 7, 4, 5 of a request presenting a key-bound token (SPEC §3.2.1): no key
/// lookup, then the token (which names the key), then the body and the signature.
async fn admit_bound(shared: &Shared, parts: Parts, body: Body, now: i64) -> Result<Admitted, Rejection> {
    let head = shared.policy.check_bound_head(&parts, now)?;
    let token = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(httpsig);
    let Some(token) = token else {
        return Err(Rejection::new(ProblemCode::TokenMissing, "send Authorization: HTTPSig <access token>")
            .with_challenge(CHALLENGE_HTTPSIG));
    };
    let Some(tokens) = &shared.tokens else {
        return Err(Rejection::new(
            ProblemCode::TokenInvalid,
            "this server does not accept key-bound tokens",
        )
        .with_challenge(CHALLENGE_HTTPSIG_INVALID));
    };
    let (claims, key) = validate_bound(tokens.validate(token).await)?;
    let bytes = read_body(body, shared.max_body, shared.body_timeout).await?;
    let verified = shared.policy.check_bound_body(head, &key, &parts, &bytes)?;
    Ok(Admitted { replay_key: bound_replay_key(&key), parts, bytes, verified, claims: Some(claims) })
}
