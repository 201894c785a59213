//! What a validated token says about its bearer, and the validator trait.

use serde::Deserialize;
use slipgate_proto::oauth::{Confirmation, Introspection, TokenType};
pub use slipgate_proto::oauth::{SCOPE_ANY, SCOPE_SELF};

use futures_util::future::BoxFuture;

/// The claims of a valid access token, handed to the handler as an extension.
/// JWT mode deserialises the token's claims into it (SPEC §4); introspection
/// converts the typed RFC 7662 answer ([`TokenClaims::from_introspection`]).
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
    /// The username (introspection answers of user tokens).
    #[serde(default)]
    pub username: Option<String>,
    /// The key the token is bound to (`cnf.htsk`, SPEC §3.2.1), when bound. A `cnf` of any
    /// other form (`jkt`, `x5t#S256`) does not parse, so such a token is refused.
    #[serde(default)]
    pub cnf: Option<Confirmation>,
    /// `token_type` as introspection reports it; JWTs carry no such claim (`None`).
    #[serde(skip)]
    pub token_type: Option<TokenType>,
}

impl TokenClaims {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// Whether the token is bound to a key: it has a `cnf`, or introspection calls it
    /// `httpsig`. Such a token is only good as `Authorization: HTTPSig` (SPEC §3.2.1).
    pub fn is_bound(&self) -> bool {
        self.cnf.is_some() || self.token_type == Some(TokenType::Httpsig)
    }

    /// Whether this is a service token (client credentials: the subject is the client
    /// itself, no employee, no username). Everything else counts as a user token, the
    /// kind `auth.require_bound_tokens` requires to be bound.
    pub fn is_service_token(&self) -> bool {
        self.emp_id.is_none()
            && self.username.is_none()
            && self.client_id.as_deref().is_some_and(|client| client == self.sub)
    }

    /// The claims of an active RFC 7662 answer.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] for an inactive token; [`TokenError::Unavailable`] for an
    /// active one without `sub` or `exp` (the identity server answered nonsense: fail closed).
    pub fn from_introspection(answer: Introspection) -> Result<Self, TokenError> {
        if !answer.active {
            return Err(TokenError::Invalid("inactive"));
        }
        let (Some(sub), Some(exp)) = (answer.sub, answer.exp) else {
            return Err(TokenError::Unavailable(
                "active token without sub and exp in the RFC 7662 answer".into(),
            ));
        };
        Ok(Self {
            sub,
            scope: answer.scope.unwrap_or_default(),
            emp_id: answer.emp_id,
            emp_code: answer.emp_code,
            emp_name: answer.name,
            emp_grade: answer.emp_grade,
            exp,
            client_id: answer.client_id,
            username: answer.username,
            cnf: answer.cnf,
            token_type: answer.token_type,
        })
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
