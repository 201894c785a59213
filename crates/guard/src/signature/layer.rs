//! [`SignatureLayer`] and the service it builds: adapts the pure checks of
//! [`super::check`] to tower, reads the body under a bound, and records the
//! nonce only after the signature verified.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use slipgate_proto::ProblemCode;
use slipgate_proto::clock::Clock;
use tower::{Layer, Service};

use super::check::SignaturePolicy;
use super::keys::KeyResolver;
use crate::Rejection;
use crate::replay::{NonceStore, NonceVerdict};
use crate::store::StoreError;

#[derive(Debug)]
struct Shared {
    policy: SignaturePolicy,
    keys: Arc<dyn KeyResolver>,
    nonces: Arc<dyn NonceStore>,
    clock: Arc<dyn Clock>,
    max_body: usize,
    body_timeout: Duration,
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
            };
            f(&mut shared);
            Self { shared: Arc::new(shared) }
        }
    }

    /// Replaces the policy (required components, freshness window).
    pub fn with_policy(self, policy: SignaturePolicy) -> Self {
        self.edit(|s| s.policy = policy)
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
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let now = shared.clock.unix_seconds();
            let (mut parts, body) = request.into_parts();
            let head = match shared.policy.check_head(&parts, shared.keys.as_ref(), now) {
                Ok(head) => head,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let bytes = match read_body(body, shared.max_body, shared.body_timeout).await {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let verified = match shared.policy.check_body(head, &parts, &bytes) {
                Ok(verified) => verified,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            // Only now, so forged requests cannot fill the store (SPEC §3.3 step 6).
            let ttl = shared.policy.nonce_ttl(verified.created, now);
            match shared.nonces.check_and_record(&verified.keyid, &verified.nonce, now, ttl).await {
                Ok(NonceVerdict::Fresh) => {}
                Ok(NonceVerdict::Replayed) => {
                    return Ok(
                        Rejection::new(ProblemCode::Replayed, "this nonce was already used").into_response()
                    );
                }
                Err(StoreError::Full(_)) => {
                    tracing::warn!("nonce store full; refusing new requests until entries expire");
                    return Ok(Rejection::new(
                        ProblemCode::Overloaded,
                        "too many requests in flight; retry later",
                    )
                    .into_response());
                }
                Err(error) => {
                    tracing::error!(%error, "nonce store unavailable");
                    return Ok(Rejection::new(
                        ProblemCode::StoreUnavailable,
                        "the replay store is unavailable",
                    )
                    .into_response());
                }
            }
            parts.extensions.insert(verified.clone());
            let mut response = inner.call(Request::from_parts(parts, Body::from(bytes))).await?;
            // For the audit line: which key this request was verified with.
            response.extensions_mut().insert(verified);
            Ok(response)
        })
    }
}
