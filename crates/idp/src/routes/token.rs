//! `POST /oauth/token` (RFC 6749 §4.3, §6, §4.4): the password, refresh-token
//! and client-credentials grants; the authorization-code grant (§4.1) is in
//! [`super::authorize`].
//!
//! A password or refresh request may be signed with the client's own key
//! (`routes::signed`, SPEC §4): the checks run as `created`, the signature,
//! the credentials, then the nonce; the answer is `token_type: "httpsig"` and
//! the access token carries `cnf.htsk`. The session remembers the key's
//! thumbprint, and every refresh of a bound session must be signed by that
//! same key (an unsigned one, or one by another key, is `invalid_grant` and
//! spends nothing). A signed refresh of an unbound session is `invalid_grant`
//! too: a binding is made at login, never added later, so a stolen unbound
//! refresh token cannot be turned into tokens bound to the thief's key.
//! Client-credentials tokens are never bound.
//!
//! A password login starts a session ([`crate::sessions`]) that lives
//! `refresh_token_ttl` from the login, however often it is refreshed. Refresh
//! tokens rotate: each use marks the presented token used and issues a
//! successor in the same session; presenting a used token again (a stolen
//! copy, or the thief's after the user's) revokes the session, which also
//! deactivates its access tokens at introspection (claim `sid`).
//!
//! Confidential clients (registered with a secret) authenticate with HTTP
//! Basic on every grant: naming one without its credentials, or presenting a
//! refresh token issued to one without them, is 401 `invalid_client` (RFC
//! 6749 §3.2.1, §6) — and such a refresh token is not spent.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Request;
use slipgate_proto::oauth::{Confirmation, TokenResponse};

use super::signed::{self, SignedRequest};
use super::{Caller, Form, authenticate, client_ip_key, no_store_json, require_if_confidential};
use crate::admin::scopes_for_roles;
use crate::crypto;
use crate::error::OAuthError;
use crate::secret::Secret;
use crate::state::IdpState;
use crate::store::{RefreshRecord, RefreshUse, SessionRecord, UserRecord};
use crate::throttle::{Admission, KNOWN_IP_DAYS, Reservation};
use crate::tokens::AccessClaims;

/// Longest password checked; longer ones fail without hashing.
const MAX_PASSWORD_LEN: usize = 1024;
/// Longest username accepted.
const MAX_USERNAME_LEN: usize = 128;

