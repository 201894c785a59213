//! JWT hygiene in `auth.mode = "jwt"` (SPEC §4, issue 13 item 5), against a
//! real identity server: the JOSE `typ`, `nbf` and `iat`, keys outside the
//! JWKS, and a key withdrawn from the JWKS.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use slipgate_guard::{Clock, ManualClock, SystemClock};
use slipgate_test_support::{SEED_BODY, TestApi};

use crate::expect_problem;

async fn jwt_api(extra: &[&str]) -> (TestApi, Arc<ManualClock>) {
    let now = u64::try_from(SystemClock.unix_seconds()).unwrap();
    let clock = Arc::new(ManualClock::at_unix(now));
    let mut overrides = vec!["auth.mode=jwt"];
    overrides.extend_from_slice(extra);
    (TestApi::spawn_with_clock(&overrides, clock.clone()).await, clock)
}

async fn send(api: &TestApi, clock: &Arc<ManualClock>, token: &str) -> reqwest::Response {
    let auth = format!("Bearer {token}");
    let signer = api.signer().with_clock(clock.clone());
    api.send_signed(&signer, "/generate/salaryslip", SEED_BODY, &[("authorization", &auth)]).await
}

/// The claims of a real token of alice, to re-sign with one thing changed.
async fn alice_claims(api: &TestApi) -> Value {
    let token = api.token_of("alice").await;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> i64 {
    SystemClock.unix_seconds()
}

#[tokio::test]
async fn jwt_mode_refuses_typ_jwt_even_signed_by_the_identity_servers_key() {
    let (api, clock) = jwt_api(&[]).await;
    let claims = alice_claims(&api).await;
    let generic = api.idp.sign_token("JWT", &claims).await;
    let response = send(&api, &clock, &generic).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    expect_problem(response, 401, "token_invalid").await;
    // The same claims as an access token pass: only `typ` differed.
    for typ in ["at+jwt", "application/at+jwt"] {
        let access = api.idp.sign_token(typ, &claims).await;
        assert_eq!(send(&api, &clock, &access).await.status(), 200, "{typ}");
    }
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_accepts_typ_jwt_only_when_configured() {
    let (api, clock) = jwt_api(&[r#"auth.jwt_typ=["at+jwt", "JWT"]"#]).await;
    let generic = api.idp.sign_token("JWT", &alice_claims(&api).await).await;
    assert_eq!(send(&api, &clock, &generic).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_refuses_a_token_before_its_nbf_beyond_the_leeway() {
    let (api, clock) = jwt_api(&[]).await;
    let mut claims = alice_claims(&api).await;
    claims["nbf"] = (now() + 120).into();
    let early = api.idp.sign_token("at+jwt", &claims).await;
    expect_problem(send(&api, &clock, &early).await, 401, "token_invalid").await;
    claims["nbf"] = (now() + 30).into();
    let within_leeway = api.idp.sign_token("at+jwt", &claims).await;
    assert_eq!(send(&api, &clock, &within_leeway).await.status(), 200);
    // Once the clock reaches nbf, the early token works.
    clock.advance(Duration::from_secs(121));
    assert_eq!(send(&api, &clock, &early).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_refuses_a_token_issued_two_minutes_in_the_future() {
    let (api, clock) = jwt_api(&[]).await;
    let mut claims = alice_claims(&api).await;
    claims["iat"] = (now() + 120).into();
    let future = api.idp.sign_token("at+jwt", &claims).await;
    expect_problem(send(&api, &clock, &future).await, 401, "token_invalid").await;
    claims["iat"] = (now() + 30).into();
    let within_leeway = api.idp.sign_token("at+jwt", &claims).await;
    assert_eq!(send(&api, &clock, &within_leeway).await.status(), 200);
    claims.as_object_mut().unwrap().remove("iat");
    let without_iat = api.idp.sign_token("at+jwt", &claims).await;
    expect_problem(send(&api, &clock, &without_iat).await, 401, "token_invalid").await;
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_refuses_tokens_signed_by_a_key_not_in_the_identity_servers_set() {
    use aws_lc_rs::signature::Ed25519KeyPair;
    let (api, clock) = jwt_api(&[]).await;
    let claims = alice_claims(&api).await;
    let (kid, _) = api.idp.signing_key().await;
    let pkcs8 = Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap();
    let forger = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    for kid in [kid.as_str(), "forged-kid"] {
        let forged = slipgate_httpsig::jose::sign_jwt(&claims, kid, &forger).unwrap();
        expect_problem(send(&api, &clock, &forged).await, 401, "token_invalid").await;
    }
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_stops_trusting_a_withdrawn_key_after_jwks_refresh() {
    let (mut api, clock) = jwt_api(&["auth.jwks_refresh=10s"]).await;
    let old = api.token_of("alice").await;
    assert_eq!(send(&api, &clock, &old).await.status(), 200);
    // The identity server now signs with a new key and no longer lists the old one.
    api.idp.restart_with_new_signing_key().await;
    assert_eq!(send(&api, &clock, &old).await.status(), 200, "the cached set is used until it is due");
    clock.advance(Duration::from_secs(11));
    expect_problem(send(&api, &clock, &old).await, 401, "token_invalid").await;
    let new = api.token_of("alice").await;
    assert_eq!(send(&api, &clock, &new).await.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn jwt_mode_fails_closed_when_the_jwks_is_due_and_cannot_be_read() {
    let (mut api, clock) = jwt_api(&["auth.jwks_refresh=10s"]).await;
    let alice = api.token_of("alice").await;
    assert_eq!(send(&api, &clock, &alice).await.status(), 200);
    api.idp.halt().await;
    assert_eq!(send(&api, &clock, &alice).await.status(), 200, "a fresh set needs no identity server");
    clock.advance(Duration::from_secs(11));
    expect_problem(send(&api, &clock, &alice).await, 503, "auth_unavailable").await;
    api.stop().await;
}

#[tokio::test]
async fn access_tokens_carry_the_client_id_claim() {
    let (api, _) = jwt_api(&[]).await;
    let claims = alice_claims(&api).await;
    assert!(claims["client_id"].as_str().is_some_and(|c| !c.is_empty()), "{claims}");
    api.stop().await;
}
