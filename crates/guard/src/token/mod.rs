//! The token layer (SPEC §3.3 step 7, §3.4, §4): bearer tokens from the
//! identity server, validated by RFC 7662 introspection ([`Introspector`],
//! cached per token for at most `cache_ttl` and never past `exp`) or locally as
//! EdDSA JWTs against the JWKS ([`JwtValidator`]: `typ`, `nbf`, `iat`, and a
//! JWKS re-read at least every `auth.jwks_refresh`). Then the scope rule: a token
//! needs `salaryslip:self` or `salaryslip:any`; [`authorize_employee`] applies
//! the object-level rule once the body names the employee.
//!
//! ```
//! use slipgate_guard::token::{TokenClaims, authorize_employee, bearer};
//!
//! assert_eq!(bearer("Bearer abc.def.ghi"), Some("abc.def.ghi"));
//! assert_eq!(bearer("Basic YWxpY2U6cHc="), None);
//! let alice = TokenClaims {
//!     sub: "alice".into(), scope: "salaryslip:self".into(), emp_id: Some("01234".into()), exp: i64::MAX, client_id: None,
//! };
//! assert!(authorize_employee(&alice, "01234").is_ok());
//! assert!(authorize_employee(&alice, "00001").is_err());
//! ```
//!
//! # Security
//! Fails closed: an unreachable or slow identity server (timeout) is 503
//! `auth_unavailable`, never a pass, and outages are not cached. The cache key
//! is a keyed hash, so tokens are never stored and lookups leak nothing. Not
//! covered: a stolen token used with a stolen signing key; revocation in `jwt`
//! mode before `exp` (a withdrawn signing key, though, stops working within
//! `auth.jwks_refresh`).

mod cache;
mod claims;
mod idp_http;
mod introspect;
mod jwt;
mod layer;

#[cfg(test)]
mod tests;

pub use cache::TokenCache;
pub use claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims, TokenError, TokenValidator};
pub use idp_http::idp_client;
pub use introspect::{ClientSecret, Introspector};
pub use jwt::{
    DEFAULT_JWKS_REFRESH, DEFAULT_JWT_TYP, JwtTimes, JwtValidator, LEEWAY, REFETCH_EVERY, RETRY_FAILED_FETCH,
};
pub use layer::{
    AuditSubject, CHALLENGE_INVALID, CHALLENGE_MISSING, CHALLENGE_SCOPE, TokenLayer, TokenService,
    authorize_employee, bearer, decide,
};
