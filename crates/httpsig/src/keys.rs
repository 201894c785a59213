//! Signing and verifying keys for the three SPEC §3.2 algorithms.
//!
//! | [`Algorithm`] | signing key | verifying key | signature |
//! |---|---|---|---|
//! | `hmac-sha256` | shared secret (≥ 32 bytes) | the same secret | 32-byte tag |
//! | `ecdsa-p256-sha256` | PKCS#8 or SEC1 (`EC PRIVATE KEY`) | SPKI (`PUBLIC KEY`) | 64-byte r‖s |
//! | `ed25519` | PKCS#8 | SPKI | 64 bytes |
//!
//! ```
//! use slipgate_httpsig::keys::{Algorithm, SigningKey};
//!
//! let (key, pkcs8) = SigningKey::generate(Algorithm::Ed25519).unwrap();
//! assert_eq!(format!("{pkcs8:?}"), "[redacted]");
//! let sig = key.sign(b"base").unwrap();
//! key.verifying_key().verify(b"base", &sig).unwrap();
//! ```
//!
//! # Security
//!
//! HMAC tags are checked with `aws_lc_rs::hmac::verify` (constant time). Each key carries its
//! algorithm, so a signature is only ever checked with the algorithm the key was registered
//! for (no algorithm confusion); a wrong-length signature is rejected, in particular a
//! DER-encoded ECDSA signature. `Debug` never prints key material.

use secrecy::{ExposeSecret as _, SecretSlice};
use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    ParsedPublicKey,
};
use aws_lc_rs::{hmac, rand};
use base64::{Engine as _, engine::general_purpose::STANDARD};

/// Shortest HMAC secret accepted, in bytes (the SHA-256 output size).
pub const MIN_HMAC_SECRET_LEN: usize = 32;
const MAX_PEM_LEN: usize = 16 * 1024;

/// A signature algorithm from the RFC 9421 registry that Slipgate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `hmac-sha256`.
    HmacSha256,
    /// `ecdsa-p256-sha256`, signatures as fixed 64-byte r‖s.
    EcdsaP256Sha256,
    /// `ed25519`.
    Ed25519,
}

impl Algorithm {
    /// The registry name, as used in the `alg` parameter.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Self::Ed25519 => "ed25519",
        }
    }

    /// The length of every valid signature for this algorithm.
    #[must_use]
    pub fn signature_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::EcdsaP256Sha256 | Self::Ed25519 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hmac-sha256" => Ok(Self::HmacSha256),
            "ecdsa-p256-sha256" => Ok(Self::EcdsaP256Sha256),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(KeyError::UnknownAlgorithm(s.chars().take(32).collect())),
        }
    }
}

/// Why a key could not be loaded, generated or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm name is not one of `hmac-sha256`, `ecdsa-p256-sha256`, `ed25519`.
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// The HMAC secret is shorter than [`MIN_HMAC_SECRET_LEN`].
    #[error("hmac secret is shorter than {MIN_HMAC_SECRET_LEN} bytes")]
    SecretTooShort,
    /// The PEM text has no block with the expected label, or its base64 is invalid.
    #[error("pem has no valid {0} block")]
    Pem(&'static str),
    /// The key material was rejected for this algorithm.
    #[error("key rejected for {0}")]
    Rejected(Algorithm),
    /// The operation does not apply to this algorithm (e.g. PEM for an HMAC secret).
    #[error("operation not supported for {0}")]
    Unsupported(Algorithm),
    /// The crypto library failed (randomness or signing).
    #[error("crypto operation failed for {0}")]
    Crypto(Algorithm),
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature's length is not the algorithm's fixed length.
    #[error("signature length {actual} is not {expected} for {alg}")]
    Length {
        /// The key's algorithm.
        alg: Algorithm,
        /// The fixed signature length of that algorithm.
        expected: usize,
        /// The received length.
        actual: usize,
    },
    /// The signature does not verify with this key.
    #[error("signature does not verify with the {0} key")]
    Invalid(Algorithm),
    /// The `alg` parameter names another algorithm than the key's.
    #[error("alg parameter does not match the key algorithm {0}")]
    AlgorithmMismatch(Algorithm),
}

/// Secret bytes (an HMAC secret or a PKCS#8 document) whose `Debug` prints `[redacted]`; kept
/// in a [`secrecy::SecretSlice`], so the buffer is zeroized on drop. Equality is constant-time.
#[derive(Clone)]
pub struct SecretBytes(SecretSlice<u8>);

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.expose(), other.expose()).is_ok()
    }
}

impl Eq for SecretBytes {}

