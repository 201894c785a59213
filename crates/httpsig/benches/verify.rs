//! Verification cost per algorithm over a 1 KiB body: digest check + base rebuild + verify.

// A benchmark whose setup fails must stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_httpsig::{
    base::{Message, signature_base},
    digest::{DigestAlgorithm, content_digest, verify_content_digest},
    keys::{Algorithm, SigningKey},
    params::{Component, parse_signature_headers},
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
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
