//! The layer through tower, with a manual clock; the Redis stores are in
//! `redis_tests`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use futures_util::future::BoxFuture;
use http::{Request, Response, StatusCode};
use slipgate_proto::ProblemCode;
use slipgate_proto::clock::ManualClock;
use slipgate_proto::units::Rate;
use tower::{Layer as _, ServiceExt as _};

use super::*;
use crate::Rejection;
use crate::store::StoreError;
use crate::token::TokenClaims;

mod redis_tests;

fn rate(s: &str) -> Rate {
    s.parse().unwrap()
}

fn limits(ip: &str, user: &str) -> RateLimits {
    RateLimits { ip: rate(ip), user: rate(user) }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_unix(1_767_225_600))
}

fn claims(sub: &str) -> TokenClaims {
    TokenClaims {
        sub: sub.into(),
        scope: "salaryslip:self".into(),
        emp_id: None,
        exp: i64::MAX,
        client_id: None,
        ..TokenClaims::default()
    }
}

fn request(peer: &str, xff: Option<&str>, user: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/generate/salaryslip").body(Body::empty()).unwrap();
    let peer = SocketAddr::new(peer.parse().unwrap(), 40000);
    request.extensions_mut().insert(ConnectInfo(peer));
    if let Some(xff) = xff {
        request.headers_mut().insert("x-forwarded-for", xff.parse().unwrap());
    }
    if let Some(user) = user {
        request.extensions_mut().insert(claims(user));
    }
    request
}

/// An inner service that counts its calls and answers 200.
#[allow(clippy::type_complexity)]
fn counting() -> (
    Arc<AtomicUsize>,
    impl tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let svc = tower::service_fn(move |_req: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::empty())) }
    });
    (calls, svc)
}

fn header<'a>(response: &'a Response<Body>, name: &http::HeaderName) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `Retry-After` the server's renderer writes for this refusal.
fn retry_after(response: &Response<Body>) -> Option<String> {
    response.extensions().get::<Rejection>()?.retry_after_secs().map(|s| s.to_string())
}

