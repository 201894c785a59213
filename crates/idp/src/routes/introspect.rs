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

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Request;

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
            let mut body = serde_json::json!({
                "active": true,
                "sub": claims.sub,
                "scope": claims.scope,
                "exp": claims.exp,
                "iat": claims.iat,
                "client_id": claims.client_id,
                "token_type": "Bearer",
                "aud": claims.aud,
                "iss": claims.iss,
                "jti": claims.jti,
            });
            if let (Some(emp_id), Some(map)) = (claims.emp_id, body.as_object_mut()) {
                map.insert("username".into(), claims.sub.into());
                map.insert("emp_id".into(), emp_id.into());
                // The employee record of SPEC §3.4, as the token carries it.
                for (name, value) in
                    [("emp_code", claims.emp_code), ("name", claims.name), ("emp_grade", claims.emp_grade)]
                {
                    if let Some(value) = value {
                        map.insert(name.into(), value.into());
                    }
                }
            }
            body
        }
        None => serde_json::json!({"active": false}),
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
    let live = match (&claims.sid, &claims.emp_id) {
        (Some(sid), Some(_)) => {
            state.store.session(sid).await?.is_some_and(|s| {
                s.is_live(now) && s.username == claims.sub && s.client_id == claims.client_id
            }) && state
                .store
                .user(&claims.sub)
                .await?
                .is_some_and(|u| !u.disabled && same_record(&claims, &u))
        }
        (None, None) => claims.sub == claims.client_id && state.store.client(&claims.sub).await?.is_some(),
        _ => false,
    };
    Ok(live.then_some(claims))
}
