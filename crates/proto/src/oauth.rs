//! The OAuth half of the contract (SPEC §4): endpoint paths, scopes, the token and introspection
//! answers and the `cnf` confirmation of a key-bound token. The identity server serialises these
//! types; the API's guard and the SDK deserialise the very same ones, so neither side can drift.
//!
//! ```
//! use slipgate_proto::oauth::{TokenResponse, TokenType};
//!
//! let answer = r#"{"access_token":"eyJ…","token_type":"httpsig","expires_in":900,"scope":"salaryslip:self"}"#;
//! let token: TokenResponse = serde_json::from_str(answer).unwrap();
//! assert_eq!(token.token_type, TokenType::Httpsig);
//! assert!(token.refresh_token.is_none());
//! // Debug never shows a token.
//! assert!(!format!("{token:?}").contains("eyJ"));
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// RFC 6749 token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// RFC 6749 §4.1 authorization endpoint (the identity server's login form).
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// RFC 7662 introspection endpoint.
pub const INTROSPECT_PATH: &str = "/oauth/introspect";
/// RFC 7009 revocation endpoint.
pub const REVOKE_PATH: &str = "/oauth/revoke";
/// The identity server's token-signing keys (JWKS).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// RFC 8414 authorization-server metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The scope that may generate any employee's slip (role `payroll`).
pub const SCOPE_ANY: &str = "salaryslip:any";
/// The scope that may generate only the holder's own slip (role `employee`).
pub const SCOPE_SELF: &str = "salaryslip:self";

/// The built-in public client that password and refresh grants without a `client_id` go to.
pub const PUBLIC_CLI_CLIENT: &str = "slipgate-cli";
/// The web console's registered public client (SPEC §8).
pub const CONSOLE_CLIENT: &str = "slipgate-console";

/// `token_type` of a token answer and an introspection answer: a bearer token, or one bound to
/// the client's key (draft-richer-oauth-httpsig-03). RFC 6749 §7.1 makes the value
/// case-insensitive, so any case is read; the canonical spelling is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `httpsig`: bound to `cnf.htsk`; presented as `Authorization: HTTPSig` (SPEC §3.2.1).
    Httpsig,
}

impl TokenType {
    /// The canonical spelling: `Bearer` or `httpsig`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Httpsig => "httpsig",
        }
    }

    /// The `Authorization` scheme a client presents a token of this type with.
    #[must_use]
    pub const fn scheme(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Httpsig => "HTTPSig",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TokenType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.eq_ignore_ascii_case("bearer") {
            Ok(Self::Bearer)
        } else if text.eq_ignore_ascii_case("httpsig") {
            Ok(Self::Httpsig)
        } else {
            Err(serde::de::Error::custom("token_type is neither Bearer nor httpsig"))
        }
    }
}

/// `cnf.htsk` (draft-richer-oauth-httpsig-03 §5): the bound run-time key inside a token and an
/// introspection answer, `{"alg": "ed25519", "pub": "<base64url of the raw key, no padding>"}`.
/// Plain data here; `slipgate_httpsig::binding::BoundKey` turns it into a checked key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Htsk {
    /// The RFC 9421 algorithm name, `ed25519` or `ecdsa-p256-sha256`.
    pub alg: String,
    /// The raw public key, base64url without padding.
    #[serde(rename = "pub")]
    pub pub_key: String,
}

/// The `cnf` claim of a bound token: `{"htsk": {…}}`. Unknown members are refused, so a token
/// confirmed some other way (`jkt`, `x5t#S256`) never passes for an `htsk` one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The bound run-time key.
    pub htsk: Htsk,
}

/// A successful token answer (RFC 6749 §5.1; SPEC §4).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (a JWT, RFC 9068).
    pub access_token: String,
    /// `Bearer`, or `httpsig` for a key-bound token.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The rotating refresh token (password, refresh and authorization-code grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .finish()
    }
}

/// An error answer of the token, introspection and revocation endpoints (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// The error code: `invalid_grant`, `invalid_client`, `invalid_request`, …
    pub error: String,
    /// A human-readable explanation (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// An RFC 7662 introspection answer. Inactive tokens are `{"active": false}` and nothing else;
/// active ones carry the members SPEC §4 lists. Unknown members are ignored (RFC 7662 §2.2 lets
/// a server add its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// Whether the token is valid now.
    pub active: bool,
    /// The subject: a username, or a client id for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The username, for user tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` or `httpsig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenType>,
    /// The audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The employee the user is (SPEC §3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_id: Option<String>,
    /// The employee record's department code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_code: Option<String>,
    /// The employee's name as on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The employee's pay grade as on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emp_grade: Option<String>,
    /// The bound key, for `httpsig` tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl Introspection {
    /// The answer for any token that is not active.
    #[must_use]
    pub fn inactive() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_type_reads_any_case_and_writes_the_canonical_one() {
        for text in ["\"Bearer\"", "\"bearer\"", "\"BEARER\""] {
            assert_eq!(serde_json::from_str::<TokenType>(text).unwrap(), TokenType::Bearer);
        }
        for text in ["\"httpsig\"", "\"HTTPSig\""] {
            assert_eq!(serde_json::from_str::<TokenType>(text).unwrap(), TokenType::Httpsig);
        }
        assert!(serde_json::from_str::<TokenType>("\"DPoP\"").is_err());
        assert_eq!(serde_json::to_string(&TokenType::Httpsig).unwrap(), "\"httpsig\"");
        assert_eq!(TokenType::Httpsig.scheme(), "HTTPSig");
    }

    #[test]
    fn inactive_is_the_one_member_rfc_7662_allows() {
        assert_eq!(serde_json::to_string(&Introspection::inactive()).unwrap(), r#"{"active":false}"#);
    }

    #[test]
    fn cnf_refuses_other_confirmation_methods() {
        let jkt = r#"{"htsk":{"alg":"ed25519","pub":"x"},"jkt":"y"}"#;
        assert!(serde_json::from_str::<Confirmation>(jkt).is_err());
        let htsk_extra = r#"{"htsk":{"alg":"ed25519","pub":"x","kid":"z"}}"#;
        assert!(serde_json::from_str::<Confirmation>(htsk_extra).is_err());
    }

    #[test]
    fn token_response_debug_redacts_both_tokens() {
        let token = TokenResponse {
            access_token: "secret-access".into(),
            token_type: TokenType::Bearer,
            expires_in: 900,
            refresh_token: Some("secret-refresh".into()),
            scope: SCOPE_SELF.into(),
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret-access") && !shown.contains("secret-refresh"), "{shown}");
    }
}
