//! Tokens and authorization (SPEC §3.4, §4) through the real API and a real
//! identity server: introspection (default) and jwt mode.

use std::sync::Arc;
use std::time::Duration;

use slipgate_guard::ManualClock;
use slipgate_guard::{Clock, SystemClock};
use slipgate_test_support::{SEED_BODY, TestApi};

use crate::expect_problem;

const ALICE_OWN: &str = SEED_BODY; // emp_id 01234 is alice's
fn someone_else() -> String {
    SEED_BODY.replace("01234", "00042")
}

async fn as_token(api: &TestApi, token: &str, body: &str) -> reqwest::Response {
    let auth = format!("Bearer {token}");
    api.post_signed(body, &[("authorization", auth.as_str())]).await
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn employee_gets_her_own_slip() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    assert_eq!(as_token(&api, &alice, ALICE_OWN).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn employee_is_forbidden_another_employees_slip() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    expect_problem(as_token(&api, &alice, &someone_else()).await, 403, "forbidden").await;
    api.stop().await;
}

/// SPEC §3.4: a `salaryslip:self` request must repeat the token's record; the
/// rule runs before validation, so another employee's invalid body is 403.
#[tokio::test]
async fn employee_is_forbidden_her_own_emp_id_with_another_record_before_validation() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    let paula = api.token_of("paula").await;
    let promoted = ALICE_OWN.replace("\"7.1\"", "\"8.1\"").replace('}', ",\"pay_period\":\"2099-12\"}");
    let renamed = ALICE_OWN.replace("John Doe", "Alice Anything");
    let probe = r#"{"emp_id":"00042","emp_code":"?","emp_name":"<b>","emp_grade":"x","working_days":-1}"#;
    for body in [promoted.as_str(), renamed.as_str(), probe] {
        expect_problem(as_token(&api, &alice, body).await, 403, "forbidden").await;
    }
    assert_eq!(as_token(&api, &paula, &promoted).await.status(), 200);
    expect_problem(as_token(&api, &paula, probe).await, 422, "validation_failed").await;
    api.stop().await;
}

