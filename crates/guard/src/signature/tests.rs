//! Unit tests of the pure decision and the memory nonce store, without tower.

use std::time::Duration;

use http::request::Parts;
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, SignParams, SigningKey, VerifyingKey, content_digest, sign_message,
};
use slipgate_proto::ProblemCode;

use super::*;

const NOW: i64 = 1_767_225_600;
const BODY: &[u8] =
    br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;
const SECRET: [u8; 32] = [7; 32];

fn ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert("k-hmac", VerifyingKey::hmac_sha256(&SECRET).unwrap()).unwrap();
    ring
}

fn components(names: &[&str]) -> Vec<Component> {
    names.iter().map(|n| Component::field_or_derived(n)).collect()
}

/// A signed request, optionally changed after signing by `tamper`.
fn signed(params: SignParams, covered: &[&str], key: &SigningKey, tamper: impl FnOnce(&mut Parts)) -> Parts {
    let mut request = http::Request::post("https://api.example:8443/generate/salaryslip")
        .header("host", "api.example:8443")
        .header("content-type", "application/json")
        .header("authorization", "Bearer t0ken")
        .header("content-digest", content_digest(DigestAlgorithm::Sha256, BODY))
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let signed = sign_message(&request, None::<&Parts>, &components(covered), &params, key).unwrap();
    request.headers.insert("signature-input", signed.signature_input.parse().unwrap());
    request.headers.insert("signature", signed.signature.parse().unwrap());
    tamper(&mut request);
    request
}

fn good_params() -> SignParams {
    SignParams::new("sig1").created(NOW).nonce("n0nce-0001").keyid("k-hmac").with_alg()
}

fn hmac() -> SigningKey {
    SigningKey::hmac_sha256(&SECRET).unwrap()
}

fn decide(parts: &Parts, body: &[u8], now: i64) -> Result<VerifiedKey, ProblemCode> {
    let policy = SignaturePolicy::new();
    let head = policy.check_head(parts, &ring(), now).map_err(|r| r.code)?;
    policy.check_body(head, parts, body).map_err(|r| r.code)
}

#[test]
fn accepts_a_correctly_signed_request() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |_| {});
    let verified = decide(&parts, BODY, NOW).unwrap();
    assert_eq!((verified.keyid.as_str(), verified.alg), ("k-hmac", Algorithm::HmacSha256));
    assert_eq!(verified.nonce, "n0nce-0001");
}

#[test]
fn rejects_missing_signature_headers() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
        p.headers.remove("signature");
        p.headers.remove("signature-input");
    });
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureMissing);
}

#[test]
fn rejects_signature_without_input_as_malformed() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
        p.headers.remove("signature-input");
    });
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureMalformed);
}

#[test]
fn rejects_missing_created_keyid_and_nonce() {
    let no_created = SignParams::new("sig1").nonce("n0nce-0001").keyid("k-hmac");
    let parts = signed(no_created, &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureMalformed);
    let no_keyid = SignParams::new("sig1").created(NOW).nonce("n0nce-0001");
    let parts = signed(no_keyid, &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureMalformed);
    let no_nonce = SignParams::new("sig1").created(NOW).keyid("k-hmac");
    let parts = signed(no_nonce, &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::NonceMissing);
}

#[test]
fn rejects_uncovered_required_component() {
    let parts = signed(
        good_params(),
        &["@method", "@path", "@authority", "content-type", "content-digest"],
        &hmac(),
        |_| {},
    );
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::ComponentsMissing);
}

#[test]
fn rejects_covered_field_the_request_lacks() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
        p.headers.remove("authorization");
    });
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::ComponentsMissing);
}

#[test]
fn rejects_unknown_key() {
    let params = SignParams::new("sig1").created(NOW).nonce("n0nce-0001").keyid("nobody");
    let parts = signed(params, &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::UnknownKey);
}

#[test]
fn rejects_alg_that_differs_from_the_registry() {
    let (ed, _) = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let params = SignParams::new("sig1").created(NOW).nonce("n0nce-0001").keyid("k-hmac").with_alg();
    let parts = signed(params, &DEFAULT_REQUIRED, &ed, |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::AlgorithmMismatch);
}

