//! `POST /oauth/introspect` (RFC 7662), for registered clients (the API).
//!
//! A token is active only when its signature verifies with one of this
//! server's published keys, `iss` and `aud` are this server's, it has not
//! expired, its `jti` is not revoked, and its subject still exists and is not
//! disabled. A user token also needs its session (`sid`) to be live in the
//! store — known, not revoked, not past its fixed expiry, and the same user's
//! — so a token with a fabricated or forgotten session is inactive (issue 13:
//! a minted token was accepted because an unknown session counted as "not
//! revoked"). A client-credentials token has no session and is active until it
//! expires or is revoked. Everything else, refresh tokens included, answers
//! `{"active": false}`, so an API can never mistake one for an access token.
//!
//! An active answer names the `token_type` (`Bearer`, or `httpsig` for a token
//! bound to the client's key) and, when bound, the token's `cnf` — which must
//! name the very key the session is bound to (a bound token of an unbound
//! session, or the other way round, is inactive).

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Request;
use slipgate_httpsig::binding::BoundKey;
use slipgate_proto::oauth::Introspection;

use super::{Form, no_store_json, require_registered};
use crate::error::OAuthError;
use crate::state::IdpState;
use crate::tokens::AccessClaims;

/// The introspection endpoint.
pub async fn introspect(State(state): State<IdpState>, request: Request<Body>) -> Response {
    match answer(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn answer(state: &IdpState, request: Request<Body>) -> Result<Response, OAuthError> {
    let (parts, form) = Form::read(request).await?;
    require_registered(state, &parts.headers, &form).await?;
    let token = form.required("token")?;
    let body = match active_claims(state, token).await? {
        Some(claims) => {
            let user_token = claims.emp_id.is_some();
            Introspection {
                active: true,
                username: user_token.then(|| claims.sub.clone()),
                token_type: Some(claims.token_type()),
                sub: Some(claims.sub),
                scope: Some(claims.scope),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                client_id: Some(claims.client_id),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
                jti: Some(claims.jti),
                // The employee record of SPEC §3.4, as the token carries it
                // (user tokens only: they are the ones with an emp_id).
                emp_id: claims.emp_id,
                emp_code: claims.emp_code.filter(|_| user_token),
                name: claims.name.filter(|_| user_token),
                emp_grade: claims.emp_grade.filter(|_| user_token),
                cnf: claims.cnf,
            }
        }
        None => Introspection::inactive(),
    };
    Ok(no_store_json(body))
}

/// Whether the token carries the user's current employee record: after `idp
/// user update`, tokens with the old record are inactive (refreshed ones carry
/// the new record).
fn same_record(claims: &AccessClaims, user: &crate::store::UserRecord) -> bool {
    claims.emp_id.as_deref() == Some(user.emp_id.as_str())
        && claims.emp_code == user.emp_code
        && claims.name == user.emp_name
        && claims.emp_grade == user.emp_grade
}

/// The claims of `token` if it is an active access token of this server.
pub(crate) async fn active_claims(state: &IdpState, token: &str) -> Result<Option<AccessClaims>, OAuthError> {
    let now = state.now();
    let Ok(claims) = state.keys.verify(token, now) else { return Ok(None) };
    if claims.iss != state.issuer
        || claims.aud != state.audience
        || claims.exp <= now
        || claims.iat > now + 60
    {
        return Ok(None);
    }
    if state.store.jti_revoked(&claims.jti).await? {
        return Ok(None);
    }
    // The key a bound token names (a `cnf` that is not a valid key makes it inactive).
    let bound = match &claims.cnf {
        Some(cnf) => match BoundKey::from_confirmation(cnf) {
            Ok(key) => Some(key.thumbprint()),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    let live = match (&claims.sid, &claims.emp_id) {
        (Some(sid), Some(_)) => {
            state.store.session(sid).await?.is_some_and(|s| {
                s.is_live(now)
                    && s.username == claims.sub
                    && s.client_id == claims.client_id
                    && s.key_thumbprint == bound
            }) && state
                .store
                .user(&claims.sub)
                .await?
                .is_some_and(|u| !u.disabled && same_record(&claims, &u))
        }
        (None, None) => {
            bound.is_none()
                && claims.sub == claims.client_id
                && state.store.client(&claims.sub).await?.is_some()
        }
        _ => false,
    };
    Ok(live.then_some(claims))
}