#[tokio::test]
async fn payroll_gets_anyones_slip() {
    let api = TestApi::spawn(&[]).await;
    let paula = api.token_of("paula").await;
    assert_eq!(as_token(&api, &paula, &someone_else()).await.status(), 200);
    assert_eq!(as_token(&api, &paula, ALICE_OWN).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn token_without_salary_scope_gets_insufficient_scope() {
    let api = TestApi::spawn(&[]).await;
    let secret = slipgate_idp::client_add_with_scopes(api.idp.store.as_ref(), "reporting", "Reporting", &[])
        .await
        .unwrap();
    let response = api
        .idp
        .http
        .post(api.idp.url("/oauth/token"))
        .basic_auth("reporting", Some(secret.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let response = as_token(&api, &token, ALICE_OWN).await;
    assert!(challenge(&response).contains("error=\"insufficient_scope\""), "{}", challenge(&response));
    expect_problem(response, 403, "insufficient_scope").await;
    api.stop().await;
}

#[tokio::test]
async fn non_bearer_authorization_gets_token_missing() {
    let api = TestApi::spawn(&[]).await;
    let response = api.post_signed(SEED_BODY, &[("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")]).await;
    assert_eq!(challenge(&response), "Bearer");
    expect_problem(response, 401, "token_missing").await;
    api.stop().await;
}

#[tokio::test]
async fn garbage_token_gets_token_invalid() {
    let api = TestApi::spawn(&[]).await;
    let response = as_token(&api, "not-a-token", ALICE_OWN).await;
    assert_eq!(challenge(&response), "Bearer error=\"invalid_token\"");
    expect_problem(response, 401, "token_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn expired_token_gets_token_invalid() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    api.idp.clock.advance(Duration::from_secs(16 * 60));
    let response = as_token(&api, &alice, ALICE_OWN).await;
    assert_eq!(challenge(&response), "Bearer error=\"invalid_token\"");
    expect_problem(response, 401, "token_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn revoked_token_gets_token_invalid() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    assert!(api.idp.revoke(&alice).await.is_success());
    expect_problem(as_token(&api, &alice, ALICE_OWN).await, 401, "token_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn unreachable_identity_server_gets_auth_unavailable() {
    let mut api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    api.idp.halt().await;
    expect_problem(as_token(&api, &alice, ALICE_OWN).await, 503, "auth_unavailable").await;
    api.stop().await;
}

#[tokio::test]
async fn identity_server_with_a_certificate_from_another_ca_is_refused() {
    // The API's own CA did not sign the identity server's certificate.
    let api = TestApi::spawn(&[]).await;
    let wrong = TestApi::spawn(&[&format!("auth.ca=\"{}\"", api.ca.display())]).await;
    let token = wrong.token_of("alice").await;
    expect_problem(as_token(&wrong, &token, ALICE_OWN).await, 503, "auth_unavailable").await;
    wrong.stop().await;
    api.stop().await;
}

async fn jwt_api() -> (TestApi, Arc<ManualClock>) {
    let now = u64::try_from(SystemClock.unix_seconds()).unwrap();
    let clock = Arc::new(ManualClock::at_unix(now));
    (TestApi::spawn_with_clock(&["auth.mode=jwt"], clock.clone()).await, clock)
}

#[tokio::test]
async fn jwt_mode_applies_the_same_rules() {
    let (api, _) = jwt_api().await;
    let alice = api.token_of("alice").await;
    let paula = api.token_of("paula").await;
    assert_eq!(as_token(&api, &alice, ALICE_OWN).await.status(), 200);
    expect_problem(as_token(&api, &alice, &someone_else()).await, 403, "forbidden").await;
    assert_eq!(as_token(&api, &paula, &someone_else()).await.status(), 200);
    expect_problem(as_token(&api, "a.b.c", ALICE_OWN).await, 401, "token_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_refuses_expired_tokens() {
    let (api, clock) = jwt_api().await;
    let alice = api.token_of("alice").await;
    clock.advance(Duration::from_secs(16 * 60));
    // Keep the signature fresh: sign with the API's (advanced) clock.
    let signer = api.signer().with_clock(clock.clone());
    let auth = format!("Bearer {alice}");
    let response =
        api.send_signed(&signer, "/generate/salaryslip", ALICE_OWN, &[("authorization", &auth)]).await;
    expect_problem(response, 401, "token_invalid").await;
    api.stop().await;
}

/// Documented limitation: jwt mode does not see a revocation until `exp`.
#[tokio::test]
async fn jwt_mode_does_not_see_revocation_before_expiry() {
    let (api, _) = jwt_api().await;
    let alice = api.token_of("alice").await;
    assert!(api.idp.revoke(&alice).await.is_success());
    assert_eq!(as_token(&api, &alice, ALICE_OWN).await.status(), 200);
    api.stop().await;
}

/// A stolen token alone is useless: the thief cannot sign with a registered key.
#[tokio::test]
async fn stolen_token_without_the_signing_key_is_refused() {
    let api = TestApi::spawn(&[]).await;
    let alice = api.token_of("alice").await;
    let auth = format!("Bearer {alice}");
    for keyid in [slipgate_test_support::TEST_HMAC_ID, "thief"] {
        let thief_key = slipgate_httpsig::SigningKey::hmac_sha256(&[0x5a; 32]).unwrap();
        let signer = slipgate_client::RequestSigner::new(keyid, thief_key);
        let response = api
            .send_signed(&signer, "/generate/salaryslip", ALICE_OWN, &[("authorization", auth.as_str())])
            .await;
        let code = if keyid == "thief" { "unknown_key" } else { "signature_invalid" };
        expect_problem(response, 401, code).await;
    }
    api.stop().await;
}
