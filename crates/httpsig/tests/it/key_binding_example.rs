//! The worked examples of key-bound tokens for the wire-protocol docs, checked byte for byte:
//! a signed token request (SPEC §4) and a request presenting the bound token (SPEC §3.2.1),
//! both signed by RFC 9421 B.1.4's `test-key-ed25519` (Ed25519 is deterministic, so the
//! signatures are fixed too).

use slipgate_httpsig::{
    base::{Message, signature_base},
    binding::{BOUND_REQUEST_TAG, BoundKey, Confirmation, TOKEN_REQUEST_TAG},
    digest::{DigestAlgorithm, content_digest, verify_content_digest},
    keys::{Algorithm, SigningKey, VerifyingKey},
    params::{Component, parse_signature_headers},
    received::ReceivedRequest,
    sign::{SignParams, sign_message, verify_signature},
};

const ED_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.key.pem");
const ED_PUB: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.pub.pem");

const TOKEN_URI: &str = "https://127.0.0.1:8444/oauth/token";
const FORM: &str = "grant_type=password&username=alice&password=example-password&scope=salaryslip%3Aself";
const CREATED: i64 = 1_767_225_600;

const TOKEN_REQUEST_DIGEST: &str = "sha-256=:Xd2wp5yQaY/NefJ0hr5RIsJIpWDy2NiUNszKtfz4MTo=:";
const TOKEN_REQUEST_INPUT: &str = r#"sig1=("@method" "@target-uri" "content-digest");created=1767225600;nonce="b3k2pp5k7z-50gnX1b06";tag="httpsig-oauth-token-request";alg="ed25519";pub=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:"#;
const TOKEN_REQUEST_BASE: &str = r#""@method": POST
"@target-uri": https://127.0.0.1:8444/oauth/token
"content-digest": sha-256=:Xd2wp5yQaY/NefJ0hr5RIsJIpWDy2NiUNszKtfz4MTo=:
"@signature-params": ("@method" "@target-uri" "content-digest");created=1767225600;nonce="b3k2pp5k7z-50gnX1b06";tag="httpsig-oauth-token-request";alg="ed25519";pub=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:"#;
const TOKEN_REQUEST_SIGNATURE: &str =
    "sig1=:m6YNUeqIpJDbMkDeltALKD8IvX81LaOOvS+GFTbksDKede3kn/wBXBBUyQsvtj1jHd92KCQVJSHHj+iMygwdCw==:";
/// RFC 7638 thumbprint of the key: SHA-256 of
/// `{"crv":"Ed25519","kty":"OKP","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}`.
const THUMBPRINT: &str = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";
/// The token's `cnf` claim.
const CNF: &str = r#"{"htsk":{"alg":"ed25519","pub":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}}"#;

const API_URI: &str = "https://127.0.0.1:8443/generate/salaryslip";
const BODY: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;
const BOUND_REQUEST_INPUT: &str = r#"sig1=("@method" "@target-uri" "authorization" "content-type" "content-digest");created=1767225600;nonce="k9Jyxempel2305Nmx7Rk";tag="httpsig-oauth""#;
const BOUND_REQUEST_BASE: &str = r#""@method": POST
"@target-uri": https://127.0.0.1:8443/generate/salaryslip
"authorization": HTTPSig example-token
"content-type": application/json
"content-digest": sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:
"@signature-params": ("@method" "@target-uri" "authorization" "content-type" "content-digest");created=1767225600;nonce="k9Jyxempel2305Nmx7Rk";tag="httpsig-oauth""#;
const BOUND_REQUEST_SIGNATURE: &str =
    "sig1=:uXie6AGN+V1AtAt220YaskAFGp+8matEsFcci0im01VekzuLrWJ00P3awM5n6218R+5fAv87KacbTzHulWh4CQ==:";

fn key() -> SigningKey {
    SigningKey::from_pem(Algorithm::Ed25519, ED_KEY).unwrap()
}