/// The token endpoint.
pub async fn token(State(state): State<IdpState>, request: Request<Body>) -> Response {
    let mut kind = "unknown";
    let outcome = grant(&state, request, &mut kind).await;
    state.metrics.grant(kind, outcome.as_ref().map_or_else(|e| e.error, |_| "issued"));
    match outcome {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// The `grant` label of a `grant_type` (a fixed list: a client cannot mint series).
fn grant_label(grant_type: &str) -> &'static str {
    match grant_type {
        "password" => "password",
        "refresh_token" => "refresh_token",
        "client_credentials" => "client_credentials",
        "authorization_code" => "authorization_code",
        _ => "unsupported",
    }
}

async fn grant(
    state: &IdpState,
    request: Request<Body>,
    kind: &mut &'static str,
) -> Result<Response, OAuthError> {
    let (parts, body, form) = Form::read_with_body(request).await?;
    // A signed request is checked up to its credentials before anything else;
    // an unsigned one goes on exactly as a plain RFC 6749 request.
    if let Some(grant_type) = form.get("grant_type") {
        *kind = grant_label(grant_type);
    }
    let signed = if signed::is_signed(&parts) { Some(signed::verify(state, &parts, &body)?) } else { None };
    drop(body);
    let caller = authenticate(state, &parts.headers, &form).await?;
    match form.required("grant_type")? {
        "password" => {
            password_grant(state, &form, &caller, &client_ip_key(state, &parts), signed.as_ref()).await
        }
        "refresh_token" => refresh_grant(state, &form, &caller, signed.as_ref()).await,
        "client_credentials" if signed.is_some() => Err(OAuthError::invalid_request(
            "a client_credentials token is never bound to a key: send the request unsigned",
        )),
        "client_credentials" => client_credentials_grant(state, &form, caller).await,
        "authorization_code" => super::authorize::code_grant(state, &form, &caller, signed.as_ref()).await,
        _ => Err(OAuthError::unsupported_grant_type(
            "supported grant types: password, refresh_token, client_credentials, authorization_code",
        )),
    }
}

async fn password_grant(
    state: &IdpState,
    form: &Form,
    caller: &Caller,
    ip: &str,
    signed: Option<&SignedRequest>,
) -> Result<Response, OAuthError> {
    let username = form.required("username")?;
    let password = form.secret("password")?;
    if username.len() > MAX_USERNAME_LEN {
        return Err(OAuthError::invalid_request("username is too long"));
    }
    let user = check_login(state, username, password, ip).await?;
    let now = state.now();
    let scopes = grant_scopes(&scopes_for_roles(&user.roles), form.get("scope"))?;
    // The credentials are good: only now may the request spend its nonce.
    if let Some(signed) = signed {
        signed.spend_nonce(state).await?;
    }
    let session = SessionRecord {
        session_id: crypto::random_token::<16>().map_err(|()| OAuthError::server_error(&"no randomness"))?,
        username: user.username.clone(),
        client_id: caller.client_id().to_owned(),
        created_at: now,
        last_used_at: now,
        expires_at: now.saturating_add(state.refresh_ttl),
        revoked: false,
        key_thumbprint: signed.map(|s| s.thumbprint().to_owned()),
    };
    // Checked against the hash the password was verified with: a password
    // change or disable that landed meanwhile wins.
    if !state.store.start_session(&session, &user.password_hash).await? {
        tracing::info!(username, %ip, "login raced a password change or disable");
        return Err(OAuthError::invalid_grant("invalid username or password"));
    }
    issue_user_tokens(state, &user, &session, &scopes, None, signed.map(SignedRequest::confirmation)).await
}

/// The password check of the password grant and of the authorization endpoint's login form:
/// throttled first (counted before the hash is checked), then the bounded queue; a success records
/// the login address (SPEC §4).
pub(crate) async fn check_login(
    state: &IdpState,
    username: &str,
    password: Secret,
    ip: &str,
) -> Result<crate::store::UserRecord, OAuthError> {
    let reservation = admit(state, username, ip).await?;
    let Some(slot) = state.enter_login_queue() else {
        reservation.cancel(state.now());
        state.metrics.login_failure("queue_full");
        tracing::warn!(username, "login queue full");
        return Err(OAuthError::temporarily_unavailable(1));
    };
    let user = match state.store.user(username).await {
        Ok(user) => user,
        Err(e) => {
            reservation.cancel(state.now());
            return Err(e.into());
        }
    };
    let ok = if password.expose().len() > MAX_PASSWORD_LEN {
        false
    } else {
        state.check_password(slot, user.as_ref().map(|u| u.password_hash.clone()), password).await?
    };
    let now = state.now();
    match user {
        Some(user) if ok && !user.disabled => {
            reservation.success(now);
            tracing::info!(username, %ip, "login succeeded");
            if let Err(error) = state.store.record_login_ip(&user.username, ip, now).await {
                tracing::warn!(%error, "could not record the login address");
            }
            Ok(user)
        }
        _ => {
            reservation.failure(now);
            state.metrics.login_failure("invalid_credentials");
            tracing::info!(username, %ip, "login failed");
            Err(OAuthError::invalid_grant("invalid username or password"))
        }
    }
}

/// Reserves a password check for `username` from `ip` (SPEC §4, [`crate::throttle`]):
/// 429 when a limit is reached, asking the store about known IPs only when the
/// username is past its global limit.
pub(crate) async fn admit<'a>(
    state: &'a IdpState,
    username: &str,
    ip: &str,
) -> Result<Reservation<'a>, OAuthError> {
    let now = state.now();
    let mut known = None;
    // Twice at most: the second call has the store's answer.
    for _ in 0..2 {
        match state.throttle.reserve(username, ip, known, now) {
            Admission::Granted(reservation) => return Ok(reservation),
            Admission::Refused { retry_after } => {
                state.metrics.login_failure("throttled");
                tracing::warn!(username, %ip, "login throttled");
                return Err(OAuthError::slow_down(retry_after));
            }
            Admission::NeedsKnownIp => {
                let since = now.saturating_sub(KNOWN_IP_DAYS * 86_400);
                known = Some(state.store.login_ip_known(username, ip, since).await?);
            }
        }
    }
    Err(OAuthError::server_error(&"the login throttle asked twice for a known address"))
}