impl SecretBytes {
    /// Wraps bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// The secret bytes; handle with care.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

enum SigningInner {
    Hmac(Box<hmac::Key>),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key that signs signature bases.
pub struct SigningKey {
    alg: Algorithm,
    inner: SigningInner,
    /// Kept for HMAC so the matching [`VerifyingKey`] can be derived.
    secret: Option<SecretBytes>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

impl SigningKey {
    /// An `hmac-sha256` key from the raw shared secret.
    ///
    /// # Errors
    ///
    /// [`KeyError::SecretTooShort`] below [`MIN_HMAC_SECRET_LEN`] bytes.
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self {
            alg: Algorithm::HmacSha256,
            inner: SigningInner::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
            secret: Some(SecretBytes::new(secret.to_vec())),
        })
    }

    /// An `hmac-sha256` key from the standard base64 of the secret.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rejected`] for invalid base64, else as [`Self::hmac_sha256`].
    pub fn hmac_sha256_base64(secret_b64: &str) -> Result<Self, KeyError> {
        let secret = SecretBytes::new(
            STANDARD.decode(secret_b64.trim()).map_err(|_| KeyError::Rejected(Algorithm::HmacSha256))?,
        );
        Self::hmac_sha256(secret.expose())
    }

    /// An asymmetric key from DER: PKCS#8 for both, or SEC1 (RFC 5915) for ECDSA.
    /// For `hmac-sha256` the bytes are the secret.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rejected`] when the DER is not a key for `alg`.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let inner = match alg {
            Algorithm::HmacSha256 => return Self::hmac_sha256(der),
            Algorithm::EcdsaP256Sha256 => SigningInner::Ecdsa(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError::Rejected(alg))?,
            ),
            Algorithm::Ed25519 => {
                SigningInner::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::Rejected(alg))?)
            }
        };
        Ok(Self { alg, inner, secret: None })
    }

    /// An asymmetric key from PEM: `PRIVATE KEY` (PKCS#8), or `EC PRIVATE KEY` for ECDSA.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for `hmac-sha256`, [`KeyError::Pem`] when no block decodes,
    /// [`KeyError::Rejected`] when the key does not fit `alg`.
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let der = match alg {
            Algorithm::HmacSha256 => return Err(KeyError::Unsupported(alg)),
            Algorithm::EcdsaP256Sha256 => {
                pem_block(pem, "PRIVATE KEY").or_else(|_| pem_block(pem, "EC PRIVATE KEY"))?
            }
            Algorithm::Ed25519 => pem_block(pem, "PRIVATE KEY")?,
        };
        Self::from_der(alg, der.expose())
    }

    /// Generates a new key and returns it with its encoding to store: the PKCS#8 v1 DER for
    /// ECDSA and Ed25519, 32 random bytes for HMAC.
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] when the random generator or encoder fails.
    pub fn generate(alg: Algorithm) -> Result<(Self, SecretBytes), KeyError> {
        let crypto = |_| KeyError::Crypto(alg);
        let stored = match alg {
            Algorithm::HmacSha256 => {
                let mut secret = vec![0u8; MIN_HMAC_SECRET_LEN];
                rand::fill(&mut secret).map_err(crypto)?;
                secret
            }
            Algorithm::EcdsaP256Sha256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(crypto)?
                .as_ref()
                .to_vec(),
            Algorithm::Ed25519 => {
                Ed25519KeyPair::generate().and_then(|k| k.to_pkcs8v1()).map_err(crypto)?.as_ref().to_vec()
            }
        };
        let stored = SecretBytes::new(stored);
        Ok((Self::from_der(alg, stored.expose())?, stored))
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Signs a signature base.
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if the crypto library fails.
    pub fn sign(&self, base: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            SigningInner::Hmac(k) => Ok(hmac::sign(k, base).as_ref().to_vec()),
            SigningInner::Ecdsa(k) => Ok(k
                .sign(&SystemRandom::new(), base)
                .map_err(|_| KeyError::Crypto(self.alg))?
                .as_ref()
                .to_vec()),
            SigningInner::Ed25519(k) => Ok(k.sign(base).as_ref().to_vec()),
        }
    }

    /// The matching verifying key (the same secret for HMAC, the public key otherwise).
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        match &self.inner {
            SigningInner::Hmac(k) => VerifyingKey { alg: self.alg, inner: VerifyingInner::Hmac(k.clone()) },
            SigningInner::Ecdsa(k) => VerifyingKey::public(self.alg, k.public_key().as_ref()),
            SigningInner::Ed25519(k) => VerifyingKey::public(self.alg, k.public_key().as_ref()),
        }
    }

    /// The public key as SPKI DER, for asymmetric keys.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for HMAC, [`KeyError::Crypto`] if encoding fails.
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let der = match &self.inner {
            SigningInner::Hmac(_) => return Err(KeyError::Unsupported(self.alg)),
            SigningInner::Ecdsa(k) => AsDer::<PublicKeyX509Der>::as_der(k.public_key()),
            SigningInner::Ed25519(k) => AsDer::<PublicKeyX509Der>::as_der(k.public_key()),
        };
        der.map(|d| d.as_ref().to_vec()).map_err(|_| KeyError::Crypto(self.alg))
    }

    /// The raw public key: the 32-byte Ed25519 key or the 65-byte uncompressed P-256 point
    /// (what a JWKS `x` / `x`‖`y` is made from).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for HMAC.
    pub fn public_key_raw(&self) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            SigningInner::Hmac(_) => Err(KeyError::Unsupported(self.alg)),
            SigningInner::Ecdsa(k) => Ok(k.public_key().as_ref().to_vec()),
            SigningInner::Ed25519(k) => Ok(k.public_key().as_ref().to_vec()),
        }
    }

    /// The HMAC secret, for HMAC keys.
    #[must_use]
    pub fn hmac_secret(&self) -> Option<&SecretBytes> {
        self.secret.as_ref()
    }
}

