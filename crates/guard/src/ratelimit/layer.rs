//! [`RateLimitLayer`]: the per-IP policy (SPEC §3.3 step 1, before any
//! crypto) and the per-user policy (step 8, after the token layer), plus the
//! `RateLimit-Policy` / `RateLimit` headers on every response (SPEC §3.7).
//!
//! The per-IP layer is the outer one: it puts a collector into the request
//! extensions, the per-user layer adds its outcome to it, and on the way out
//! the per-IP layer writes both headers on whatever response came back (a
//! success, or a problem from any inner layer).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ConnectInfo;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use slipgate_proto::ProblemCode;
use slipgate_proto::clock::Clock;
use slipgate_proto::units::Rate;
use tower::{Layer, Service};

use super::client_ip::{TrustedProxies, client_ip};
use super::gcra::Decision;
use super::store::RateLimitStore;
use crate::Rejection;
use crate::store::StoreError;
use crate::token::TokenClaims;

/// The per-IP policy's name.
pub const POLICY_IP: &str = "ip";
/// The per-user policy's name.
pub const POLICY_USER: &str = "user";
/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static(slipgate_proto::headers::RATELIMIT_POLICY);
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT: HeaderName = HeaderName::from_static(slipgate_proto::headers::RATELIMIT);

/// The two configured policies (`rate_limit.ip`, `rate_limit.user`), all of
/// which `RateLimit-Policy` advertises on every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address (default `600/min`).
    pub ip: Rate,
    /// Per token subject (default `120/min`).
    pub user: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_min = |n| Rate { quota: n, per: Duration::from_secs(60) };
        Self {
            ip: per_min(std::num::NonZeroU32::new(600).unwrap_or(std::num::NonZeroU32::MIN)),
            user: per_min(std::num::NonZeroU32::new(120).unwrap_or(std::num::NonZeroU32::MIN)),
        }
    }
}

/// Where one policy stood after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// `"ip"` or `"user"`.
    pub policy: &'static str,
    /// Requests left now.
    pub remaining: u32,
    /// Until one more request is allowed (`r` grows by one): the `t` of
    /// the `RateLimit` field (draft-ietf-httpapi-ratelimit-headers-10);
    /// zero when the quota is full.
    pub reset_after: Duration,
    /// Whether this policy refused the request.
    pub refused: bool,
}

/// The address a request counts against under the `ip` policy (after
/// trusted proxies, IPv6 keyed by its prefix), for the layers inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The per-request collector the per-IP layer shares with the per-user layer.
#[derive(Debug, Clone, Default)]
struct Outcomes(Arc<Mutex<Vec<Outcome>>>);

impl Outcomes {
    fn extend(&self, outcome: Option<Outcome>) {
        if let (Some(outcome), Ok(mut list)) = (outcome, self.0.lock()) {
            list.push(outcome);
        }
    }
    fn take(&self) -> Vec<Outcome> {
        self.0.lock().map(|mut list| std::mem::take(&mut *list)).unwrap_or_default()
    }
}

