//! Ed25519 JSON Web Keys (RFC 8037) and compact JWS / JWT with `alg: EdDSA`
//! (RFC 7515, RFC 7519, RFC 9068): the identity server signs access tokens with
//! [`sign_jwt`], the API checks them locally with [`verify_jwt`] against the
//! server's [`Jwks`], and the API's response-signing keys are published as
//! [`Jwk`]s too.
//!
//! ```
//! use aws_lc_rs::signature::Ed25519KeyPair;
//! use slipgate_httpsig::jose::{Jwk, Jwks, sign_jwt, verify_jwt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pkcs8 = Ed25519KeyPair::generate()?.to_pkcs8v1()?;
//! let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())?;
//! let jwk = Jwk::from_key_pair(&key, "k1");
//! let token = sign_jwt(&serde_json::json!({"sub": "alice"}), "k1", &key)?;
//!
//! let jwks = Jwks { keys: vec![jwk] };
//! let claims: serde_json::Value = verify_jwt(&token, &jwks)?;
//! assert_eq!(claims["sub"], "alice");
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! Covered: algorithm confusion (the header must be exactly `alg: EdDSA`, a
//! `typ` of [`TYP_KNOWN`], and a `kid`; `none`, HMAC and every other algorithm are
//! refused, and unknown or duplicate header members too), key confusion (only
//! `OKP`/`Ed25519` keys whose `alg` and `use`, when present, say `EdDSA` and
//! `sig`), parser abuse (tokens over [`MAX_JWT_LEN`] are refused before any
//! decoding, base64url must be canonical and unpadded, no panics).
//!
//! Access tokens of other providers (RSA and ECDSA keys, the headers they
//! write) are checked by [`access`], which the API's jwt mode uses.
//!
//! Not covered here: which `typ` to insist on, and the claims policy (`iss`,
//! `aud`, `exp`, `nbf`, `iat`, scopes, revocation) — the caller checks those
//! with its own clock.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod access;

/// Longest compact token accepted, in bytes.
pub const MAX_JWT_LEN: usize = 8 * 1024;
/// The only JWS algorithm Slipgate signs or accepts.
pub const ALG_EDDSA: &str = "EdDSA";
/// The `typ` of access tokens (RFC 9068).
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
/// Every `typ` a header may carry: RFC 9068's two spellings of `at+jwt`, and
/// the generic `JWT` (which an access-token verifier should refuse: RFC 9068 §4).
pub const TYP_KNOWN: [&str; 3] = [TYP_ACCESS_TOKEN, "application/at+jwt", "JWT"];

/// Why a key or token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than [`MAX_JWT_LEN`].
    #[error("token of {0} bytes exceeds the {MAX_JWT_LEN}-byte limit")]
    TooLong(usize),
    /// The token is not three base64url segments.
    #[error("token is not a compact JWS: {0}")]
    Malformed(&'static str),
    /// The header is not exactly `alg`, `typ` and `kid` with accepted values.
    #[error("unacceptable JOSE header: {0}")]
    Header(String),
    /// The header names an algorithm other than `EdDSA`.
    #[error("algorithm `{0}` is not accepted: only EdDSA")]
    Algorithm(String),
    /// No usable key has the header's `kid`.
    #[error("no key with kid `{0}`")]
    UnknownKey(String),
    /// A JWK is not a usable Ed25519 public key.
    #[error("unusable JWK: {0}")]
    Key(&'static str),
    /// The signature does not verify.
    #[error("signature does not verify")]
    Signature,
    /// The payload is not JSON of the expected shape.
    #[error("invalid claims: {0}")]
    Claims(String),
    /// Signing failed.
    #[error("cannot sign the token")]
    Sign,
}

/// A JSON Web Key; Slipgate only uses and accepts `OKP` / `Ed25519` public keys.
///
/// Members of other key types are tolerated when parsing a set (such a key is
/// simply never usable), so a JWKS that also lists, say, an RSA key still parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type, `OKP` (or, in another provider's set, `EC` or `RSA`: [`access`]).
    #[serde(default)]
    pub kty: String,
    /// Curve, `Ed25519`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm, `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use, `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// `EC` keys: the y coordinate, base64url ([`access`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub y: String,
    /// `RSA` keys: the modulus, base64url ([`access`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub n: String,
    /// `RSA` keys: the public exponent, base64url ([`access`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub e: String,
}

impl Jwk {
    /// The JWK of a raw 32-byte Ed25519 public key, with `alg: EdDSA`, `use: sig`.
    pub fn ed25519(public_key: &[u8], kid: &str) -> Result<Self, JwtError> {
        if public_key.len() != 32 {
            return Err(JwtError::Key("an Ed25519 public key is 32 bytes"));
        }
        Ok(Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(public_key),
            kid: Some(kid.to_owned()),
            alg: Some(ALG_EDDSA.into()),
            use_: Some("sig".into()),
            ..Self::default()
        })
    }

    /// The public JWK of `key`.
    #[must_use]
    pub fn from_key_pair(key: &Ed25519KeyPair, kid: &str) -> Self {
        Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key.public_key().as_ref()),
            kid: Some(kid.to_owned()),
            alg: Some(ALG_EDDSA.into()),
            use_: Some("sig".into()),
            ..Self::default()
        }
    }

    /// The raw public key, when this is a usable Ed25519 signature key.
    pub fn ed25519_public_key(&self) -> Result<[u8; 32], JwtError> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(JwtError::Key("not an OKP Ed25519 key"));
        }
        if self.alg.as_deref().is_some_and(|alg| alg != ALG_EDDSA) {
            return Err(JwtError::Key("alg is not EdDSA"));
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JwtError::Key("use is not sig"));
        }
        let raw = URL_SAFE_NO_PAD.decode(&self.x).map_err(|_| JwtError::Key("x is not base64url"))?;
        raw.try_into().map_err(|_| JwtError::Key("x is not 32 bytes"))
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): a stable key id.
    pub fn thumbprint(&self) -> Result<String, JwtError> {
        let x = URL_SAFE_NO_PAD.encode(self.ed25519_public_key()?);
        // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes())))
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key with `kid`, if any.
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

/// Where [`verify_jwt`] finds the public key named by a token's `kid`.
pub trait KeyLookup {
    /// The raw Ed25519 public key with `kid`, if one is known and usable.
    fn ed25519_key(&self, kid: &str) -> Option<[u8; 32]>;
}

impl KeyLookup for Jwks {
    fn ed25519_key(&self, kid: &str) -> Option<[u8; 32]> {
        self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).find_map(|k| k.ed25519_public_key().ok())
    }
}