/// What the server checks, from the request head as it arrives (origin form, `Host`).
fn verify_as_server(uri_path: &str, host: &str, headers: &[(&str, &str)], body: &[u8]) -> BoundKey {
    let mut b = http::Request::post(uri_path).header("host", host);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let (parts, ()) = b.body(()).unwrap().into_parts();
    let parsed = parse_signature_headers(
        parts.headers.get("signature-input").and_then(|v| v.to_str().ok()),
        parts.headers.get("signature").and_then(|v| v.to_str().ok()),
    )
    .unwrap();
    verify_content_digest(parts.headers.get("content-digest").and_then(|v| v.to_str().ok()), body).unwrap();
    let base = signature_base(&parsed.params, &ReceivedRequest::https(&parts), None::<&Message>).unwrap();
    let bound = BoundKey::from_signature_params(&parsed.params).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, bound.verifying_key()).unwrap();
    // Independently of `BoundKey`: the RFC's published public key verifies it too.
    let published = VerifyingKey::from_pem(Algorithm::Ed25519, ED_PUB).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, &published).unwrap();
    bound
}

#[test]
fn signed_token_request_example_matches_docs() {
    let key = key();
    let digest = content_digest(DigestAlgorithm::Sha256, FORM.as_bytes());
    let msg = Message::request("POST", TOKEN_URI)
        .unwrap()
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("content-digest", &digest);
    let components = ["@method", "@target-uri", "content-digest"].map(Component::field_or_derived);
    let params = SignParams::new("sig1")
        .created(CREATED)
        .nonce("b3k2pp5k7z-50gnX1b06")
        .tag(TOKEN_REQUEST_TAG)
        .with_alg()
        .with_pub();
    let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).unwrap();
    let bound = BoundKey::from_signing_key(&key).unwrap();
    assert_eq!(digest, TOKEN_REQUEST_DIGEST);
    assert_eq!(signed.signature_input, TOKEN_REQUEST_INPUT);
    assert_eq!(String::from_utf8(signed.base.clone()).unwrap(), TOKEN_REQUEST_BASE);
    assert_eq!(signed.signature, TOKEN_REQUEST_SIGNATURE);
    assert_eq!(bound.thumbprint(), THUMBPRINT);
    assert_eq!(serde_json::to_string(&bound.confirmation()).unwrap(), CNF);

    let server_key = verify_as_server(
        "/oauth/token",
        "127.0.0.1:8444",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-digest", &digest),
            ("signature-input", &signed.signature_input),
            ("signature", &signed.signature),
        ],
        FORM.as_bytes(),
    );
    assert_eq!(server_key, bound);
}

#[test]
fn bound_request_example_matches_docs() {
    let key = key();
    let digest = content_digest(DigestAlgorithm::Sha256, BODY.as_bytes());
    let msg = Message::request("POST", API_URI)
        .unwrap()
        .with_header("content-type", "application/json")
        .with_header("authorization", "HTTPSig example-token")
        .with_header("content-digest", &digest);
    let components = ["@method", "@target-uri", "authorization", "content-type", "content-digest"]
        .map(Component::field_or_derived);
    // No keyid, alg or pub: the key is the token's.
    let params =
        SignParams::new("sig1").created(CREATED).nonce("k9Jyxempel2305Nmx7Rk").tag(BOUND_REQUEST_TAG);
    let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).unwrap();
    assert_eq!(signed.signature_input, BOUND_REQUEST_INPUT);
    assert_eq!(String::from_utf8(signed.base.clone()).unwrap(), BOUND_REQUEST_BASE);
    assert_eq!(signed.signature, BOUND_REQUEST_SIGNATURE);

    // The API: the key comes from the token's `cnf`, the base from the request as received.
    let cnf: Confirmation = serde_json::from_str(CNF).unwrap();
    let bound = BoundKey::from_confirmation(&cnf).unwrap();
    let (parts, ()) = http::Request::post("/generate/salaryslip")
        .header("host", "127.0.0.1:8443")
        .header("content-type", "application/json")
        .header("authorization", "HTTPSig example-token")
        .header("content-digest", &digest)
        .body(())
        .unwrap()
        .into_parts();
    let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).unwrap();
    assert_eq!((parsed.params.keyid.as_deref(), parsed.params.alg.as_deref()), (None, None));
    assert_eq!(parsed.params.pub_key, None);
    let base = signature_base(&parsed.params, &ReceivedRequest::https(&parts), None::<&Message>).unwrap();
    assert_eq!(base, signed.base);
    verify_signature(&parsed.params, &parsed.signature, &base, bound.verifying_key()).unwrap();
}
