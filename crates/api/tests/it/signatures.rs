//! One named case per signature rejection code of SPEC §3.6, plus the accepted
//! edge cases, as a table run in process (`router(state).oneshot`) against one
//! router: the cases run in order on one nonce store and one clock, which
//! only moves forward (as it does for the rate limiter).

use std::sync::Arc;

use http::{HeaderMap, Method};
use slipgate_guard::ManualClock;
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{Algorithm, DigestAlgorithm, SignParams, SigningKey, content_digest, sign_message};
use slipgate_test_support::{Answer, SEED_BODY, TEST_ED25519_ID, TEST_HMAC_ID, TEST_HMAC_SECRET, TestRouter};

use crate::expect_problem;

const ALL: [&str; 6] = ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"];
const T0: u64 = 1_767_225_600;

fn params(nonce: &str) -> SignParams {
    SignParams::new("sig1").created(T0 as i64).nonce(nonce).keyid(TEST_HMAC_ID).with_alg()
}

/// The key a case signs with.
#[derive(Clone, Copy)]
enum Key {
    /// `test-hmac`.
    Hmac,
    /// `test-ed25519`.
    Ed25519,
    /// HMAC keyed with the (public) Ed25519 key: the JWT-style confusion.
    HmacOverEd25519Public,
    /// A key the server does not know.
    Foreign,
}

impl Key {
    fn signing_key(self, router: &TestRouter) -> SigningKey {
        match self {
            Key::Hmac => SigningKey::hmac_sha256(&TEST_HMAC_SECRET).unwrap(),
            Key::Ed25519 => SigningKey::from_pem(Algorithm::Ed25519, router.ed25519_pem()).unwrap(),
            Key::HmacOverEd25519Public => {
                let ed = SigningKey::from_pem(Algorithm::Ed25519, router.ed25519_pem()).unwrap();
                SigningKey::hmac_sha256(&ed.public_key_spki_der().unwrap()).unwrap()
            }
            Key::Foreign => SigningKey::hmac_sha256(&[9; 32]).unwrap(),
        }
    }
}

/// What a case must get.
#[derive(Clone, Copy)]
enum Expect {
    Ok,
    /// 401 with this code and `WWW-Authenticate: Signature`.
    Rejected(&'static str),
}

/// One row: a request signed over `covered` with `params` and `key` (with
/// `signed_extra` headers present while signing), changed by `tamper`, with
/// `sent` as its body (the signed body when `None`), sent at `at`.
struct Case {
    name: &'static str,
    at: u64,
    covered: Vec<&'static str>,
    params: SignParams,
    key: Key,
    signed_extra: &'static [(&'static str, &'static str)],
    tamper: Box<dyn Fn(&mut HeaderMap)>,
    sent: Option<String>,
    expect: Expect,
}

impl Case {
    fn new(name: &'static str, params: SignParams, expect: Expect) -> Self {
        Self {
            name,
            at: T0,
            covered: ALL.to_vec(),
            params,
            key: Key::Hmac,
            signed_extra: &[],
            tamper: Box::new(|_| {}),
            sent: None,
            expect,
        }
    }

    fn at(mut self, at: u64) -> Self {
        self.at = at;
        self
    }