#[test]
fn rejects_missing_and_mismatched_digest() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
        p.headers.remove("content-digest");
    });
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::DigestMissing);
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |_| {});
    let tampered = String::from_utf8(BODY.to_vec()).unwrap().replace("24", "30");
    assert_eq!(decide(&parts, tampered.as_bytes(), NOW).unwrap_err(), ProblemCode::DigestMismatch);
}

#[test]
fn rejects_changed_header_as_invalid_signature() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
        p.headers.insert("authorization", "Bearer someone-else".parse().unwrap());
    });
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureInvalid);
}

#[test]
fn rejects_signature_made_with_another_secret() {
    let other = SigningKey::hmac_sha256(&[8; 32]).unwrap();
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &other, |_| {});
    assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::SignatureInvalid);
}

#[test]
fn freshness_window_is_two_sided_with_inclusive_edges() {
    let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert!(decide(&parts, BODY, NOW + 300).is_ok(), "created exactly max_skew ago");
    assert!(decide(&parts, BODY, NOW - 300).is_ok(), "created exactly max_skew ahead");
    assert_eq!(decide(&parts, BODY, NOW + 301).unwrap_err(), ProblemCode::RequestExpired);
    assert_eq!(decide(&parts, BODY, NOW - 301).unwrap_err(), ProblemCode::RequestExpired);
}

#[test]
fn honours_expires() {
    let params = good_params().expires(NOW + 10);
    let parts = signed(params, &DEFAULT_REQUIRED, &hmac(), |_| {});
    assert!(decide(&parts, BODY, NOW + 10).is_ok());
    assert_eq!(decide(&parts, BODY, NOW + 11).unwrap_err(), ProblemCode::RequestExpired);
}

fn record(store: &MemoryNonceStore, nonce: &str, now: i64) -> Result<NonceVerdict, StoreError> {
    let fut = store.check_and_record("k", nonce, now, Duration::from_secs(600));
    // The memory store answers synchronously.
    futures_lite_block_on(fut)
}

fn futures_lite_block_on<T>(fut: BoxFuture<'_, T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(fut)
}

#[test]
fn nonce_is_accepted_once_then_forgotten_after_its_ttl() {
    let store = MemoryNonceStore::new(1000);
    assert_eq!(record(&store, "abc12345", NOW), Ok(NonceVerdict::Fresh));
    assert_eq!(record(&store, "abc12345", NOW + 599), Ok(NonceVerdict::Replayed));
    assert_eq!(record(&store, "abc12345", NOW + 600), Ok(NonceVerdict::Fresh));
}

#[test]
fn nonces_are_scoped_by_key_id() {
    let store = MemoryNonceStore::new(1000);
    let run = |k: &'static str| {
        futures_lite_block_on(store.check_and_record(k, "same-nonce", NOW, Duration::from_secs(60)))
    };
    assert_eq!(run("a"), Ok(NonceVerdict::Fresh));
    assert_eq!(run("b"), Ok(NonceVerdict::Fresh));
    assert_eq!(run("a"), Ok(NonceVerdict::Replayed));
}

/// SPEC §3.2 acceptance: a flood of 1,000,000 distinct valid nonces keeps the
/// memory store within its bound; a full store refuses (fail closed) and
/// accepts again once entries expire.
#[test]
fn million_nonce_flood_stays_within_the_configured_bound() {
    let cap = 100_000;
    let store = MemoryNonceStore::new(cap);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (mut fresh, mut full) = (0u32, 0u32);
    for i in 0..1_000_000u32 {
        // One new second every 1,000 requests: 1,000 s of traffic with a 600 s ttl.
        let now = NOW + i64::from(i / 1000);
        let nonce = format!("flood-{i:08}");
        match rt.block_on(store.check_and_record("k", &nonce, now, Duration::from_secs(600))) {
            Ok(NonceVerdict::Fresh) => fresh += 1,
            Ok(NonceVerdict::Replayed) => panic!("distinct nonce {i} reported as replayed"),
            Err(StoreError::Full(_)) => full += 1,
            Err(other) => panic!("{other}"),
        }
        if i % 50_000 == 0 {
            assert!(store.len() <= cap + 16, "store grew to {} entries", store.len());
        }
    }
    assert!(store.len() <= cap + 16, "store grew to {} entries", store.len());
    assert!(full > 0, "a 100k store must refuse part of a 1M flood within its ttl");
    assert!(fresh > u32::try_from(cap).unwrap(), "expired entries must make room again");
    let bytes = store.approx_bytes();
    assert!(bytes < 8 * 1024 * 1024, "100k entries should fit in 8 MiB, used {bytes}");
    println!("flood: {fresh} accepted, {full} refused, {} live, ~{} KiB", store.len(), bytes / 1024);
}

