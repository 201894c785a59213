//! RFC 9530 `Content-Digest`: computing it for a body and checking a received one.
//!
//! Only `sha-256` and `sha-512` count; deprecated algorithms (`md5`, `sha`, `unixsum`, …) are
//! ignored, so a field that carries nothing else is treated as absent. When both known
//! algorithms are present, both must match. Comparison is constant time.
//!
//! ```
//! use slipgate_httpsig::digest::{content_digest, verify_content_digest, DigestAlgorithm};
//!
//! let body = br#"{"hello": "world"}"#;
//! let value = content_digest(DigestAlgorithm::Sha256, body);
//! assert_eq!(value, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
//! assert_eq!(verify_content_digest(Some(&value), body), Ok(DigestAlgorithm::Sha256));
//! ```
//!
//! # Security
//!
//! Binds the body to the signature when `content-digest` is a covered component (SPEC §1). It
//! does not by itself authenticate anything: an attacker can recompute an uncovered digest.

use aws_lc_rs::{constant_time, digest};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use sfv::{BareItem, ListEntry, Parser};

use crate::{MAX_DIGEST_FIELD_LEN, MAX_MEMBERS};

/// A hash algorithm from the RFC 9530 registry that this crate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `sha-256`.
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The registry key, as it appears in the field (`sha-256`, `sha-512`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha512 => "sha-512",
        }
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "sha-256" => Some(Self::Sha256),
            "sha-512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// Why a `Content-Digest` check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// No `Content-Digest` field, or no `sha-256` / `sha-512` member in it.
    #[error("content-digest is missing or has no sha-256 or sha-512 member")]
    Missing,
    /// The field is malformed, a digest has the wrong length, or it does not match the body.
    #[error("content-digest does not match the body ({0})")]
    Mismatch(&'static str),
}

/// Computes the `Content-Digest` field value for `body`, e.g. `sha-256=:<base64>:`.
#[must_use]
pub fn content_digest(alg: DigestAlgorithm, body: &[u8]) -> String {
    let d = digest::digest(alg.aws(), body);
    format!("{}=:{}:", alg.as_str(), STANDARD.encode(d.as_ref()))
}

/// Checks a received `Content-Digest` value against the body actually received.
///
/// Returns the strongest algorithm that matched. Several field lines must be joined with `", "`
/// by the caller before the call.
///
/// # Errors
///
/// [`DigestError::Missing`] when `header_value` is `None` or has no known member;
/// [`DigestError::Mismatch`] when it is unparsable, a known member is not a byte sequence of the
/// right length, or any known member differs from the body's digest.
pub fn verify_content_digest(
    header_value: Option<&str>,
    body: &[u8],
) -> Result<DigestAlgorithm, DigestError> {
    // The form this project's clients send, one `sha-256` member and no parameters, without
    // building a structured-field dictionary; anything else (whitespace, parameters, a second
    // member, base64 the strict decoder refuses) goes to the general parser, which decides.
    // A property test holds both paths equal on every input.
    if let Some(claimed) = header_value.and_then(canonical_sha256) {
        let actual = digest::digest(&digest::SHA256, body);
        return constant_time::verify_slices_are_equal(&claimed, actual.as_ref())
            .map(|()| DigestAlgorithm::Sha256)
            .map_err(|_| DigestError::Mismatch("digest differs"));
    }
    verify_content_digest_general(header_value, body)
}

/// The 32 bytes of `sha-256=:<44 base64 characters>:` exactly, if `value` is that.
fn canonical_sha256(value: &str) -> Option<Vec<u8>> {
    let encoded = value.strip_prefix("sha-256=:")?.strip_suffix(':')?;
    if encoded.len() != 44 {
        return None;
    }
    STANDARD.decode(encoded).ok().filter(|bytes| bytes.len() == 32)
}

/// [`verify_content_digest`] through the general structured-field parser only (tests compare it
/// with the fast path).
///
/// # Errors
///
/// As [`verify_content_digest`].
#[doc(hidden)]
pub fn verify_content_digest_general(
    header_value: Option<&str>,
    body: &[u8],
) -> Result<DigestAlgorithm, DigestError> {
    let value = header_value.ok_or(DigestError::Missing)?;
    if value.len() > MAX_DIGEST_FIELD_LEN {
        return Err(DigestError::Mismatch("field too long"));
    }
    let dict = Parser::parse_dictionary(value.as_bytes()).map_err(|_| DigestError::Mismatch("unparsable"))?;
    if dict.len() > MAX_MEMBERS {
        return Err(DigestError::Mismatch("too many members"));
    }
    let mut strongest = None;
    for (key, entry) in &dict {
        let Some(alg) = DigestAlgorithm::from_key(key) else { continue };
        let ListEntry::Item(item) = entry else {
            return Err(DigestError::Mismatch("member is not a byte sequence"));
        };
        let BareItem::ByteSeq(claimed) = &item.bare_item else {
            return Err(DigestError::Mismatch("member is not a byte sequence"));
        };
        let actual = digest::digest(alg.aws(), body);
        if claimed.len() != actual.as_ref().len() {
            return Err(DigestError::Mismatch("wrong digest length"));
        }
        constant_time::verify_slices_are_equal(claimed, actual.as_ref())
            .map_err(|_| DigestError::Mismatch("digest differs"))?;
        strongest = match (strongest, alg) {
            (Some(DigestAlgorithm::Sha512), _) | (_, DigestAlgorithm::Sha512) => {
                Some(DigestAlgorithm::Sha512)
            }
            _ => Some(DigestAlgorithm::Sha256),
        };
    }
    strongest.ok_or(DigestError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_algorithms_when_both_match() {
        let body = b"abc";
        let both = format!(
            "{}, {}",
            content_digest(DigestAlgorithm::Sha256, body),
            content_digest(DigestAlgorithm::Sha512, body)
        );
        assert_eq!(verify_content_digest(Some(&both), body), Ok(DigestAlgorithm::Sha512));
    }

    #[test]
    fn rejects_when_one_of_two_digests_differs() {
        let body = b"abc";
        let mixed = format!(
            "{}, {}",
            content_digest(DigestAlgorithm::Sha256, body),
            content_digest(DigestAlgorithm::Sha512, b"abd")
        );
        assert!(matches!(verify_content_digest(Some(&mixed), body), Err(DigestError::Mismatch(_))));
    }

    #[test]
    fn ignores_unknown_members_beside_a_known_one() {
        let body = b"abc";
        let v = format!("md5=:AAAA:, {}", content_digest(DigestAlgorithm::Sha256, body));
        assert_eq!(verify_content_digest(Some(&v), body), Ok(DigestAlgorithm::Sha256));
    }

    #[test]
    fn rejects_digest_as_token_instead_of_byte_sequence() {
        assert!(matches!(verify_content_digest(Some("sha-256=abc"), b""), Err(DigestError::Mismatch(_))));
    }
}
