//! [`PerIpLimit`] (SPEC §3.3 step 1, before any crypto) and [`PerUserLimit`]
//! (step 8, after the token layer), plus the `RateLimit-Policy` / `RateLimit`
//! headers on every response (SPEC §3.7).
//!
//! The per-IP layer is the outer one: it puts a collector into the request
//! extensions, the per-user layer adds its outcome to it, and on the way out
//! the per-IP layer writes both headers on whatever response came back (a
//! success, or a problem from any inner layer).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use axum::extract::ConnectInfo;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use slipgate_proto::clock::Clock;
use slipgate_proto::units::Rate;

use super::client_ip::{TrustedProxies, client_ip};
use super::policy::{self, Outcome, POLICY_IP, POLICY_USER, RateLimits, policy_header, ratelimit_header};
use super::store::RateLimitStore;
use crate::Rejection;
use crate::guarded::{Guard, guard_layer};
use crate::token::TokenClaims;

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static(slipgate_proto::headers::RATELIMIT_POLICY);
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT: HeaderName = HeaderName::from_static(slipgate_proto::headers::RATELIMIT);

/// The address a request counts against under the `ip` policy (after
/// trusted proxies, IPv6 keyed by its prefix), for the layers inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The per-request collector the per-IP layer shares with the per-user layer.
#[derive(Debug, Clone, Default)]
pub struct Outcomes(Arc<Mutex<Vec<Outcome>>>);

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

/// What both policies share: the store and the clock.
#[derive(Debug, Clone)]
struct Quota {
    policy: &'static str,
    rate: Rate,
    store: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
}

impl Quota {
    /// One request for `key`: the outcome for the headers and, when the
    /// request must stop, the refusal ([`policy::check`]).
    async fn spend(&self, key: &str) -> (Option<Outcome>, Option<Rejection>) {
        let now = self.clock.now().duration_since(UNIX_EPOCH);
        let now_ms = now.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        policy::check(self.policy, self.store.decide(self.policy, key, self.rate, now_ms).await)
    }
}

fn write_headers<R>(response: &mut Response<R>, advertised: &HeaderValue, outcomes: &[Outcome]) {
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY, advertised.clone());
    match ratelimit_header(outcomes) {
        Some(value) => headers.insert(RATELIMIT, value),
        None => headers.remove(RATELIMIT),
    };
}

/// The `ip` policy (SPEC §3.3 step 1): refuses requests of one client address
/// over its GCRA rate (429 `rate_limited`), answers 503 `store_unavailable`
/// when the store cannot decide, and writes the rate-limit headers of every
/// policy in `limits` on every answer.
#[derive(Debug, Clone)]
pub struct PerIpLimit {
    quota: Quota,
    trusted: TrustedProxies,
    advertised: HeaderValue,
    ipv6_prefix: u8,
}

guard_layer!(PerIpLimit, PerUserLimit);

impl PerIpLimit {
    /// The `ip` policy of `limits`, keyed by [`client_ip`].
    pub fn new(
        store: Arc<dyn RateLimitStore>,
        limits: RateLimits,
        trusted: TrustedProxies,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let advertised = policy_header(&[(POLICY_IP, limits.ip), (POLICY_USER, limits.user)]);
        let quota = Quota { policy: POLICY_IP, rate: limits.ip, store, clock };
        Self { quota, trusted, advertised, ipv6_prefix: 64 }
    }

    /// Keys IPv6 clients by their first `prefix` bits (`rate_limit.ipv6_prefix`, default 64).
    #[must_use]
    pub fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix.clamp(1, 128);
        self
    }

    /// The client address this request counts against. Without the peer
    /// (the transport always inserts it) every request shares one bucket,
    /// which fails towards refusing.
    pub fn client_addr(&self, parts: &Parts) -> IpAddr {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ci| ci.0.ip());
        let client = client_ip(peer, forwarded_for(&parts.headers).as_deref(), &self.trusted);
        slipgate_proto::net::client_key(client, self.ipv6_prefix)
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

impl<B: Send + 'static> Guard<B> for PerIpLimit {
    /// The outcomes of both policies, for the headers.
    type Note = Outcomes;

    async fn admit(&self, request: Request<B>, note: &mut Outcomes) -> Result<Request<B>, Rejection> {
        let (mut parts, body) = request.into_parts();
        let addr = self.client_addr(&parts);
        let (outcome, rejection) = self.quota.spend(&addr.to_string()).await;
        note.extend(outcome);
        if let Some(rejection) = rejection {
            return Err(rejection);
        }
        parts.extensions.insert(note.clone());
        parts.extensions.insert(ClientAddr(addr));
        Ok(Request::from_parts(parts, body))
    }

    fn finish<R>(&self, note: Outcomes, response: &mut Response<R>) {
        write_headers(response, &self.advertised, &note.take());
    }
}

/// The `user` policy (SPEC §3.3 step 8), keyed by the token's `sub`: it runs
/// inside the token layer, which provides [`TokenClaims`]; requests without
/// them pass (the token layer refuses them). Under a [`PerIpLimit`] its
/// outcome goes into that layer's headers; alone, it writes its own.
#[derive(Debug, Clone)]
pub struct PerUserLimit {
    quota: Quota,
}

impl PerUserLimit {
    /// The `user` policy at `rate`.
    pub fn new(store: Arc<dyn RateLimitStore>, rate: Rate, clock: Arc<dyn Clock>) -> Self {
        Self { quota: Quota { policy: POLICY_USER, rate, store, clock } }
    }

    /// The key this request counts against: the token subject, if any.
    pub fn key(parts: &Parts) -> Option<&str> {
        parts.extensions.get::<TokenClaims>().map(|claims| claims.sub.as_str())
    }
}

/// The per-user decision already made in the nonce's Redis round trip
/// ([`crate::signature::SignatureLayer::with_redis_steps`]): [`PerUserLimit`] takes it out
/// of the extensions instead of asking its store. Only this crate makes one.
#[derive(Debug, Clone)]
pub(crate) struct UserDecision(pub(crate) super::gcra::Decision);

/// [`PerUserLimit`]'s note: its outcome, when no per-IP layer collects it.
#[derive(Debug, Default)]
pub struct UserNote {
    /// Whether the request counted against a user and no per-IP layer collects the outcome.
    alone: bool,
    outcome: Option<Outcome>,
}

impl<B: Send + 'static> Guard<B> for PerUserLimit {
    type Note = UserNote;

    async fn admit(&self, request: Request<B>, note: &mut UserNote) -> Result<Request<B>, Rejection> {
        let (mut parts, body) = request.into_parts();
        let decided = parts.extensions.remove::<UserDecision>();
        let Some(key) = Self::key(&parts) else {
            return Ok(Request::from_parts(parts, body));
        };
        let (outcome, rejection) = match decided {
            Some(UserDecision(decision)) => policy::check(self.quota.policy, Ok(decision)),
            None => self.quota.spend(key).await,
        };
        match parts.extensions.get::<Outcomes>() {
            Some(collector) => collector.extend(outcome),
            None => *note = UserNote { alone: true, outcome },
        }
        match rejection {
            Some(rejection) => Err(rejection),
            None => Ok(Request::from_parts(parts, body)),
        }
    }

    fn finish<R>(&self, note: UserNote, response: &mut Response<R>) {
        if note.alone {
            let advertised = policy_header(&[(POLICY_USER, self.quota.rate)]);
            write_headers(response, &advertised, &Vec::from_iter(note.outcome));
        }
    }
}
