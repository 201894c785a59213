//! Building blocks for key-bound tokens (draft-richer-oauth-httpsig-03; SPEC §3.2.1 and §4):
//! the raw public keys a client shows in the `pub` signature parameter, their RFC 7638 JWK
//! thumbprints, and the `cnf.htsk` confirmation the identity server writes into the token.
//!
//! A run-time key travels as raw bytes: Ed25519 as the 32-byte RFC 8032 key, ECDSA P-256 as the
//! 65-byte uncompressed point `0x04‖X‖Y` (draft §4). [`BoundKey::from_raw`] is the one door
//! through which such bytes become a [`VerifyingKey`]; [`BoundKey::from_signing_key`] is the
//! signer's way out (what [`crate::sign::SignParams::with_pub`] sends).
//!
//! ```
//! use slipgate_httpsig::binding::{BoundKey, Confirmation};
//! use slipgate_httpsig::keys::{Algorithm, SigningKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (device, _pkcs8) = SigningKey::generate(Algorithm::Ed25519)?;
//! let shown = BoundKey::from_signing_key(&device)?; // the client's `pub`
//! let received = BoundKey::from_raw(Algorithm::Ed25519, shown.raw())?; // the server's import
//! assert_eq!(received.thumbprint(), shown.thumbprint()); // 43 chars of base64url
//!
//! // The token's `cnf`, and back.
//! let cnf = received.confirmation();
//! let json = serde_json::to_string(&cnf)?;
//! let back: Confirmation = serde_json::from_str(&json)?;
//! assert_eq!(BoundKey::from_confirmation(&back)?, received);
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! Covered: a shared secret is never bound nor exported (`hmac-sha256` →
//! [`RawKeyError::SharedSecret`], draft §2.1 and §11); only the exact raw forms are accepted
//! (no SPKI, no compressed points, no padding or trailing bits in base64url), so one key has one
//! encoding and one thumbprint; P-256 points must lie on the curve; Ed25519 keys must be
//! canonical (`y < p`) and not of small order — with such a key a "signature" verifies without
//! any private key (R = identity, S = 0 verifies every message under the identity key), which
//! would make a token bound to it as good as a bearer token for whoever steals it.
//!
//! Not covered here: an Ed25519 key that is canonical but not on the curve is accepted by the
//! import and then verifies nothing (the signature check fails closed); which parameters a
//! request must carry (`keyid` absent, the `tag`) is the caller's policy.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use slipgate_proto::oauth::{Confirmation, Htsk};

use crate::keys::{Algorithm, SigningKey, VerifyingKey};
use crate::params::{
    ParseError, ParsedSignature, SignatureParams, fast_signature_input, params_from_inner_list, parse_dict,
    signature_member,
};

/// The two `tag` values (defined in `slipgate_proto::signature`, SPEC §3.2.1 and §4).
pub use slipgate_proto::signature::{BOUND_REQUEST_TAG, TOKEN_REQUEST_TAG};
/// Length of a raw Ed25519 public key.
pub const ED25519_RAW_LEN: usize = 32;
/// Length of a raw P-256 public key: the uncompressed point `0x04‖X‖Y`.
pub const P256_RAW_LEN: usize = 65;

/// Why raw public-key bytes (or their `cnf.htsk` form) were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RawKeyError {
    /// `hmac-sha256`: a shared secret has no public form and must never be bound.
    #[error("hmac-sha256 is a shared secret: it has no public key and cannot be bound")]
    SharedSecret,
    /// The algorithm name is not one of the registry names Slipgate accepts.
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// The raw key does not have its algorithm's length.
    #[error("{alg} public key is {actual} bytes, expected {expected}")]
    Length {
        /// The algorithm named with the key.
        alg: Algorithm,
        /// The raw length for that algorithm.
        expected: usize,
        /// The received length.
        actual: usize,
    },
    /// A P-256 key whose first byte is not `0x04` (compressed or hybrid forms are refused).
    #[error("ecdsa-p256-sha256 public key must be an uncompressed point (0x04), not 0x{0:02x}")]
    NotUncompressed(u8),
    /// The bytes are not a point of the curve (P-256), or not a canonical Ed25519 encoding.
    #[error("{0} public key is not a valid point")]
    InvalidPoint(Algorithm),
    /// An Ed25519 key of small order: signatures by it need no private key.
    #[error("ed25519 public key has small order")]
    SmallOrder,
    /// A `pub` in `cnf.htsk` that is not base64url without padding.
    #[error("pub is not base64url without padding")]
    Encoding,
    /// A signature parameter needed to name the key (`alg` or `pub`) is absent.
    #[error("signature parameter {0:?} is missing")]
    MissingParameter(&'static str),
}

/// A validated public key a token can be bound to: its algorithm, raw bytes and verifier.
#[derive(Clone)]
pub struct BoundKey {
    alg: Algorithm,
    raw: Vec<u8>,
    verifying: VerifyingKey,
}

impl PartialEq for BoundKey {
    fn eq(&self, other: &Self) -> bool {
        // Public values: no need for a constant-time compare.
        self.alg == other.alg && self.raw == other.raw
    }
}

impl Eq for BoundKey {}

impl fmt::Debug for BoundKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundKey").field("alg", &self.alg).field("thumbprint", &self.thumbprint()).finish()
    }
}

