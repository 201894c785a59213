//! [`TokenLayer`]: token validation (SPEC §3.3 step 7; for `HTTPSig` the
//! signature layer validated the token already, §3.2.1) and the scope rule of step 9; the object-level rule needs the body and runs in the
//! handler right after the JSON parse ([`authorize_employee`], step 11).

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use http::header::AUTHORIZATION;
use http::{Request, Response};
use slipgate_proto::{ProblemCode, SlipBody};
use tower::{Layer, Service};

use slipgate_httpsig::binding::BoundKey;

use super::claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims, TokenError, TokenValidator};
use crate::Rejection;
use crate::signature::is_httpsig;
use futures_util::future::BoxFuture;

/// `WWW-Authenticate` for a request without a bearer token (RFC 6750 §3).
pub const CHALLENGE_MISSING: &str = "Bearer";
/// `WWW-Authenticate` for a bad token.
pub const CHALLENGE_INVALID: &str = "Bearer error=\"invalid_token\"";
/// `WWW-Authenticate` for a token without a salary-slip scope.
pub const CHALLENGE_SCOPE: &str =
    "Bearer error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"";
/// `WWW-Authenticate` for a bad token presented as `HTTPSig` (SPEC §3.2.1).
pub const CHALLENGE_HTTPSIG_INVALID: &str = "HTTPSig error=\"invalid_token\"";
/// `WWW-Authenticate` for a key-bound token without a salary-slip scope.
pub const CHALLENGE_HTTPSIG_SCOPE: &str =
    "HTTPSig error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"";

/// Longest token accepted in `Authorization`.
const MAX_TOKEN: usize = 8 * 1024;

/// The bearer token of an `Authorization` header value.
pub fn bearer(value: &str) -> Option<&str> {
    scheme_token(value, "bearer")
}

/// The key-bound token of an `Authorization: HTTPSig <token>` value (scheme
/// case-insensitive, SPEC §3.2.1).
pub fn httpsig(value: &str) -> Option<&str> {
    scheme_token(value, "httpsig")
}

fn scheme_token<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case(name) && !token.is_empty() && token.len() <= MAX_TOKEN).then_some(token)
}

/// How a token reached the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// `Authorization: Bearer`, with a registry key's signature.
    Bearer,
    /// `Authorization: HTTPSig`, signed by the token's own key (already verified).
    HttpSig,
}

impl Presentation {
    fn invalid(self) -> &'static str {
        match self {
            Self::Bearer => CHALLENGE_INVALID,
            Self::HttpSig => CHALLENGE_HTTPSIG_INVALID,
        }
    }
}

fn token_invalid(presented: Presentation, detail: &'static str) -> Rejection {
    Rejection::new(ProblemCode::TokenInvalid, detail).with_challenge(presented.invalid())
}

fn validity(
    presented: Presentation,
    result: Result<TokenClaims, TokenError>,
) -> Result<TokenClaims, Rejection> {
    result.map_err(|e| match e {
        TokenError::Invalid(_) => token_invalid(presented, "the access token is not valid"),
        TokenError::Unavailable(cause) => {
            tracing::error!(%cause, "token validation unavailable");
            Rejection::new(ProblemCode::AuthUnavailable, "the identity server is unavailable; retry later")
        }
    })
}

/// Step 7 and the scope part of step 9 for a `Bearer` token, as a pure function over the result.
pub fn decide(result: Result<TokenClaims, TokenError>) -> Result<TokenClaims, Rejection> {
    decide_as(Presentation::Bearer, false, result)
}

/// Step 7 and the scope part of step 9 as a pure function: the token is valid; a key-bound
/// one was not sent as `Bearer` (SPEC §3.2.1); with `require_bound` (`auth.require_bound_tokens`)
/// a `Bearer` token is a service token (client credentials); and it has a salary-slip scope.
/// For [`Presentation::HttpSig`] the signature layer already proved the token bound and
/// signed by its key.
pub fn decide_as(
    presented: Presentation,
    require_bound: bool,
    result: Result<TokenClaims, TokenError>,
) -> Result<TokenClaims, Rejection> {
    let claims = validity(presented, result)?;
    if presented == Presentation::Bearer {
        if claims.is_bound() {
            return Err(token_invalid(
                presented,
                "a key-bound token is only accepted as Authorization: HTTPSig, signed by its key",
            ));
        }
        if require_bound && !claims.is_service_token() {
            return Err(token_invalid(
                presented,
                "this API accepts user tokens only when bound to the client's key (Authorization: HTTPSig)",
            ));
        }
    }
    if !claims.has_scope(SCOPE_ANY) && !claims.has_scope(SCOPE_SELF) {
        let challenge = match presented {
            Presentation::Bearer => CHALLENGE_SCOPE,
            Presentation::HttpSig => CHALLENGE_HTTPSIG_SCOPE,
        };
        return Err(Rejection::new(ProblemCode::InsufficientScope, "the token has no salary-slip scope")
            .with_challenge(challenge));
    }
    Ok(claims)
}

