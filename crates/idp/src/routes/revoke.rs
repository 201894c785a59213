//! `POST /oauth/revoke` (RFC 7009), only by the client the token was issued
//! to (§2.1): a public client names its `client_id` (none means the built-in
//! `slipgate-cli`), a confidential one authenticates with HTTP Basic (naming
//! it without credentials is 401 `invalid_client`). A token of another client
//! is refused with 400 `unauthorized_client` and stays active (issue 13: an
//! unauthenticated caller naming another client revoked a user's session).
//!
//! An access token (a JWT with this server's signature) is revoked by `jti`
//! until it expires; a refresh token is revoked with its whole session, which
//! also deactivates the session's access tokens at introspection. Unknown or
//! malformed tokens answer 200 like known ones (RFC 7009 §2.2), so the
//! endpoint reveals nothing about a token it did not issue.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, header};

use super::{Form, authenticate};
use crate::crypto;
use crate::error::OAuthError;
use crate::state::IdpState;

/// How long revoked refresh rows outlive their expiry (so a revoked family's
/// `sid` stays revoked until its access tokens expire too).
pub(crate) const PURGE_GRACE_SECS: i64 = 86_400;

/// The revocation endpoint.
pub async fn revoke(State(state): State<IdpState>, request: Request<Body>) -> Response {
    match answer(&state, request).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn answer(state: &IdpState, request: Request<Body>) -> Result<(), OAuthError> {
    let (parts, form) = Form::read(request).await?;
    let caller = authenticate(state, &parts.headers, &form).await?;
    let token = form.required("token")?;
    let now = state.now();
    let not_yours = || OAuthError::unauthorized_client("the token was issued to another client");
    if let Ok(claims) = state.keys.verify(token, now) {
        if claims.client_id != caller.client_id() {
            tracing::warn!(client_id = %caller.client_id(), "revocation of another client's token refused");
            return Err(not_yours());
        }
        if claims.exp > now {
            state.store.revoke_jti(&claims.jti, claims.exp).await?;
            tracing::info!(client_id = %claims.client_id, "access token revoked");
        }
    } else if token.len() <= 256
        && let Some(record) = state.store.refresh(&crypto::sha256_b64(token)).await?
    {
        if record.client_id != caller.client_id() {
            tracing::warn!(client_id = %caller.client_id(), "revocation of another client's token refused");
            return Err(not_yours());
        }
        state.store.revoke_session(&record.family_id).await?;
        tracing::info!(session = %record.family_id, "refresh token's session revoked");
    }
    // Housekeeping on a rare path keeps the revocation lists short.
    if let Err(error) = state.store.purge_expired(now, PURGE_GRACE_SECS).await {
        tracing::warn!(%error, "purging expired tokens failed");
    }
    Ok(())
}