#[derive(Clone)]
enum VerifyingInner {
    Hmac(Box<hmac::Key>),
    Public(Option<ParsedPublicKey>),
}

/// A key that verifies signatures: the shared secret for HMAC, a public key otherwise.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    inner: VerifyingInner,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

impl VerifyingKey {
    /// Built from a key pair's own public key, which aws-lc has already validated.
    fn public(alg: Algorithm, raw: &[u8]) -> Self {
        let parsed = match alg {
            Algorithm::EcdsaP256Sha256 => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, raw).ok(),
            _ => ParsedPublicKey::new(&ED25519, raw).ok(),
        };
        Self { alg, inner: VerifyingInner::Public(parsed) }
    }

    /// An `hmac-sha256` verifying key from the shared secret.
    ///
    /// # Errors
    ///
    /// [`KeyError::SecretTooShort`] below [`MIN_HMAC_SECRET_LEN`] bytes.
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self {
            alg: Algorithm::HmacSha256,
            inner: VerifyingInner::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
        })
    }

    /// A public key from SPKI DER or raw bytes (32-byte Ed25519, SEC1 point for P-256).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for HMAC, [`KeyError::Rejected`] when the bytes are not a
    /// public key for `alg`.
    pub fn from_public_key(alg: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        let parsed = match alg {
            Algorithm::HmacSha256 => return Err(KeyError::Unsupported(alg)),
            Algorithm::EcdsaP256Sha256 => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, bytes),
            Algorithm::Ed25519 => ParsedPublicKey::new(&ED25519, bytes),
        }
        .map_err(|_| KeyError::Rejected(alg))?;
        Ok(Self { alg, inner: VerifyingInner::Public(Some(parsed)) })
    }

    /// A public key from a `PUBLIC KEY` (SPKI) PEM block.
    ///
    /// # Errors
    ///
    /// [`KeyError::Pem`] when no block decodes, else as [`Self::from_public_key`].
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        if alg == Algorithm::HmacSha256 {
            return Err(KeyError::Unsupported(alg));
        }
        Self::from_public_key(alg, pem_block(pem, "PUBLIC KEY")?.expose())
    }

    /// The public half of a private key given as PEM (`PRIVATE KEY` / `EC PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// As [`SigningKey::from_pem`].
    pub fn from_private_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        Ok(SigningKey::from_pem(alg, pem)?.verifying_key())
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Verifies `signature` over `base`.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Length`] when the length is not the algorithm's fixed length (so a DER
    /// ECDSA signature is refused), [`VerifyError::Invalid`] when it does not verify.
    pub fn verify(&self, base: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        let expected = self.alg.signature_len();
        if signature.len() != expected {
            return Err(VerifyError::Length { alg: self.alg, expected, actual: signature.len() });
        }
        let ok = match &self.inner {
            VerifyingInner::Hmac(k) => hmac::verify(k, base, signature).is_ok(),
            VerifyingInner::Public(Some(pk)) => pk.verify_sig(base, signature).is_ok(),
            VerifyingInner::Public(None) => false,
        };
        if ok { Ok(()) } else { Err(VerifyError::Invalid(self.alg)) }
    }
}

/// Encodes `der` as one PEM block with `label` (RFC 7468, 64-column lines),
/// e.g. `PRIVATE KEY` for PKCS#8 or `PUBLIC KEY` for SPKI.
#[must_use]
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decodes the first PEM block with this label (RFC 7468, strict base64 between the lines).
fn pem_block(pem: &str, label: &'static str) -> Result<SecretBytes, KeyError> {
    if pem.len() > MAX_PEM_LEN {
        return Err(KeyError::Pem(label));
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut lines = pem.lines().map(str::trim).skip_while(|l| *l != begin);
    if lines.next().is_none() {
        return Err(KeyError::Pem(label));
    }
    let mut b64 = String::new();
    for line in lines {
        if line == end {
            let der = STANDARD.decode(&b64).map_err(|_| KeyError::Pem(label))?;
            return Ok(SecretBytes::new(der));
        }
        if line.starts_with("-----") || line.contains(':') {
            break;
        }
        b64.push_str(line);
    }
    Err(KeyError::Pem(label))
}
