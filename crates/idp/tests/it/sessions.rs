//! Sessions (issue 13 item 2) and client authentication (item 4) through a
//! real TLS server.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use slipgate_idp::Secret;
use slipgate_idp::sessions::{session_list, session_revoke, session_revoke_all};
use slipgate_proto::clock::Clock as _;

use crate::support::{TestIdp, split};

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_owned()
}

async fn refresh(idp: &TestIdp, token: &str) -> (StatusCode, Value) {
    let (status, _, body) = idp.token(&[("grant_type", "refresh_token"), ("refresh_token", token)]).await;
    (status, body)
}

fn error(status: StatusCode, body: &Value) -> (StatusCode, Option<&str>) {
    (status, body["error"].as_str())
}

/// Posts `form` to `path`, with HTTP Basic when `basic` is given.
async fn post(
    idp: &TestIdp,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = idp.http.post(idp.url(path)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let (status, _, body) = split(request.send().await.unwrap()).await;
    (status, body)
}

#[tokio::test]
async fn password_change_ends_every_session_at_once() {
    let idp = TestIdp::spawn().await;
    let first = idp.login_ok("alice").await;
    let second = idp.login_ok("alice").await;
    let paula = idp.login_ok("paula").await;
    slipgate_idp::user_passwd(idp.store.as_ref(), "alice", &Secret::new("a brand new passphrase"))
        .await
        .unwrap();
    for tokens in [&first, &second] {
        assert_eq!(idp.introspect(&s(tokens, "access_token")).await, json!({"active": false}));
        let (status, body) = refresh(&idp, &s(tokens, "refresh_token")).await;
        assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    }
    assert_eq!(idp.introspect(&s(&paula, "access_token")).await["active"], true, "other users keep theirs");
    let (status, _) = idp.login("alice", &idp.password_of("alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the old password is gone");
    let (status, fresh) = idp.login("alice", "a brand new passphrase").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idp.introspect(&s(&fresh, "access_token")).await["active"], true);
    idp.stop().await;
}

#[tokio::test]
async fn disable_ends_every_session_and_enabling_does_not_revive_them() {
    let idp = TestIdp::spawn().await;
    let tokens = idp.login_ok("alice").await;
    slipgate_idp::user_disable(idp.store.as_ref(), "alice").await.unwrap();
    slipgate_idp::user_enable(idp.store.as_ref(), "alice").await.unwrap();
    assert_eq!(idp.introspect(&s(&tokens, "access_token")).await, json!({"active": false}));
    let (status, body) = refresh(&idp, &s(&tokens, "refresh_token")).await;
    assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn refresh_expiry_is_absolute_from_the_login() {
    let idp = TestIdp::spawn().await;
    let login_at = idp.clock.unix_seconds();
    let mut tokens = idp.login_ok("alice").await;
    // Refresh every 2 h: under a sliding expiry the session would never end.
    for _ in 0..3 {
        idp.clock.advance(Duration::from_secs(2 * 3600));
        let (status, next) = refresh(&idp, &s(&tokens, "refresh_token")).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        tokens = next;
    }
    // 7h59m after the login: the access token may not outlive the session.
    idp.clock.advance(Duration::from_secs(3600 + 59 * 60));
    let (status, last) = refresh(&idp, &s(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_eq!(last["expires_in"], 60);
    let claims = idp.introspect(&s(&last, "access_token")).await;
    assert_eq!(claims["exp"].as_i64(), Some(login_at + 8 * 3600));
    // 8 h after the login, the refresh token issued a minute ago is dead.
    idp.clock.advance(Duration::from_secs(60));
    let (status, body) = refresh(&idp, &s(&last, "refresh_token")).await;
    assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_by_one_or_all() {
    let idp = TestIdp::spawn().await;
    let now = idp.clock.unix_seconds();
    let a = idp.login_ok("alice").await;
    idp.clock.advance(Duration::from_secs(10));
    let b = idp.login_ok("alice").await;
    let listed = session_list(idp.store.as_ref(), "alice", now + 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0].created_at, listed[1].created_at), (now, now + 10));
    assert_eq!(listed[0].client_id, "slipgate-cli");
    assert_eq!(listed[0].expires_at, now + 8 * 3600);
    assert_eq!(listed[0].key_thumbprint, None);

    // Another user's session id is "not found" for alice, and stays live.
    let paula = idp.login_ok("paula").await;
    let paula_sid = session_list(idp.store.as_ref(), "paula", now + 10).await.unwrap().remove(0).session_id;
    assert!(session_revoke(idp.store.as_ref(), "alice", &paula_sid).await.is_err());
    assert_eq!(idp.introspect(&s(&paula, "access_token")).await["active"], true);

    session_revoke(idp.store.as_ref(), "alice", &listed[0].session_id).await.unwrap();
    assert_eq!(idp.introspect(&s(&a, "access_token")).await, json!({"active": false}));
    assert_eq!(idp.introspect(&s(&b, "access_token")).await["active"], true);
    // A refresh updates "last used".
    idp.clock.advance(Duration::from_secs(5));
    let (status, b2) = refresh(&idp, &s(&b, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    let listed = session_list(idp.store.as_ref(), "alice", now + 15).await.unwrap();
    assert_eq!((listed.len(), listed[0].last_used_at), (1, now + 15));

    assert_eq!(session_revoke_all(idp.store.as_ref(), "alice").await.unwrap(), 1);
    assert_eq!(idp.introspect(&s(&b2, "access_token")).await, json!({"active": false}));
    assert!(session_list(idp.store.as_ref(), "alice", now + 15).await.unwrap().is_empty());
    assert!(session_list(idp.store.as_ref(), "nobody", now).await.is_err());
    idp.stop().await;
}

#[tokio::test]
async fn naming_a_confidential_client_without_its_credentials_is_invalid_client() {
    let idp = TestIdp::spawn().await;
    let (id, secret) = idp.introspection_client();
    let password = idp.password_of("alice");
    let form =
        [("grant_type", "password"), ("username", "alice"), ("password", &password), ("client_id", &id)];
    let (status, body) = post(&idp, "/oauth/token", None, &form).await;
    assert_eq!(error(status, &body), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (status, body) = post(&idp, "/oauth/token", Some((&id, "wrong-secret")), &form).await;
    assert_eq!(error(status, &body), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert!(
        slipgate_idp::sessions::session_list(idp.store.as_ref(), "alice", idp.clock.unix_seconds())
            .await
            .unwrap()
            .is_empty(),
        "no session was recorded for the refused attempts"
    );
    let (status, body) = post(&idp, "/oauth/token", Some((&id, &secret)), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(idp.introspect(&s(&body, "access_token")).await["client_id"], id.as_str());
    idp.stop().await;
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_needs_its_credentials_and_is_not_spent_without() {
    let idp = TestIdp::spawn().await;
    let (id, secret) = idp.introspection_client();
    let password = idp.password_of("alice");
    let login = [("grant_type", "password"), ("username", "alice"), ("password", &password)];
    let (status, tokens) = post(&idp, "/oauth/token", Some((&id, &secret)), &login).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = s(&tokens, "refresh_token");
    let bare = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
    let (status, body) = post(&idp, "/oauth/token", None, &bare).await;
    assert_eq!(error(status, &body), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let public =
        [("grant_type", "refresh_token"), ("refresh_token", token.as_str()), ("client_id", "slipgate-cli")];
    let (status, body) = post(&idp, "/oauth/token", None, &public).await;
    assert_eq!(error(status, &body), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    // Neither attempt spent it or ended the session: its owner still refreshes.
    assert_eq!(idp.introspect(&s(&tokens, "access_token")).await["active"], true);
    let (status, body) = post(&idp, "/oauth/token", Some((&id, &secret)), &bare).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    idp.stop().await;
}

#[tokio::test]
async fn revocation_is_only_by_the_tokens_own_client() {
    let idp = TestIdp::spawn().await;
    let (id, secret) = idp.introspection_client();
    let tokens = idp.login_ok("alice").await;
    let (access, refresh_token) = (s(&tokens, "access_token"), s(&tokens, "refresh_token"));
    for token in [&access, &refresh_token] {
        let named = [("token", token.as_str()), ("client_id", "other-app")];
        let (status, body) = post(&idp, "/oauth/revoke", None, &named).await;
        assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
        let (status, body) = post(&idp, "/oauth/revoke", Some((&id, &secret)), &[("token", token)]).await;
        assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
        let confidential = [("token", token.as_str()), ("client_id", id.as_str())];
        let (status, body) = post(&idp, "/oauth/revoke", None, &confidential).await;
        assert_eq!(error(status, &body), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    }
    assert_eq!(idp.introspect(&access).await["active"], true, "the token stays active");
    // Its own (public) client, named or by default, may.
    let own = [("token", refresh_token.as_str()), ("client_id", "slipgate-cli")];
    let (status, _) = post(&idp, "/oauth/revoke", None, &own).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idp.introspect(&access).await, json!({"active": false}));

    // A confidential client's token: only with its credentials.
    let password = idp.password_of("paula");
    let login = [("grant_type", "password"), ("username", "paula"), ("password", &password)];
    let (_, theirs) = post(&idp, "/oauth/token", Some((&id, &secret)), &login).await;
    let token = s(&theirs, "access_token");
    let (status, body) = post(&idp, "/oauth/revoke", None, &[("token", &token)]).await;
    assert_eq!(error(status, &body), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
    assert_eq!(idp.introspect(&token).await["active"], true);
    let (status, _) = post(&idp, "/oauth/revoke", Some((&id, &secret)), &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idp.introspect(&token).await, json!({"active": false}));
    idp.stop().await;
}

#[tokio::test]
async fn the_built_in_public_client_cannot_be_registered() {
    let idp = TestIdp::spawn().await;
    let refused = slipgate_idp::client_add(idp.store.as_ref(), "slipgate-cli", "Impostor").await;
    assert!(refused.is_err());
    idp.stop().await;
}