/// [`signed`] covering `covered` as given (components with parameters).
fn signed_covering(covered: Vec<Component>, tamper: impl FnOnce(&mut Parts)) -> Parts {
    let mut request = http::Request::post("https://api.example:8443/generate/salaryslip")
        .header("host", "api.example:8443")
        .header("content-type", "application/json")
        .header("authorization", "Bearer t0ken")
        .header("content-digest", content_digest(DigestAlgorithm::Sha256, BODY))
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let signed = sign_message(&request, None::<&Parts>, &covered, &good_params(), &hmac()).unwrap();
    request.headers.insert("signature-input", signed.signature_input.parse().unwrap());
    request.headers.insert("signature", signed.signature.parse().unwrap());
    tamper(&mut request);
    request
}

#[test]
fn rejects_each_repeated_singleton_field_as_bad_request() {
    for name in SINGLETON_FIELDS {
        // The very same value twice: a repeat is refused whatever it says.
        let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
            let value = p.headers.get(name).cloned().unwrap();
            p.headers.append(name, value);
        });
        assert_eq!(decide(&parts, BODY, NOW).unwrap_err(), ProblemCode::BadRequest, "{name}");
    }
}

/// The reviewer's attack: the signature covers only the `sha-256` member of
/// `Content-Digest`, and a second line for another body is put first. The
/// digest check used to read the first line and the base to join both (the
/// dictionary's last `sha-256` wins), so the attacker's body passed as signed.
#[test]
fn rejects_a_prepended_content_digest_line_for_another_body() {
    let evil: &[u8] =
        br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":30}"#;
    let mut covered = components(&["@method", "@path", "@authority", "content-type", "authorization"]);
    covered.push(Component::field_or_derived("content-digest").key("sha-256"));
    let parts = signed_covering(covered.clone(), |p| {
        let original = p.headers.remove("content-digest").unwrap();
        p.headers.append("content-digest", content_digest(DigestAlgorithm::Sha256, evil).parse().unwrap());
        p.headers.append("content-digest", original);
    });
    assert_eq!(decide(&parts, evil, NOW).unwrap_err(), ProblemCode::BadRequest);
    // One line only: covering a member is not covering the field.
    let single = signed_covering(covered, |_| {});
    assert_eq!(decide(&single, BODY, NOW).unwrap_err(), ProblemCode::ComponentsMissing);
}

#[test]
fn required_components_count_only_as_plain_entries() {
    let variants = [
        ("content-digest", r#""content-digest";key="sha-256""#),
        ("content-digest", r#""content-digest";key="md5""#),
        ("content-digest", r#""content-digest";sf"#),
        ("content-digest", r#""content-digest";bs"#),
        ("content-digest", r#""content-digest";req"#),
        ("content-digest", r#""content-digest";tr"#),
        ("authorization", r#""authorization";bs"#),
        ("@method", r#""@method";req"#),
    ];
    for (plain, with_param) in variants {
        let listed: Vec<String> = DEFAULT_REQUIRED
            .iter()
            .map(|c| if *c == plain { with_param.to_owned() } else { format!("\"{c}\"") })
            .collect();
        let input = format!(r#"sig1=({});created={NOW};keyid="k-hmac";nonce="n0nce-0001""#, listed.join(" "));
        let parts = signed(good_params(), &DEFAULT_REQUIRED, &hmac(), |p| {
            p.headers.insert("signature-input", input.parse().unwrap());
        });
        let policy = SignaturePolicy::new();
        let got = policy.check_head(&parts, &ring(), NOW).map(|_| ()).map_err(|r| r.code);
        assert_eq!(got, Err(ProblemCode::ComponentsMissing), "{with_param}");
    }
}

#[test]
fn accepts_a_parameterised_component_beside_the_plain_one() {
    let mut covered = components(&DEFAULT_REQUIRED);
    covered.push(Component::field_or_derived("content-digest").key("sha-256"));
    let parts = signed_covering(covered, |_| {});
    assert!(decide(&parts, BODY, NOW).is_ok());
}
