//! Access tokens verify locally against the published JWKS.

use reqwest::StatusCode;
use serde_json::Value;
use slipgate_httpsig::jose::{self, Jwks};

use crate::support::{TestIdp, split};

#[tokio::test]
async fn jwks_verifies_the_issued_access_token() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let response = idp.http.get(idp.url("/.well-known/jwks.json")).send().await.unwrap();
    let (status, _, body) = split(response).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: Jwks = serde_json::from_value(body).unwrap();
    let header = jose::decode_header(&access).unwrap();
    assert_eq!((header.alg.as_str(), header.typ.as_str()), ("EdDSA", "at+jwt"));
    let jwk = jwks.find(&header.kid).unwrap();
    assert_eq!((jwk.kty.as_str(), jwk.crv.as_str()), ("OKP", "Ed25519"));
    let claims: Value = jose::verify_jwt(&access, &jwks).unwrap();
    assert_eq!(claims["iss"], "https://127.0.0.1:8444");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], "slipgate-api");
    assert_eq!(claims["scope"], "salaryslip:self");
    assert_eq!(claims["emp_id"], "01234");
    assert_eq!(claims["client_id"], "slipgate-cli");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    idp.stop().await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_inactive() {
    let idp = TestIdp::spawn().await;
    let other = TestIdp::spawn().await;
    let foreign = other.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(idp.introspect(&foreign).await, serde_json::json!({"active": false}));
    other.stop().await;
    idp.stop().await;
}

#[tokio::test]
async fn signing_key_survives_a_restart() {
    let db_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db_dir.path().join("idp.db").display());
    let store = slipgate_idp::open_store(&url).await.unwrap();
    let key = db_dir.path().join("signing-key.pem");
    let first = TestIdp::spawn_with(store.clone(), tempfile::tempdir().unwrap(), &key, &[]).await;
    let token = first.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    first.stop().await;
    let second = TestIdp::spawn_with(store, tempfile::tempdir().unwrap(), &key, &[]).await;
    let response = second.http.get(second.url("/.well-known/jwks.json")).send().await.unwrap();
    let jwks: Jwks = serde_json::from_value(split(response).await.2).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert!(jose::verify_jwt::<Value>(&token, &jwks).is_ok());
    second.stop().await;
}
