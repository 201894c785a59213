//! Verification cost per algorithm over a 1 KiB body: digest check + base rebuild + verify; and
//! for bound requests (SPEC §3.2.1) the extra steps: the key from the token's `cnf`, the tagged
//! selection, `@target-uri` from the received head.

// A benchmark whose setup fails must stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_httpsig::{
    base::{Message, signature_base},
    binding::{BOUND_REQUEST_TAG, BoundKey, Confirmation, parse_tagged_signature},
    digest::{DigestAlgorithm, content_digest, verify_content_digest, verify_content_digest_general},
    keys::{Algorithm, SigningKey},
    params::{Component, parse_signature_headers},
    received::ReceivedRequest,
    sign::{SignParams, sign_message, verify_signature},
};

fn bench_verify(c: &mut Criterion) {
    let body = vec![b'x'; 1024];
    let digest = content_digest(DigestAlgorithm::Sha256, &body);
    let msg = Message::request("POST", "https://127.0.0.1:8443/generate/salaryslip")
        .expect("uri")
        .with_header("content-type", "application/json")
        .with_header("authorization", "Bearer example-token")
        .with_header("content-digest", &digest);
    let components = ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"]
        .map(Component::field_or_derived);
    let params =
        SignParams::new("sig1").created(1_767_225_600).nonce("q4Kj2dVbX8mNcP1a").keyid("k").with_alg();
    let mut group = c.benchmark_group("verify_1KiB");
    for alg in [Algorithm::HmacSha256, Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let (key, _) = SigningKey::generate(alg).expect("key");
        let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).expect("sign");
        let vk = key.verifying_key();
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| {
                let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature))
                    .expect("parse");
                verify_content_digest(Some(&digest), black_box(&body)).expect("digest");
                let base = signature_base(&parsed.params, &msg, None::<&Message>).expect("base");
                verify_signature(&parsed.params, &parsed.signature, &base, &vk).expect("verify");
            });
        });
    }
    group.finish();

    // The parts of the HMAC path, and raw signing per algorithm (the server
    // signs every response with Ed25519).
    let (key, _) = SigningKey::generate(Algorithm::HmacSha256).expect("key");
    let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).expect("sign");
    let mut parts = c.benchmark_group("parts");
    parts.bench_function("parse Signature-Input and Signature", |b| {
        b.iter(|| parse_signature_headers(Some(black_box(&signed.signature_input)), Some(&signed.signature)))
    });
    let parsed =
        parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).expect("parse");
    parts.bench_function("signature base", |b| {
        b.iter(|| signature_base(black_box(&parsed.params), &msg, None::<&Message>))
    });
    parts.bench_function("sha-256 Content-Digest of 1 KiB", |b| {
        b.iter(|| verify_content_digest(Some(&digest), black_box(&body)))
    });
    // The fast path against the general structured-field parser, side by side, on the request
    // body `slipgate bench` sends (110 bytes).
    let small = vec![b'{'; 110];
    let small_digest = content_digest(DigestAlgorithm::Sha256, &small);
    parts.bench_function("sha-256 Content-Digest of 110 bytes", |b| {
        b.iter(|| verify_content_digest(Some(&small_digest), black_box(&small)))
    });
    parts.bench_function("sha-256 Content-Digest of 110 bytes, general parser", |b| {
        b.iter(|| verify_content_digest_general(Some(&small_digest), black_box(&small)))
    });
    for alg in [Algorithm::HmacSha256, Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let (key, _) = SigningKey::generate(alg).expect("key");
        parts.bench_function(format!("sign a {}-byte base with {}", signed.base.len(), alg.as_str()), |b| {
            b.iter(|| key.sign(black_box(&signed.base)))
        });
    }
    parts.finish();
}

