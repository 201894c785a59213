//! Access tokens of any RFC 9068 / OpenID provider: compact JWS signed with
//! `EdDSA` (Ed25519), `ES256`/`ES384` (P-256/P-384) or
//! `RS256`/`RS384`/`RS512`/`PS256`/`PS384`/`PS512` (RSA, 2048 to 8192 bits),
//! verified against the provider's JWKS. The API's jwt mode uses
//! [`verify_access_token`]; Slipgate's own identity server signs with `EdDSA`.
//!
//! ```
//! use aws_lc_rs::signature::Ed25519KeyPair;
//! use slipgate_httpsig::jose::{Jwk, Jwks, access, sign_jwt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pkcs8 = Ed25519KeyPair::generate()?.to_pkcs8v1()?;
//! let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())?;
//! let token = sign_jwt(&serde_json::json!({"sub": "alice"}), "k1", &key)?;
//! let jwks = Jwks { keys: vec![Jwk::from_key_pair(&key, "k1")] };
//! let (header, claims): (_, serde_json::Value) = access::verify_access_token(&token, &jwks)?;
//! assert_eq!((header.alg, claims["sub"].as_str()), (access::JwsAlg::EdDsa, Some("alice")));
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! Covered: algorithm confusion — `none` and every HMAC algorithm are refused
//! (a public key is never used as a MAC secret), and the key the `kid` names
//! must be of the header's family (`OKP`/`Ed25519` for `EdDSA`, `EC` with the
//! matching curve for `ES*`, `RSA` for `RS*`/`PS*`), with its `alg`, when the
//! JWKS states one, equal to the header's and its `use`, when stated, `sig`.
//! The header may carry only `alg`, `typ`, `kid` and the informational `x5t` /
//! `x5t#S256`: `crit`, `jku`, `x5u`, `jwk`, `x5c` and anything else are
//! refused, so a token can never point at its own key. Same parser limits as
//! [`super::verify_jwt`] ([`super::MAX_JWT_LEN`], canonical base64url).
//!
//! Not covered: which `typ` values to accept and the claims policy (`iss`,
//! `aud`, times, scopes) — the caller's.

use aws_lc_rs::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Jwk, Jwks, JwtError, Parts, segments};

/// The JWS algorithms an access token may be signed with (RFC 7518 §3, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwsAlg {
    /// `EdDSA` with an Ed25519 key.
    EdDsa,
    /// `ES256`: ECDSA P-256 with SHA-256.
    Es256,
    /// `ES384`: ECDSA P-384 with SHA-384.
    Es384,
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// `RS384`.
    Rs384,
    /// `RS512`.
    Rs512,
    /// `PS256`: RSASSA-PSS with SHA-256.
    Ps256,
    /// `PS384`.
    Ps384,
    /// `PS512`.
    Ps512,
}

impl JwsAlg {
    /// Every accepted algorithm.
    pub const ALL: [Self; 9] = [
        Self::EdDsa,
        Self::Es256,
        Self::Es384,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
    ];

    /// The registered name (case-sensitive, RFC 7515 §4.1.1).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn rsa(self) -> Option<&'static RsaParameters> {
        Some(match self {
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
            Self::EdDsa | Self::Es256 | Self::Es384 => return None,
        })
    }
}

impl std::fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An access token's protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessHeader {
    /// The signature algorithm.
    pub alg: JwsAlg,
    /// The media type (`at+jwt`, or what the provider writes); the caller decides.
    pub typ: String,
    /// The signing key's id in the provider's JWKS.
    pub kid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    alg: String,
    typ: String,
    kid: String,
    // Certificate thumbprints some providers add (Entra ID); only informational: the
    // key is always the JWKS entry `kid` names.
    #[serde(default)]
    #[allow(dead_code)]
    x5t: Option<String>,
    #[serde(default, rename = "x5t#S256")]
    #[allow(dead_code)]
    x5t_s256: Option<String>,
}

fn parse_header(bytes: &[u8]) -> Result<AccessHeader, JwtError> {
    let raw: RawHeader = serde_json::from_slice(bytes).map_err(|e| {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => match v.get("alg").and_then(|a| a.as_str()) {
                Some(alg) if JwsAlg::parse(alg).is_none() => {
                    JwtError::Algorithm(alg.chars().take(20).collect())
                }
                _ => JwtError::Header(e.to_string()),
            },
            Err(_) => JwtError::Header("not JSON".into()),
        }
    })?;
    let alg =
        JwsAlg::parse(&raw.alg).ok_or_else(|| JwtError::Algorithm(raw.alg.chars().take(20).collect()))?;
    if raw.kid.is_empty() || raw.kid.len() > 128 {
        return Err(JwtError::Header("kid must be 1 to 128 characters".into()));
    }
    if raw.typ.is_empty() || raw.typ.len() > 64 {
        return Err(JwtError::Header("typ must be 1 to 64 characters".into()));
    }
    Ok(AccessHeader { alg, typ: raw.typ, kid: raw.kid })
}

