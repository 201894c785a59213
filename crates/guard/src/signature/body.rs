//! Steps 4 and 5 of SPEC §3.3, for either kind of key: [`check`], a pure
//! function over the body as read.

use http::request::Parts;
use slipgate_httpsig::base::join_field_lines;
use slipgate_httpsig::params::ParsedSignature;
use slipgate_httpsig::received::ReceivedRequest;
use slipgate_httpsig::{
    BaseError, DigestError, VerifyError, VerifyingKey, signature_base, verify_content_digest,
    verify_signature,
};
use slipgate_proto::ProblemCode;

use crate::Rejection;

/// Step 4, the body matches the very `Content-Digest` field the signature
/// covers; then step 5, the signature over the base rebuilt from the request
/// as received on the TLS listener (`@target-uri` is
/// `https://<authority><path>`) verifies with `key` (in constant time for HMAC).
///
/// # Errors
///
/// `digest_missing`, `digest_mismatch`, `components_missing`,
/// `signature_malformed`, `algorithm_mismatch` or `signature_invalid`.
pub fn check(
    parsed: &ParsedSignature,
    parts: &Parts,
    body: &[u8],
    key: &VerifyingKey,
) -> Result<(), Rejection> {
    // The value the signature base covers for `"content-digest"`, built the
    // same way (lines trimmed and joined; the head check allowed one line).
    let lines: Vec<&[u8]> = parts
        .headers
        .get_all(super::lines::CONTENT_DIGEST_NAME)
        .iter()
        .map(http::HeaderValue::as_bytes)
        .collect();
    let mut covered = Vec::new();
    join_field_lines(&lines, &mut covered);
    let digest = match (lines.is_empty(), std::str::from_utf8(&covered)) {
        (true, _) => None,
        (false, Ok(v)) => Some(v),
        (false, Err(_)) => {
            return Err(Rejection::new(ProblemCode::DigestMismatch, "Content-Digest is not ASCII"));
        }
    };
    verify_content_digest(digest, body).map_err(|e| match e {
        DigestError::Missing => {
            Rejection::new(ProblemCode::DigestMissing, "send Content-Digest with a sha-256 or sha-512 member")
        }
        _ => Rejection::new(ProblemCode::DigestMismatch, "Content-Digest does not match the body"),
    })?;
    let params = &parsed.params;
    let base =
        signature_base(params, &ReceivedRequest::https(parts), None::<&Parts>).map_err(|e| match e {
            BaseError::ComponentMissing(id) => Rejection::new(
                ProblemCode::ComponentsMissing,
                format!("covered component {id} is absent from the request"),
            ),
            other => Rejection::new(ProblemCode::SignatureMalformed, other.to_string()),
        })?;
    verify_signature(params, &parsed.signature, &base, key).map_err(|e| match e {
        VerifyError::AlgorithmMismatch(_) => {
            Rejection::new(ProblemCode::AlgorithmMismatch, "the alg parameter does not match the key")
        }
        _ => Rejection::new(ProblemCode::SignatureInvalid, "the signature does not verify"),
    })
}
