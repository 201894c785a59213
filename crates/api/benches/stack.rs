//! The cost of the secure path, in process (`router(state).oneshot`, no
//! socket, no TLS): the full API router against the same service with the
//! guard layers removed — a baseline built here in the harness only, never a
//! runtime option — and the share of each layer, added one at a time.
//!
//! The baseline keeps what every answer gets, guarded or not: request id,
//! problem rendering, audit line, metrics and the Ed25519 response signature
//! (SPEC §3.8). The guard stack is the full router minus the baseline.
//!
//! Every measured request is freshly signed (fresh nonce) in untimed setup;
//! the token is introspected once against a real identity server, then served
//! from the warm cache; rate limits are raised out of the way.

use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use slipgate_api::routes::slip::{generate, shape};
use slipgate_api::AppState;
use slipgate_api::middleware::respond;
use slipgate_guard::ratelimit::RateLimitLayer;
use slipgate_guard::signature::SignatureLayer;
use slipgate_guard::token::{TokenClaims, TokenLayer};
use slipgate_test_support::{SEED_BODY, TestConfig};
use tower::{ServiceBuilder, ServiceExt as _};

const URL: &str = "https://127.0.0.1:8443/generate/salaryslip";

fn claims() -> TokenClaims {
    TokenClaims {
        sub: "paula".into(),
        scope: "salaryslip:any".into(),
        emp_id: Some("00001".into()),
        exp: i64::MAX,
        client_id: None,
        ..TokenClaims::default()
    }
}

/// The handler alone, with the claims the token layer would have proved.
fn handler_only(state: &AppState) -> Router {
    Router::new()
        .route(slipgate_proto::SLIP_PATH, post(generate))
        .layer(axum::Extension(claims()))
        .with_state(state.clone())
}

/// The layers every answer gets whether or not it is guarded: request id,
/// problem rendering, security headers, audit line, metrics, and the
/// `Content-Digest` and Ed25519 signature of the response (SPEC §3.8).
///
/// Without the signature layer the response is still bound to the request's
/// signature fields (parsed, not verified), as clients require.
fn with_response_layers(state: &AppState, router: Router<AppState>) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), respond::respond))
        .layer(axum::middleware::from_fn_with_state(state.clone(), respond::sign_response))
        .with_state(state.clone())
}

fn signature(state: &AppState) -> SignatureLayer {
    SignatureLayer::new(state.keys.clone(), state.nonces.clone(), state.clock.clone())
        .with_policy(state.policy.clone())
        .with_body_limits(state.max_body, state.request_timeout)
}

/// The baseline (handler and response layers) plus the guard layers up to
/// `depth`: 1 = per-user rate limit, 2 = + token, 3 = + signature, digest and
/// nonce, 4 = + request shape. `depth` 0 is the baseline itself.
fn partial(state: &AppState, depth: u8) -> Router {
    // Composed as `router()` composes them: one stack on the route.
    let user = RateLimitLayer::per_user(state.rate_store.clone(), state.limits.user, state.clock.clone());
    let token = TokenLayer::new(state.tokens.clone());
    let shape = axum::middleware::from_fn_with_state(state.clone(), shape);
    let route = match depth {
        0 => post(generate),
        1 => post(generate).route_layer(user),
        2 => post(generate).route_layer(ServiceBuilder::new().layer(token).layer(user)),
        3 => {
            post(generate).route_layer(ServiceBuilder::new().layer(signature(state)).layer(token).layer(user))
        }
        _ => post(generate)
            .route_layer(ServiceBuilder::new().layer(shape).layer(signature(state)).layer(token).layer(user)),
    };
    let router = Router::new().route(slipgate_proto::SLIP_PATH, route);
    if depth < 2 {
        return with_response_layers(state, router.layer(axum::Extension(claims())));
    }
    with_response_layers(state, router)
}

fn signed_request(signer: &slipgate_client::RequestSigner, bearer: &str) -> http::Request<Body> {
    let url = reqwest::Url::parse(URL).unwrap_or_else(|e| panic!("{e}"));
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    headers.insert("authorization", http::HeaderValue::from_str(bearer).unwrap_or_else(|e| panic!("{e}")));
    signer
        .sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut request = http::Request::post("/generate/salaryslip")
        .header("host", "127.0.0.1:8443")
        .body(Body::from(SEED_BODY))
        .unwrap_or_else(|e| panic!("{e}"));
    request.headers_mut().extend(headers);
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
    request
}

fn stack(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let rt = rt.unwrap_or_else(|e| panic!("{e}"));
    let fixture = rt.block_on(TestConfig::new(&["rate_limit.ip=100000000/s", "rate_limit.user=100000000/s"]));
    let state = AppState::from_config(&fixture.config).unwrap_or_else(|e| panic!("{e}"));
    let bearer = format!("Bearer {}", fixture.paula);
    let key = slipgate_httpsig::SigningKey::hmac_sha256(&slipgate_test_support::TEST_HMAC_SECRET)
        .unwrap_or_else(|e| panic!("{e}"));
    let signer = Arc::new(slipgate_client::RequestSigner::new(slipgate_test_support::TEST_HMAC_ID, key));
    let full = slipgate_api::router(state.clone());
    // Warm the introspection cache.
    let warm = rt.block_on(full.clone().oneshot(signed_request(&signer, &bearer)));
    assert_eq!(warm.map(|r| r.status().as_u16()).unwrap_or(0), 200, "warm-up request failed");

    let mut group = c.benchmark_group("stack");
    let variants: [(&str, Router); 7] = [
        ("0 handler only", handler_only(&state)),
        (
            "1 baseline: handler + response layers (id, problems, audit, metrics, Ed25519 signature)",
            partial(&state, 0),
        ),
        ("2 + per-user rate limit", partial(&state, 1)),
        ("3 + token (warm cache)", partial(&state, 2)),
        ("4 + signature, digest, nonce", partial(&state, 3)),
        ("5 + request shape", partial(&state, 4)),
        ("6 full router (+ per-IP limit, load shedding)", full),
    ];
    for (name, router) in variants {
        // Every variant must serve the slip, or its time means nothing.
        let answer = rt.block_on(router.clone().oneshot(signed_request(&signer, &bearer)));
        assert_eq!(answer.map(|r| r.status().as_u16()).unwrap_or(0), 200, "{name} does not answer 200");
        group.bench_function(name, |b| {
            b.iter_batched(
                || signed_request(&signer, &bearer),
                |request| {
                    let response = rt.block_on(router.clone().oneshot(request));
                    black_box(response.map(|r| r.status()))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    drop(fixture);
}

criterion_group!(benches, stack);
criterion_main!(benches);