impl BoundKey {
    /// Imports a raw public key: exactly 32 bytes for `ed25519`, exactly the 65-byte
    /// uncompressed point for `ecdsa-p256-sha256`.
    ///
    /// # Errors
    ///
    /// [`RawKeyError::SharedSecret`] for `hmac-sha256`, [`RawKeyError::Length`],
    /// [`RawKeyError::NotUncompressed`], [`RawKeyError::InvalidPoint`] (off the P-256 curve, or
    /// a non-canonical Ed25519 encoding), [`RawKeyError::SmallOrder`].
    pub fn from_raw(alg: Algorithm, raw: &[u8]) -> Result<Self, RawKeyError> {
        let expected = match alg {
            Algorithm::HmacSha256 => return Err(RawKeyError::SharedSecret),
            Algorithm::Ed25519 => ED25519_RAW_LEN,
            Algorithm::EcdsaP256Sha256 => P256_RAW_LEN,
        };
        if raw.len() != expected {
            return Err(RawKeyError::Length { alg, expected, actual: raw.len() });
        }
        match alg {
            Algorithm::Ed25519 => check_ed25519(raw)?,
            _ => match raw.first() {
                Some(0x04) => {}
                Some(b) => return Err(RawKeyError::NotUncompressed(*b)),
                None => return Err(RawKeyError::Length { alg, expected, actual: 0 }),
            },
        }
        // aws-lc checks that a P-256 point lies on the curve (and its coordinates below p).
        let verifying =
            VerifyingKey::from_public_key(alg, raw).map_err(|_| RawKeyError::InvalidPoint(alg))?;
        Ok(Self { alg, raw: raw.to_vec(), verifying })
    }

    /// The public half of a signing key, as a client shows it in `pub`.
    ///
    /// # Errors
    ///
    /// [`RawKeyError::SharedSecret`] for an HMAC key; otherwise as [`Self::from_raw`] (a key
    /// made by aws-lc always passes).
    pub fn from_signing_key(key: &SigningKey) -> Result<Self, RawKeyError> {
        let raw = key.public_key_raw().map_err(|_| RawKeyError::SharedSecret)?;
        Self::from_raw(key.algorithm(), &raw)
    }

