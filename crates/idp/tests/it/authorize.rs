//! `GET|POST /oauth/authorize` and the authorization-code grant (SPEC §4), attacked through a
//! real TLS server: wrong or missing `state`, a `redirect_uri` off by one character, a code used
//! twice, a code without its verifier or with another one, the form posted cross-site, `plain`.

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestIdp, split};

const CLIENT: &str = "slipgate-console";
const REDIRECT: &str = "https://127.0.0.1:8443/console/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-console-test";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// A server with the console registered, and a client that does not follow redirects.
async fn setup() -> (TestIdp, reqwest::Client) {
    let idp = TestIdp::spawn().await;
    slipgate_idp::client_add_public(idp.store.as_ref(), CLIENT, "console", &[REDIRECT.to_owned()])
        .await
        .unwrap();
    let tls = slipgate_test_support::client_tls(&idp.ca, &[&rustls::version::TLS13], &[]);
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (idp, http)
}

fn request_params(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", CLIENT.into()),
        ("redirect_uri", REDIRECT.into()),
        ("state", state.into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn get_form(idp: &TestIdp, http: &reqwest::Client, params: &[(&str, String)]) -> reqwest::Response {
    let query = serde_urlencoded::to_string(params).unwrap();
    http.get(idp.url(&format!("/oauth/authorize?{query}"))).send().await.unwrap()
}

/// The hidden fields of the login page.
fn hidden_fields(html: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for input in html.split("<input type=\"hidden\" ").skip(1) {
        let name = input.split("name=\"").nth(1).unwrap().split('"').next().unwrap();
        let value = input.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
        fields.insert(name.to_owned(), value.replace("&amp;", "&").replace("&quot;", "\""));
    }
    fields
}

async fn post_form(
    idp: &TestIdp,
    http: &reqwest::Client,
    fields: &HashMap<String, String>,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = http.post(idp.url("/oauth/authorize")).form(fields);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

fn own_origin(idp: &TestIdp) -> String {
    format!("https://{}", idp.addr)
}

/// Logs in as `user` through the form and returns the redirect's query parameters.
async fn login_for_code(
    idp: &TestIdp,
    http: &reqwest::Client,
    user: &str,
    state: &str,
) -> HashMap<String, String> {
    let page = get_form(idp, http, &request_params(state)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.insert("username".into(), user.into());
    fields.insert("password".into(), idp.password_of(user));
    let answer = post_form(idp, http, &fields, Some(&own_origin(idp))).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    redirect_query(&answer)
}

fn redirect_query(answer: &reqwest::Response) -> HashMap<String, String> {
    let location = answer.headers()["location"].to_str().unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, REDIRECT, "redirected only to the registered URI");
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap().into_iter().collect()
}

async fn exchange(idp: &TestIdp, code: &str, verifier: Option<&str>, redirect: &str) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (status, _, body) = idp.token(&form).await;
    (status, body)
}

async fn introspect(idp: &TestIdp, token: &str) -> Value {
    let (id, secret) = idp.introspection_client();
    let response = idp
        .http
        .post(idp.url("/oauth/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    split(response).await.2
}

#[tokio::test]
async fn the_code_flow_issues_tokens_for_the_user_who_logged_in() {
    let (idp, http) = setup().await;
    let page = get_form(&idp, &http, &request_params("s-1")).await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self' https://127.0.0.1:8443"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers().get("set-cookie").is_none(), "no cookies");
    let query = login_for_code(&idp, &http, "paula", "s-1").await;
    assert_eq!(query["state"], "s-1");
    assert_eq!(query["iss"], idp.issuer);
    let (status, body) = exchange(&idp, &query["code"], Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "salaryslip:any");
    let active = introspect(&idp, body["access_token"].as_str().unwrap()).await;
    assert_eq!((active["active"].as_bool(), active["sub"].as_str()), (Some(true), Some("paula")));
    assert_eq!(active["client_id"], CLIENT);
    // The refresh token works like any other, for this client.
    let (status, _, refreshed) = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", CLIENT),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    idp.stop().await;
}

#[tokio::test]
async fn metadata_publishes_the_authorization_endpoint_and_s256_only() {
    let (idp, http) = setup().await;
    let meta = http.get(idp.url("/.well-known/oauth-authorization-server")).send().await.unwrap();
    let meta: Value = meta.json().await.unwrap();
    assert_eq!(meta["authorization_endpoint"], format!("{}/oauth/authorize", idp.issuer));
    assert_eq!(meta["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert!(meta["grant_types_supported"].as_array().unwrap().contains(&Value::from("authorization_code")));
    idp.stop().await;
}

#[tokio::test]
async fn a_missing_state_gets_no_code() {
    let (idp, http) = setup().await;
    let mut params = request_params("x");
    params.retain(|(n, _)| *n != "state");
    let answer = get_form(&idp, &http, &params).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let query = redirect_query(&answer);
    assert_eq!(query["error"], "invalid_request");
    assert!(!query.contains_key("code") && !query.contains_key("state"));
    // An empty or oversized state is the same.
    for bad in [String::new(), "s".repeat(257), "has space".into()] {
        let answer = get_form(&idp, &http, &request_params(&bad)).await;
        assert_eq!(redirect_query(&answer)["error"], "invalid_request", "{bad:?}");
    }
    idp.stop().await;
}

#[tokio::test]
async fn a_form_whose_state_was_changed_is_refused() {
    let (idp, http) = setup().await;
    let page = get_form(&idp, &http, &request_params("the-real-state")).await;
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.insert("username".into(), "alice".into());
    fields.insert("password".into(), idp.password_of("alice"));
    for (name, value) in [
        ("state", "attacker-state".to_owned()),
        ("code_challenge", challenge("attacker-verifier-attacker-verifier-attacker")),
        ("scope", "salaryslip:any".to_owned()),
    ] {
        let mut forged = fields.clone();
        forged.insert(name.into(), value);
        let answer = post_form(&idp, &http, &forged, Some(&own_origin(&idp))).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(answer.headers().get("location").is_none(), "{name}");
    }
    // The untouched form still works: the refusals spent nothing.
    let answer = post_form(&idp, &http, &fields, Some(&own_origin(&idp))).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(redirect_query(&answer)["state"], "the-real-state");
    idp.stop().await;
}

#[tokio::test]
async fn a_redirect_uri_off_by_one_character_is_never_redirected_to() {
    let (idp, http) = setup().await;
    let near_misses = [
        "https://127.0.0.1:8443/console/callbacK",
        "https://127.0.0.1:8443/console/callback/",
        "https://127.0.0.1:8443/console/callbac",
        "https://127.0.0.1:8444/console/callback",
        "http://127.0.0.1:8443/console/callback",
        "https://127.0.0.1:8443/console/callback?x",
        "https://127.0.0.1:8443/console/callback#",
        "https://127.0.0.2:8443/console/callback",
    ];
    for uri in near_misses {
        let mut params = request_params("s");
        params.retain(|(n, _)| *n != "redirect_uri");
        params.push(("redirect_uri", uri.into()));
        let answer = get_form(&idp, &http, &params).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(answer.headers().get("location").is_none(), "{uri}");
        assert!(!answer.text().await.unwrap().contains("form_token"), "{uri}");
    }
    // Unknown and confidential clients get no form either.
    let (id, _) = idp.introspection_client();
    for client in ["nobody", id.as_str()] {
        let mut params = request_params("s");
        params.retain(|(n, _)| *n != "client_id");
        params.push(("client_id", client.into()));
        assert_eq!(get_form(&idp, &http, &params).await.status(), StatusCode::BAD_REQUEST, "{client}");
    }
    // And at the token endpoint the code is tied to the URI it was issued for.
    let query = login_for_code(&idp, &http, "alice", "s").await;
    let (status, body) =
        exchange(&idp, &query["code"], Some(VERIFIER), "https://127.0.0.1:8443/console/callback/").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn plain_and_missing_pkce_are_refused() {
    let (idp, http) = setup().await;
    for method in [Some("plain"), None, Some("s256")] {
        let mut params = request_params("s");
        params.retain(|(n, _)| *n != "code_challenge_method");
        if let Some(m) = method {
            params.push(("code_challenge_method", m.into()));
        }
        let query = redirect_query(&get_form(&idp, &http, &params).await);
        assert_eq!(query["error"], "invalid_request", "{method:?}");
        assert_eq!(query["state"], "s");
        assert!(!query.contains_key("code"));
    }
    let mut params = request_params("s");
    params.retain(|(n, _)| *n != "code_challenge");
    params.push(("code_challenge", VERIFIER.into())); // a verifier, not its hash: wrong length
    assert_eq!(redirect_query(&get_form(&idp, &http, &params).await)["error"], "invalid_request");
    // Repeated or unknown parameters get a page, not a redirect.
    let mut params = request_params("s");
    params.push(("state", "other".into()));
    assert_eq!(get_form(&idp, &http, &params).await.status(), StatusCode::BAD_REQUEST);
    idp.stop().await;
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_revokes_what_the_first_use_issued() {
    let (idp, http) = setup().await;
    let query = login_for_code(&idp, &http, "alice", "s").await;
    let (status, first) = exchange(&idp, &query["code"], Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&idp, access).await["active"], true);
    let (status, second) = exchange(&idp, &query["code"], Some(VERIFIER), REDIRECT).await;
    assert_eq!((status, second["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(introspect(&idp, access).await["active"], false, "the first exchange's tokens are revoked");
    let (status, _, refresh) = idp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("client_id", CLIENT),
        ])
        .await;
    assert_eq!((status, refresh["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn thirty_concurrent_exchanges_of_one_code_yield_one_token() {
    let (idp, http) = setup().await;
    let query = login_for_code(&idp, &http, "paula", "s").await;
    let code = query["code"].clone();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let http = idp.http.clone();
            let url = idp.url("/oauth/token");
            let code = code.clone();
            tokio::spawn(async move {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("client_id", CLIENT),
                    ("code_verifier", VERIFIER),
                ];
                http.post(url).form(&form).send().await.unwrap().status()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
    idp.stop().await;
}

#[tokio::test]
async fn a_code_without_its_verifier_or_with_another_one_is_refused() {
    let (idp, http) = setup().await;
    // No verifier: refused before the code is touched.
    let query = login_for_code(&idp, &http, "alice", "s").await;
    let (status, body) = exchange(&idp, &query["code"], None, REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    // A malformed one likewise.
    let (status, body) = exchange(&idp, &query["code"], Some("short"), REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    // A well-formed wrong verifier (an interceptor's guess) burns the code.
    let wrong = "a".repeat(64);
    let (status, body) = exchange(&idp, &query["code"], Some(&wrong), REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, body) = exchange(&idp, &query["code"], Some(VERIFIER), REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // A code given to another client id, or presented by a confidential client, fails too.
    let query = login_for_code(&idp, &http, "alice", "s").await;
    let (status, _, body) = idp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", REDIRECT),
            ("client_id", "slipgate-cli"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let (idp, http) = setup().await;
    let query = login_for_code(&idp, &http, "alice", "s").await;
    idp.clock.advance(std::time::Duration::from_secs(61));
    let (status, body) = exchange(&idp, &query["code"], Some(VERIFIER), REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    idp.stop().await;
}

#[tokio::test]
async fn the_login_form_posted_cross_site_is_refused() {
    let (idp, http) = setup().await;
    let page = get_form(&idp, &http, &request_params("s")).await;
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.insert("username".into(), "alice".into());
    fields.insert("password".into(), idp.password_of("alice"));
    // Another origin, or an opaque one.
    for origin in ["https://evil.example", "null", "https://127.0.0.1:8443"] {
        let answer = post_form(&idp, &http, &fields, Some(origin)).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(answer.headers().get("location").is_none());
    }
    // A browser's Fetch Metadata saying cross-site, even with a matching Origin.
    let answer = http
        .post(idp.url("/oauth/authorize"))
        .header("origin", own_origin(&idp))
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // An opaque origin passes only with Fetch Metadata saying same-origin (still needing the token).
    let answer = http
        .post(idp.url("/oauth/authorize"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // No anti-forgery token, or a forged or foreign one.
    let mut other_page =
        hidden_fields(&get_form(&idp, &http, &request_params("another-request")).await.text().await.unwrap());
    for token in [None, Some("0.AAAA".to_owned()), other_page.remove("form_token")] {
        let mut forged = fields.clone();
        match token {
            Some(t) => forged.insert("form_token".into(), t),
            None => forged.remove("form_token"),
        };
        let answer = post_form(&idp, &http, &forged, None).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    }
    // An expired token.
    idp.clock.advance(std::time::Duration::from_secs(601));
    let answer = post_form(&idp, &http, &fields, Some(&own_origin(&idp))).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    idp.stop().await;
}

#[tokio::test]
async fn the_login_form_is_throttled_like_the_token_endpoint() {
    let (idp, http) = setup().await;
    let page = get_form(&idp, &http, &request_params("s")).await;
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.insert("username".into(), "alice".into());
    fields.insert("password".into(), "wrong".into());
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let http = http.clone();
            let url = idp.url("/oauth/authorize");
            let fields = fields.clone();
            let origin = own_origin(&idp);
            tokio::spawn(async move {
                http.post(url).header("origin", origin).form(&fields).send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let wrong = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(wrong, 5, "{statuses:?}");
    assert_eq!(throttled, 25, "{statuses:?}");
    // Even the right password is throttled now, at the form and at the token endpoint.
    fields.insert("password".into(), idp.password_of("alice"));
    let answer = post_form(&idp, &http, &fields, None).await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.headers().contains_key("retry-after"));
    let (status, _) = idp.login("alice", &idp.password_of("alice")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    idp.stop().await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_without_a_code() {
    let (idp, http) = setup().await;
    let page = get_form(&idp, &http, &request_params("s")).await;
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.insert("username".into(), "alice".into());
    fields.insert("password".into(), "not-it".into());
    let answer = post_form(&idp, &http, &fields, Some(&own_origin(&idp))).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.headers().get("location").is_none());
    let html = answer.text().await.unwrap();
    assert!(html.contains("Invalid username or password") && html.contains("form_token"));
    assert!(!html.contains("not-it"), "the password is not echoed");
    idp.stop().await;
}

#[tokio::test]
async fn cors_answers_only_the_allowed_origins() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        slipgate_idp::open_store(&format!("sqlite://{}", dir.path().join("idp.db").display())).await.unwrap();
    let key = dir.path().join("signing-key.pem");
    let idp =
        TestIdp::spawn_with(store, dir, &key, &["idp.allowed_origins=[\"https://127.0.0.1:8443\"]"]).await;
    let preflight = |origin: &'static str| {
        idp.http
            .request(reqwest::Method::OPTIONS, idp.url("/oauth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, signature, signature-input, content-digest",
            )
            .send()
    };
    let ok = preflight("https://127.0.0.1:8443").await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://127.0.0.1:8443");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("signature-input"));
    assert!(ok.headers().get("access-control-allow-credentials").is_none());
    for evil in ["https://evil.example", "https://127.0.0.1:8443.evil.example", "null", "https://127.0.0.1"] {
        let refused = preflight(evil).await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none(), "{evil}");
    }
    let (status, headers, _) = split(
        idp.http
            .post(idp.url("/oauth/token"))
            .header("origin", "https://127.0.0.1:8443")
            .form(&[("grant_type", "password"), ("username", "alice"), ("password", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["access-control-allow-origin"], "https://127.0.0.1:8443");
    assert_eq!(headers["vary"], "Origin");
    idp.stop().await;
}

#[tokio::test]
async fn allowed_origins_must_be_exact_origins() {
    for bad in ["*", "https://*.example", "https://a.example/path", "http://a.example", "HTTPS://A.EXAMPLE"] {
        let config: Result<slipgate_idp::IdpConfig, _> = slipgate_idp::ConfigLoader::new()
            .set_override(&format!("idp.allowed_origins=[\"{bad}\"]"))
            .unwrap()
            .set_override("tls.cert=\"c\"")
            .unwrap()
            .set_override("tls.key=\"k\"")
            .unwrap()
            .load();
        let error = config.unwrap_err().to_string();
        assert!(error.contains("idp.allowed_origins"), "{bad}: {error}");
    }
}

mod signed {
    //! The code exchanged by a signed token request (SPEC §4, §8): the console's way, with a
    //! P-256 key; and the code in the hands of another key.

    use base64::engine::general_purpose::STANDARD;
    use slipgate_httpsig::base::Message;
    use slipgate_httpsig::binding::{BoundKey, TOKEN_REQUEST_TAG};
    use slipgate_httpsig::digest::{DigestAlgorithm, content_digest};
    use slipgate_httpsig::keys::{Algorithm, SigningKey};
    use slipgate_httpsig::params::Component;
    use slipgate_httpsig::sign::{SignParams, sign_message};
    use slipgate_proto::clock::Clock as _;

    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap().0
    }

    /// POSTs `form` to the token endpoint, signed by `key` (the `pub` shown is `shown`'s).
    async fn send_signed(
        idp: &TestIdp,
        key: &SigningKey,
        shown: &SigningKey,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        let uri = idp.url("/oauth/token");
        let digest = content_digest(DigestAlgorithm::Sha256, body.as_bytes());
        let msg = Message::request("POST", &uri).unwrap().with_header("content-digest", &digest);
        let components: Vec<Component> = ["@method", "@target-uri", "content-digest"]
            .iter()
            .map(|c| Component::field_or_derived(c))
            .collect();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let params = SignParams::new("sig1")
            .created(idp.clock.unix_seconds())
            .nonce(&nonce)
            .tag(TOKEN_REQUEST_TAG)
            .with_alg()
            .with_pub();
        let made = sign_message(&msg, None::<&Message>, &components, &params, shown).unwrap();
        let signature = if std::ptr::eq(key, shown) {
            made.signature
        } else {
            // Another key signs the very base that names `shown`'s pub.
            let parsed = slipgate_httpsig::params::parse_signature_input(&made.signature_input).unwrap();
            let base = slipgate_httpsig::base::signature_base(&parsed, &msg, None::<&Message>).unwrap();
            format!("sig1=:{}:", STANDARD.encode(key.sign(&base).unwrap()))
        };
        let response = idp
            .http
            .post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-digest", digest)
            .header("signature-input", made.signature_input)
            .header("signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, _, body) = split(response).await;
        (status, body)
    }

    fn code_form(code: &str) -> Vec<(&str, &str)> {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
            ("code_verifier", VERIFIER),
        ]
    }

    #[tokio::test]
    async fn a_signed_exchange_binds_the_token_and_the_refresh_to_the_browser_key() {
        let (idp, http) = setup().await;
        let browser = key();
        let query = login_for_code(&idp, &http, "paula", "s").await;
        let (status, answer) = send_signed(&idp, &browser, &browser, &code_form(&query["code"])).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["token_type"], "httpsig");
        let active = introspect(&idp, answer["access_token"].as_str().unwrap()).await;
        let cnf = serde_json::to_value(BoundKey::from_signing_key(&browser).unwrap().confirmation()).unwrap();
        assert_eq!(active["cnf"], cnf);
        assert_eq!(active["token_type"], "httpsig");
        let refresh = answer["refresh_token"].as_str().unwrap();
        let refresh_form =
            [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", CLIENT)];
        // Another key, or no signature, cannot use the bound refresh token.
        let thief = key();
        let (status, body) = send_signed(&idp, &thief, &thief, &refresh_form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        let (status, _, body) = idp.token(&refresh_form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{body}"
        );
        idp.stop().await;
    }

    #[tokio::test]
    async fn a_code_exchanged_by_another_key_after_its_use_revokes_the_first_session() {
        let (idp, http) = setup().await;
        let (browser, attacker) = (key(), key());
        let query = login_for_code(&idp, &http, "alice", "s").await;
        let form = code_form(&query["code"]);
        let (status, first) = send_signed(&idp, &browser, &browser, &form).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        // The attacker has the code and even the verifier, and its own valid signature.
        let (status, body) = send_signed(&idp, &attacker, &attacker, &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        assert_eq!(introspect(&idp, first["access_token"].as_str().unwrap()).await["active"], false);
        idp.stop().await;
    }

    #[tokio::test]
    async fn a_signature_by_another_key_than_pub_spends_neither_the_code_nor_a_nonce() {
        let (idp, http) = setup().await;
        let (browser, attacker) = (key(), key());
        let query = login_for_code(&idp, &http, "alice", "s").await;
        let form = code_form(&query["code"]);
        // The attacker shows the browser's pub but signs with its own key.
        let (status, body) = send_signed(&idp, &attacker, &browser, &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        assert_eq!(idp.store.token_nonce_count().await.unwrap(), 0);
        // The code is intact for its owner.
        let (status, answer) = send_signed(&idp, &browser, &browser, &form).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["token_type"], "httpsig");
        idp.stop().await;
    }
}
