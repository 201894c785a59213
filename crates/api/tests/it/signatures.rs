//! One named test per signature rejection code of SPEC §3.6, through the real
//! server, plus the accepted edge cases.

use std::sync::Arc;

use http::HeaderMap;
use slipgate_guard::ManualClock;
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{Algorithm, DigestAlgorithm, SignParams, SigningKey, content_digest, sign_message};
use slipgate_test_support::{SEED_BODY, TEST_ED25519_ID, TEST_HMAC_ID, TEST_HMAC_SECRET, TestApi};

use crate::expect_problem;

const ALL: [&str; 6] = ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"];
const T0: u64 = 1_767_225_600;

fn hmac() -> SigningKey {
    SigningKey::hmac_sha256(&TEST_HMAC_SECRET).unwrap()
}

fn params(nonce: &str) -> SignParams {
    SignParams::new("sig1").created(T0 as i64).nonce(nonce).keyid(TEST_HMAC_ID).with_alg()
}

/// An API whose clock stands at `T0`.
async fn api() -> (TestApi, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_unix(T0));
    (TestApi::spawn_with_clock(&[], clock.clone()).await, clock)
}

/// Headers for a POST of `body`, signed over `covered` with `params` and `key`.
fn signed_headers(
    api: &TestApi,
    body: &str,
    covered: &[&str],
    params: &SignParams,
    key: &SigningKey,
) -> HeaderMap {
    let mut parts = http::Request::post(api.url("/generate/salaryslip")).body(()).unwrap().into_parts().0;
    parts.headers.insert("content-type", "application/json".parse().unwrap());
    parts.headers.insert("authorization", api.bearer().parse().unwrap());
    parts
        .headers
        .insert("content-digest", content_digest(DigestAlgorithm::Sha256, body.as_bytes()).parse().unwrap());
    let components: Vec<Component> = covered.iter().map(|c| Component::field_or_derived(c)).collect();
    let signed = sign_message(&parts, None::<&http::request::Parts>, &components, params, key).unwrap();
    parts.headers.insert("signature-input", signed.signature_input.parse().unwrap());
    parts.headers.insert("signature", signed.signature.parse().unwrap());
    parts.headers
}

async fn send(api: &TestApi, headers: HeaderMap, body: &str) -> reqwest::Response {
    api.client()
        .post(api.url("/generate/salaryslip"))
        .headers(headers)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn rejected(response: reqwest::Response, code: &str) {
    assert_eq!(
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).as_deref(),
        Some("Signature"),
        "{code} must challenge with Signature"
    );
    expect_problem(response, 401, code).await;
}

