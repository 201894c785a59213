//! The token layer (SPEC §3.3 step 7, §3.4, §4): bearer tokens from the
//! identity server, validated by RFC 7662 introspection ([`Introspector`],
//! cached per token for at most `cache_ttl` and never past `exp`) or locally as
//! RFC 9068 JWTs against the JWKS ([`JwtValidator`]: `typ`, `nbf`, `iat`, and a
//! JWKS re-read at least every `auth.jwks_refresh`). Either reads the employee
//! record and the scopes through a [`ClaimMap`], so another OpenID provider's
//! claim and scope names work too.
//!
//! The decisions are pure functions named `check`: [`validity::check`] (step
//! 7, in [`TokenLayer`]), [`bound::check`] (step 7 of a key-bound request, in
//! the signature layer), [`scope::check`] (step 9, in [`ScopeLayer`], which
//! runs after the per-user rate limit: a token needs `salaryslip:self` or
//! `salaryslip:any`) and [`employee::check`] (step 11, the object-level rule
//! once the body is parsed: a `salaryslip:self` request must repeat the
//! token's employee record exactly).
//!
//! ```
//! use slipgate_guard::token::{TokenClaims, bearer, employee};
//! use slipgate_proto::SlipBody;
//!
//! assert_eq!(bearer("Bearer abc.def.ghi"), Some("abc.def.ghi"));
//! assert_eq!(bearer("Basic YWxpY2U6cHc="), None);
//! let alice = TokenClaims {
//!     sub: "alice".into(), scope: "salaryslip:self".into(), exp: i64::MAX,
//!     emp_id: Some("01234".into()), emp_code: Some("ENG".into()),
//!     emp_name: Some("Alice Example".into()), emp_grade: Some("7.1".into()),
//!     ..TokenClaims::default()
//! };
//! let own = br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"Alice Example","emp_grade":"7.1","working_days":20}"#;
//! assert!(employee::check(&alice, &SlipBody::parse(own).unwrap()).is_ok());
//! let promoted = br#"{"emp_id":"01234","emp_code":"ENG","emp_name":"Alice Example","emp_grade":"8.1","working_days":20}"#;
//! assert!(employee::check(&alice, &SlipBody::parse(promoted).unwrap()).is_err());
//! ```
//!
//! # Security
//! Fails closed: an unreachable or slow identity server (timeout) is 503
//! `auth_unavailable`, never a pass, and outages are not cached. The cache key
//! is a keyed hash, so tokens are never stored and lookups leak nothing. Not
//! covered: a stolen token used with a stolen signing key (for a key-bound
//! token, the device's private key; a bound token sent as `Bearer`, and with
//! `auth.require_bound_tokens` an unbound user token, is refused); revocation in `jwt`
//! mode before `exp` (a withdrawn signing key, though, stops working within
//! `auth.jwks_refresh`).

pub mod bound;
mod cache;
mod claims;
pub mod employee;
mod idp_http;
mod introspect;
mod jwt;
mod layer;
mod mapping;
pub mod scope;
pub mod validity;

#[cfg(test)]
mod tests;

pub use cache::TokenCache;
pub use claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims, TokenError, TokenValidator};
pub use idp_http::idp_client;
pub use introspect::{ClientSecret, Introspector};
pub use jwt::{
    DEFAULT_JWKS_REFRESH, DEFAULT_JWT_TYP, JwtTimes, JwtValidator, LEEWAY, REFETCH_EVERY, RETRY_FAILED_FETCH,
};
pub use layer::{AuditSubject, TokenLayer, bearer, httpsig};
pub(crate) use layer::{BoundClaims, TokenVerdict};
pub use mapping::{ClaimMap, MappingError};
pub use scope::ScopeLayer;
pub use slipgate_proto::Presentation;
