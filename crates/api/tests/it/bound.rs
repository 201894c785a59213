//! Key-bound tokens at the API (SPEC §3.2.1), in process (`router(state).oneshot`)
//! with the whole stack: JWTs minted in the test and signed by the real identity
//! server's key (jwt mode), devices' keys made in the test, the attacker's moves.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use slipgate_guard::token::{TokenClaims, TokenError, TokenValidator};
use slipgate_guard::{Clock, ManualClock, SystemClock};
use slipgate_httpsig::base::{Message, signature_base};
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, BoundKey};
use slipgate_httpsig::params::{Component, parse_signature_header_map};
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, SignParams, SigningKey, VerifyingKey, content_digest, sign_message,
    verify_signature,
};
use slipgate_test_support::{SEED_BODY, TEST_HMAC_ID, TEST_HMAC_SECRET, TestConfig};
use tower::ServiceExt as _;

const HOST: &str = "127.0.0.1:8443";
const BOUND_COMPONENTS: [&str; 5] =
    ["@method", "@target-uri", "authorization", "content-type", "content-digest"];
const REGISTRY_COMPONENTS: [&str; 6] =
    ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"];

struct Api {
    test: TestConfig,
    state: slipgate_api::AppState,
    clock: Arc<ManualClock>,
}

impl Api {
    async fn new(extra: &[&str]) -> Self {
        let mut overrides = vec!["auth.mode=jwt"];
        overrides.extend_from_slice(extra);
        let test = TestConfig::new(&overrides).await;
        let clock = Arc::new(ManualClock::at_unix(u64::try_from(SystemClock.unix_seconds()).unwrap()));
        let state = slipgate_api::AppState::with_clock(&test.config, clock.clone()).unwrap();
        Self { test, state, clock }
    }

    fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// The claims of a real token of `user`, to re-sign with a `cnf` or changes.
    async fn claims_of(&self, user: &str) -> Value {
        let token = self.test.idp.login_ok(user).await["access_token"].as_str().unwrap().to_owned();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
    }

    /// A token of `user` bound to `key`, signed by the identity server's key.
    async fn bound_token(&self, user: &str, key: &SigningKey) -> String {
        let mut claims = self.claims_of(user).await;
        claims["cnf"] =
            serde_json::to_value(BoundKey::from_signing_key(key).unwrap().confirmation()).unwrap();
        self.test.idp.sign_token("at+jwt", &claims).await
    }

    async fn send(&self, request: http::Request<Body>) -> (http::StatusCode, http::HeaderMap, Value) {
        let response = slipgate_api::router(self.state.clone()).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn stored_nonces(&self) -> usize {
        self.state.nonces.usage().unwrap().entries
    }

    /// A request presenting `token` as `HTTPSig`, signed by `key` over the base built for
    /// `signed_host`, delivered with `Host: host`.
    fn bound_request(
        &self,
        token: &str,
        key: &SigningKey,
        nonce: &str,
        signed_host: &str,
        host: &str,
    ) -> http::Request<Body> {
        let params = SignParams::new("sig1").created(self.now()).nonce(nonce).tag(BOUND_REQUEST_TAG);
        request(&format!("HTTPSig {token}"), key, &params, &BOUND_COMPONENTS, signed_host, host)
    }

    /// A request presenting `token` as `Bearer`, signed by the registry's `test-hmac`.
    fn registry_request(&self, token: &str, nonce: &str) -> http::Request<Body> {
        let key = SigningKey::hmac_sha256(&TEST_HMAC_SECRET).unwrap();
        let params = SignParams::new("sig1").created(self.now()).nonce(nonce).keyid(TEST_HMAC_ID);
        request(&format!("Bearer {token}"), &key, &params, &REGISTRY_COMPONENTS, HOST, HOST)
    }
}

fn request(
    authorization: &str,
    key: &SigningKey,
    params: &SignParams,
    covered: &[&str],
    signed_host: &str,
    host: &str,
) -> http::Request<Body> {
    let message = Message::request("POST", &format!("https://{signed_host}/generate/salaryslip"))
        .unwrap()
        .with_header("content-type", "application/json")
        .with_header("authorization", authorization)
        .with_header("content-digest", &content_digest(DigestAlgorithm::Sha256, SEED_BODY.as_bytes()));
    let components: Vec<Component> = covered.iter().map(|c| Component::field_or_derived(c)).collect();
    let signed = sign_message(&message, None::<&Message>, &components, params, key).unwrap();
    let mut request = http::Request::post("/generate/salaryslip")
        .header("host", host)
        .header("content-type", "application/json")
        .header("authorization", authorization)
        .header("content-digest", content_digest(DigestAlgorithm::Sha256, SEED_BODY.as_bytes()))
        .header("signature-input", signed.signature_input)
        .header("signature", signed.signature)
        .body(Body::from(SEED_BODY))
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40100))));
    request
}

