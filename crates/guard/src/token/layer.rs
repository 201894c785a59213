//! [`TokenLayer`]: bearer-token validation (SPEC §3.3 step 7) and the scope
//! rule of step 9; the object-level rule needs the body and runs in the
//! handler right after the JSON parse ([`authorize_employee`], step 11).

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use http::header::AUTHORIZATION;
use http::{Request, Response};
use slipgate_proto::{ProblemCode, SlipBody};
use tower::{Layer, Service};

use super::claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims, TokenError, TokenValidator};
use crate::Rejection;
use futures_util::future::BoxFuture;

/// `WWW-Authenticate` for a request without a bearer token (RFC 6750 §3).
pub const CHALLENGE_MISSING: &str = "Bearer";
/// `WWW-Authenticate` for a bad token.
pub const CHALLENGE_INVALID: &str = "Bearer error=\"invalid_token\"";
/// `WWW-Authenticate` for a token without a salary-slip scope.
pub const CHALLENGE_SCOPE: &str =
    "Bearer error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"";

/// The bearer token of an `Authorization` header value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 8 * 1024).then_some(token)
}

/// Step 7 and the scope part of step 9, as a pure function over the result.
pub fn decide(result: Result<TokenClaims, TokenError>) -> Result<TokenClaims, Rejection> {
    let claims = result.map_err(|e| match e {
        TokenError::Invalid(_) => Rejection::new(ProblemCode::TokenInvalid, "the bearer token is not valid")
            .with_challenge(CHALLENGE_INVALID),
        TokenError::Unavailable(cause) => {
            tracing::error!(%cause, "token validation unavailable");
            Rejection::new(ProblemCode::AuthUnavailable, "the identity server is unavailable; retry later")
        }
    })?;
    if !claims.has_scope(SCOPE_ANY) && !claims.has_scope(SCOPE_SELF) {
        return Err(Rejection::new(ProblemCode::InsufficientScope, "the token has no salary-slip scope")
            .with_challenge(CHALLENGE_SCOPE));
    }
    Ok(claims)
}

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
pub struct AuditSubject(pub String);

/// Validates the bearer token of every request.
#[derive(Debug, Clone)]
pub struct TokenLayer {
    validator: Arc<dyn TokenValidator>,
}

impl TokenLayer {
    /// A layer asking `validator`.
    pub fn new(validator: Arc<dyn TokenValidator>) -> Self {
        Self { validator }
    }
}

impl<S> Layer<S> for TokenLayer {
    type Service = TokenService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TokenService { inner, validator: self.validator.clone() }
    }
}

/// The service [`TokenLayer`] builds.
#[derive(Debug, Clone)]
pub struct TokenService<S> {
    inner: S,
    validator: Arc<dyn TokenValidator>,
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
        Box::pin(async move {
            let token = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer);
            let Some(token) = token else {
                let rejection =
                    Rejection::new(ProblemCode::TokenMissing, "send Authorization: Bearer <access token>")
                        .with_challenge(CHALLENGE_MISSING);
                return Ok(rejection.into_response());
            };
            match decide(validator.validate(token).await) {
                Ok(claims) => {
                    let subject = AuditSubject(claims.sub.clone());
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
