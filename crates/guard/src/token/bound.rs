//! Step 7 of a key-bound request (SPEC §3.2.1), inside the signature layer: [`check`].

use slipgate_httpsig::binding::BoundKey;
use slipgate_proto::Presentation;

use super::claims::{TokenClaims, TokenError};
use super::validity::{token_invalid, valid};
use crate::Rejection;

/// The token presented as `HTTPSig` is valid and bound: its `cnf.htsk` names a
/// key [`BoundKey::from_confirmation`] accepts. An unbound token, or one whose
/// key cannot be imported, is `token_invalid`.
///
/// # Errors
///
/// `token_invalid` or `auth_unavailable`.
pub fn check(result: Result<TokenClaims, TokenError>) -> Result<(TokenClaims, BoundKey), Rejection> {
    let presented = Presentation::HttpSig;
    let claims = valid(presented, result)?;
    let Some(cnf) = &claims.cnf else {
        return Err(token_invalid(presented, "the token is not bound to a key; send it as Bearer"));
    };
    let key = BoundKey::from_confirmation(cnf)
        .map_err(|_| token_invalid(presented, "the token's cnf names a key this API cannot use"))?;
    Ok((claims, key))
}
