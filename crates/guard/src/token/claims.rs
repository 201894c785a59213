//! What a validated token says about its bearer, and the validator trait.

use serde::Deserialize;

use futures_util::future::BoxFuture;

/// The scope that may generate any employee's slip.
pub const SCOPE_ANY: &str = "salaryslip:any";
/// The scope that may generate only the bearer's own slip.
pub const SCOPE_SELF: &str = "salaryslip:self";

/// The claims of a valid access token, handed to the handler as an extension.
/// The same names serve the JWT claims and the RFC 7662 answer (SPEC §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    /// The subject (username, or client id for client credentials).
    pub sub: String,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    /// The employee the subject is, if any.
    #[serde(default)]
    pub emp_id: Option<String>,
    /// The employee record's department code (SPEC §3.4).
    #[serde(default)]
    pub emp_code: Option<String>,
    /// The employee's name as on record (claim `name`).
    #[serde(default, rename = "name")]
    pub emp_name: Option<String>,
    /// The employee's pay grade as on record.
    #[serde(default)]
    pub emp_grade: Option<String>,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// The OAuth client the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
}

impl TokenClaims {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not active: unknown, expired, revoked, malformed, wrong issuer or audience.
    #[error("token is not valid: {0}")]
    Invalid(&'static str),
    /// The identity server could not be asked (fail closed).
    #[error("identity server unavailable: {0}")]
    Unavailable(String),
}

/// Decides whether a bearer token is valid.
pub trait TokenValidator: Send + Sync + std::fmt::Debug + 'static {
    /// The claims of `token`, or why it is refused.
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenClaims, TokenError>>;
}
