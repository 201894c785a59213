//! [`SignatureLayer`]: the [`Guard`] of steps 3–6. It adapts the pure checks
//! ([`super::head::check`], [`super::bound::check`], [`super::body::check`]) to
//! tower, reads the body once under a bound, and records the nonce only after
//! the signature verified. The body goes on as [`VerifiedBody`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use slipgate_proto::clock::Clock;
use slipgate_proto::{Presentation, ProblemCode};

use super::bound::{bound_replay_key, is_httpsig};
use super::keys::{KeyResolver, VerifiedKey};
use super::policy::SignaturePolicy;
use super::{body, bound, head};
use crate::Rejection;
use crate::guarded::{Guard, guard_layer};
use crate::ratelimit::{POLICY_USER, UserDecision};
use crate::replay::{NonceAndQuota, NonceStore, NonceVerdict, RedisNonceAndQuota};
use crate::store::StoreError;
use crate::token::{self, BoundClaims, TokenClaims, TokenLayer, TokenValidator, TokenVerdict};

/// The request body whose `Content-Digest` and signature verified, read once
/// by the signature layer: the handler takes it from the request extensions
/// (the request's own body is empty by then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBody(pub Bytes);

#[derive(Debug)]
struct Shared {
    policy: SignaturePolicy,
    keys: Arc<dyn KeyResolver>,
    nonces: Arc<dyn NonceStore>,
    clock: Arc<dyn Clock>,
    max_body: usize,
    body_timeout: Duration,
    tokens: Option<Arc<dyn TokenValidator>>,
    redis_steps: Option<RedisSteps>,
}

/// Steps 6–8 in one Redis round trip ([`SignatureLayer::with_redis_steps`]).
#[derive(Debug, Clone)]
struct RedisSteps {
    store: RedisNonceAndQuota,
    user_rate: slipgate_proto::units::Rate,
    token: TokenLayer,
}

/// Verifies RFC 9421 request signatures and refuses replays (SPEC §3.2–§3.3).
#[derive(Debug, Clone)]
pub struct SignatureLayer {
    shared: Arc<Shared>,
}

guard_layer!(SignatureLayer);

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
                redis_steps: None,
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
                redis_steps: s.redis_steps.clone(),
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

    /// Runs SPEC §3.3 steps 6–8 in one Redis round trip when nonces and rate limits are
    /// both in Redis: after the signature verified, `token` reaches step 7's verdict (it
    /// is the token layer of the stack, which then takes the verdict instead of checking
    /// again), and one script records the nonce and, only if it is new and the token
    /// passed, spends the user's quota at `user_rate` (the [`crate::ratelimit::PerUserLimit`]
    /// inside takes that decision instead of asking its store). The answers are those of
    /// the three separate steps: a replay is `replayed` whatever its token, a refused
    /// token still spends its nonce and never any quota. The nonces go to `store`
    /// instead of the layer's [`NonceStore`].
    pub fn with_redis_steps(
        self,
        store: RedisNonceAndQuota,
        user_rate: slipgate_proto::units::Rate,
        token: TokenLayer,
    ) -> Self {
        self.edit(|s| s.redis_steps = Some(RedisSteps { store, user_rate, token }))
    }

    /// Bounds the body read for digest and verification.
    pub fn with_body_limits(self, max_body: usize, timeout: Duration) -> Self {
        self.edit(|s| {
            s.max_body = max_body;
            s.body_timeout = timeout;
        })
    }
}

/// Reads at most `max` bytes within `timeout`; a longer body (however it is
/// framed) is a 413, a body that does not arrive in time a 400.
async fn read_body<B>(body: B, max: usize, timeout: Duration) -> Result<Bytes, Rejection>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(timeout, http_body_util::Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(Rejection::payload_too_large(max))
        }
        Ok(Err(_)) => Err(Rejection::new(ProblemCode::BadRequest, "the request body could not be read")),
        Err(_) => Err(Rejection::new(
            ProblemCode::BadRequest,
            "the request body did not arrive within the time limit",
        )),
    }
}