/// `"ip";q=600;w=60, "user";q=120;w=60`.
pub fn policy_header(policies: &[(&'static str, Rate)]) -> HeaderValue {
    let text = policies
        .iter()
        .map(|(name, rate)| format!("\"{name}\";q={};w={}", rate.quota, rate.per.as_secs().max(1)))
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static(""))
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `"<policy>";r=<remaining>;t=<seconds>` for the policy nearest its limit:
/// the fewest requests left, then the one that refused, then the longest wait.
pub fn ratelimit_header(outcomes: &[Outcome]) -> Option<HeaderValue> {
    let nearest =
        outcomes.iter().min_by_key(|o| (o.remaining, !o.refused, std::cmp::Reverse(o.reset_after)))?;
    let text = format!("\"{}\";r={};t={}", nearest.policy, nearest.remaining, ceil_secs(nearest.reset_after));
    HeaderValue::try_from(text).ok()
}

/// The pure decision: a store answer becomes the outcome for the headers and,
/// when the request must stop, the rejection (429, or 503 fail-closed).
pub fn judge(
    policy: &'static str,
    answer: Result<Decision, StoreError>,
) -> (Option<Outcome>, Option<Rejection>) {
    let decision = match answer {
        Ok(decision) => decision,
        Err(error) => {
            tracing::error!(%error, policy, "rate-limit store unavailable");
            let rejection =
                Rejection::new(ProblemCode::StoreUnavailable, "the rate-limit store is unavailable");
            return (None, Some(rejection));
        }
    };
    let outcome = Outcome {
        policy,
        remaining: decision.remaining,
        reset_after: decision.next_after,
        refused: !decision.allowed,
    };
    if decision.allowed {
        return (Some(outcome), None);
    }
    let mut rejection = Rejection::new(
        ProblemCode::RateLimited,
        format!("the `{policy}` rate limit is exhausted; retry after the time in Retry-After"),
    )
    // Equal to the `t` of the `RateLimit` field, so it never points earlier (SPEC §3.7).
    .with_retry_after(decision.next_after);
    rejection.violated_policies = vec![policy];
    (Some(outcome), Some(rejection))
}

#[derive(Debug)]
enum Scope {
    Ip { trusted: TrustedProxies, advertised: HeaderValue, ipv6_prefix: u8 },
    User,
}

#[derive(Debug)]
struct Shared {
    policy: &'static str,
    rate: Rate,
    scope: Scope,
    store: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
}

/// Refuses requests over a GCRA rate (429 `rate_limited`) and answers 503
/// `store_unavailable` when the store cannot decide (SPEC §3.6–§3.7).
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    shared: Arc<Shared>,
}

impl RateLimitLayer {
    /// The `ip` policy, keyed by [`client_ip`]; the outer layer, which also
    /// writes the headers for every policy in `limits`.
    pub fn per_ip(
        store: Arc<dyn RateLimitStore>,
        limits: RateLimits,
        trusted: TrustedProxies,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let advertised = policy_header(&[(POLICY_IP, limits.ip), (POLICY_USER, limits.user)]);
        let scope = Scope::Ip { trusted, advertised, ipv6_prefix: 64 };
        Self { shared: Arc::new(Shared { policy: POLICY_IP, rate: limits.ip, scope, store, clock }) }
    }

    /// The `user` policy, keyed by the token's `sub`; requests without
    /// [`TokenClaims`] pass (the token layer, before it, refuses them).
    pub fn per_user(store: Arc<dyn RateLimitStore>, rate: Rate, clock: Arc<dyn Clock>) -> Self {
        Self { shared: Arc::new(Shared { policy: POLICY_USER, rate, scope: Scope::User, store, clock }) }
    }

    /// Keys IPv6 clients of the `ip` policy by their first `prefix` bits
    /// (`rate_limit.ipv6_prefix`, default 64); no effect on `user`.
    pub fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared)
            && let Scope::Ip { ipv6_prefix, .. } = &mut shared.scope
        {
            *ipv6_prefix = prefix.clamp(1, 128);
        }
        self
    }

    /// The client address the `ip` policy counts this request against.
    pub fn client_addr(&self, parts: &Parts) -> Option<IpAddr> {
        match &self.shared.scope {
            Scope::Ip { trusted, ipv6_prefix, .. } => {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ci| ci.0.ip());
                let client = client_ip(peer, forwarded_for(&parts.headers).as_deref(), trusted);
                Some(slipgate_proto::net::client_key(client, *ipv6_prefix))
            }
            Scope::User => None,
        }
    }

    /// The key this request counts against, if the policy applies to it.
    pub fn key(&self, parts: &Parts) -> Option<String> {
        match &self.shared.scope {
            Scope::Ip { .. } => {
                // serve.rs always inserts the peer; without it every request
                // shares one bucket, which fails towards refusing.
                self.client_addr(parts).map(|ip| ip.to_string())
            }
            Scope::User => parts.extensions.get::<TokenClaims>().map(|claims| claims.sub.clone()),
        }
    }
}

/// All `X-Forwarded-For` lines joined (RFC 9110 §5.3); non-ASCII lines are
/// unreadable, so the peer is used.
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let mut joined: Option<String> = None;
    for value in headers.get_all("x-forwarded-for") {
        let line = value.to_str().ok()?;
        match joined.as_mut() {
            Some(j) => {
                j.push(',');
                j.push_str(line);
            }
            None => joined = Some(line.to_owned()),
        }
    }
    joined
}

fn write_headers(response: &mut Response<Body>, advertised: &HeaderValue, outcomes: &[Outcome]) {
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY, advertised.clone());
    match ratelimit_header(outcomes) {
        Some(value) => headers.insert(RATELIMIT, value),
        None => headers.remove(RATELIMIT),
    };
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService { inner, shared: self.shared.clone() }
    }
}

/// The service [`RateLimitLayer`] builds.
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    inner: S,
    shared: Arc<Shared>,
}

fn unix_millis(clock: &dyn Clock) -> u64 {
    clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<S> Service<Request<Body>> for RateLimitService<S>
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
        let layer = RateLimitLayer { shared: shared.clone() };
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let Some(key) = layer.key(&parts) else {
                return inner.call(Request::from_parts(parts, body)).await;
            };
            let now_ms = unix_millis(shared.clock.as_ref());
            let answer = shared.store.decide(shared.policy, &key, shared.rate, now_ms).await;
            let (outcome, rejection) = judge(shared.policy, answer);
            match &shared.scope {
                Scope::Ip { advertised, .. } => {
                    let outcomes = Outcomes::default();
                    outcomes.extend(outcome);
                    let mut response = match rejection {
                        Some(rejection) => rejection.into_response(),
                        None => {
                            parts.extensions.insert(outcomes.clone());
                            if let Some(addr) = layer.client_addr(&parts) {
                                parts.extensions.insert(ClientAddr(addr));
                            }
                            inner.call(Request::from_parts(parts, body)).await?
                        }
                    };
                    write_headers(&mut response, advertised, &outcomes.take());
                    Ok(response)
                }
                Scope::User => {
                    // Under a per-IP layer, it writes the headers; alone, write ours.
                    let collector = parts.extensions.get::<Outcomes>().cloned();
                    if let Some(collector) = &collector {
                        collector.extend(outcome);
                    }
                    let mut response = match rejection {
                        Some(rejection) => rejection.into_response(),
                        None => inner.call(Request::from_parts(parts, body)).await?,
                    };
                    if collector.is_none() {
                        let advertised = policy_header(&[(POLICY_USER, shared.rate)]);
                        write_headers(&mut response, &advertised, &Vec::from_iter(outcome));
                    }
                    Ok(response)
                }
            }
        })
    }
}