/// Step 7 of a bound request (SPEC §3.2.1): the token presented as `HTTPSig` is valid and
/// bound: its `cnf.htsk` names a key [`BoundKey::from_confirmation`] accepts. An unbound
/// token, or one whose key cannot be imported, is `token_invalid`.
pub fn validate_bound(result: Result<TokenClaims, TokenError>) -> Result<(TokenClaims, BoundKey), Rejection> {
    let presented = Presentation::HttpSig;
    let claims = validity(presented, result)?;
    let Some(cnf) = &claims.cnf else {
        return Err(token_invalid(presented, "the token is not bound to a key; send it as Bearer"));
    };
    let key = BoundKey::from_confirmation(cnf)
        .map_err(|_| token_invalid(presented, "the token's cnf names a key this API cannot use"))?;
    Ok((claims, key))
}

/// A token the signature layer validated for an `HTTPSig` request and whose key verified the
/// signature; the token layer takes it out of the extensions. Only this crate makes one.
#[derive(Debug, Clone)]
pub(crate) struct BoundClaims(pub(crate) TokenClaims);

/// The object-level rule of SPEC §3.4 (step 11, on the parsed but not yet
/// validated body): `salaryslip:any` may ask for anyone; `salaryslip:self`
/// only for the token's own employee record, `emp_id`, `emp_code`, `emp_name`
/// and `emp_grade` each exactly as the token carries it. A member absent, of
/// another JSON type or different, or a token without a complete record, is
/// 403 `forbidden` — before validation, so probing another employee's slip
/// learns nothing from validation messages.
pub fn authorize_employee(claims: &TokenClaims, body: &SlipBody) -> Result<(), Rejection> {
    if claims.has_scope(SCOPE_ANY) {
        return Ok(());
    }
    let record = [
        ("emp_id", &claims.emp_id),
        ("emp_code", &claims.emp_code),
        ("emp_name", &claims.emp_name),
        ("emp_grade", &claims.emp_grade),
    ];
    let own = claims.has_scope(SCOPE_SELF)
        && record.iter().all(|(member, value)| value.as_deref().is_some_and(|v| body.member_is(member, v)));
    if own {
        Ok(())
    } else {
        Err(Rejection::new(
            ProblemCode::Forbidden,
            "a salaryslip:self token may only generate its holder's own slip, with emp_id, emp_code, \
             emp_name and emp_grade exactly as on record",
        ))
    }
}

/// The authenticated subject, in the response extensions for the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSubject {
    /// The token's `sub`.
    pub sub: String,
    /// The token's `username`, when it carries one (user tokens).
    pub username: Option<String>,
}

impl AuditSubject {
    /// What the audit line shows of `claims`.
    pub fn of(claims: &TokenClaims) -> Self {
        Self { sub: claims.sub.clone(), username: claims.username.clone() }
    }
}

/// Validates the token of every request: a `Bearer` token here, an `HTTPSig` one by taking
/// what the signature layer validated (it must run before this layer).
#[derive(Debug, Clone)]
pub struct TokenLayer {
    validator: Arc<dyn TokenValidator>,
    require_bound: bool,
}

impl TokenLayer {
    /// A layer asking `validator`, accepting unbound user tokens as `Bearer`.
    pub fn new(validator: Arc<dyn TokenValidator>) -> Self {
        Self { validator, require_bound: false }
    }

    /// `auth.require_bound_tokens`: refuse user tokens that are not key-bound (401
    /// `token_invalid`); service tokens (client credentials) may still come as `Bearer`.
    #[must_use]
    pub fn with_require_bound(mut self, require_bound: bool) -> Self {
        self.require_bound = require_bound;
        self
    }
}

impl<S> Layer<S> for TokenLayer {
    type Service = TokenService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TokenService { inner, validator: self.validator.clone(), require_bound: self.require_bound }
    }
}

/// The service [`TokenLayer`] builds.
#[derive(Debug, Clone)]
pub struct TokenService<S> {
    inner: S,
    validator: Arc<dyn TokenValidator>,
    require_bound: bool,
}

impl<S> Service<Request<Body>> for TokenService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let require_bound = self.require_bound;
        Box::pin(async move {
            let bound = request.extensions_mut().remove::<BoundClaims>();
            let authorization = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
            let decided = match (bound, authorization) {
                (Some(BoundClaims(claims)), _) => decide_as(Presentation::HttpSig, require_bound, Ok(claims)),
                // The signature layer verifies every HTTPSig request; without its verdict, refuse.
                (None, Some(value)) if is_httpsig(value) => Err(token_invalid(
                    Presentation::HttpSig,
                    "the key-bound token's signature was not verified",
                )),
                (None, value) => match value.and_then(bearer) {
                    Some(token) => {
                        decide_as(Presentation::Bearer, require_bound, validator.validate(token).await)
                    }
                    None => Err(Rejection::new(
                        ProblemCode::TokenMissing,
                        "send Authorization: Bearer <access token> or HTTPSig <access token>",
                    )
                    .with_challenge(CHALLENGE_MISSING)),
                },
            };
            match decided {
                Ok(claims) => {
                    let subject = AuditSubject::of(&claims);
                    request.extensions_mut().insert(claims);
                    let mut response = inner.call(request).await?;
                    response.extensions_mut().insert(subject);
                    Ok(response)
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
