//! Interoperability with an independent RFC 9421 implementation: the `httpsig` crate
//! (junkurihara/httpsig-rs). It builds its own signature base from component values we hand it
//! (its own field trimming/joining, derived-component normalization and `@signature-params`
//! serialization) and uses its own crypto (RustCrypto), so agreement checks our headers, base and
//! signatures against a second reading of the RFC.
//!
//! Known difference: `httpsig` 0.0.26 re-serializes `@signature-params` in a fixed order
//! (`created`, `expires`, `nonce`, `alg`, `keyid`, `tag`) instead of the order received, so it
//! cannot verify a signature whose `alg` follows `keyid` (the SPEC §3.2 order); the "we sign"
//! tests therefore sign without `alg`. The "they sign" tests include `alg` in their order, and we
//! verify it because we keep parameter order as received.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use httpsig::prelude::message_component::{HttpMessageComponent, HttpMessageComponentId};
use httpsig::prelude::{
    AlgorithmName, HttpSignatureBase, HttpSignatureHeaders, HttpSignatureParams, PublicKey, SecretKey,
    SharedKey,
};
use slipgate_httpsig::{
    base::{HttpMessage, Message, signature_base},
    digest::{DigestAlgorithm, content_digest},
    keys::{Algorithm, SigningKey, VerifyingKey},
    params::{Component, parse_signature_headers},
    sign::{SignParams, sign_message, verify_signature},
};

const SHARED_SECRET: &str = include_str!("../../../test-support/fixtures/rfc9421/test-shared-secret.b64");
const ED_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.key.pem");
const ED_PUB: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.pub.pem");
const COVERED: [&str; 7] =
    ["@method", "@path", "@authority", "content-type", "content-digest", "authorization", "x-multi"];

fn request() -> Message {
    let body = br#"{"emp_id":"01234","working_days":24}"#;
    Message::request("POST", "https://api.example:8443/generate/salaryslip")
        .unwrap()
        .with_header("Content-Type", "application/json")
        .with_header("Content-Digest", &content_digest(DigestAlgorithm::Sha512, body))
        .with_header("Authorization", "Bearer  token-123 ")
        .with_header("X-Multi", " one")
        .with_header("X-Multi", "two ")
}

/// Values of a component as `httpsig` expects them: one string per field line, as an HTTP
/// parser delivers them (without surrounding whitespace; `httpsig` does not strip it, RFC 9421
/// §2.1 says to, and our own base builder does).
fn raw_values(msg: &Message, name: &str) -> Vec<String> {
    let one = |v: Option<&str>| vec![v.unwrap().to_owned()];
    match name {
        "@method" => one(msg.method()),
        "@path" => one(msg.path()),
        "@authority" => one(msg.authority()),
        field => msg
            .header_values(field)
            .iter()
            .map(|v| String::from_utf8(v.to_vec()).unwrap().trim_matches([' ', '\t']).to_owned())
            .collect(),
    }
}

fn their_components(msg: &Message, ids: &[HttpMessageComponentId]) -> Vec<HttpMessageComponent> {
    ids.iter()
        .map(|id| {
            let name = id.name.to_string().trim_matches('"').to_owned();
            HttpMessageComponent::try_from((id, raw_values(msg, &name).as_slice())).unwrap()
        })
        .collect()
}

fn their_params(
    msg: &Message,
    alg: &AlgorithmName,
    keyid: &str,
) -> (HttpSignatureParams, Vec<HttpMessageComponent>) {
    let ids: Vec<HttpMessageComponentId> =
        COVERED.iter().map(|c| HttpMessageComponentId::try_from(*c).unwrap()).collect();
    let mut params = HttpSignatureParams::try_new(&ids).unwrap();
    params.set_created(1_767_225_600).set_nonce("q4Kj2dVbX8mNcP1a").set_keyid(keyid).set_alg(alg);
    (params, their_components(msg, &ids))
}