impl<B> Guard<B> for SignatureLayer
where
    B: http_body::Body<Data = Bytes> + Default + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// The key the request was verified with, for the audit line and the
    /// response signature.
    type Note = Option<VerifiedKey>;

    async fn admit(&self, request: Request<B>, note: &mut Self::Note) -> Result<Request<B>, Rejection> {
        let shared = &self.shared;
        let now = shared.clock.unix_seconds();
        let (parts, body) = request.into_parts();
        // A key-bound request (`Authorization: HTTPSig`) takes SPEC §3.2.1's order.
        let presented = match parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            Some(value) if is_httpsig(value) => Presentation::HttpSig,
            _ => Presentation::Bearer,
        };
        let admitted = match presented {
            Presentation::HttpSig => admit_bound(shared, parts, body, now).await,
            Presentation::Bearer => admit_registered(shared, parts, body, now).await,
        };
        let Admitted { mut parts, bytes, verified, replay_key, claims } =
            admitted.map_err(|r| r.presented(presented))?;
        // Only now, so forged requests cannot fill the store (SPEC §3.3 step 6).
        let ttl = shared.policy.nonce_ttl(verified.created, now);
        if let Some(steps) = &shared.redis_steps {
            if let Some(claims) = claims {
                parts.extensions.insert(BoundClaims(claims));
            }
            let verdict = steps.token.verdict(&parts.headers, &mut parts.extensions).await;
            let user =
                verdict.as_ref().ok().map(|(claims, _)| (POLICY_USER, claims.sub.as_str(), steps.user_rate));
            let decision = match steps.store.check(&replay_key, &verified.nonce, ttl, user).await {
                Ok(NonceAndQuota::Fresh(decision)) => decision,
                Ok(NonceAndQuota::Replayed) => return Err(replayed(presented)),
                Err(error) => return Err(store_refusal(&error)),
            };
            if let Some(decision) = decision {
                parts.extensions.insert(UserDecision(decision));
            }
            parts.extensions.insert(TokenVerdict(verdict));
            parts.extensions.insert(verified.clone());
            parts.extensions.insert(VerifiedBody(bytes));
            *note = Some(verified);
            return Ok(Request::from_parts(parts, B::default()));
        }
        match shared.nonces.check_and_record(&replay_key, &verified.nonce, now, ttl).await {
            Ok(NonceVerdict::Fresh) => {}
            Ok(NonceVerdict::Replayed) => return Err(replayed(presented)),
            Err(error) => return Err(store_refusal(&error)),
        }
        parts.extensions.insert(verified.clone());
        parts.extensions.insert(VerifiedBody(bytes));
        if let Some(claims) = claims {
            parts.extensions.insert(BoundClaims(claims));
        }
        *note = Some(verified);
        Ok(Request::from_parts(parts, B::default()))
    }

    fn finish<R>(&self, note: Self::Note, response: &mut Response<R>) {
        if let Some(verified) = note {
            response.extensions_mut().insert(verified);
        }
    }
}

fn replayed(presented: Presentation) -> Rejection {
    Rejection::new(ProblemCode::Replayed, "this nonce was already used").presented(presented)
}

/// A nonce store that could not decide: full (the memory store's budget) or unavailable.
fn store_refusal(error: &StoreError) -> Rejection {
    match error {
        StoreError::Full(_) => {
            Rejection::new(ProblemCode::Overloaded, "too many requests in flight; retry later")
                .with_cause(error)
        }
        _ => {
            Rejection::new(ProblemCode::StoreUnavailable, "the replay store is unavailable").with_cause(error)
        }
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
async fn admit_registered<B>(shared: &Shared, parts: Parts, body: B, now: i64) -> Result<Admitted, Rejection>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let head = head::check(&shared.policy, &parts, shared.keys.as_ref(), now)?;
    let bytes = read_body(body, shared.max_body, shared.body_timeout).await?;
    body::check(head.parsed(), &parts, &bytes, head.key())?;
    let verified = head.verified();
    Ok(Admitted { replay_key: verified.keyid.clone(), parts, bytes, verified, claims: None })
}

/// Steps 3, 7, 4, 5 of a request presenting a key-bound token (SPEC §3.2.1): no key
/// lookup, then the token (which names the key), then the body and the signature.
async fn admit_bound<B>(shared: &Shared, parts: Parts, body: B, now: i64) -> Result<Admitted, Rejection>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let head = bound::check(&shared.policy, &parts, now)?;
    let token = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(token::httpsig);
    let Some(token) = token else {
        return Err(Rejection::new(ProblemCode::TokenMissing, "send Authorization: HTTPSig <access token>"));
    };
    let Some(tokens) = &shared.tokens else {
        return Err(Rejection::new(
            ProblemCode::TokenInvalid,
            "this server does not accept key-bound tokens",
        ));
    };
    let (claims, key) = token::bound::check(tokens.validate(token).await)?;
    let bytes = read_body(body, shared.max_body, shared.body_timeout).await?;
    body::check(head.parsed(), &parts, &bytes, key.verifying_key())?;
    let verified = head.verified(&key);
    Ok(Admitted { replay_key: bound_replay_key(&key), parts, bytes, verified, claims: Some(claims) })
}