impl KeyLookup for Jwk {
    fn ed25519_key(&self, kid: &str) -> Option<[u8; 32]> {
        (self.kid.as_deref() == Some(kid)).then(|| self.ed25519_public_key().ok()).flatten()
    }
}

/// The protected header Slipgate writes and accepts: exactly these members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtHeader {
    /// Always `EdDSA`.
    pub alg: String,
    /// One of [`TYP_KNOWN`] (any case).
    pub typ: String,
    /// The signing key's id.
    pub kid: String,
}

impl fmt::Display for JwtHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alg={} typ={} kid={}", self.alg, self.typ, self.kid)
    }
}

/// Signs `claims` as an access token (`typ: at+jwt`) with `key`, named `kid`.
pub fn sign_jwt(claims: &impl Serialize, kid: &str, key: &Ed25519KeyPair) -> Result<String, JwtError> {
    sign_jwt_typed(claims, kid, TYP_ACCESS_TOKEN, key)
}

/// [`sign_jwt`] with an explicit `typ` (one of [`TYP_KNOWN`]).
pub fn sign_jwt_typed(
    claims: &impl Serialize,
    kid: &str,
    typ: &str,
    key: &Ed25519KeyPair,
) -> Result<String, JwtError> {
    let header = JwtHeader { alg: ALG_EDDSA.into(), typ: typ.into(), kid: kid.into() };
    check_header(&header)?;
    let header = serde_json::to_vec(&header).map_err(|_| JwtError::Sign)?;
    let payload = serde_json::to_vec(claims).map_err(|e| JwtError::Claims(e.to_string()))?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::TooLong(token.len()));
    }
    Ok(token)
}

