//! Signing a message ([`sign_message`]) and verifying a rebuilt base ([`verify_signature`]).
//!
//! The signer builds the `Signature-Input` inner list from the components and [`SignParams`]
//! (parameters in the order `created`, `expires`, `nonce`, `keyid`, `tag`, `alg`, `pub` — the
//! order of the signed token request in SPEC §4), parses it back with the verifier's parser so
//! both sides agree byte for byte, builds the base and signs.
//!
//! A run-time key (draft-richer-oauth-httpsig-03 §2.2) signs without `keyid` and shows itself
//! with [`SignParams::with_pub`]: the `pub` parameter is then the signing key's own raw public
//! key, so it cannot disagree with the key that signs.
//!
//! ```
//! use slipgate_httpsig::{base::Message, keys::SigningKey, params::Component};
//! use slipgate_httpsig::sign::{sign_message, SignParams};
//!
//! let msg = Message::request("GET", "https://example.com/").unwrap();
//! let key = SigningKey::hmac_sha256(&[1u8; 32]).unwrap();
//! let params = SignParams::new("sig1").created(1).keyid("k");
//! let signed = sign_message(&msg, None::<&Message>, &[Component::field_or_derived("@method")], &params, &key).unwrap();
//! assert_eq!(signed.signature_input, r#"sig1=("@method");created=1;keyid="k""#);
//! ```
//!
//! # Security
//!
//! [`verify_signature`] refuses an `alg` parameter that differs from the key's algorithm before
//! any cryptography runs; the key alone decides how the signature is checked.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sfv::{BareItem, InnerList, Parameters};

use crate::base::{BaseError, HttpMessage, signature_base};
use crate::keys::{KeyError, SigningKey, VerifyError, VerifyingKey};
use crate::params::{Component, ParseError, SignatureParams, params_from_inner_list};

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The label, a component or a parameter is invalid.
    #[error(transparent)]
    Params(#[from] ParseError),
    /// The message lacks a component to cover.
    #[error(transparent)]
    Base(#[from] BaseError),
    /// The key failed to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The signature parameters a signer chooses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignParams {
    /// The label (dictionary key), e.g. `sig1`.
    pub label: String,
    /// `created`, unix seconds.
    pub created: Option<i64>,
    /// `expires`, unix seconds.
    pub expires: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// Whether to include `alg` (the key's algorithm name).
    pub include_alg: bool,
    /// `tag`.
    pub tag: Option<String>,
    /// Whether to include `pub` (the key's raw public key, as an sf-binary).
    pub include_pub: bool,
}

impl SignParams {
    /// Parameters with only a label.
    #[must_use]
    pub fn new(label: &str) -> Self {
        Self { label: label.to_owned(), ..Self::default() }
    }
    /// Sets `created`.
    #[must_use]
    pub fn created(mut self, unix: i64) -> Self {
        self.created = Some(unix);
        self
    }
    /// Sets `expires`.
    #[must_use]
    pub fn expires(mut self, unix: i64) -> Self {
        self.expires = Some(unix);
        self
    }
    /// Sets `nonce`.
    #[must_use]
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.to_owned());
        self
    }
    /// Sets `keyid`.
    #[must_use]
    pub fn keyid(mut self, keyid: &str) -> Self {
        self.keyid = Some(keyid.to_owned());
        self
    }
    /// Includes `alg`.
    #[must_use]
    pub fn with_alg(mut self) -> Self {
        self.include_alg = true;
        self
    }
    /// Sets `tag`.
    #[must_use]
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = Some(tag.to_owned());
        self
    }
    /// Includes `pub`: the signing key's raw public key (32 bytes for Ed25519, the 65-byte
    /// uncompressed point for P-256). Signing with an HMAC key then fails: a shared secret
    /// has no public form and must never be sent.
    #[must_use]
    pub fn with_pub(mut self) -> Self {
        self.include_pub = true;
        self
    }
}

/// The two field values to add to the message, and the base that was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The `Signature-Input` value, e.g. `sig1=("@method");created=1;keyid="k"`.
    pub signature_input: String,
    /// The `Signature` value, e.g. `sig1=:<base64>:`.
    pub signature: String,
    /// The parsed parameters, as a verifier will see them.
    pub params: SignatureParams,
    /// The signature base that was signed.
    pub base: Vec<u8>,
}

/// Signs `msg` over `components` with `key`.
///
/// `related_request` is needed for `;req` components when signing a response.
///
/// # Errors
///
/// [`SignError::Params`] for an invalid label, component or parameter (including a nonce not of
/// the SPEC form), [`SignError::Base`] when the message lacks a component, [`SignError::Key`]
/// when signing fails or `pub` is asked of an HMAC key ([`KeyError::Unsupported`]).
pub fn sign_message<M: HttpMessage + ?Sized, R: HttpMessage + ?Sized>(
    msg: &M,
    related_request: Option<&R>,
    components: &[Component],
    params: &SignParams,
    key: &SigningKey,
) -> Result<SignedHeaders, SignError> {
    let items = components.iter().map(Component::to_item).collect::<Result<Vec<_>, _>>()?;
    let mut p = Parameters::new();
    let mut put = |k: &str, v: BareItem| {
        p.insert(k.to_owned(), v);
    };
    if let Some(c) = params.created {
        put("created", BareItem::Integer(c));
    }
    if let Some(e) = params.expires {
        put("expires", BareItem::Integer(e));
    }
    if let Some(n) = &params.nonce {
        put("nonce", BareItem::String(n.clone()));
    }
    if let Some(k) = &params.keyid {
        put("keyid", BareItem::String(k.clone()));
    }
    if let Some(t) = &params.tag {
        put("tag", BareItem::String(t.clone()));
    }
    if params.include_alg {
        put("alg", BareItem::String(key.algorithm().as_str().to_owned()));
    }
    if params.include_pub {
        put("pub", BareItem::ByteSeq(key.public_key_raw()?));
    }
    let inner = InnerList::with_params(items, p);
    let parsed = params_from_inner_list(&params.label, &inner)?;
    // Validates the label as an sf key, and gives exactly the text a verifier parses.
    let signature_input = {
        let mut dict = sfv::Dictionary::new();
        dict.insert(params.label.clone(), inner.into());
        sfv::SerializeValue::serialize_value(&dict)
            .map_err(|e| ParseError::Malformed(format!("label {:?}: {e}", params.label)))?
    };
    let base = signature_base(&parsed, msg, related_request)?;
    let sig = key.sign(&base)?;
    Ok(SignedHeaders {
        signature: format!("{}=:{}:", params.label, STANDARD.encode(sig)),
        signature_input,
        params: parsed,
        base,
    })
}

/// Verifies `signature` over a rebuilt `base` with the key registered for `params.keyid`.
///
/// # Errors
///
/// [`VerifyError::AlgorithmMismatch`] when `params.alg` is present and differs from the key's
/// algorithm; otherwise as [`VerifyingKey::verify`].
pub fn verify_signature(
    params: &SignatureParams,
    signature: &[u8],
    base: &[u8],
    key: &VerifyingKey,
) -> Result<(), VerifyError> {
    if let Some(alg) = &params.alg
        && alg != key.algorithm().as_str()
    {
        return Err(VerifyError::AlgorithmMismatch(key.algorithm()));
    }
    key.verify(base, signature)
}