async fn refresh_grant(
    state: &IdpState,
    form: &Form,
    caller: &Caller,
    signed: Option<&SignedRequest>,
) -> Result<Response, OAuthError> {
    let presented = form.secret("refresh_token")?;
    if presented.expose().len() > 256 {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    }
    let hash = crypto::sha256_b64(presented.expose());
    let now = state.now();
    // A token of a confidential client needs that client's credentials, and a
    // token of a bound session a signature by its key, both checked before
    // anything spends or revokes the token (RFC 6749 §6).
    let known = state.store.refresh(&hash).await?;
    if let Some(record) = &known {
        require_if_confidential(state, caller, &record.client_id).await?;
        check_binding(state, record, signed).await?;
    }
    // Signed: the nonce is spent only for a token that is live and unused; a
    // dead or reused one fails below as invalid_grant, leaving the nonce.
    if let Some(signed) = signed
        && known.as_ref().is_some_and(|r| !r.used && !r.revoked && r.expires_at > now)
    {
        signed.spend_nonce(state).await?;
    }
    let old = match state.store.use_refresh(&hash, now).await? {
        RefreshUse::Rotated(record) => record,
        RefreshUse::Reused(record) => {
            state.store.revoke_session(&record.family_id).await?;
            tracing::warn!(session = %record.family_id, "refresh token reused; session revoked");
            return Err(OAuthError::invalid_grant("refresh token already used; the session is revoked"));
        }
        _ => return Err(OAuthError::invalid_grant("invalid, expired or revoked refresh token")),
    };
    let named = match caller {
        Caller::Registered(c) => Some(c.client_id.as_str()),
        Caller::Public(id) => id.as_deref(),
    };
    if named.is_some_and(|id| id != old.client_id) {
        state.store.revoke_session(&old.family_id).await?;
        return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
    }
    // The session is what counts: ended by a password change, a disable, an
    // admin or its fixed lifetime, its refresh tokens are dead too.
    let session = match state.store.session(&old.family_id).await? {
        Some(session) if session.is_live(now) && session.username == old.username => session,
        _ => return Err(OAuthError::invalid_grant("the session has ended; log in again")),
    };
    let user = match state.store.user(&old.username).await? {
        Some(user) if !user.disabled => user,
        _ => {
            state.store.revoke_session(&old.family_id).await?;
            return Err(OAuthError::invalid_grant("the user is disabled or gone"));
        }
    };
    if !state.store.touch_session(&session.session_id, now).await? {
        return Err(OAuthError::invalid_grant("the session has ended; log in again"));
    }
    // Never more than first granted, nor more than the roles allow today.
    let allowed: Vec<String> =
        old.scopes.iter().filter(|s| scopes_for_roles(&user.roles).contains(s)).cloned().collect();
    let scopes = grant_scopes(&allowed, form.get("scope"))?;
    issue_user_tokens(
        state,
        &user,
        &session,
        &scopes,
        Some(old.token_hash),
        signed.map(SignedRequest::confirmation),
    )
    .await
}

/// A refresh of a bound session must be signed by the session's key; a refresh
/// of an unbound session must not be signed (a binding is never added later).
async fn check_binding(
    state: &IdpState,
    record: &RefreshRecord,
    signed: Option<&SignedRequest>,
) -> Result<(), OAuthError> {
    let session = state.store.session(&record.family_id).await?;
    let bound = session.as_ref().and_then(|s| s.key_thumbprint.as_deref());
    match (bound, signed) {
        (None, None) => Ok(()),
        // Thumbprints are SHA-256 over the canonical key: equal thumbprints, same key.
        (Some(bound), Some(signed)) if bound == signed.thumbprint() => Ok(()),
        (Some(_), Some(_)) => {
            tracing::warn!(session = %record.family_id, "refresh of a bound session signed by another key");
            Err(OAuthError::invalid_grant("the refresh token is bound to another key"))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "the refresh token is bound to a key: sign the request with that key",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "the session is not bound to a key and a refresh cannot bind it: refresh unsigned, or log in \
             again with a signed request",
        )),
    }
}