/// The header of `token`, checked but without verifying the signature (to
/// check `typ` and find the `kid` before fetching keys).
pub fn decode_access_header(token: &str) -> Result<AccessHeader, JwtError> {
    let parts = segments(token)?;
    parse_header(&parts.header)
}

fn decode(member: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(member).map_err(|_| JwtError::Key(what))
}

/// Checks `signature` over `input` with `jwk`, which must be a key of `alg`'s family.
fn verify_with(jwk: &Jwk, alg: JwsAlg, input: &[u8], signature: &[u8]) -> Result<(), JwtError> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(JwtError::Key("use is not sig"));
    }
    if jwk.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
        return Err(JwtError::Key("the key's alg is not the token's"));
    }
    let ec = |crv: &str, len: usize, alg: &'static signature::EcdsaVerificationAlgorithm| {
        if jwk.kty != "EC" || jwk.crv != crv {
            return Err(JwtError::Key("not an EC key of the token's curve"));
        }
        let (x, y) = (decode(&jwk.x, "x is not base64url")?, decode(&jwk.y, "y is not base64url")?);
        if x.len() != len || y.len() != len {
            return Err(JwtError::Key("EC coordinates of the wrong length"));
        }
        if signature.len() != 2 * len {
            return Err(JwtError::Signature);
        }
        let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
        UnparsedPublicKey::new(alg, point).verify(input, signature).map_err(|_| JwtError::Signature)
    };
    match alg {
        JwsAlg::EdDsa => {
            let key = jwk.ed25519_public_key()?;
            if signature.len() != 64 {
                return Err(JwtError::Signature);
            }
            UnparsedPublicKey::new(&signature::ED25519, key)
                .verify(input, signature)
                .map_err(|_| JwtError::Signature)
        }
        JwsAlg::Es256 => ec("P-256", 32, &signature::ECDSA_P256_SHA256_FIXED),
        JwsAlg::Es384 => ec("P-384", 48, &signature::ECDSA_P384_SHA384_FIXED),
        rsa => {
            let params = rsa.rsa().ok_or(JwtError::Key("not an RSA algorithm"))?;
            if jwk.kty != "RSA" {
                return Err(JwtError::Key("not an RSA key"));
            }
            let n = decode(&jwk.n, "n is not base64url")?;
            let e = decode(&jwk.e, "e is not base64url")?;
            let strip = |v: &[u8]| v.iter().position(|b| *b != 0).map_or(Vec::new(), |at| v[at..].to_vec());
            let key = RsaPublicKeyComponents { n: strip(&n), e: strip(&e) };
            key.verify(params, input, signature).map_err(|_| JwtError::Signature)
        }
    }
}

/// Verifies `token` with the key of `keys` its `kid` names and returns its
/// header and claims. Checks no claim: that is the caller's policy.
///
/// # Errors
///
/// [`JwtError::UnknownKey`] when no key has the `kid` (the caller may re-read
/// the JWKS); [`JwtError::Key`] when that key is not of the header's algorithm;
/// the other variants for a malformed token, a refused header or a signature
/// that does not verify.
pub fn verify_access_token<T: DeserializeOwned>(
    token: &str,
    keys: &Jwks,
) -> Result<(AccessHeader, T), JwtError> {
    let Parts { signing_input, header, payload, signature } = segments(token)?;
    let header = parse_header(&header)?;
    let mut named = keys.keys.iter().filter(|k| k.kid.as_deref() == Some(header.kid.as_str())).peekable();
    if named.peek().is_none() {
        return Err(JwtError::UnknownKey(header.kid.chars().take(64).collect()));
    }
    // A set may list one kid under several key types (one per algorithm); the
    // token's algorithm picks among them, and must verify with the one it picks.
    let mut last = JwtError::Key("no key");
    let mut verified = false;
    for jwk in named {
        match verify_with(jwk, header.alg, signing_input.as_bytes(), &signature) {
            Ok(()) => {
                verified = true;
                break;
            }
            Err(e @ JwtError::Signature) => return Err(e),
            Err(e) => last = e,
        }
    }
    if !verified {
        return Err(last);
    }
    let claims = serde_json::from_slice(&payload).map_err(|e| JwtError::Claims(e.to_string()))?;
    Ok((header, claims))
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