fn bench_bound(c: &mut Criterion) {
    let body = vec![b'x'; 1024];
    let digest = content_digest(DigestAlgorithm::Sha256, &body);
    let msg = Message::request("POST", "https://127.0.0.1:8443/generate/salaryslip")
        .expect("uri")
        .with_header("content-type", "application/json")
        .with_header("authorization", "HTTPSig example-token")
        .with_header("content-digest", &digest);
    let components = ["@method", "@target-uri", "authorization", "content-type", "content-digest"]
        .map(Component::field_or_derived);
    let params =
        SignParams::new("sig1").created(1_767_225_600).nonce("q4Kj2dVbX8mNcP1a").tag(BOUND_REQUEST_TAG);
    let mut group = c.benchmark_group("bound_1KiB");
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let (key, _) = SigningKey::generate(alg).expect("key");
        let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).expect("sign");
        let cnf = serde_json::to_string(&BoundKey::from_signing_key(&key).expect("raw").confirmation())
            .expect("cnf");
        let (parts, ()) = http::Request::post("/generate/salaryslip")
            .header("host", "127.0.0.1:8443")
            .header("content-type", "application/json")
            .header("authorization", "HTTPSig example-token")
            .header("content-digest", &digest)
            .body(())
            .expect("request")
            .into_parts();
        group.bench_function(format!("{}: cnf import", alg.as_str()), |b| {
            b.iter(|| {
                let cnf: Confirmation = serde_json::from_str(black_box(&cnf)).expect("json");
                BoundKey::from_confirmation(&cnf).expect("key")
            })
        });
        let bound = BoundKey::from_confirmation(&serde_json::from_str::<Confirmation>(&cnf).expect("json"))
            .expect("key");
        group.bench_function(format!("{}: thumbprint", alg.as_str()), |b| {
            b.iter(|| black_box(&bound).thumbprint())
        });
        group.bench_function(format!("{}: cnf import, parse, digest, base, verify", alg.as_str()), |b| {
            b.iter(|| {
                let key = BoundKey::from_confirmation(
                    &serde_json::from_str::<Confirmation>(black_box(&cnf)).expect("json"),
                )
                .expect("key");
                let parsed = parse_tagged_signature(
                    Some(&signed.signature_input),
                    Some(&signed.signature),
                    BOUND_REQUEST_TAG,
                )
                .expect("parse");
                verify_content_digest(Some(&digest), black_box(&body)).expect("digest");
                let base = signature_base(&parsed.params, &ReceivedRequest::https(&parts), None::<&Message>)
                    .expect("base");
                verify_signature(&parsed.params, &parsed.signature, &base, key.verifying_key())
                    .expect("verify");
            });
        });
    }
    group.finish();
}

/// The crypto floor of one slip request (issue 16): what no implementation of SPEC §3 can skip —
/// one HMAC verification of the request's signature base, SHA-256 of the request body, one
/// Ed25519 signature of the response's base — straight on aws-lc-rs, at the sizes `slipgate
/// bench` sends and the server answers. The end-to-end harness measures the same three on the
/// server's core in each run (`e2e.rs`, `crypto_floor`).
fn bench_floor(c: &mut Criterion) {
    use aws_lc_rs::{digest, hmac, rand::SystemRandom, signature::Ed25519KeyPair};
    let rng = SystemRandom::new();
    let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("hmac key");
    let request_base = vec![b'a'; 392];
    let tag = hmac::sign(&key, &request_base);
    let body = vec![b'{'; 110];
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519 key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ed25519 key");
    let response_base = vec![b'r'; 420];
    let mut group = c.benchmark_group("crypto_floor");
    group.bench_function("hmac-sha256 verify, 392-byte base", |b| {
        b.iter(|| hmac::verify(&key, black_box(&request_base), tag.as_ref()).expect("verify"))
    });
    group.bench_function("sha-256 of a 110-byte body", |b| {
        b.iter(|| digest::digest(&digest::SHA256, black_box(&body)))
    });
    group.bench_function("ed25519 sign, 420-byte base", |b| b.iter(|| pair.sign(black_box(&response_base))));
    group.bench_function("all three", |b| {
        b.iter(|| {
            hmac::verify(&key, black_box(&request_base), tag.as_ref()).expect("verify");
            black_box(digest::digest(&digest::SHA256, black_box(&body)));
            pair.sign(black_box(&response_base))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_verify, bench_bound, bench_floor);
criterion_main!(benches);