/// They sign; we parse, rebuild the base from the message and verify.
fn they_sign_we_verify(key: &impl httpsig::prelude::SigningKey, alg: AlgorithmName, ours: &VerifyingKey) {
    let msg = request();
    let (params, comps) = their_params(&msg, &alg, "k1");
    let base = HttpSignatureBase::try_new(&comps, &params).unwrap();
    let headers = base.build_signature_headers(key, Some("sig1")).unwrap();
    let (input, sig) = (headers.signature_input_header_value(), headers.signature_header_value());

    let parsed = parse_signature_headers(Some(&input), Some(&sig)).unwrap();
    assert_eq!(parsed.params.alg.as_deref(), Some(alg.as_str()));
    let our_base = signature_base(&parsed.params, &msg, None::<&Message>).unwrap();
    assert_eq!(String::from_utf8(our_base.clone()).unwrap(), String::from_utf8(base.as_bytes()).unwrap());
    verify_signature(&parsed.params, &parsed.signature, &our_base, ours).unwrap();
}

/// We sign; they parse our headers, build their own base and verify.
fn we_sign_they_verify(key: &SigningKey, theirs: &impl httpsig::prelude::VerifyingKey) {
    let msg = request();
    let comps = COVERED.map(Component::field_or_derived);
    let params = SignParams::new("sig1").created(1_767_225_600).nonce("q4Kj2dVbX8mNcP1a").keyid("k1");
    let signed = sign_message(&msg, None::<&Message>, &comps, &params, key).unwrap();

    let map = HttpSignatureHeaders::try_parse(&signed.signature, &signed.signature_input).unwrap();
    let headers = map.get("sig1").unwrap();
    let their_comps = their_components(&msg, &headers.signature_params().covered_components);
    let base = HttpSignatureBase::try_new(&their_comps, headers.signature_params()).unwrap();
    assert_eq!(String::from_utf8(base.as_bytes()).unwrap(), String::from_utf8(signed.base.clone()).unwrap());
    base.verify_signature_headers(theirs, headers).unwrap();

    // And a tampered signature is refused by them too.
    let mut bad = signed.signature.clone().into_bytes();
    let i = bad.len() - 6;
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    let map =
        HttpSignatureHeaders::try_parse(std::str::from_utf8(&bad).unwrap(), &signed.signature_input).unwrap();
    assert!(base.verify_signature_headers(theirs, map.get("sig1").unwrap()).is_err());
}

fn spki_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

#[test]
fn hmac_sha256_signed_by_httpsig_crate_verifies_with_ours() {
    let theirs = SharedKey::from_base64(&AlgorithmName::HmacSha256, SHARED_SECRET).unwrap();
    let ours = SigningKey::hmac_sha256_base64(SHARED_SECRET).unwrap().verifying_key();
    they_sign_we_verify(&theirs, AlgorithmName::HmacSha256, &ours);
}

#[test]
fn hmac_sha256_signed_by_us_verifies_with_httpsig_crate() {
    let theirs = SharedKey::from_base64(&AlgorithmName::HmacSha256, SHARED_SECRET).unwrap();
    we_sign_they_verify(&SigningKey::hmac_sha256_base64(SHARED_SECRET).unwrap(), &theirs);
}

#[test]
fn ed25519_signed_by_httpsig_crate_verifies_with_ours() {
    let theirs = SecretKey::from_pem(&AlgorithmName::Ed25519, ED_KEY).unwrap();
    let ours = VerifyingKey::from_pem(Algorithm::Ed25519, ED_PUB).unwrap();
    they_sign_we_verify(&theirs, AlgorithmName::Ed25519, &ours);
}

#[test]
fn ed25519_signed_by_us_verifies_with_httpsig_crate() {
    let theirs = PublicKey::from_pem(&AlgorithmName::Ed25519, ED_PUB).unwrap();
    we_sign_they_verify(&SigningKey::from_pem(Algorithm::Ed25519, ED_KEY).unwrap(), &theirs);
}

#[test]
fn ecdsa_p256_interoperates_with_httpsig_crate_both_ways() {
    let (ours, pkcs8) = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let their_secret = SecretKey::from_der(&AlgorithmName::EcdsaP256Sha256, pkcs8.expose()).unwrap();
    let their_public =
        PublicKey::from_pem(&AlgorithmName::EcdsaP256Sha256, &spki_pem(&ours.public_key_spki_der().unwrap()))
            .unwrap();
    they_sign_we_verify(&their_secret, AlgorithmName::EcdsaP256Sha256, &ours.verifying_key());
    we_sign_they_verify(&ours, &their_public);
}