fn device() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519).unwrap().0
}

#[tokio::test]
async fn a_bound_token_works_only_with_its_own_key_and_never_as_bearer() {
    let api = Api::new(&[]).await;
    let (paula_device, mallory_device) = (device(), device());
    let token = api.bound_token("paula", &paula_device).await;

    let (status, _, slip) =
        api.send(api.bound_request(&token, &paula_device, "n0nce-own-1", HOST, HOST)).await;
    assert_eq!(status, 200, "{slip}");
    assert_eq!(slip["employee"]["emp_id"], "01234");

    // Stolen: the same token signed by another device's key.
    let (status, headers, problem) =
        api.send(api.bound_request(&token, &mallory_device, "n0nce-stolen", HOST, HOST)).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("signature_invalid")));
    assert_eq!(headers["www-authenticate"], "HTTPSig");

    // Stolen and presented as Bearer with a valid registry-key signature.
    let (status, headers, problem) = api.send(api.registry_request(&token, "n0nce-bearer")).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("token_invalid")));
    assert_eq!(headers["www-authenticate"], "Bearer error=\"invalid_token\"");

    // A P-256 (browser) key binds the same way.
    let browser = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap().0;
    let token = api.bound_token("paula", &browser).await;
    let (status, _, slip) = api.send(api.bound_request(&token, &browser, "n0nce-p256-1", HOST, HOST)).await;
    assert_eq!(status, 200, "{slip}");
    api.test.idp.stop().await;
}

#[tokio::test]
async fn an_unbound_or_forged_token_as_httpsig_is_token_invalid_and_spends_no_nonce() {
    let api = Api::new(&[]).await;
    let mallory = device();
    let unbound = api.test.paula.clone();
    // A forged token naming the attacker's own key, signed by a key the JWKS does not hold.
    let mut claims = api.claims_of("paula").await;
    claims["cnf"] =
        serde_json::to_value(BoundKey::from_signing_key(&mallory).unwrap().confirmation()).unwrap();
    let (kid, _) = api.test.idp.signing_key().await;
    let forger = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let forged = slipgate_httpsig::jose::sign_jwt_typed(&claims, &kid, "at+jwt", &forger).unwrap();
    let before = api.stored_nonces();
    for (i, token) in [unbound, forged].iter().cycle().take(30).enumerate() {
        let (status, headers, problem) =
            api.send(api.bound_request(token, &mallory, &format!("n0nce-forged-{i:02}"), HOST, HOST)).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("token_invalid")), "{i}");
        assert_eq!(headers["www-authenticate"], "HTTPSig error=\"invalid_token\"");
    }
    assert_eq!(api.stored_nonces(), before, "the nonce store did not grow");
    api.test.idp.stop().await;
}

