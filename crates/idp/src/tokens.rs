//! Access tokens: EdDSA-signed JWTs (RFC 9068 `at+jwt`) with the claims of SPEC
//! §4, and the server's signing key, persisted in the store so that restarts
//! and every instance sharing a PostgreSQL database keep the same `kid`.

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use slipgate_httpsig::jose::{self, Jwk, Jwks};

use crate::store::{SigningKeyRecord, Store, StoreError};

/// The claims of every access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer URL.
    pub iss: String,
    /// The username (password and refresh grants) or the client id (client credentials).
    pub sub: String,
    /// The API's audience.
    pub aud: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Unique token id, the key of revocation.
    pub jti: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The user's employee id (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_id: Option<String>,
    /// The user's department code (user tokens with a complete record; SPEC §3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_code: Option<String>,
    /// The user's name as on the slip (claim `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's pay grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_grade: Option<String>,
    /// The login session (refresh-token family; user tokens only): revoking the
    /// family deactivates its access tokens at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Why the signing keys could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key does not parse, or a new one could not be made.
    #[error("signing key {0}")]
    Key(String),
}

/// The signing key and the published key set.
pub struct TokenKeys {
    kid: String,
    key: Ed25519KeyPair,
    jwks: Jwks,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Loads the stored keys, creating the first one when there is none. The
    /// oldest key signs, so concurrent first starts agree on one.
    pub async fn load_or_create(store: &dyn Store, now: i64) -> Result<Self, KeyError> {
        if store.signing_keys().await?.is_empty() {
            let pkcs8 = Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| KeyError::Key("cannot be generated".into()))?;
            let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| KeyError::Key("cannot be generated".into()))?;
            let kid = Jwk::from_key_pair(&key, "").thumbprint().map_err(|e| KeyError::Key(e.to_string()))?;
            let record =
                SigningKeyRecord { kid, pkcs8_b64: STANDARD.encode(pkcs8.as_ref()), created_at: now };
            store.insert_signing_key(&record).await?;
            tracing::info!(kid = %record.kid, "created a token-signing key");
        }
        let mut signing = None;
        let mut jwks = Jwks::default();
        for record in store.signing_keys().await? {
            let der = STANDARD
                .decode(&record.pkcs8_b64)
                .map_err(|_| KeyError::Key(format!("{} is not base64", record.kid)))?;
            let key = Ed25519KeyPair::from_pkcs8(&der)
                .map_err(|_| KeyError::Key(format!("{} is not an Ed25519 PKCS#8 key", record.kid)))?;
            jwks.keys.push(Jwk::from_key_pair(&key, &record.kid));
            if signing.is_none() {
                signing = Some((record.kid, key));
            }
        }
        let (kid, key) = signing.ok_or_else(|| KeyError::Key("missing after creation".into()))?;
        Ok(Self { kid, key, jwks })
    }

    /// The signing key's id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    #[must_use]
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, jose::JwtError> {
        jose::sign_jwt(claims, &self.kid, &self.key)
    }

    /// Verifies a token's signature against these keys (claims unchecked).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jose::JwtError> {
        jose::verify_jwt(token, &self.jwks)
    }
}
