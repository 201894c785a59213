//! Response signatures (SPEC §3.8): every answer is signed by the server's
//! Ed25519 key and bound to the request's signature.

use slipgate_httpsig::jose::Jwks;
use slipgate_httpsig::params::parse_signature_header_map;
use slipgate_httpsig::{
    Algorithm, Message, VerifyingKey, signature_base, verify_content_digest, verify_signature,
};
use slipgate_test_support::{SEED_BODY, TestApi};

use crate::post_slip;

async fn jwks(api: &TestApi) -> Jwks {
    api.client().get(api.url("/.well-known/slipgate-keys")).send().await.unwrap().json().await.unwrap()
}

/// Verifies `response` as a client would; returns the covered components.
fn verify(
    jwks: &Jwks,
    request: &Message,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Vec<String> {
    let mut parts = http::Response::new(()).into_parts().0;
    parts.status = http::StatusCode::from_u16(status).unwrap();
    parts.headers = headers.clone();
    verify_content_digest(headers.get("content-digest").map(|v| v.to_str().unwrap()), body).unwrap();
    let parsed = parse_signature_header_map(headers).unwrap();
    assert_eq!(parsed.params.label, "res");
    assert_eq!(parsed.params.alg.as_deref(), Some("ed25519"));
    let kid = parsed.params.keyid.clone().unwrap();
    let raw = jwks.find(&kid).unwrap().ed25519_public_key().unwrap();
    let key = VerifyingKey::from_public_key(Algorithm::Ed25519, &raw).unwrap();
    let base = signature_base(&parsed.params, &parts, Some(request)).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, &key).unwrap();
    parsed.params.components.iter().map(|c| c.to_identifier().unwrap()).collect()
}

