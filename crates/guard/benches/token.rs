//! The token check: a warm introspection-cache hit (keyed HMAC of the token,
//! then a map lookup), and local EdDSA JWT verification (jwt mode).

use std::hint::black_box;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_guard::token::{TokenCache, TokenClaims};
use slipgate_httpsig::jose::{self, Jwk, Jwks};

fn token(c: &mut Criterion) {
    let mut group = c.benchmark_group("token");
    let cache = TokenCache::new(100_000).unwrap_or_else(|e| panic!("{e}"));
    let claims = TokenClaims {
        sub: "paula".into(),
        scope: "salaryslip:any".into(),
        emp_id: Some("00001".into()),
        exp: i64::MAX,
        client_id: Some("slipgate-cli".into()),
        ..TokenClaims::default()
    };
    let token = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.a-typical-access-token-payload.sig";
    cache.put(cache.key_of(token), Ok(claims.clone()), i64::MAX, 0);
    group.bench_function("introspection cache hit", |b| {
        b.iter(|| black_box(cache.get(&cache.key_of(black_box(token)), 1)))
    });

    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap_or_else(|e| panic!("{e}"));
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let jwks =
        Jwks { keys: vec![Jwk::ed25519(pair.public_key().as_ref(), "k1").unwrap_or_else(|e| panic!("{e}"))] };
    let payload = serde_json::json!({
        "iss": "https://idp.example", "aud": "slipgate-api", "sub": "paula", "exp": i64::MAX / 2,
        "iat": 0, "jti": "j", "scope": "salaryslip:any", "emp_id": "00001", "client_id": "slipgate-cli",
    });
    let jwt = jose::sign_jwt(&payload, "k1", &pair).unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("jwt verify (EdDSA)", |b| {
        b.iter(|| black_box(jose::verify_jwt::<serde_json::Value>(black_box(&jwt), &jwks)))
    });
    group.finish();
}

criterion_group!(benches, token);
criterion_main!(benches);