    /// The run-time key of a signed token request: its `alg` and `pub` parameters.
    ///
    /// Only names the key; whether `keyid` is absent and the `tag` right is the caller's check.
    ///
    /// # Errors
    ///
    /// [`RawKeyError::MissingParameter`] without `alg` or `pub`,
    /// [`RawKeyError::UnknownAlgorithm`], else as [`Self::from_raw`].
    pub fn from_signature_params(params: &SignatureParams) -> Result<Self, RawKeyError> {
        let alg = params.alg.as_deref().ok_or(RawKeyError::MissingParameter("alg"))?;
        let raw = params.pub_key.as_deref().ok_or(RawKeyError::MissingParameter("pub"))?;
        Self::from_raw(parse_alg(alg)?, raw)
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The raw public key (32 or 65 bytes).
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The verifier for signatures by this key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// The RFC 7638 §3 input: the required JWK members in lexicographic order, no whitespace —
    /// `{"crv":"Ed25519","kty":"OKP","x":…}` (RFC 8037 §2) or
    /// `{"crv":"P-256","kty":"EC","x":…,"y":…}` (RFC 7518 §6.2.1).
    #[must_use]
    pub fn thumbprint_input(&self) -> String {
        // Base64url values need no JSON escaping, so the members are written directly.
        match self.alg {
            Algorithm::EcdsaP256Sha256 => {
                // `raw` is 0x04‖X‖Y, 65 bytes (checked at import).
                let x = self.raw.get(1..33).unwrap_or_default();
                let y = self.raw.get(33..65).unwrap_or_default();
                format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                    URL_SAFE_NO_PAD.encode(x),
                    URL_SAFE_NO_PAD.encode(y)
                )
            }
            _ => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(&self.raw)),
        }
    }

    /// The RFC 7638 JWK thumbprint: base64url (no padding) of SHA-256 over
    /// [`Self::thumbprint_input`]. The replay key of bound requests (SPEC §3.2.1) and the key
    /// column of the session list.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, self.thumbprint_input().as_bytes()))
    }
}

/// Parses both fields and returns the one signature whose `tag` is `tag` — the signature of a
/// token request ([`TOKEN_REQUEST_TAG`]) or of a bound request ([`BOUND_REQUEST_TAG`]) — with
/// its `Signature` member, wherever it stands among the `Signature-Input` members.
///
/// Exactly one member may carry the tag (draft-richer-oauth-httpsig-03 §3, SPEC §3.2.1): none, or
/// more than one, is [`ParseError::Malformed`]. A member counts as carrying it when its `tag`
/// parameter is that text as an sf-string *or* as an sf-token, so a second, oddly typed copy makes
/// the request malformed rather than being ignored; the selected member must then parse fully
/// (a token-typed `tag` there is malformed). Other members are only looked at for their `tag`, so a
/// signature added for another purpose (with components this crate does not support) does not
/// break the request. Pass each field's lines joined by `", "`.
///
/// # Errors
///
/// [`ParseError::Missing`] when both are `None`, [`ParseError::NonceMalformed`] for the selected
/// member's bad nonce, [`ParseError::Malformed`] otherwise (one field only, bad syntax or limits,
/// no or several tagged members, no matching `Signature` member).
pub fn parse_tagged_signature(
    signature_input: Option<&str>,
    signature: Option<&str>,
    tag: &str,
) -> Result<ParsedSignature, ParseError> {
    let (input, sig) = match (signature_input, signature) {
        (None, None) => return Err(ParseError::Missing),
        (None, Some(_)) => return Err(ParseError::Malformed("signature-input is missing".into())),
        (Some(_), None) => return Err(ParseError::Malformed("signature is missing".into())),
        (Some(i), Some(s)) => (i, s),
    };
    let untagged = || ParseError::Malformed(format!("no signature is tagged {tag:?}"));
    // The common case, one member in canonical form, without building a tree.
    let params = if input.len() <= crate::MAX_FIELD_LEN
        && let Some(only) = fast_signature_input(input)
    {
        if only.tag.as_deref() != Some(tag) {
            return Err(untagged());
        }
        only
    } else {
        let dict = parse_dict(input, "signature-input")?;
        let mut tagged = dict.iter().filter(|(_, entry)| match entry {
            sfv::ListEntry::InnerList(inner) => matches!(
                inner.params.get("tag"),
                Some(sfv::BareItem::String(t) | sfv::BareItem::Token(t)) if t == tag
            ),
            sfv::ListEntry::Item(item) => matches!(
                item.params.get("tag"),
                Some(sfv::BareItem::String(t) | sfv::BareItem::Token(t)) if t == tag
            ),
        });
        let (label, entry) = tagged.next().ok_or_else(untagged)?;
        if tagged.next().is_some() {
            return Err(ParseError::Malformed(format!("more than one signature is tagged {tag:?}")));
        }
        let sfv::ListEntry::InnerList(inner) = entry else {
            return Err(ParseError::Malformed(format!("signature-input {label:?} is not an inner list")));
        };
        params_from_inner_list(label, inner)?
    };
    let signature = signature_member(sig, &params.label)?;
    Ok(ParsedSignature { params, signature })
}