#[tokio::test]
async fn refuses_the_sixth_request_under_five_per_minute_with_headers() {
    let store = Arc::new(MemoryRateLimitStore::new(1000));
    let layer = PerIpLimit::new(store, limits("5/min", "120/min"), TrustedProxies::none(), clock());
    let (calls, inner) = counting();
    let svc = layer.layer(inner);
    for i in 0..5u32 {
        let response = svc.clone().oneshot(request("203.0.113.9", None, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        // `t`: until one more request, 12 s under 5/min (draft-10), not the full quota.
        let expected = format!("\"ip\";r={};t=12", 4 - i);
        assert_eq!(header(&response, &RATELIMIT), Some(expected.as_str()));
    }
    let response = svc.clone().oneshot(request("203.0.113.9", None, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&response).as_deref(), Some("12"));
    // On a 429, `t` equals Retry-After.
    assert_eq!(header(&response, &RATELIMIT), Some("\"ip\";r=0;t=12"));
    assert_eq!(header(&response, &RATELIMIT_POLICY), Some("\"ip\";q=5;w=60, \"user\";q=120;w=60"));
    let rejection = response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.code, ProblemCode::RateLimited);
    assert_eq!(rejection.violated_policies, ["ip"]);
    assert_eq!(rejection.retry_after, Some(Duration::from_secs(12)));
    assert_eq!(calls.load(Ordering::SeqCst), 5, "a refused request reached the inner service");
}

#[tokio::test]
async fn refused_request_never_calls_the_inner_service() {
    let store = Arc::new(MemoryRateLimitStore::new(1000));
    let layer = PerIpLimit::new(store, limits("1/h", "1/h"), TrustedProxies::none(), clock());
    let (calls, inner) = counting();
    let svc = layer.layer(inner);
    let _ = svc.clone().oneshot(request("192.0.2.1", None, None)).await.unwrap();
    for _ in 0..10 {
        let response = svc.clone().oneshot(request("192.0.2.1", None, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn ignores_spoofed_xff_unless_the_peer_is_trusted() {
    let store = Arc::new(MemoryRateLimitStore::new(1000));
    let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
    let layer = PerIpLimit::new(store, limits("1/min", "1/min"), trusted, clock());
    let (_, inner) = counting();
    let svc = layer.layer(inner);
    // An untrusted peer rotating X-Forwarded-For still has one quota.
    let first = svc.clone().oneshot(request("203.0.113.9", Some("198.51.100.1"), None)).await.unwrap();
    let second = svc.clone().oneshot(request("203.0.113.9", Some("198.51.100.2"), None)).await.unwrap();
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::TOO_MANY_REQUESTS));
    // Behind a trusted proxy, each forwarded client has its own.
    let a = svc.clone().oneshot(request("10.0.0.1", Some("6.6.6.6, 198.51.100.1"), None)).await.unwrap();
    let b = svc.clone().oneshot(request("10.0.0.1", Some("198.51.100.2"), None)).await.unwrap();
    let a_again =
        svc.clone().oneshot(request("10.0.0.2", Some("7.7.7.7, 198.51.100.1"), None)).await.unwrap();
    assert_eq!(
        (a.status(), b.status(), a_again.status()),
        (StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS)
    );
}

#[tokio::test]
async fn per_user_refusal_carries_both_headers_from_the_outer_layer() {
    let store = Arc::new(MemoryRateLimitStore::new(1000));
    let limits = limits("600/min", "2/min");
    let c = clock();
    let per_ip = PerIpLimit::new(store.clone(), limits, TrustedProxies::none(), c.clone());
    let per_user = PerUserLimit::new(store, limits.user, c);
    let (calls, inner) = counting();
    let svc = per_ip.layer(per_user.layer(inner));
    let ok = svc.clone().oneshot(request("192.0.2.1", None, Some("alice"))).await.unwrap();
    assert_eq!(header(&ok, &RATELIMIT), Some("\"user\";r=1;t=30"));
    assert_eq!(header(&ok, &RATELIMIT_POLICY), Some("\"ip\";q=600;w=60, \"user\";q=2;w=60"));
    let _ = svc.clone().oneshot(request("192.0.2.2", None, Some("alice"))).await.unwrap();
    let refused = svc.clone().oneshot(request("192.0.2.3", None, Some("alice"))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, &RATELIMIT), Some("\"user\";r=0;t=30"));
    assert_eq!(retry_after(&refused).as_deref(), Some("30"));
    assert_eq!(refused.extensions().get::<Rejection>().unwrap().violated_policies, ["user"]);
    // Another user on the same address is unaffected.
    let bob = svc.clone().oneshot(request("192.0.2.3", None, Some("bob"))).await.unwrap();
    assert_eq!(bob.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn inner_rejections_still_carry_the_headers() {
    let store = Arc::new(MemoryRateLimitStore::new(1000));
    let layer = PerIpLimit::new(store, limits("600/min", "120/min"), TrustedProxies::none(), clock());
    let svc = layer.layer(tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(
            Rejection::new(ProblemCode::SignatureMissing, "no signature").into_response::<Body>(),
        )
    }));
    let response = svc.oneshot(request("192.0.2.1", None, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, &RATELIMIT), Some("\"ip\";r=599;t=1"));
    assert!(header(&response, &RATELIMIT_POLICY).is_some());
}

#[derive(Debug)]
struct DownStore;

impl RateLimitStore for DownStore {
    fn decide<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Rate,
        _: u64,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
}

#[tokio::test]
async fn fails_closed_with_503_when_the_store_is_down() {
    let layer = PerIpLimit::new(Arc::new(DownStore), RateLimits::default(), TrustedProxies::none(), clock());
    let (calls, inner) = counting();
    let response = layer.layer(inner).oneshot(request("192.0.2.1", None, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.extensions().get::<Rejection>().unwrap().code, ProblemCode::StoreUnavailable);
    assert!(header(&response, &RATELIMIT).is_none());
    assert_eq!(header(&response, &RATELIMIT_POLICY), Some("\"ip\";q=600;w=60, \"user\";q=120;w=60"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn per_user_passes_requests_without_claims_and_writes_its_own_headers_alone() {
    let layer = PerUserLimit::new(Arc::new(MemoryRateLimitStore::new(100)), rate("1/min"), clock());
    let (calls, inner) = counting();
    let svc = layer.layer(inner);
    for _ in 0..3 {
        let response = svc.clone().oneshot(request("192.0.2.1", None, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, &RATELIMIT).is_none());
    }
    let response = svc.clone().oneshot(request("192.0.2.1", None, Some("carol"))).await.unwrap();
    assert_eq!(header(&response, &RATELIMIT), Some("\"user\";r=0;t=60"));
    assert_eq!(header(&response, &RATELIMIT_POLICY), Some("\"user\";q=1;w=60"));
    let refused = svc.clone().oneshot(request("192.0.2.1", None, Some("carol"))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn the_nearest_policy_is_the_one_with_fewest_left() {
    let ip =
        Outcome { policy: POLICY_IP, remaining: 100, reset_after: Duration::from_secs(50), refused: false };
    let user = Outcome {
        policy: POLICY_USER,
        remaining: 3,
        reset_after: Duration::from_millis(1500),
        refused: false,
    };
    assert_eq!(ratelimit_header(&[ip, user]).unwrap(), "\"user\";r=3;t=2");
    let tied = Outcome { remaining: 3, ..ip };
    assert_eq!(ratelimit_header(&[tied, user]).unwrap(), "\"ip\";r=3;t=50");
    assert!(ratelimit_header(&[]).is_none());
}

#[test]
fn policy_check_maps_decisions_to_outcomes_and_rejections() {
    let allowed = gcra::check(None, 1_000_000, rate("2/s"));
    let (outcome, rejection) = policy::check(POLICY_IP, Ok(allowed));
    assert_eq!(outcome.map(|o| o.remaining), Some(1));
    assert!(rejection.is_none());
    let refused = gcra::check(Some(1_001_000), 1_000_000, rate("2/s"));
    let (outcome, rejection) = policy::check(POLICY_USER, Ok(refused));
    assert_eq!(outcome.map(|o| o.remaining), Some(0));
    let rejection = rejection.unwrap();
    assert_eq!(
        (rejection.code, rejection.violated_policies.as_slice()),
        (ProblemCode::RateLimited, &["user"][..])
    );
    assert_eq!(rejection.retry_after, Some(Duration::from_millis(500)));
    let (outcome, rejection) = policy::check(POLICY_IP, Err(StoreError::Unavailable("x".into())));
    assert!(outcome.is_none());
    assert_eq!(rejection.map(|r| r.code), Some(ProblemCode::StoreUnavailable));
}

#[test]
fn keys_by_client_ip_or_token_subject() {
    let c = clock();
    let store = Arc::new(MemoryRateLimitStore::new(10));
    let trusted = TrustedProxies::parse(&["::1"]).unwrap();
    let per_ip = PerIpLimit::new(store.clone(), RateLimits::default(), trusted, c.clone());
    let (parts, _) = request("::1", Some("2001:db8::1"), Some("dave")).into_parts();
    // IPv6 clients count by their /64 (`rate_limit.ipv6_prefix`).
    assert_eq!(per_ip.client_addr(&parts).to_string(), "2001:db8::");
    assert_eq!(PerUserLimit::key(&parts), Some("dave"));
    let (parts, _) = request("192.0.2.7", Some("2001:db8::1"), None).into_parts();
    assert_eq!(per_ip.client_addr(&parts).to_string(), "192.0.2.7");
    assert_eq!(PerUserLimit::key(&parts), None);
}
