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
use slipgate_api::routes::slip::generate;
use slipgate_api::{AppState, guard_stack, with_response_layers};
use slipgate_guard::token::TokenClaims;
use slipgate_test_support::router::{StandIn, unguarded_slip_route};
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

/// The handler alone, with what the guard stack would have proved.
fn handler_only(state: &AppState) -> Router {
    Router::new().route(slipgate_proto::SLIP_PATH, unguarded_slip_route(claims())).with_state(state.clone())
}

/// The baseline (handler and the response layers every answer gets whether or
/// not it is guarded: request id, problem rendering, security headers, audit
/// line, metrics, and the `Content-Digest` and Ed25519 signature of the
/// response, SPEC §3.8) plus the innermost `depth` layers of [`guard_stack`],
/// in its order: 1 = per-user rate limit and scope, 2 = + token, 3 = +
/// signature, digest and nonce, 4 = + request shape (the whole route stack).
/// `depth` 0 is the baseline itself. What a left-out layer would have proved
/// comes from a [`StandIn`].
///
/// Without the signature layer the response is still bound to the request's
/// signature fields (parsed, not verified), as clients require.
fn partial(state: &AppState, depth: u8) -> Router {
    let g = guard_stack(state);
    let stand_in = |read_body, claims| StandIn { read_body, claims };
    let route = match depth {
        0 => unguarded_slip_route(claims()),
        1 => post(generate).route_layer(
            ServiceBuilder::new().layer(stand_in(true, Some(claims()))).layer(g.per_user).layer(g.scope),
        ),
        2 => post(generate).route_layer(
            ServiceBuilder::new().layer(stand_in(true, None)).layer(g.token).layer(g.per_user).layer(g.scope),
        ),
        3 => post(generate).route_layer(
            ServiceBuilder::new()
                .layer(stand_in(false, None))
                .layer(g.signature)
                .layer(g.token)
                .layer(g.per_user)
                .layer(g.scope),
        ),
        _ => post(generate).route_layer(g),
    };
    with_response_layers(Router::new().route(slipgate_proto::SLIP_PATH, route), state)
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
        ("2 + per-user rate limit and scope", partial(&state, 1)),
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