#[tokio::test]
async fn success_responses_are_signed_and_bound_to_the_request_signature() {
    let api = TestApi::spawn(&[]).await;
    let keys = jwks(&api).await;
    let url = reqwest::Url::parse(&api.url("/generate/salaryslip")).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", api.bearer().parse().unwrap());
    api.signer().sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
    let request = Message::request("POST", url.as_str())
        .unwrap()
        .with_header("signature", headers["signature"].to_str().unwrap());
    let response = api.client().post(url).headers(headers).body(SEED_BODY).send().await.unwrap();
    let (status, response_headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.bytes().await.unwrap();
    assert_eq!(status, 200);
    let covered = verify(&keys, &request, status, &response_headers, &body);
    assert!(covered.contains(&r#""signature";req;key="sig1""#.to_owned()), "{covered:?}");
    assert!(covered.contains(&r#""@status""#.to_owned()));

    // A byte changed in transit no longer matches the signed digest.
    let mut tampered = body.to_vec();
    let i = tampered.iter().position(|b| b.is_ascii_digit()).unwrap();
    tampered[i] = if tampered[i] == b'9' { b'8' } else { tampered[i] + 1 };
    let digest = response_headers.get("content-digest").map(|v| v.to_str().unwrap());
    assert!(verify_content_digest(digest, &tampered).is_err());
    api.stop().await;
}

#[tokio::test]
async fn problem_responses_are_signed_too() {
    let api = TestApi::spawn(&[]).await;
    let keys = jwks(&api).await;
    let response = api.client().get(api.url("/nope")).send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.bytes().await.unwrap();
    assert_eq!(status, 404);
    let request = Message::request("GET", &api.url("/nope")).unwrap();
    let covered = verify(&keys, &request, status, &headers, &body);
    assert!(!covered.iter().any(|c| c.contains(";req")), "no ;req without a request signature: {covered:?}");
    let replayed = post_slip(&api, SEED_BODY, &[]).await;
    assert!(replayed.headers().contains_key("signature"));
    api.stop().await;
}

/// A signer that fails for every answer but a 500 (or for all, `fail_all`).
#[derive(Debug)]
struct FailingSigner {
    inner: slipgate_api::middleware::response_sig::ResponseSigner,
    fail_all: bool,
}

impl slipgate_api::middleware::response_sig::ResponseSigning for FailingSigner {
    fn sign(
        &self,
        request: &slipgate_api::middleware::response_sig::RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError> {
        if self.fail_all || parts.status != 500 {
            return Err(slipgate_httpsig::BaseError::InvalidValue("\"@status\"".into()).into());
        }
        self.inner.sign(request, parts, body, now)
    }

    fn jwks(&self) -> &Jwks {
        self.inner.jwks()
    }
}

/// The in-process router with `signer` in its state, and a signed slip request by paula.
async fn with_signer(fail_all: bool) -> (slipgate_test_support::TestConfig, axum::Router, Jwks) {
    let test = slipgate_test_support::TestConfig::new(&[]).await;
    let inner = slipgate_api::middleware::response_sig::ResponseSigner::generate().unwrap();
    let jwks = inner.jwks().clone();
    let state = slipgate_api::AppState::from_config(&test.config)
        .unwrap()
        .with_response_signer(std::sync::Arc::new(FailingSigner { inner, fail_all }));
    (test, slipgate_api::router(state), jwks)
}

fn slip_request(test: &slipgate_test_support::TestConfig) -> http::Request<axum::body::Body> {
    let url = reqwest::Url::parse("https://127.0.0.1:8443/generate/salaryslip").unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", format!("Bearer {}", test.paula).parse().unwrap());
    headers.insert("host", "127.0.0.1:8443".parse().unwrap());
    let key = slipgate_httpsig::SigningKey::hmac_sha256(&slipgate_test_support::TEST_HMAC_SECRET).unwrap();
    slipgate_client::RequestSigner::new(slipgate_test_support::TEST_HMAC_ID, key)
        .sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes())
        .unwrap();
    let mut request =
        http::Request::post("/generate/salaryslip").body(axum::body::Body::from(SEED_BODY)).unwrap();
    *request.headers_mut() = headers;
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
    request
}

fn assert_security_headers(headers: &http::HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("x-request-id"));
    assert!(headers.contains_key("ratelimit"), "{headers:?}");
    assert!(headers.contains_key("ratelimit-policy"));
}

#[tokio::test]
async fn an_answer_that_cannot_be_signed_becomes_a_signed_generic_500() {
    use tower::ServiceExt as _;
    let (test, router, jwks) = with_signer(false).await;
    let request = slip_request(&test);
    let sent = Message::request("POST", "https://127.0.0.1:8443/generate/salaryslip")
        .unwrap()
        .with_header("signature", request.headers()["signature"].to_str().unwrap());
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    assert_eq!(parts.status, 500);
    assert_eq!(parts.headers["content-type"], "application/problem+json");
    let problem = slipgate_test_support::json(&body);
    assert_eq!(problem["code"], "internal");
    assert_eq!(problem["request_id"], parts.headers["x-request-id"].to_str().unwrap());
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("net_pay") && !text.contains("John Doe"), "the slip leaked: {text}");
    assert_security_headers(&parts.headers);
    // The replacing 500 is itself signed and bound to the request.
    let covered = verify(&jwks, &sent, 500, &parts.headers, &body);
    assert!(covered.contains(&r#""signature";req;key="sig1""#.to_owned()), "{covered:?}");
    test.idp.stop().await;
}

#[tokio::test]
async fn a_signer_that_always_fails_still_never_sends_the_original_answer() {
    use tower::ServiceExt as _;
    let (test, router, _) = with_signer(true).await;
    let mut request = http::Request::get("/openapi.json").body(axum::body::Body::empty()).unwrap();
    request.headers_mut().insert("host", "localhost:8443".parse().unwrap());
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40001))));
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    assert_eq!(parts.status, 500);
    assert_eq!(slipgate_test_support::json(&body)["code"], "internal");
    assert!(!String::from_utf8_lossy(&body).contains("openapi"));
    assert_security_headers(&parts.headers);
    assert!(!parts.headers.contains_key("signature"));
    test.idp.stop().await;
}
