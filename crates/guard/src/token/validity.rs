//! Step 7 of SPEC §3.3 as a pure function over the validator's answer: [`check`].

use slipgate_proto::{Presentation, ProblemCode};

use super::claims::{TokenClaims, TokenError};
use crate::Rejection;

/// `token_invalid` with `detail`, challenged for `presented`.
pub(super) fn token_invalid(presented: Presentation, detail: &'static str) -> Rejection {
    Rejection::new(ProblemCode::TokenInvalid, detail).presented(presented)
}

/// The validator's answer as a refusal: a bad token is `token_invalid`, an
/// identity server that cannot answer `auth_unavailable` (fail closed).
pub(super) fn valid(
    presented: Presentation,
    result: Result<TokenClaims, TokenError>,
) -> Result<TokenClaims, Rejection> {
    result.map_err(|e| match e {
        TokenError::Invalid(_) => token_invalid(presented, "the access token is not valid"),
        TokenError::Unavailable(cause) => {
            Rejection::new(ProblemCode::AuthUnavailable, "the identity server is unavailable; retry later")
                .with_cause(&cause)
        }
    })
}

/// Step 7: the token is valid; a key-bound one was not sent as `Bearer` (SPEC
/// §3.2.1); and with `require_bound` (`auth.require_bound_tokens`) a `Bearer`
/// token is a service token (client credentials). For
/// [`Presentation::HttpSig`] the signature layer already proved the token
/// bound and signed by its key. The scope is step 9 ([`super::scope::check`]).
///
/// # Errors
///
/// `token_invalid` or `auth_unavailable`.
pub fn check(
    presented: Presentation,
    require_bound: bool,
    result: Result<TokenClaims, TokenError>,
) -> Result<TokenClaims, Rejection> {
    let claims = valid(presented, result)?;
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
    Ok(claims)
}
