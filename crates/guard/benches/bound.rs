//! The signature decision per request, pure functions only (no I/O): a registry
//! HMAC key (`head::check` + `body::check`) beside a key-bound request
//! (`bound::check`, the `cnf` import, `body::check` with Ed25519, and
//! the thumbprint of the replay key), over the same body.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::request::Parts;
use slipgate_guard::signature::{
    BOUND_REQUIRED, DEFAULT_REQUIRED, KeyRing, SignaturePolicy, body, bound, bound_replay_key, head,
};
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, BoundKey};
use slipgate_httpsig::params::Component;
use slipgate_httpsig::received::ReceivedRequest;
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, SignParams, SigningKey, VerifyingKey, content_digest, sign_message,
};

const NOW: i64 = 1_767_225_600;
const BODY: &[u8] =
    br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;

fn signed(authorization: &str, key: &SigningKey, params: &SignParams, covered: &[&str]) -> Parts {
    let mut parts = http::Request::post("/generate/salaryslip")
        .header("host", "api.example:8443")
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .header("content-digest", content_digest(DigestAlgorithm::Sha256, BODY))
        .body(())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_parts()
        .0;
    let components: Vec<Component> = covered.iter().map(|c| Component::field_or_derived(c)).collect();
    let signed = sign_message(&ReceivedRequest::https(&parts), None::<&Parts>, &components, params, key)
        .unwrap_or_else(|e| panic!("{e}"));
    parts.headers.insert("signature-input", signed.signature_input.parse().unwrap_or_else(|e| panic!("{e}")));
    parts.headers.insert("signature", signed.signature.parse().unwrap_or_else(|e| panic!("{e}")));
    parts
}

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("signature decision");
    let policy = SignaturePolicy::new();

    let secret = [7u8; 32];
    let mut ring = KeyRing::new();
    ring.insert("k-hmac", VerifyingKey::hmac_sha256(&secret).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let hmac = SigningKey::hmac_sha256(&secret).unwrap_or_else(|e| panic!("{e}"));
    let params = SignParams::new("sig1").created(NOW).nonce("n0nce-0001").keyid("k-hmac");
    let registry = signed("Bearer t0ken", &hmac, &params, &DEFAULT_REQUIRED);
    group.bench_function("registry key, hmac-sha256", |b| {
        b.iter(|| {
            let head =
                head::check(&policy, black_box(&registry), &ring, NOW).unwrap_or_else(|e| panic!("{e}"));
            body::check(head.parsed(), &registry, BODY, head.key()).unwrap_or_else(|e| panic!("{e}"));
            black_box(head.verified())
        })
    });

    let (device, _) = SigningKey::generate(Algorithm::Ed25519).unwrap_or_else(|e| panic!("{e}"));
    let cnf = BoundKey::from_signing_key(&device).unwrap_or_else(|e| panic!("{e}")).confirmation();
    let params = SignParams::new("sig1").created(NOW).nonce("n0nce-0001").tag(BOUND_REQUEST_TAG);
    let bound = signed("HTTPSig t0ken", &device, &params, &BOUND_REQUIRED);
    group.bench_function("key-bound token, ed25519 from cnf", |b| {
        b.iter(|| {
            let head = bound::check(&policy, black_box(&bound), NOW).unwrap_or_else(|e| panic!("{e}"));
            let key = BoundKey::from_confirmation(black_box(&cnf)).unwrap_or_else(|e| panic!("{e}"));
            body::check(head.parsed(), &bound, BODY, key.verifying_key()).unwrap_or_else(|e| panic!("{e}"));
            black_box((head.verified(&key), bound_replay_key(&key)))
        })
    });
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