fn check_header(header: &JwtHeader) -> Result<(), JwtError> {
    if header.alg != ALG_EDDSA {
        return Err(JwtError::Algorithm(header.alg.chars().take(20).collect()));
    }
    // RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, whose
    // `application/` prefix may be left out. Which of these a verifier accepts
    // is its policy (the API's `auth.jwt_typ`); this is the closed set it may choose from.
    if !TYP_KNOWN.iter().any(|known| header.typ.eq_ignore_ascii_case(known)) {
        return Err(JwtError::Header("typ must be at+jwt, application/at+jwt or JWT".into()));
    }
    if header.kid.is_empty() || header.kid.len() > 128 {
        return Err(JwtError::Header("kid must be 1 to 128 characters".into()));
    }
    Ok(())
}

pub(crate) struct Parts<'a, H> {
    pub(crate) signing_input: &'a str,
    pub(crate) header: H,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// The three segments of a compact JWS, decoded; the header still as bytes.
pub(crate) fn segments(token: &str) -> Result<Parts<'_, Vec<u8>>, JwtError> {
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::TooLong(token.len()));
    }
    let mut segments = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(JwtError::Malformed("expected three dot-separated segments"));
    };
    let decode = |seg: &str, what| URL_SAFE_NO_PAD.decode(seg).map_err(|_| JwtError::Malformed(what));
    let header = decode(h, "header is not base64url")?;
    let payload = decode(p, "payload is not base64url")?;
    let signature = decode(s, "signature is not base64url")?;
    let signing_input = token.get(..h.len() + 1 + p.len()).ok_or(JwtError::Malformed("bad segments"))?;
    Ok(Parts { signing_input, header, payload, signature })
}

fn split(token: &str) -> Result<Parts<'_, JwtHeader>, JwtError> {
    let Parts { signing_input, header: header_bytes, payload, signature } = segments(token)?;
    let header: JwtHeader = serde_json::from_slice(&header_bytes).map_err(|e| {
        // An `alg` we refuse is reported as such even when the rest is off too.
        match serde_json::from_slice::<serde_json::Value>(&header_bytes) {
            Ok(v) => match v.get("alg").and_then(|a| a.as_str()) {
                Some(alg) if alg != ALG_EDDSA => JwtError::Algorithm(alg.chars().take(20).collect()),
                _ => JwtError::Header(e.to_string()),
            },
            Err(_) => JwtError::Header("not JSON".into()),
        }
    })?;
    check_header(&header)?;
    Ok(Parts { signing_input, header, payload, signature })
}

/// The header of `token`, checked but without verifying the signature (to find
/// the `kid`, e.g. to refresh a JWKS on an unknown key).
pub fn decode_header(token: &str) -> Result<JwtHeader, JwtError> {
    split(token).map(|parts| parts.header)
}