async fn client_credentials_grant(
    state: &IdpState,
    form: &Form,
    caller: Caller,
) -> Result<Response, OAuthError> {
    let Caller::Registered(client) = caller else {
        return Err(OAuthError::invalid_client(
            "client_credentials requires HTTP Basic client authentication",
        ));
    };
    let scopes = grant_scopes(&client.scopes, form.get("scope"))?;
    let now = state.now();
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: client.client_id.clone(),
        aud: state.audience.clone(),
        exp: now + state.access_ttl,
        iat: now,
        jti: crypto::random_token::<16>().map_err(|()| OAuthError::server_error(&"no randomness"))?,
        scope: scopes.join(" "),
        client_id: client.client_id.clone(),
        emp_id: None,
        emp_code: None,
        name: None,
        emp_grade: None,
        sid: None,
        cnf: None,
    };
    let access = state.keys.sign(&claims).map_err(|e| OAuthError::server_error(&e))?;
    tracing::info!(client_id = %client.client_id, "client token issued");
    Ok(no_store_json(TokenResponse {
        access_token: access,
        token_type: claims.token_type(),
        expires_in: u64::try_from(state.access_ttl).unwrap_or(0),
        refresh_token: None,
        scope: claims.scope,
    }))
}

/// The scopes to grant: all of `allowed` when none are requested, else the
/// requested ones, each of which must be allowed.
pub(crate) fn grant_scopes(allowed: &[String], requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else { return Ok(allowed.to_vec()) };
    if requested.len() > 1024 {
        return Err(OAuthError::invalid_scope("scope is too long"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !allowed.iter().any(|a| a == scope) {
            return Err(OAuthError::invalid_scope("a requested scope is not allowed for this grant"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() { Ok(allowed.to_vec()) } else { Ok(scopes) }
}

/// Issues an access token and the next refresh token of `session`; neither
/// outlives the session.
pub(crate) async fn issue_user_tokens(
    state: &IdpState,
    user: &UserRecord,
    session: &SessionRecord,
    scopes: &[String],
    parent_hash: Option<String>,
    cnf: Option<Confirmation>,
) -> Result<Response, OAuthError> {
    let random = || crypto::random_token::<32>().map_err(|()| OAuthError::server_error(&"no randomness"));
    let now = state.now();
    let client_id = session.client_id.as_str();
    let exp = now.saturating_add(state.access_ttl).min(session.expires_at);
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: user.username.clone(),
        aud: state.audience.clone(),
        exp,
        iat: now,
        jti: crypto::random_token::<16>().map_err(|()| OAuthError::server_error(&"no randomness"))?,
        scope: scopes.join(" "),
        client_id: client_id.to_owned(),
        emp_id: Some(user.emp_id.clone()),
        emp_code: user.emp_code.clone(),
        name: user.emp_name.clone(),
        emp_grade: user.emp_grade.clone(),
        sid: Some(session.session_id.clone()),
        cnf,
    };
    let access = state.keys.sign(&claims).map_err(|e| OAuthError::server_error(&e))?;
    let refresh = Secret::new(random()?);
    state
        .store
        .insert_refresh(&RefreshRecord {
            token_hash: crypto::sha256_b64(refresh.expose()),
            family_id: session.session_id.clone(),
            parent_hash,
            username: user.username.clone(),
            client_id: client_id.to_owned(),
            scopes: scopes.to_vec(),
            issued_at: now,
            expires_at: session.expires_at,
            used: false,
            revoked: false,
        })
        .await?;
    let token_type = claims.token_type();
    tracing::info!(username = %user.username, client_id, %token_type, "user token issued");
    Ok(no_store_json(TokenResponse {
        access_token: access,
        token_type,
        expires_in: u64::try_from(exp - now).unwrap_or(0),
        refresh_token: Some(refresh.expose().to_owned()),
        scope: claims.scope,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn grants_every_allowed_scope_when_none_requested() {
        assert_eq!(grant_scopes(&words("a b"), None).unwrap(), words("a b"));
    }

    #[test]
    fn grants_a_requested_subset() {
        assert_eq!(grant_scopes(&words("a b"), Some("b b")).unwrap(), words("b"));
    }

    #[test]
    fn rejects_a_scope_beyond_the_allowed() {
        let err = grant_scopes(&words("salaryslip:self"), Some("salaryslip:any")).unwrap_err();
        assert_eq!(err.error, "invalid_scope");
    }
}
