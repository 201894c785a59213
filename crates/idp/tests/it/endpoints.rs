//! The OAuth endpoints through a real TLS server.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{PgDatabase, TestIdp, split};

#[tokio::test]
async fn password_grant_issues_bearer_and_refresh_tokens_that_no_cache_keeps() {
    let idp = TestIdp::spawn().await;
    let password = idp.password_of("alice");
    let (status, headers, body) =
        idp.token(&[("grant_type", "password"), ("username", "alice"), ("password", &password)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "salaryslip:self");
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    let payroll = idp.login_ok("paula").await;
    assert_eq!(payroll["scope"], "salaryslip:any");
    idp.stop().await;
}

#[tokio::test]
async fn wrong_password_is_invalid_grant() {
    let idp = TestIdp::spawn().await;
    let (status, body) = idp.login("alice", "not-the-password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
    idp.stop().await;
}

#[tokio::test]
async fn unknown_user_gets_the_same_invalid_grant_as_a_wrong_password() {
    let idp = TestIdp::spawn().await;
    let (wrong_status, wrong) = idp.login("alice", "not-the-password").await;
    let (unknown_status, unknown) = idp.login("mallory", "not-the-password").await;
    assert_eq!(unknown_status, wrong_status);
    assert_eq!(unknown, wrong);
    idp.stop().await;
}

#[tokio::test]
async fn disabled_user_cannot_log_in() {
    let idp = TestIdp::spawn().await;
    slipgate_idp::user_disable(idp.store.as_ref(), "alice").await.unwrap();
    let (status, body) = idp.login("alice", &idp.password_of("alice")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn rejects_a_scope_the_roles_do_not_allow() {
    let idp = TestIdp::spawn().await;
    let password = idp.password_of("alice");
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &password),
        ("scope", "salaryslip:any"),
    ];
    let (status, _, body) = idp.token(&form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &password),
        ("scope", "salaryslip:self"),
    ];
    let (status, _, body) = idp.token(&form).await;
    assert_eq!((status, body["scope"].as_str()), (StatusCode::OK, Some("salaryslip:self")));
    idp.stop().await;
}

#[tokio::test]
async fn rejects_unsupported_grant_types_and_malformed_forms() {
    let idp = TestIdp::spawn().await;
    // (SPEC v2 supports authorization_code; the device grant stays unsupported.)
    let device = "urn:ietf:params:oauth:grant-type:device_code";
    let (status, _, body) = idp.token(&[("grant_type", device), ("device_code", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));

    let (status, _, body) = idp.token(&[("grant_type", "password"), ("username", "alice")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    let repeated = idp
        .http
        .post(idp.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=alice&username=paula&password=x")
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(repeated).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    let json = idp
        .http
        .post(idp.url("/oauth/token"))
        .json(&serde_json::json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(json).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    idp.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_of_an_old_token_revokes_the_family() {
    let idp = TestIdp::spawn().await;
    let first = idp.login_ok("alice").await;
    let old_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, headers, second) =
        idp.token(&[("grant_type", "refresh_token"), ("refresh_token", &old_refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(headers["cache-control"], "no-store");
    let new_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(second["scope"], "salaryslip:self");
    let new_access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(idp.introspect(&new_access).await["active"], true);

    // The old token again: refused, and the whole session with it.
    let (status, _, body) =
        idp.token(&[("grant_type", "refresh_token"), ("refresh_token", &old_refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _, body) =
        idp.token(&[("grant_type", "refresh_token"), ("refresh_token", &new_refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(idp.introspect(&new_access).await, serde_json::json!({"active": false}));
    idp.stop().await;
}

#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let idp = TestIdp::spawn().await;
    let refresh = idp.login_ok("alice").await["refresh_token"].as_str().unwrap().to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh), ("scope", "salaryslip:any")];
    let (status, _, body) = idp.token(&form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    idp.stop().await;
}

#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let idp = TestIdp::spawn().await;
    let password = idp.password_of("alice");
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &password),
        ("client_id", "slipgate-cli"),
    ];
    let (_, _, body) = idp.token(&form).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", "other-app")];
    let (status, _, body) = idp.token(&form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let idp = TestIdp::spawn().await;
    let refresh = idp.login_ok("alice").await["refresh_token"].as_str().unwrap().to_owned();
    idp.clock.advance(Duration::from_secs(8 * 3600 + 1));
    let (status, _, body) = idp.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn client_credentials_needs_basic_auth_and_grants_the_client_scope() {
    let idp = TestIdp::spawn().await;
    let scopes = vec!["salaryslip:any".to_owned()];
    let secret = slipgate_idp::client_add_with_scopes(idp.store.as_ref(), "batch", "Batch job", &scopes)
        .await
        .unwrap();

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("batch", Some(secret.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "salaryslip:any");
    assert!(body.get("refresh_token").is_none());
    let claims = idp.introspect(body["access_token"].as_str().unwrap()).await;
    assert_eq!((claims["active"].as_bool(), claims["sub"].as_str()), (Some(true), Some("batch")));
    assert!(claims.get("emp_id").is_none());

    let (status, headers, body) = idp.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("batch", Some("wrong-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    idp.stop().await;
}

#[tokio::test]
async fn introspection_requires_a_registered_client() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let anonymous =
        idp.http.post(idp.url("/oauth/introspect")).form(&[("token", &access)]).send().await.unwrap();
    let (status, headers, body) = split(anonymous).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert!(headers.contains_key("www-authenticate"));
    let (id, _) = idp.introspection_client();
    let wrong = idp
        .http
        .post(idp.url("/oauth/introspect"))
        .basic_auth(id, Some("not-the-secret"))
        .form(&[("token", &access)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    idp.stop().await;
}

#[tokio::test]
async fn introspection_reports_the_active_claims() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let claims = idp.introspect(&access).await;
    assert_eq!(claims["active"], true);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["scope"], "salaryslip:self");
    assert_eq!(claims["emp_id"], "01234");
    assert_eq!(claims["client_id"], "slipgate-cli");
    assert_eq!(claims["token_type"], "Bearer");
    assert_eq!(claims["aud"], "slipgate-api");
    assert_eq!(claims["iss"], "https://127.0.0.1:8444");
    let now = slipgate_proto::clock::Clock::unix_seconds(idp.clock.as_ref());
    assert_eq!(claims["iat"].as_i64(), Some(now));
    assert_eq!(claims["exp"].as_i64(), Some(now + 900));
    idp.stop().await;
}

#[tokio::test]
async fn introspection_is_inactive_after_revocation() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(idp.revoke(&access).await, StatusCode::OK);
    assert_eq!(idp.introspect(&access).await, serde_json::json!({"active": false}));
    idp.stop().await;
}

#[tokio::test]
async fn introspection_is_inactive_after_expiry() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    idp.clock.advance(Duration::from_secs(899));
    assert_eq!(idp.introspect(&access).await["active"], true);
    idp.clock.advance(Duration::from_secs(1));
    assert_eq!(idp.introspect(&access).await, serde_json::json!({"active": false}));
    idp.stop().await;
}

#[tokio::test]
async fn introspection_is_inactive_for_a_disabled_user() {
    let idp = TestIdp::spawn().await;
    let access = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    slipgate_idp::user_disable(idp.store.as_ref(), "alice").await.unwrap();
    assert_eq!(idp.introspect(&access).await, serde_json::json!({"active": false}));
    idp.stop().await;
}

#[tokio::test]
async fn introspection_is_inactive_for_garbage_and_refresh_tokens() {
    let idp = TestIdp::spawn().await;
    let tokens = idp.login_ok("alice").await;
    for token in ["garbage", "a.b.c", tokens["refresh_token"].as_str().unwrap()] {
        assert_eq!(idp.introspect(token).await, serde_json::json!({"active": false}), "{token}");
    }
    idp.stop().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let idp = TestIdp::spawn().await;
    let tokens = idp.login_ok("alice").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(idp.revoke(refresh).await, StatusCode::OK);
    let (status, _, body) = idp.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(idp.introspect(tokens["access_token"].as_str().unwrap()).await["active"], false);
    idp.stop().await;
}

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    let idp = TestIdp::spawn().await;
    assert_eq!(idp.revoke("no-such-token").await, StatusCode::OK);
    let response = idp
        .http
        .post(idp.url("/oauth/revoke"))
        .basic_auth("slipgate-api", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    idp.stop().await;
}

#[tokio::test]
async fn metadata_document_names_the_endpoints() {
    let idp = TestIdp::spawn().await;
    let response = idp.http.get(idp.url("/.well-known/oauth-authorization-server")).send().await.unwrap();
    let (status, _, meta) = split(response).await;
    assert_eq!(status, StatusCode::OK);
    let issuer = "https://127.0.0.1:8444";
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(meta["introspection_endpoint"], format!("{issuer}/oauth/introspect"));
    assert_eq!(meta["revocation_endpoint"], format!("{issuer}/oauth/revoke"));
    assert_eq!(meta["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    let grants: Vec<&str> =
        meta["grant_types_supported"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(grants, ["password", "refresh_token", "client_credentials", "authorization_code"]);
    assert!(meta["scopes_supported"].as_array().unwrap().contains(&Value::from("salaryslip:self")));
    idp.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json_errors() {
    let idp = TestIdp::spawn().await;
    let (status, headers, body) = split(idp.http.get(idp.url("/nope")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let (status, _, _) = split(idp.http.get(idp.url("/oauth/token")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    idp.stop().await;
}

#[tokio::test]
async fn postgres_backed_server_issues_and_introspects_tokens() {
    let db = PgDatabase::create().await;
    let idp = TestIdp::spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let tokens = idp.login_ok("alice").await;
    assert_eq!(idp.introspect(tokens["access_token"].as_str().unwrap()).await["emp_id"], "01234");
    let (status, _, _) = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    idp.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn seed_dev_resets_credentials_on_a_second_run() {
    let (store, _dir) = crate::support::sqlite_store().await;
    let first = slipgate_idp::seed_dev(store.as_ref()).await.unwrap();
    let second = slipgate_idp::seed_dev(store.as_ref()).await.unwrap();
    assert_eq!(first.users.len(), 2);
    assert_ne!(first.users[0].password, second.users[0].password);
    assert_eq!(first.introspection_client.0, second.introspection_client.0);
    assert_ne!(first.introspection_client.1, second.introspection_client.1);
    let json = second.to_dev_json();
    assert_eq!(json["users"][0]["username"], "alice");
    assert_eq!(json["users"][0]["emp_id"], "01234");
    assert_eq!(json["users"][0]["roles"], serde_json::json!(["employee"]));
    assert_eq!(json["users"][1]["roles"], serde_json::json!(["payroll"]));
    assert_eq!(json["users"][0]["password"].as_str().unwrap().len(), 24);
    assert!(!format!("{second:?}").contains(second.users[0].password.expose()));
    let users = slipgate_idp::user_list(store.as_ref()).await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(slipgate_idp::client_list(store.as_ref()).await.unwrap()[0].client_id, "slipgate-api");
}

#[tokio::test]
async fn router_answers_without_a_socket() {
    use tower::ServiceExt as _;
    let (store, _dir) = crate::support::sqlite_store().await;
    let key = _dir.path().join("signing-key.pem");
    let config: slipgate_idp::IdpConfig = slipgate_idp::ConfigLoader::new()
        .set_override("tls.cert=\"unused.pem\"")
        .unwrap()
        .set_override("tls.key=\"unused.pem\"")
        .unwrap()
        .set_override(&format!("idp.signing_key_file={:?}", key.display().to_string()))
        .unwrap()
        .load()
        .unwrap();
    let clock = std::sync::Arc::new(slipgate_proto::clock::ManualClock::at_unix(1_767_225_600));
    let state = slipgate_idp::IdpState::new(&config, store, clock).await.unwrap();
    let request = http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=password&username=nobody&password=wrong-guess"))
        .unwrap();
    let response = slipgate_idp::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["cache-control"], "no-store");
}