fn parse_alg(alg: &str) -> Result<Algorithm, RawKeyError> {
    Algorithm::from_str(alg).map_err(|_| RawKeyError::UnknownAlgorithm(alg.chars().take(32).collect()))
}

/// p = 2^255 − 19, little-endian.
const P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// The y coordinates (little-endian, sign bit clear) of the points of small order: 0 (order 4),
/// 1 (the identity), p − 1 (order 2), and the two of order 8 (each other's negation mod p).
/// A test checks every one against aws-lc: a signature with S = 0 verifies under each.
const SMALL_ORDER_Y: [[u8; 32]; 5] = {
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_1 = P;
    p_minus_1[0] = 0xec;
    [
        [0u8; 32],
        one,
        p_minus_1,
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
            0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
            0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
        ],
    ]
};

/// RFC 8032 §5.1.3 decoding rule `y < p`, and no small-order point. Written here because aws-lc
/// exposes no Ed25519 point decoding, and it checks neither (its verify accepts forgeries under
/// small-order keys); a comparison of 32 bytes is all it takes.
fn check_ed25519(raw: &[u8]) -> Result<(), RawKeyError> {
    let mut y = [0u8; 32];
    y.copy_from_slice(raw.get(..32).ok_or(RawKeyError::InvalidPoint(Algorithm::Ed25519))?);
    y[31] &= 0x7f; // the sign bit of x
    // Little-endian comparison with p: from the most significant byte down.
    let below_p = y.iter().rev().zip(P.iter().rev()).find(|(a, b)| a != b).is_some_and(|(a, b)| a < b);
    if !below_p {
        return Err(RawKeyError::InvalidPoint(Algorithm::Ed25519));
    }
    if SMALL_ORDER_Y.contains(&y) {
        return Err(RawKeyError::SmallOrder);
    }
    Ok(())
}

impl BoundKey {
    /// The `cnf.htsk` form of this key.
    #[must_use]
    pub fn htsk(&self) -> Htsk {
        Htsk { alg: self.alg.as_str().to_owned(), pub_key: URL_SAFE_NO_PAD.encode(&self.raw) }
    }

    /// The `cnf` claim of a token bound to this key.
    #[must_use]
    pub fn confirmation(&self) -> Confirmation {
        Confirmation { htsk: self.htsk() }
    }

    /// The key an `htsk` names, checked as [`BoundKey::from_raw`] checks it.
    ///
    /// # Errors
    ///
    /// [`RawKeyError::UnknownAlgorithm`], [`RawKeyError::Encoding`] for anything but canonical
    /// base64url without padding, else as [`BoundKey::from_raw`].
    pub fn from_htsk(htsk: &Htsk) -> Result<Self, RawKeyError> {
        let alg = parse_alg(&htsk.alg)?;
        // Strict: no padding, no non-zero trailing bits, so one key has one text.
        let raw = URL_SAFE_NO_PAD.decode(&htsk.pub_key).map_err(|_| RawKeyError::Encoding)?;
        Self::from_raw(alg, &raw)
    }

    /// The key a token's `cnf` binds, checked.
    ///
    /// # Errors
    ///
    /// As [`BoundKey::from_htsk`].
    pub fn from_confirmation(cnf: &Confirmation) -> Result<Self, RawKeyError> {
        Self::from_htsk(&cnf.htsk)
    }
}
