//! Unit tests of the pure decision and the memory nonce store, without tower.

use std::time::Duration;

use http::request::Parts;
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, SignParams, SigningKey, VerifyingKey, content_digest, sign_message,
};
use slipgate_proto::ProblemCode;

use super::*;
use crate::replay::{DEFAULT_BUCKET_SECONDS, MemoryNonceStore, NonceStore as _, NonceVerdict};
use crate::store::StoreError;

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
    let head = head::check(&policy, parts, &ring(), now).map_err(|r| r.code)?;
    body::check(head.parsed(), parts, body, head.key()).map_err(|r| r.code)?;
    Ok(head.verified())
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
    store.decide_now("k", nonce, now, Duration::from_secs(600))
}

const MIB: usize = 1 << 20;

/// What the layer asks of the store for a request signed at `created`, seen at `now`.
fn record_signed(
    store: &MemoryNonceStore,
    policy: &SignaturePolicy,
    nonce: &str,
    created: i64,
    now: i64,
) -> Result<NonceVerdict, StoreError> {
    store.decide_now("k", nonce, now, policy.nonce_ttl(created, now))
}

#[test]
fn nonce_ttl_runs_to_created_plus_max_skew_inclusive() {
    let policy = SignaturePolicy::new();
    assert_eq!(policy.nonce_ttl(NOW, NOW), Duration::from_secs(301));
    assert_eq!(policy.nonce_ttl(NOW + 300, NOW), Duration::from_secs(601), "future-dated: the longest");
    assert_eq!(policy.nonce_ttl(NOW - 300, NOW), Duration::from_secs(1), "last fresh second");
    assert_eq!(policy.nonce_ttl(NOW - 1000, NOW), Duration::from_secs(1), "never zero");
}

/// SPEC §3.2: kept until `created + max_skew` — refused as replayed through
/// that second (while the signature is still fresh), and its bucket is
/// dropped (the nonce forgotten, the bytes released) once the bucket's last
/// second has passed, not 2 × `max_skew` after arrival.
#[test]
fn nonce_is_replayed_until_created_plus_max_skew_then_its_bucket_is_dropped() {
    let policy = SignaturePolicy::new();
    let store = MemoryNonceStore::new(MIB).with_bucket_seconds(1);
    let created = NOW - 100;
    assert_eq!(record_signed(&store, &policy, "abc12345", created, NOW), Ok(NonceVerdict::Fresh));
    for now in [NOW, NOW + 100, created + 300] {
        assert_eq!(
            record_signed(&store, &policy, "abc12345", created, now),
            Ok(NonceVerdict::Replayed),
            "{now}"
        );
    }
    // A replay with another `created` (the key holder re-signing) is refused too.
    assert_eq!(record_signed(&store, &policy, "abc12345", NOW, NOW + 1), Ok(NonceVerdict::Replayed));
    assert!(store.bytes() > 0);
    assert_eq!(
        record_signed(&store, &policy, "other-001", created + 300, created + 301),
        Ok(NonceVerdict::Fresh)
    );
    // The first nonce's bucket is dropped at its shard's next request: the
    // pair is unknown again (its signature would be stale by now, so the layer
    // never gets this far), and only the two recent nonces are held.
    assert_eq!(record(&store, "abc12345", created + 301), Ok(NonceVerdict::Fresh));
    assert_eq!(store.len(), 2, "the old entry went with its bucket");
}

#[test]
fn a_wide_bucket_keeps_a_nonce_at_most_its_width_longer() {
    let store = MemoryNonceStore::new(MIB);
    let width = i64::from(DEFAULT_BUCKET_SECONDS);
    assert_eq!(store.decide_now("k", "abc12345", NOW, Duration::from_secs(301)), Ok(NonceVerdict::Fresh));
    let expiry = NOW + 301;
    let bucket_end = (expiry.div_euclid(width) + 1) * width;
    assert_eq!(
        store.decide_now("k", "abc12345", expiry - 1, Duration::from_secs(1)),
        Ok(NonceVerdict::Replayed)
    );
    assert_eq!(
        store.decide_now("k", "zzz00000", bucket_end - 1, Duration::from_secs(1)),
        Ok(NonceVerdict::Fresh)
    );
    assert_eq!(
        store.decide_now("k", "abc12345", bucket_end - 1, Duration::from_secs(1)),
        Ok(NonceVerdict::Fresh)
    );
    assert!(bucket_end - expiry <= width);
}

#[test]
fn nonces_are_scoped_by_key_id() {
    let store = MemoryNonceStore::new(MIB);
    let run = |k: &'static str| store.decide_now(k, "same-nonce", NOW, Duration::from_secs(60));
    assert_eq!(run("a"), Ok(NonceVerdict::Fresh));
    assert_eq!(run("b"), Ok(NonceVerdict::Fresh));
    assert_eq!(run("a"), Ok(NonceVerdict::Replayed));
    assert_eq!(store.decide_now("ab", "c-nonce-1", NOW, Duration::from_secs(60)), Ok(NonceVerdict::Fresh));
    assert_eq!(store.decide_now("a", "bc-nonce-1", NOW, Duration::from_secs(60)), Ok(NonceVerdict::Fresh));
}

