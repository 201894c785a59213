//! Access tokens: EdDSA-signed JWTs (RFC 9068 `at+jwt`) with the claims of SPEC
//! §4, signed by the key of [`crate::keys`]; a key-bound token also carries
//! `cnf` (draft-richer-oauth-httpsig-03 §5).

use serde::{Deserialize, Serialize};
use slipgate_proto::oauth::{Confirmation, TokenType};

pub use crate::keys::{KeyError, TokenKeys};

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
    /// The key the token is bound to (`{"htsk": {"alg", "pub"}}`), for a token
    /// issued to a signed token request (SPEC §4); absent on bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl AccessClaims {
    /// `httpsig` when the token is bound to a key, else `Bearer`.
    #[must_use]
    pub fn token_type(&self) -> TokenType {
        if self.cnf.is_some() { TokenType::Httpsig } else { TokenType::Bearer }
    }
}