#[tokio::test]
async fn malformed_bound_signatures_are_refused_with_the_spec_codes() {
    let api = Api::new(&[]).await;
    let key = device();
    let token = api.bound_token("paula", &key).await;
    let now = api.now();
    let auth = format!("HTTPSig {token}");
    let tagged = || SignParams::new("sig1").created(now).nonce("n0nce-malf-1").tag(BOUND_REQUEST_TAG);
    for (params, covered, code) in [
        (tagged().keyid(TEST_HMAC_ID), &BOUND_COMPONENTS[..], "signature_malformed"),
        (tagged().with_alg(), &BOUND_COMPONENTS[..], "signature_malformed"),
        (tagged().with_pub(), &BOUND_COMPONENTS[..], "signature_malformed"),
        (
            SignParams::new("sig1").created(now).nonce("n0nce-malf-1"),
            &BOUND_COMPONENTS[..],
            "signature_malformed",
        ),
        (
            tagged(),
            &["@method", "@path", "@authority", "authorization", "content-type", "content-digest"][..],
            "components_missing",
        ),
    ] {
        let (status, headers, problem) = api.send(request(&auth, &key, &params, covered, HOST, HOST)).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some(code)), "{params:?}");
        assert_eq!(headers["www-authenticate"], "HTTPSig");
    }
    // Two signatures tagged httpsig-oauth.
    let mut twice = api.bound_request(&token, &key, "n0nce-twice", HOST, HOST);
    let input = twice.headers()["signature-input"].to_str().unwrap().to_owned();
    let sig = twice.headers()["signature"].to_str().unwrap().to_owned();
    let h = twice.headers_mut();
    h.insert("signature-input", format!("{input}, {}", input.replacen("sig1=", "sig2=", 1)).parse().unwrap());
    h.insert("signature", format!("{sig}, {}", sig.replacen("sig1=", "sig2=", 1)).parse().unwrap());
    let (status, _, problem) = api.send(twice).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("signature_malformed")));
    assert_eq!(api.stored_nonces(), 0);
    api.test.idp.stop().await;
}

#[tokio::test]
async fn another_host_in_target_uri_and_a_replayed_nonce_are_refused() {
    let api = Api::new(&[]).await;
    let key = device();
    let token = api.bound_token("paula", &key).await;
    // Signed for another service but sent here: the rebuilt @target-uri differs → signature_invalid.
    let (status, _, problem) =
        api.send(api.bound_request(&token, &key, "n0nce-host-1", "evil.example", HOST)).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("signature_invalid")));
    // Signed for and sent to another host: the authority check refuses it first (400).
    let (status, _, problem) =
        api.send(api.bound_request(&token, &key, "n0nce-host-2", "evil.example", "evil.example")).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (400, Some("bad_request")));
    // The same request twice.
    let (status, _, _) = api.send(api.bound_request(&token, &key, "n0nce-twice-1", HOST, HOST)).await;
    assert_eq!(status, 200);
    let (status, headers, problem) =
        api.send(api.bound_request(&token, &key, "n0nce-twice-1", HOST, HOST)).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("replayed")));
    assert_eq!(headers["www-authenticate"], "HTTPSig");
    api.test.idp.stop().await;
}

#[tokio::test]
async fn require_bound_tokens_refuses_bearer_user_tokens_and_keeps_service_clients_working() {
    let api = Api::new(&["auth.require_bound_tokens=true"]).await;
    let (status, headers, problem) = api.send(api.registry_request(&api.test.paula, "n0nce-req-user")).await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (401, Some("token_invalid")));
    assert_eq!(headers["www-authenticate"], "Bearer error=\"invalid_token\"");
    // A client-credentials token (sub = client_id, no employee), as the identity server issues it.
    let now = api.now();
    let service = json!({
        "iss": api.test.idp.issuer, "sub": "payroll-batch", "aud": "slipgate-api", "exp": now + 900,
        "iat": now, "jti": "svc-1", "scope": "salaryslip:any", "client_id": "payroll-batch",
    });
    let service = api.test.idp.sign_token("at+jwt", &service).await;
    let (status, _, slip) = api.send(api.registry_request(&service, "n0nce-req-svc1")).await;
    assert_eq!(status, 200, "{slip}");
    // A bound user token is what works for users.
    let key = device();
    let bound = api.bound_token("paula", &key).await;
    let (status, _, _) = api.send(api.bound_request(&bound, &key, "n0nce-req-bnd1", HOST, HOST)).await;
    assert_eq!(status, 200);
    api.test.idp.stop().await;
}