    fn covered(mut self, covered: &[&'static str]) -> Self {
        self.covered = covered.to_vec();
        self
    }

    fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    fn signed_extra(mut self, extra: &'static [(&'static str, &'static str)]) -> Self {
        self.signed_extra = extra;
        self
    }

    fn tamper(mut self, tamper: impl Fn(&mut HeaderMap) + 'static) -> Self {
        self.tamper = Box::new(tamper);
        self
    }

    fn sent(mut self, body: String) -> Self {
        self.sent = Some(body);
        self
    }
}

/// The body SEED_BODY becomes when an attacker raises the working days.
fn tampered() -> String {
    SEED_BODY.replace("\"working_days\":24", "\"working_days\":30")
}

/// Every case, in the order they run (the clock never goes back). A case is
/// named after the test it was when each had its own server; the steps of
/// one such test carry a suffix in parentheses.
fn cases() -> Vec<Case> {
    use Expect::{Ok, Rejected};
    let ed = |nonce: &str| SignParams::new("sig1").created(T0 as i64).nonce(nonce).keyid(TEST_ED25519_ID);
    vec![
        // Created 301 s ahead of the clock.
        Case::new(
            "rejects_created_too_old_and_too_far_in_the_future (future)",
            params("future-001"),
            Rejected("request_expired"),
        )
        .at(T0 - 301),
        Case::new("accepts_created_exactly_at_the_skew_edges (future)", params("edge-new-1"), Ok)
            .at(T0 - 300),
        Case::new("accepts_correctly_signed_request", params("accept-0001"), Ok),
        Case::new("accepts_ed25519_signature", ed("ed-nonce-01").with_alg(), Ok).key(Key::Ed25519),
        Case::new("rejects_missing_signature_headers", params("missing-01"), Rejected("signature_missing"))
            .tamper(|h| {
                h.remove("signature");
                h.remove("signature-input");
            }),
        Case::new(
            "rejects_signature_without_signature_input",
            params("only-one-01"),
            Rejected("signature_malformed"),
        )
        .tamper(|h| {
            h.remove("signature-input");
        }),
        Case::new("rejects_labels_that_do_not_match", params("labels-001"), Rejected("signature_malformed"))
            .tamper(|h| {
                let sig = h["signature"].to_str().unwrap().replacen("sig1=", "sig2=", 1);
                h.insert("signature", sig.parse().unwrap());
            }),
        Case::new(
            "rejects_unparsable_signature_input",
            params("garbage-01"),
            Rejected("signature_malformed"),
        )
        .tamper(|h| {
            h.insert("signature-input", "sig1=(((".parse().unwrap());
        }),
        Case::new("rejects_nonce_of_the_wrong_form", params("shape-0001"), Rejected("signature_malformed"))
            .tamper(|h| {
                let input = h["signature-input"].to_str().unwrap().replace("shape-0001", "short");
                h.insert("signature-input", input.parse().unwrap());
            }),
        Case::new(
            "rejects_missing_nonce",
            SignParams::new("sig1").created(T0 as i64).keyid(TEST_HMAC_ID),
            Rejected("nonce_missing"),
        ),
        Case::new(
            "rejects_unknown_key",
            SignParams::new("sig1").created(T0 as i64).nonce("unknown-01").keyid("nobody"),
            Rejected("unknown_key"),
        ),
        Case::new(
            "rejects_alg_that_differs_from_the_key_registry",
            ed("alg-mis-01").with_alg(),
            Rejected("algorithm_mismatch"),
        ),
        Case::new(
            "rejects_hmac_signature_made_with_a_public_key (alg claimed)",
            ed("confuse-01").with_alg(),
            Rejected("algorithm_mismatch"),
        )
        .key(Key::HmacOverEd25519Public),
        Case::new(
            "rejects_hmac_signature_made_with_a_public_key (alg absent)",
            ed("confuse-02"),
            Rejected("signature_invalid"),
        )
        .key(Key::HmacOverEd25519Public),
        Case::new(
            "rejects_signature_not_covering_a_required_component",
            params("uncovered1"),
            Rejected("components_missing"),
        )
        .covered(&ALL[..5]),
        // Signed over an extra header, sent without it.
        Case::new(
            "rejects_covered_field_the_request_lacks",
            params("lacks-0002"),
            Rejected("components_missing"),
        )
        .covered(&[ALL.as_slice(), &["x-tenant"]].concat())
        .signed_extra(&[("x-tenant", "acme")])
        .tamper(|h| {
            h.remove("x-tenant");
        }),
        Case::new("rejects_missing_content_digest", params("nodigest01"), Rejected("digest_missing")).tamper(
            |h| {
                h.remove("content-digest");
            },
        ),
        Case::new(
            "rejects_digest_with_only_deprecated_algorithms",
            params("md5only-01"),
            Rejected("digest_missing"),
        )
        .tamper(|h| {
            h.insert("content-digest", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:".parse().unwrap());
        }),
        Case::new("rejects_malformed_digest", params("baddigest1"), Rejected("digest_mismatch")).tamper(
            |h| {
                h.insert("content-digest", "sha-256=:not base64!:".parse().unwrap());
            },
        ),
        Case::new("rejects_body_changed_after_signing", params("tamper-001"), Rejected("digest_mismatch"))
            .sent(tampered()),
        Case::new(
            "rejects_body_changed_with_a_recomputed_digest",
            params("tamper-002"),
            Rejected("signature_invalid"),
        )
        .tamper(|h| {
            let digest = content_digest(DigestAlgorithm::Sha256, tampered().as_bytes());
            h.insert("content-digest", digest.parse().unwrap());
        })
        .sent(tampered()),
        Case::new(
            "rejects_signature_of_the_wrong_length",
            params("length-001"),
            Rejected("signature_invalid"),
        )
        .tamper(|h| {
            h.insert("signature", "sig1=:AAAA:".parse().unwrap());
        }),
        // The very same request twice.
        Case::new("rejects_replayed_nonce (first use)", params("replay-001"), Ok),
        Case::new("rejects_replayed_nonce", params("replay-001"), Rejected("replayed")),
        Case::new("accepts_same_payload_with_a_new_nonce (1)", params("payload-01"), Ok),
        Case::new("accepts_same_payload_with_a_new_nonce (2)", params("payload-02"), Ok),
        // SPEC §3.3 step 6: a forged request must not burn the nonce of a real one.
        Case::new(
            "forged_request_does_not_consume_the_nonce (forged)",
            params("shared-001"),
            Rejected("signature_invalid"),
        )
        .key(Key::Foreign),
        Case::new("forged_request_does_not_consume_the_nonce (genuine)", params("shared-001"), Ok),
        // Signed at T0 to expire at T0 + 5, sent at T0 + 6.
        Case::new(
            "rejects_expired_expires",
            params("expires-01").expires(T0 as i64 + 5),
            Rejected("request_expired"),
        )
        .at(T0 + 6),
        Case::new("accepts_created_exactly_at_the_skew_edges (past)", params("edge-old-1"), Ok).at(T0 + 300),
        Case::new(
            "rejects_created_too_old_and_too_far_in_the_future (old)",
            params("too-old-01"),
            Rejected("request_expired"),
        )
        .at(T0 + 301),
    ]
}

/// Headers for a POST of `body`, signed as `case` says.
fn signed_headers(router: &TestRouter, body: &str, case: &Case) -> HeaderMap {
    let mut parts = http::Request::post(router.url("/generate/salaryslip")).body(()).unwrap().into_parts().0;
    parts.headers.insert("content-type", "application/json".parse().unwrap());
    parts.headers.insert("authorization", router.bearer().parse().unwrap());
    parts
        .headers
        .insert("content-digest", content_digest(DigestAlgorithm::Sha256, body.as_bytes()).parse().unwrap());
    for (name, value) in case.signed_extra {
        parts.headers.insert(*name, value.parse().unwrap());
    }
    let components: Vec<Component> = case.covered.iter().map(|c| Component::field_or_derived(c)).collect();
    let key = case.key.signing_key(router);
    let signed =
        sign_message(&parts, None::<&http::request::Parts>, &components, &case.params, &key).unwrap();
    parts.headers.insert("signature-input", signed.signature_input.parse().unwrap());
    parts.headers.insert("signature", signed.signature.parse().unwrap());
    parts.headers
}

async fn check(name: &str, answer: Answer, expect: Expect) {
    match expect {
        Expect::Ok => assert_eq!(answer.status, 200, "{name}: {}", answer.text()),
        Expect::Rejected(code) => {
            assert_eq!(answer.status, 401, "{name}: {}", answer.text());
            assert_eq!(
                answer.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).as_deref(),
                Some("Signature"),
                "{name}: {code} must challenge with Signature"
            );
            assert_eq!(answer.json()["code"], code, "{name}");
            expect_problem(answer, 401, code).await;
        }
    }
}

#[tokio::test]
async fn signature_matrix() {
    let cases = cases();
    let clock = Arc::new(ManualClock::at_unix(cases[0].at));
    let router = TestRouter::with_clock(&[], clock.clone()).await;
    for case in &cases {
        clock.set_unix(case.at);
        let mut headers = signed_headers(&router, SEED_BODY, case);
        (case.tamper)(&mut headers);
        let body = case.sent.clone().unwrap_or_else(|| SEED_BODY.to_owned());
        let answer = router.send(Method::POST, "/generate/salaryslip", headers, body).await;
        check(case.name, answer, case.expect).await;
    }
    router.stop().await;
}

/// The table covers every signature code of SPEC §3.6 (and an accepted case),
/// so a code cannot silently drop out of the matrix.
#[test]
fn signature_matrix_covers_every_signature_code() {
    let cases = cases();
    for code in [
        "signature_missing",
        "signature_malformed",
        "unknown_key",
        "algorithm_mismatch",
        "components_missing",
        "digest_missing",
        "digest_mismatch",
        "signature_invalid",
        "request_expired",
        "nonce_missing",
        "replayed",
    ] {
        assert!(
            cases.iter().any(|c| matches!(c.expect, Expect::Rejected(r) if r == code)),
            "no case for {code}"
        );
    }
    assert!(cases.iter().any(|c| matches!(c.expect, Expect::Ok)));
    assert!(cases.windows(2).all(|w| w[0].at <= w[1].at), "the clock must only move forward");
}