/// A full budget refuses new nonces (503 `overloaded`) and forgets none:
/// every nonce accepted before is still refused as replayed, and the store
/// never reserves more than its budget.
#[test]
fn a_full_budget_refuses_new_nonces_and_forgets_no_live_one() {
    let store = MemoryNonceStore::new(MIB);
    let mut accepted = Vec::new();
    let mut refused = 0u32;
    for i in 0..200_000u32 {
        let nonce = format!("fill-{i:08}");
        match record(&store, &nonce, NOW) {
            Ok(NonceVerdict::Fresh) => accepted.push(nonce),
            Ok(NonceVerdict::Replayed) => panic!("distinct nonce {i} reported as replayed"),
            Err(StoreError::Full(budget)) => {
                assert_eq!(budget, MIB);
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
        assert!(store.bytes() <= MIB, "reserved {} of {MIB}", store.bytes());
    }
    assert!(refused > 0, "200k nonces cannot fit in 1 MiB");
    // "Really full": at most 16 bytes per accepted nonce were reserved.
    assert!(accepted.len() * 16 >= MIB, "refused with only {} nonces in 1 MiB", accepted.len());
    for nonce in &accepted {
        assert_eq!(record(&store, nonce, NOW + 599), Ok(NonceVerdict::Replayed), "{nonce} forgotten");
    }
    assert_eq!(store.len(), accepted.len());
    // Once the nonces expire their buckets go (each shard's at its next
    // request), and new ones are accepted again.
    let later = NOW + 600 + i64::from(DEFAULT_BUCKET_SECONDS);
    for i in 0..1000 {
        assert_eq!(record(&store, &format!("after-{i:06}"), later), Ok(NonceVerdict::Fresh));
    }
    assert_eq!(store.len(), 1000);
}

/// 30 threads racing to record one nonce: exactly one wins.
#[test]
fn thirty_concurrent_records_of_one_nonce_accept_exactly_one() {
    let store = std::sync::Arc::new(MemoryNonceStore::new(MIB));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(30));
    let handles: Vec<_> = (0..30)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                record(&store, "race-nonce-1", NOW)
            })
        })
        .collect();
    let verdicts: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let fresh = verdicts.iter().filter(|v| **v == Ok(NonceVerdict::Fresh)).count();
    let replayed = verdicts.iter().filter(|v| **v == Ok(NonceVerdict::Replayed)).count();
    assert_eq!((fresh, replayed), (1, 29), "{verdicts:?}");
}

/// The cliff regression (issue 16): a steady rate for twice the window with a
/// budget sized for that rate at 16 bytes per live nonce answers no refusal.
/// The old entry-capped store, sized the same way, refused ~35 % of requests
/// at 500 req/s once its entries (kept 2 × max_skew) ran out. Every request is
/// dated `now + max_skew` — the worst case, kept longest — or spread over the
/// window, as skewed clients would be.
#[test]
fn a_sustained_rate_within_the_budget_is_never_refused() {
    const RATE: i64 = 500;
    let policy = SignaturePolicy::new();
    let window = 2 * 300 + 1;
    let budget = usize::try_from(RATE * window * 16).unwrap();
    for spread in [false, true] {
        let store = MemoryNonceStore::new(budget);
        let mut peak_bytes = 0;
        let mut n = 0u64;
        for second in 0..2 * window {
            let now = NOW + second;
            for i in 0..RATE {
                n += 1;
                // A cheap deterministic spread of `created` over ±300 s.
                let offset = if spread { (n.wrapping_mul(2_654_435_761) % 601) as i64 - 300 } else { 300 };
                let nonce = format!("sustained-{n:010}");
                let verdict = record_signed(&store, &policy, &nonce, now + offset, now);
                assert_eq!(verdict, Ok(NonceVerdict::Fresh), "second {second}, request {i}, spread {spread}");
            }
            peak_bytes = peak_bytes.max(store.bytes());
        }
        let per_entry = peak_bytes as f64 / (RATE * window) as f64;
        println!(
            "sustained {RATE}/s, spread {spread}: peak {peak_bytes} B of {budget}, {per_entry:.1} B per second-of-window request"
        );
        assert!(peak_bytes <= budget);
    }
}

/// ≤ 16 bytes per live nonce, from the store's own accounting (capacity, not
/// length), measured at every 10,000th insertion of 1,000,000.
#[test]
fn a_million_nonces_cost_at_most_16_bytes_each() {
    let store = MemoryNonceStore::new(64 * MIB);
    let mut worst = 0.0f64;
    for i in 0..1_000_000u32 {
        assert_eq!(record(&store, &format!("million-{i:08}"), NOW), Ok(NonceVerdict::Fresh));
        if i % 10_000 == 9_999 {
            worst = worst.max(store.bytes() as f64 / store.len() as f64);
        }
    }
    let per_entry = store.bytes() as f64 / store.len() as f64;
    println!("1M nonces: {} bytes, {per_entry:.2} B per nonce, worst {worst:.2}", store.bytes());
    assert!(worst <= 16.0, "{worst:.2} bytes per nonce");
    assert_eq!(store.usage().map(|u| u.entries), Some(1_000_000));
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
        let got = head::check(&policy, &parts, &ring(), NOW).map(|_| ()).map_err(|r| r.code);
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
