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