#[tokio::test]
async fn accepts_correctly_signed_request() {
    let (api, _) = api().await;
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("accept-0001"), &hmac());
    assert_eq!(send(&api, headers, SEED_BODY).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn accepts_ed25519_signature() {
    let (api, _) = api().await;
    let key = SigningKey::from_pem(Algorithm::Ed25519, &api.ed25519_pem).unwrap();
    let p = SignParams::new("sig1").created(T0 as i64).nonce("ed-nonce-01").keyid(TEST_ED25519_ID).with_alg();
    let headers = signed_headers(&api, SEED_BODY, &ALL, &p, &key);
    assert_eq!(send(&api, headers, SEED_BODY).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn rejects_missing_signature_headers() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("missing-01"), &hmac());
    headers.remove("signature");
    headers.remove("signature-input");
    rejected(send(&api, headers, SEED_BODY).await, "signature_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_signature_without_signature_input() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("only-one-01"), &hmac());
    headers.remove("signature-input");
    rejected(send(&api, headers, SEED_BODY).await, "signature_malformed").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_labels_that_do_not_match() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("labels-001"), &hmac());
    let sig = headers["signature"].to_str().unwrap().replacen("sig1=", "sig2=", 1);
    headers.insert("signature", sig.parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "signature_malformed").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_unparsable_signature_input() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("garbage-01"), &hmac());
    headers.insert("signature-input", "sig1=(((".parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "signature_malformed").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_nonce_of_the_wrong_form() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("shape-0001"), &hmac());
    let input = headers["signature-input"].to_str().unwrap().replace("shape-0001", "short");
    headers.insert("signature-input", input.parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "signature_malformed").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_missing_nonce() {
    let (api, _) = api().await;
    let p = SignParams::new("sig1").created(T0 as i64).keyid(TEST_HMAC_ID);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &p, &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "nonce_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_unknown_key() {
    let (api, _) = api().await;
    let p = SignParams::new("sig1").created(T0 as i64).nonce("unknown-01").keyid("nobody");
    let headers = signed_headers(&api, SEED_BODY, &ALL, &p, &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "unknown_key").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_alg_that_differs_from_the_key_registry() {
    let (api, _) = api().await;
    let p = SignParams::new("sig1").created(T0 as i64).nonce("alg-mis-01").keyid(TEST_ED25519_ID).with_alg();
    let headers = signed_headers(&api, SEED_BODY, &ALL, &p, &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "algorithm_mismatch").await;
    api.stop().await;
}

/// The classic JWT-style confusion: HMAC keyed with the (public) Ed25519 key.
#[tokio::test]
async fn rejects_hmac_signature_made_with_a_public_key() {
    let (api, _) = api().await;
    let ed = SigningKey::from_pem(Algorithm::Ed25519, &api.ed25519_pem).unwrap();
    let public = ed.public_key_spki_der().unwrap();
    let forged_key = SigningKey::hmac_sha256(&public).unwrap();
    let claimed =
        SignParams::new("sig1").created(T0 as i64).nonce("confuse-01").keyid(TEST_ED25519_ID).with_alg();
    let headers = signed_headers(&api, SEED_BODY, &ALL, &claimed, &forged_key);
    rejected(send(&api, headers, SEED_BODY).await, "algorithm_mismatch").await;
    let silent = SignParams::new("sig1").created(T0 as i64).nonce("confuse-02").keyid(TEST_ED25519_ID);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &silent, &forged_key);
    rejected(send(&api, headers, SEED_BODY).await, "signature_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_signature_not_covering_a_required_component() {
    let (api, _) = api().await;
    let headers = signed_headers(&api, SEED_BODY, &ALL[..5], &params("uncovered1"), &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "components_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_covered_field_the_request_lacks() {
    let (api, _) = api().await;
    // Sign over an extra header, then send the request without it.
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("lacks-0001"), &hmac());
    let mut parts = http::Request::post(api.url("/generate/salaryslip")).body(()).unwrap().into_parts().0;
    parts.headers = headers.clone();
    parts.headers.insert("x-tenant", "acme".parse().unwrap());
    let covered: Vec<Component> =
        ALL.iter().chain(["x-tenant"].iter()).map(|c| Component::field_or_derived(c)).collect();
    let signed =
        sign_message(&parts, None::<&http::request::Parts>, &covered, &params("lacks-0002"), &hmac())
            .unwrap();
    headers.insert("signature-input", signed.signature_input.parse().unwrap());
    headers.insert("signature", signed.signature.parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "components_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_missing_content_digest() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("nodigest01"), &hmac());
    headers.remove("content-digest");
    rejected(send(&api, headers, SEED_BODY).await, "digest_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_digest_with_only_deprecated_algorithms() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("md5only-01"), &hmac());
    headers.insert("content-digest", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:".parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "digest_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_malformed_digest() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("baddigest1"), &hmac());
    headers.insert("content-digest", "sha-256=:not base64!:".parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "digest_mismatch").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_body_changed_after_signing() {
    let (api, _) = api().await;
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("tamper-001"), &hmac());
    let tampered = SEED_BODY.replace("\"working_days\":24", "\"working_days\":30");
    rejected(send(&api, headers, &tampered).await, "digest_mismatch").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_body_changed_with_a_recomputed_digest() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("tamper-002"), &hmac());
    let tampered = SEED_BODY.replace("\"working_days\":24", "\"working_days\":30");
    headers.insert(
        "content-digest",
        content_digest(DigestAlgorithm::Sha256, tampered.as_bytes()).parse().unwrap(),
    );
    rejected(send(&api, headers, &tampered).await, "signature_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_signature_of_the_wrong_length() {
    let (api, _) = api().await;
    let mut headers = signed_headers(&api, SEED_BODY, &ALL, &params("length-001"), &hmac());
    headers.insert("signature", "sig1=:AAAA:".parse().unwrap());
    rejected(send(&api, headers, SEED_BODY).await, "signature_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_created_too_old_and_too_far_in_the_future() {
    let (api, clock) = api().await;
    // Time only moves forward here, as it does for the rate limiter.
    clock.set_unix(T0 - 301);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("future-001"), &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "request_expired").await;
    clock.set_unix(T0 + 301);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("too-old-01"), &hmac());
    rejected(send(&api, headers, SEED_BODY).await, "request_expired").await;
    api.stop().await;
}

#[tokio::test]
async fn accepts_created_exactly_at_the_skew_edges() {
    let (api, clock) = api().await;
    clock.set_unix(T0 - 300);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("edge-new-1"), &hmac());
    assert_eq!(send(&api, headers, SEED_BODY).await.status(), 200);
    clock.set_unix(T0 + 300);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("edge-old-1"), &hmac());
    assert_eq!(send(&api, headers, SEED_BODY).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn rejects_expired_expires() {
    let (api, clock) = api().await;
    let p = params("expires-01").expires(T0 as i64 + 5);
    let headers = signed_headers(&api, SEED_BODY, &ALL, &p, &hmac());
    clock.set_unix(T0 + 6);
    rejected(send(&api, headers, SEED_BODY).await, "request_expired").await;
    api.stop().await;
}

#[tokio::test]
async fn rejects_replayed_nonce() {
    let (api, _) = api().await;
    let headers = signed_headers(&api, SEED_BODY, &ALL, &params("replay-001"), &hmac());
    assert_eq!(send(&api, headers.clone(), SEED_BODY).await.status(), 200);
    rejected(send(&api, headers, SEED_BODY).await, "replayed").await;
    api.stop().await;
}

#[tokio::test]
async fn accepts_same_payload_with_a_new_nonce() {
    let (api, _) = api().await;
    for nonce in ["payload-01", "payload-02"] {
        let headers = signed_headers(&api, SEED_BODY, &ALL, &params(nonce), &hmac());
        assert_eq!(send(&api, headers, SEED_BODY).await.status(), 200, "{nonce}");
    }
    api.stop().await;
}

/// SPEC §3.3 step 6: a forged request must not burn the nonce of a real one.
#[tokio::test]
async fn forged_request_does_not_consume_the_nonce() {
    let (api, _) = api().await;
    let forged = signed_headers(
        &api,
        SEED_BODY,
        &ALL,
        &params("shared-001"),
        &SigningKey::hmac_sha256(&[9; 32]).unwrap(),
    );
    rejected(send(&api, forged, SEED_BODY).await, "signature_invalid").await;
    let genuine = signed_headers(&api, SEED_BODY, &ALL, &params("shared-001"), &hmac());
    assert_eq!(send(&api, genuine, SEED_BODY).await.status(), 200);
    api.stop().await;
}