/// Verifies `token`'s EdDSA signature with the key its `kid` names in `keys`
/// and returns its claims. Checks no claim: that is the caller's policy.
pub fn verify_jwt<T: DeserializeOwned>(token: &str, keys: &impl KeyLookup) -> Result<T, JwtError> {
    let parts = split(token)?;
    let key = keys
        .ed25519_key(&parts.header.kid)
        .ok_or_else(|| JwtError::UnknownKey(parts.header.kid.chars().take(64).collect()))?;
    if parts.signature.len() != 64 {
        return Err(JwtError::Signature);
    }
    UnparsedPublicKey::new(&ED25519, key)
        .verify(parts.signing_input.as_bytes(), &parts.signature)
        .map_err(|_| JwtError::Signature)?;
    serde_json::from_slice(&parts.payload).map_err(|e| JwtError::Claims(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::{Value, json};

    fn key() -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn setup() -> (Ed25519KeyPair, Jwks, String) {
        let k = key();
        let jwks = Jwks { keys: vec![Jwk::from_key_pair(&k, "k1")] };
        let token = sign_jwt(&json!({"sub": "alice", "scope": "salaryslip:self"}), "k1", &k).unwrap();
        (k, jwks, token)
    }

    #[test]
    fn signed_token_verifies_and_returns_claims() {
        let (_, jwks, token) = setup();
        let claims: Value = verify_jwt(&token, &jwks).unwrap();
        assert_eq!(claims["sub"], "alice");
        let header = decode_header(&token).unwrap();
        assert_eq!(
            (header.alg.as_str(), header.typ.as_str(), header.kid.as_str()),
            ("EdDSA", "at+jwt", "k1")
        );
    }

    #[test]
    fn rejects_tampered_payload() {
        let (_, jwks, token) = setup();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64(&json!({"sub": "mallory"})), parts[2]);
        assert_eq!(verify_jwt::<Value>(&forged, &jwks), Err(JwtError::Signature));
    }

    #[test]
    fn rejects_tampered_header() {
        let (_, jwks, token) = setup();
        let parts: Vec<&str> = token.split('.').collect();
        let header = b64(&json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"}));
        let forged = format!("{header}.{}.{}", parts[1], parts[2]);
        assert_eq!(verify_jwt::<Value>(&forged, &jwks), Err(JwtError::Signature));
    }

    #[test]
    fn rejects_wrong_key() {
        let (_, _, token) = setup();
        let other = Jwks { keys: vec![Jwk::from_key_pair(&key(), "k1")] };
        assert_eq!(verify_jwt::<Value>(&token, &other), Err(JwtError::Signature));
    }

    #[test]
    fn rejects_unknown_kid() {
        let (_, jwks, _) = setup();
        let token = sign_jwt(&json!({}), "k2", &key()).unwrap();
        assert_eq!(verify_jwt::<Value>(&token, &jwks), Err(JwtError::UnknownKey("k2".into())));
    }

    #[test]
    fn rejects_alg_none() {
        let (_, jwks, token) = setup();
        let payload = token.split('.').nth(1).unwrap();
        let header = b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"}));
        for forged in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
            let err = verify_jwt::<Value>(&forged, &jwks).unwrap_err();
            assert!(matches!(err, JwtError::Algorithm(_) | JwtError::Malformed(_)), "{err:?}");
        }
        assert_eq!(
            verify_jwt::<Value>(&format!("{header}.{payload}."), &jwks),
            Err(JwtError::Algorithm("none".into()))
        );
    }

    #[test]
    fn rejects_other_algorithms() {
        let (_, jwks, token) = setup();
        let parts: Vec<&str> = token.split('.').collect();
        for alg in ["HS256", "RS256", "ES256", "eddsa", "Ed25519"] {
            let header = b64(&json!({"alg": alg, "typ": "JWT", "kid": "k1"}));
            let forged = format!("{header}.{}.{}", parts[1], parts[2]);
            assert_eq!(verify_jwt::<Value>(&forged, &jwks), Err(JwtError::Algorithm(alg.into())));
        }
    }

    #[test]
    fn rejects_extra_missing_or_duplicate_header_members() {
        let (_, jwks, token) = setup();
        let parts: Vec<&str> = token.split('.').collect();
        let headers = [
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT","kid":"k1","jku":"https://evil"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT","kid":"k1","kid":"k2"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JOSE","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT","kid":""}"#),
            URL_SAFE_NO_PAD.encode("not json"),
        ];
        for header in headers {
            let forged = format!("{header}.{}.{}", parts[1], parts[2]);
            assert!(matches!(verify_jwt::<Value>(&forged, &jwks), Err(JwtError::Header(_))), "{header}");
        }
    }

    #[test]
    fn rejects_bad_base64_and_shapes() {
        let (_, jwks, token) = setup();
        let parts: Vec<&str> = token.split('.').collect();
        let cases = [
            String::new(),
            "a.b".into(),
            format!("{token}.x"),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}!.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}+", parts[0], parts[1], parts[2]),
        ];
        for case in cases {
            assert!(matches!(verify_jwt::<Value>(&case, &jwks), Err(JwtError::Malformed(_))), "{case}");
        }
    }

    #[test]
    fn rejects_truncated_signature() {
        let (_, jwks, token) = setup();
        let cut = &token[..token.len() - 4];
        assert!(verify_jwt::<Value>(cut, &jwks).is_err());
    }

    #[test]
    fn rejects_oversize_token_before_decoding() {
        let (_, jwks, _) = setup();
        let huge = "a".repeat(MAX_JWT_LEN + 1);
        assert_eq!(verify_jwt::<Value>(&huge, &jwks), Err(JwtError::TooLong(MAX_JWT_LEN + 1)));
        let k = key();
        let big = json!({"pad": "x".repeat(MAX_JWT_LEN)});
        assert!(matches!(sign_jwt(&big, "k1", &k), Err(JwtError::TooLong(_))));
    }

    #[test]
    fn rejects_claims_of_wrong_shape() {
        #[derive(Debug, Deserialize)]
        struct Claims {
            #[allow(dead_code)]
            exp: i64,
        }
        let (_, jwks, token) = setup();
        assert!(matches!(verify_jwt::<Claims>(&token, &jwks), Err(JwtError::Claims(_))));
    }

    #[test]
    fn jwk_round_trips_and_has_rfc8037_members() {
        let k = key();
        let jwk = Jwk::from_key_pair(&k, "k1");
        let text = serde_json::to_value(&jwk).unwrap();
        assert_eq!(text["kty"], "OKP");
        assert_eq!(text["crv"], "Ed25519");
        assert_eq!(text["alg"], "EdDSA");
        assert_eq!(text["use"], "sig");
        assert_eq!(text["kid"], "k1");
        let back: Jwk = serde_json::from_value(text).unwrap();
        assert_eq!(back.ed25519_public_key().unwrap().as_slice(), k.public_key().as_ref());
        assert_eq!(Jwk::ed25519(k.public_key().as_ref(), "k1").unwrap(), jwk);
    }

    #[test]
    fn jwk_refuses_other_key_types_and_uses() {
        let k = key();
        let mut jwk = Jwk::from_key_pair(&k, "k1");
        jwk.use_ = Some("enc".into());
        assert!(jwk.ed25519_public_key().is_err());
        let mut jwk = Jwk::from_key_pair(&k, "k1");
        jwk.crv = "X25519".into();
        assert!(jwk.ed25519_public_key().is_err());
        let mut jwk = Jwk::from_key_pair(&k, "k1");
        jwk.x.push('A');
        assert!(jwk.ed25519_public_key().is_err());
        assert!(Jwk::ed25519(&[0; 31], "k").is_err());
        let set: Jwks =
            serde_json::from_str(r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k1"}]}"#).unwrap();
        assert_eq!(set.ed25519_key("k1"), None);
    }

    #[test]
    fn thumbprint_matches_rfc8037_example() {
        // RFC 8037 appendix A.3.
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            ..Jwk::default()
        };
        assert_eq!(jwk.thumbprint().unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn rfc8037_example_signature_verifies() {
        // RFC 8037 appendix A.4: the published signature over the published
        // input verifies with the published key.
        let jwk = Jwk::ed25519(
            &URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap(),
            "a4",
        )
        .unwrap();
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let sig = URL_SAFE_NO_PAD
            .decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
            .unwrap();
        let key = jwk.ed25519_key("a4").unwrap();
        UnparsedPublicKey::new(&ED25519, key).verify(input.as_bytes(), &sig).unwrap();
        // The same JWS is refused by verify_jwt: its header lacks typ and kid.
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert!(matches!(verify_jwt::<Value>(&token, &jwk), Err(JwtError::Header(_))));
    }
}
