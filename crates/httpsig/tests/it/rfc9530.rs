//! RFC 9530 samples for the `{"hello": "world"}` body.

use slipgate_httpsig::digest::{DigestAlgorithm, content_digest, verify_content_digest};

const BODY: &[u8] = include_bytes!("../../../test-support/fixtures/rfc9530/hello-world.json");
const SHA256: &str = include_str!("../../../test-support/fixtures/rfc9530/hello-world.sha-256.txt");
const SHA512: &str = include_str!("../../../test-support/fixtures/rfc9530/hello-world.sha-512.txt");

#[test]
fn sample_body_has_no_trailing_newline() {
    assert_eq!(BODY.len(), 18);
}

#[test]
fn sha256_matches_rfc9530_sample() {
    assert_eq!(content_digest(DigestAlgorithm::Sha256, BODY), SHA256);
    assert_eq!(verify_content_digest(Some(SHA256), BODY), Ok(DigestAlgorithm::Sha256));
}

#[test]
fn sha512_matches_rfc9530_sample() {
    assert_eq!(content_digest(DigestAlgorithm::Sha512, BODY), SHA512);
    assert_eq!(verify_content_digest(Some(SHA512), BODY), Ok(DigestAlgorithm::Sha512));
}

#[test]
fn both_samples_together_verify() {
    let both = format!("{SHA256}, {SHA512}");
    assert_eq!(verify_content_digest(Some(&both), BODY), Ok(DigestAlgorithm::Sha512));
}
