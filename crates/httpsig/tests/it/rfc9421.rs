//! RFC 9421 Appendix B vectors, byte for byte.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use slipgate_httpsig::{
    base::{Message, signature_base},
    digest::verify_content_digest,
    keys::{Algorithm, SigningKey, VerifyError, VerifyingKey},
    params::parse_signature_headers,
    sign::{SignParams, sign_message, verify_signature},
};

use crate::parse_http;

const FIX: &str = "test-support/fixtures/rfc9421";
const REQUEST: &str = include_str!("../../../test-support/fixtures/rfc9421/test-request.http");
const RESPONSE: &str = include_str!("../../../test-support/fixtures/rfc9421/test-response.http");
const SHARED_SECRET: &str = include_str!("../../../test-support/fixtures/rfc9421/test-shared-secret.b64");
const ED_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.key.pem");
const ED_PUB: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.pub.pem");
const EC_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ecc-p256.key.pem");
const EC_PUB: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ecc-p256.pub.pem");

struct Vector {
    input: &'static str,
    signature: &'static str,
    base: &'static str,
}

macro_rules! vector {
    ($n:literal) => {
        Vector {
            input: include_str!(concat!(
                "../../../test-support/fixtures/rfc9421/",
                $n,
                "-signature-input.txt"
            )),
            signature: include_str!(concat!("../../../test-support/fixtures/rfc9421/", $n, "-signature.txt")),
            base: include_str!(concat!("../../../test-support/fixtures/rfc9421/", $n, "-base.txt")),
        }
    };
}

fn rebuild(v: &Vector, msg: &Message) -> (slipgate_httpsig::ParsedSignature, Vec<u8>) {
    let parsed = parse_signature_headers(Some(v.input), Some(v.signature)).expect("parse");
    let base = signature_base(&parsed.params, msg, None::<&Message>).expect("base");
    assert_eq!(String::from_utf8(base.clone()).unwrap(), v.base, "signature base differs ({FIX})");
    (parsed, base)
}

#[test]
fn test_messages_carry_matching_content_digests() {
    for text in [REQUEST, RESPONSE] {
        let (msg, body) = parse_http(text);
        verify_content_digest(msg.header("content-digest").as_deref(), &body).expect("digest");
    }
}

#[test]
fn b25_hmac_sha256_base_and_signature_match_byte_for_byte() {
    let v = vector!("b25");
    let (msg, _) = parse_http(REQUEST);
    let (parsed, base) = rebuild(&v, &msg);
    let key = SigningKey::hmac_sha256_base64(SHARED_SECRET).unwrap();
    assert_eq!(key.sign(&base).unwrap(), parsed.signature);
    verify_signature(&parsed.params, &parsed.signature, &base, &key.verifying_key()).unwrap();

    // Our signer reproduces both header values exactly.
    let params = SignParams::new("sig-b25").created(1_618_884_473).keyid("test-shared-secret");
    let signed = sign_message(&msg, None::<&Message>, &parsed.params.components, &params, &key).unwrap();
    assert_eq!(signed.signature_input, v.input);
    assert_eq!(signed.signature, v.signature);
}

#[test]
fn b26_ed25519_base_and_signature_match_byte_for_byte() {
    let v = vector!("b26");
    let (msg, _) = parse_http(REQUEST);
    let (parsed, base) = rebuild(&v, &msg);
    let key = SigningKey::from_pem(Algorithm::Ed25519, ED_KEY).unwrap();
    assert_eq!(STANDARD.encode(key.sign(&base).unwrap()), STANDARD.encode(&parsed.signature));
    let public = VerifyingKey::from_pem(Algorithm::Ed25519, ED_PUB).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, &public).unwrap();

    let params = SignParams::new("sig-b26").created(1_618_884_473).keyid("test-key-ed25519");
    let signed = sign_message(&msg, None::<&Message>, &parsed.params.components, &params, &key).unwrap();
    assert_eq!(signed.signature_input, v.input);
    assert_eq!(signed.signature, v.signature);
}

#[test]
fn b24_ecdsa_p256_response_signature_verifies() {
    let v = vector!("b24");
    let (msg, _) = parse_http(RESPONSE);
    let (parsed, base) = rebuild(&v, &msg);
    let public = VerifyingKey::from_pem(Algorithm::EcdsaP256Sha256, EC_PUB).unwrap();
    verify_signature(&parsed.params, &parsed.signature, &base, &public).unwrap();

    let mut tampered = base.clone();
    tampered[10] ^= 1;
    assert_eq!(
        public.verify(&tampered, &parsed.signature),
        Err(VerifyError::Invalid(Algorithm::EcdsaP256Sha256))
    );
}

#[test]
fn ecc_p256_sec1_private_key_signs_what_its_public_key_verifies() {
    let key = SigningKey::from_pem(Algorithm::EcdsaP256Sha256, EC_KEY).unwrap();
    let public = VerifyingKey::from_pem(Algorithm::EcdsaP256Sha256, EC_PUB).unwrap();
    let sig = key.sign(b"base").unwrap();
    assert_eq!(sig.len(), 64);
    public.verify(b"base", &sig).unwrap();
    // Same key pair as the RFC's public key, not just any key.
    let spki = key.public_key_spki_der().unwrap();
    let pem_b64: String = EC_PUB.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(STANDARD.encode(spki), pem_b64);
}

#[test]
fn ed25519_private_key_matches_rfc_public_key() {
    let key = SigningKey::from_pem(Algorithm::Ed25519, ED_KEY).unwrap();
    let pem_b64: String = ED_PUB.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(STANDARD.encode(key.public_key_spki_der().unwrap()), pem_b64);
}