#[tokio::test]
async fn the_response_signature_binds_the_tagged_request_signature() {
    let api = Api::new(&[]).await;
    let key = device();
    let token = api.bound_token("paula", &key).await;
    let params = SignParams::new("bound").created(api.now()).nonce("n0nce-resp-1").tag(BOUND_REQUEST_TAG);
    let mut sent = request(&format!("HTTPSig {token}"), &key, &params, &BOUND_COMPONENTS, HOST, HOST);
    // Another signature first: the response must bind the evaluated (tagged) one.
    let input = sent.headers()["signature-input"].to_str().unwrap().to_owned();
    let sig = sent.headers()["signature"].to_str().unwrap().to_owned();
    sent.headers_mut()
        .insert("signature-input", format!("edge=(\"@method\");created=1, {input}").parse().unwrap());
    sent.headers_mut().insert("signature", format!("edge=:AAAA:, {sig}").parse().unwrap());
    let request_message = Message::request("POST", "https://127.0.0.1:8443/generate/salaryslip")
        .unwrap()
        .with_header("signature", sent.headers()["signature"].to_str().unwrap());
    let response = slipgate_api::router(api.state.clone()).oneshot(sent).await.unwrap();
    let (parts, _) = response.into_parts();
    assert_eq!(parts.status, 200);
    let parsed = parse_signature_header_map(&parts.headers).unwrap();
    let covered: Vec<String> = parsed.params.components.iter().map(|c| c.to_identifier().unwrap()).collect();
    assert!(covered.contains(&r#""signature";req;key="bound""#.to_owned()), "{covered:?}");
    let jwks = api.state.response_signer.jwks();
    let raw = jwks.find(parsed.params.keyid.as_deref().unwrap()).unwrap().ed25519_public_key().unwrap();
    let server_key = VerifyingKey::from_public_key(Algorithm::Ed25519, &raw).unwrap();
    let base = signature_base(&parsed.params, &parts, Some(&request_message)).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, &server_key).unwrap();
    api.test.idp.stop().await;
}

/// A validator that knows the docs' `example-token` (it is not a JWT).
#[derive(Debug)]
struct ExampleToken(TokenClaims);

impl TokenValidator for ExampleToken {
    fn validate<'a>(
        &'a self,
        token: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<TokenClaims, TokenError>> {
        let verdict =
            if token == "example-token" { Ok(self.0.clone()) } else { Err(TokenError::Invalid("unknown")) };
        Box::pin(std::future::ready(verdict))
    }
}

/// docs/wire-protocol.md §10 "A request with the bound token", byte for byte, through the API.
#[tokio::test]
async fn the_documented_bound_request_gets_a_slip() {
    let test = TestConfig::new(&[]).await;
    let clock = Arc::new(ManualClock::at_unix(1_767_225_600));
    let cnf = r#"{"htsk":{"alg":"ed25519","pub":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}}"#;
    let claims = TokenClaims {
        sub: "paula".into(),
        scope: "salaryslip:any".into(),
        emp_id: Some("00001".into()),
        exp: 1_767_226_500,
        cnf: Some(serde_json::from_str(cnf).unwrap()),
        ..TokenClaims::default()
    };
    let state = slipgate_api::AppState::with_clock(&test.config, clock).unwrap();
    let mut shared = (*state).clone();
    shared.tokens = Arc::new(ExampleToken(claims));
    let mut request = http::Request::post("/generate/salaryslip")
        .header("host", "127.0.0.1:8443")
        .header("content-type", "application/json")
        .header("content-digest", "sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:")
        .header("authorization", "HTTPSig example-token")
        .header("signature-input", r#"sig1=("@method" "@target-uri" "authorization" "content-type" "content-digest");created=1767225600;nonce="k9Jyxempel2305Nmx7Rk";tag="httpsig-oauth""#)
        .header("signature", "sig1=:uXie6AGN+V1AtAt220YaskAFGp+8matEsFcci0im01VekzuLrWJ00P3awM5n6218R+5fAv87KacbTzHulWh4CQ==:")
        .body(Body::from(SEED_BODY))
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40101))));
    let response = slipgate_api::router(slipgate_api::AppState::new(shared)).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(slipgate_test_support::json(&body)["employee"]["emp_name"], "John Doe");
    test.idp.stop().await;
}

#[test]
fn the_openapi_document_declares_the_httpsig_scheme_on_the_slip_endpoint() {
    let doc: Value = serde_json::from_str(slipgate_api::routes::openapi::OPENAPI_JSON).unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["httpSigAuth"]["scheme"], "HTTPSig");
    let security = doc["paths"]["/generate/salaryslip"]["post"]["security"].as_array().unwrap();
    assert!(security.iter().any(|s| s.get("httpSigAuth").is_some()), "{security:?}");
    assert!(security.iter().any(|s| s.get("bearerAuth").is_some()), "Bearer stays declared");
}
