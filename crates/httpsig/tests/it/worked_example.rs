//! The worked example of the wire-protocol docs, checked.

use slipgate_httpsig::{
    base::{Message, signature_base},
    digest::{DigestAlgorithm, content_digest, verify_content_digest},
    keys::SigningKey,
    params::{Component, parse_signature_headers},
    sign::{SignParams, sign_message, verify_signature},
};

const BODY: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;

/// The secret is the 32 bytes 0x01..=0x20, base64 `AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=`.
const SIGNATURE_INPUT: &str = r#"sig1=("@method" "@path" "@authority" "content-type" "content-digest" "authorization");created=1767225600;nonce="q4Kj2dVbX8mNcP1a";keyid="dev-hmac";alg="hmac-sha256""#;
const BASE: &str = r#""@method": POST
"@path": /generate/salaryslip
"@authority": 127.0.0.1:8443
"content-type": application/json
"content-digest": sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:
"authorization": Bearer example-token
"@signature-params": ("@method" "@path" "@authority" "content-type" "content-digest" "authorization");created=1767225600;nonce="q4Kj2dVbX8mNcP1a";keyid="dev-hmac";alg="hmac-sha256""#;

#[test]
fn worked_example_matches_docs() {
    let secret: Vec<u8> = (1..=32).collect();
    let key = SigningKey::hmac_sha256(&secret).unwrap();
    let digest = content_digest(DigestAlgorithm::Sha256, BODY.as_bytes());
    let msg = Message::request("POST", "https://127.0.0.1:8443/generate/salaryslip")
        .unwrap()
        .with_header("content-type", "application/json")
        .with_header("authorization", "Bearer example-token")
        .with_header("content-digest", &digest);
    let components = ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"]
        .map(Component::field_or_derived);
    let params =
        SignParams::new("sig1").created(1_767_225_600).nonce("q4Kj2dVbX8mNcP1a").keyid("dev-hmac").with_alg();
    let signed = sign_message(&msg, None::<&Message>, &components, &params, &key).unwrap();
    assert_eq!(digest, "sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:");
    assert_eq!(signed.signature_input, SIGNATURE_INPUT);
    assert_eq!(String::from_utf8(signed.base.clone()).unwrap(), BASE);
    assert_eq!(signed.signature, "sig1=:/FuDqPR0EAhp/5/V5d+513xizR0CsMabQoCA/mh6JrU=:");

    // Receiver side, as the guard layer does it.
    let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).unwrap();
    verify_content_digest(msg.header("content-digest").as_deref(), BODY.as_bytes()).unwrap();
    let rebuilt = signature_base(&parsed.params, &msg, None::<&Message>).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &rebuilt, &key.verifying_key()).unwrap();
}
