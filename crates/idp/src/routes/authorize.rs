//! `GET|POST /oauth/authorize` (RFC 6749 §4.1 with RFC 7636 PKCE, SPEC §4) and the
//! `authorization_code` grant of `/oauth/token`, for browser clients such as the web console
//! (SPEC §8).
//!
//! The flow: the console sends the browser to `GET /oauth/authorize` with its `client_id`, its
//! one registered `redirect_uri` (matched byte for byte), a random `state`, an optional `scope`
//! and an `S256` `code_challenge` (`plain` is refused). The identity server answers its own
//! login form; the password never reaches the console. The form is posted back to
//! `POST /oauth/authorize`, throttled by the same login throttle and password queue as the
//! password grant; on success the browser is redirected (303) to
//! `redirect_uri?code=…&state=…&iss=…` (RFC 9207 `iss`). The code is 256 random bits, stored as
//! its SHA-256, lives [`CODE_TTL_SECS`], and is spent by its first presentation at the token
//! endpoint, right or wrong; a second presentation is `invalid_grant` and revokes the session
//! the first one started. It is tied to the client, the redirect URI and the challenge.
//!
//! # Security
//! Covered: forged logins (login CSRF). The form carries an anti-forgery token, an HMAC-SHA256
//! (key random per process) over the authorization request's parameters and an expiry
//! ([`FORM_TTL_SECS`]): a form posted with another `state`, `redirect_uri`, challenge or scope,
//! or with no or an expired token, is refused (403), as is any post whose `Origin` is not this
//! server's own or whose `Sec-Fetch-Site` says it came from another site. No cookie is set, so
//! nothing breaks when a browser blocks cookies, and there is no session to fixate. Errors
//! before the client and redirect URI are known good are shown on the server's own page, never
//! redirected (RFC 6749 §4.1.2.1), so the endpoint is no open redirector. The login page has a
//! CSP of its own (`default-src 'none'`, `form-action` this server and the client's redirect
//! origin, `frame-ancestors 'none'`), so it cannot be framed for clickjacking.
//!
//! Not covered: the anti-forgery key lives in memory, so behind a load balancer a form must be
//! posted to the instance that served it (sticky routing) or the user sees "the form expired"
//! and tries again.

use std::fmt::Write as _;

use aws_lc_rs::{digest, hmac};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};

use super::token::{check_login, grant_scopes, issue_user_tokens};
use super::{Caller, Form, client_ip_key};
use crate::admin::scopes_for_roles;
use crate::crypto;
use crate::error::OAuthError;
use crate::secret::Secret;
use crate::state::IdpState;
use crate::store::{AuthCodeRecord, AuthCodeUse, SessionRecord};

/// Lifetime of an authorization code (SPEC §4).
pub const CODE_TTL_SECS: i64 = 60;
/// How long a login form may be filled in before it must be reloaded.
pub const FORM_TTL_SECS: i64 = 600;
/// Longest `state` accepted.
const MAX_STATE_LEN: usize = 256;
/// Longest username accepted (as the password grant; the password bound is `check_login`'s).
const MAX_USERNAME_LEN: usize = 128;
/// The authorization request's parameters, and nothing else.
const REQUEST_PARAMS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
];
/// What the login form adds to them.
const FORM_PARAMS: [&str; 3] = ["username", "password", "form_token"];

/// A checked authorization request.
#[derive(Debug, Clone)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    state: String,
    scope: Option<String>,
    code_challenge: String,
}

/// Why an authorization request fails.
enum Refusal {
    /// Shown on this server's page: the client or redirect URI cannot be trusted.
    Page(StatusCode, &'static str),
    /// Sent back to the client's redirect URI (RFC 6749 §4.1.2.1).
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: &'static str },
}

/// `GET /oauth/authorize`: checks the request and answers the login form.
pub async fn authorize_form(State(state): State<IdpState>, request: Request<Body>) -> Response {
    let params = match parse_query(request.uri().query().unwrap_or("")) {
        Ok(params) => params,
        Err(message) => return page(StatusCode::BAD_REQUEST, &error_body(message), None),
    };
    match check_request(&state, &params).await {
        Ok(auth) => login_page(&state, &auth, StatusCode::OK, None),
        Err(refusal) => refuse(&state, refusal),
    }
}

/// `POST /oauth/authorize`: the login form's submission.
pub async fn authorize_submit(State(state): State<IdpState>, request: Request<Body>) -> Response {
    match submit(&state, request).await {
        Ok(response) => response,
        Err(refusal) => refuse(&state, refusal),
    }
}

async fn submit(state: &IdpState, request: Request<Body>) -> Result<Response, Refusal> {
    if let Some(reason) = cross_site(&request) {
        tracing::warn!(reason, "login form posted cross-site");
        return Err(Refusal::Page(StatusCode::FORBIDDEN, "This form was not sent from this sign-in page."));
    }
    let (parts, form) = Form::read(request)
        .await
        .map_err(|_| Refusal::Page(StatusCode::BAD_REQUEST, "The form could not be read."))?;
    if form.0.keys().any(|k| !REQUEST_PARAMS.contains(&k.as_str()) && !FORM_PARAMS.contains(&k.as_str())) {
        return Err(Refusal::Page(StatusCode::BAD_REQUEST, "The form carries an unknown field."));
    }
    let params: Vec<(String, String)> = REQUEST_PARAMS
        .iter()
        .filter_map(|&name| form.get(name).map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    let auth = check_request(state, &params).await?;
    let now = state.now();
    if !form.get("form_token").is_some_and(|t| verify_form_token(state, &auth, t, now)) {
        tracing::warn!("login form with a missing, forged or expired anti-forgery token");
        return Err(Refusal::Page(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or was not issued for this request. Go back and start again.",
        ));
    }
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return Ok(login_page(
            state,
            &auth,
            StatusCode::BAD_REQUEST,
            Some("Enter your username and password."),
        ));
    };
    if username.len() > MAX_USERNAME_LEN {
        return Ok(login_page(state, &auth, StatusCode::BAD_REQUEST, Some("Invalid username or password.")));
    }
    let ip = client_ip_key(state, &parts);
    let user = match check_login(state, username, Secret::from(password), &ip).await {
        Ok(user) => user,
        Err(error) if error.error == "invalid_grant" => {
            return Ok(login_page(
                state,
                &auth,
                StatusCode::BAD_REQUEST,
                Some("Invalid username or password."),
            ));
        }
        Err(error) => {
            let mut response = page(
                error.status,
                &error_body("Too many sign-in attempts or the server is busy. Wait a moment and try again."),
                None,
            );
            if let Some(secs) = error.retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return Ok(response);
        }
    };
    let Ok(scopes) = grant_scopes(&scopes_for_roles(&user.roles), auth.scope.as_deref()) else {
        return Err(Refusal::Redirect {
            redirect_uri: auth.redirect_uri,
            state: Some(auth.state),
            error: "invalid_scope",
            description: "a requested scope is not allowed for this user",
        });
    };
    let code = crypto::random_token::<32>()
        .map_err(|()| Refusal::Page(StatusCode::INTERNAL_SERVER_ERROR, "The server could not continue."))?;
    state
        .store
        .insert_auth_code(&AuthCodeRecord {
            code_hash: crypto::sha256_b64(&code),
            client_id: auth.client_id.clone(),
            redirect_uri: auth.redirect_uri.clone(),
            code_challenge: auth.code_challenge.clone(),
            username: user.username.clone(),
            scopes,
            created_at: now,
            expires_at: now.saturating_add(CODE_TTL_SECS),
            used: false,
            session_id: None,
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot store an authorization code");
            Refusal::Page(StatusCode::SERVICE_UNAVAILABLE, "The server could not continue. Try again.")
        })?;
    tracing::info!(username = %user.username, client_id = %auth.client_id, %ip, "authorization code issued");
    let query = [("code", code.as_str()), ("state", auth.state.as_str()), ("iss", state.issuer.as_str())];
    Ok(redirect(&auth.redirect_uri, &query))
}

/// Why a POST is refused as cross-site, if it is: a `Sec-Fetch-Site` other than
/// `same-origin`, or an `Origin` other than this server's (`https://` + `Host`). An opaque
/// `Origin: null` (what a browser sends under some referrer policies) passes only when the
/// browser's Fetch Metadata vouches for the same origin.
fn cross_site(request: &Request<Body>) -> Option<&'static str> {
    let headers = request.headers();
    let same_origin = match headers.get("sec-fetch-site") {
        Some(site) if site.as_bytes() != b"same-origin" => return Some("sec-fetch-site"),
        Some(_) => true,
        None => false,
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() == b"null" {
            return (!same_origin).then_some("origin");
        }
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
        let own = host.map(|h| format!("https://{h}"));
        if own.is_none_or(|own| !origin.as_bytes().eq_ignore_ascii_case(own.as_bytes())) {
            return Some("origin");
        }
    }
    None
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, &'static str> {
    if query.len() > 4096 {
        return Err("The sign-in request is too long.");
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| "The sign-in request is malformed.")?;
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &pairs {
        if !REQUEST_PARAMS.contains(&name.as_str()) {
            return Err("The sign-in request carries an unknown parameter.");
        }
        if seen.contains(&name.as_str()) {
            return Err("The sign-in request repeats a parameter.");
        }
        seen.push(name);
    }
    Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
}

/// Checks the request parameters: first the client and its redirect URI (failures shown on
/// this server's page), then the rest (failures redirected to the client).
async fn check_request(state: &IdpState, params: &[(String, String)]) -> Result<AuthRequest, Refusal> {
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let bad_client =
        Refusal::Page(StatusCode::BAD_REQUEST, "The application that sent you here is not registered.");
    let client_id =
        get("client_id").ok_or(Refusal::Page(StatusCode::BAD_REQUEST, "client_id is missing."))?;
    if client_id.len() > 128 || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_client);
    }
    let client = state.store.client(client_id).await.map_err(|error| {
        tracing::error!(%error, "identity store unavailable");
        Refusal::Page(StatusCode::SERVICE_UNAVAILABLE, "The server could not continue. Try again.")
    })?;
    // Only public clients: a confidential one has no browser flow here.
    if client.as_ref().is_none_or(|c| c.is_confidential()) {
        return Err(bad_client);
    }
    let registered = state.store.redirect_uris(client_id).await.map_err(|error| {
        tracing::error!(%error, "identity store unavailable");
        Refusal::Page(StatusCode::SERVICE_UNAVAILABLE, "The server could not continue. Try again.")
    })?;
    let redirect_uri = get("redirect_uri")
        .filter(|uri| registered.iter().any(|r| r.as_bytes() == uri.as_bytes()))
        .ok_or(Refusal::Page(
            StatusCode::BAD_REQUEST,
            "The address to return to is not registered for this application.",
        ))?
        .to_owned();
    let state_param =
        get("state").filter(|s| s.len() <= MAX_STATE_LEN && s.bytes().all(|b| b.is_ascii_graphic()));
    let back = |error, description| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state_param.map(str::to_owned),
        error,
        description,
    };
    let Some(state_value) = state_param else {
        return Err(back("invalid_request", "state is required: 1 to 256 visible ASCII characters"));
    };
    match get("response_type") {
        Some("code") => {}
        None => return Err(back("invalid_request", "response_type is required")),
        Some(_) => return Err(back("unsupported_response_type", "only response_type=code is supported")),
    }
    match get("code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return Err(back("invalid_request", "code_challenge_method plain is refused: use S256"));
        }
        _ => return Err(back("invalid_request", "PKCE is required: code_challenge_method=S256")),
    }
    let code_challenge =
        get("code_challenge").filter(|c| c.len() == 43 && c.bytes().all(is_base64url)).ok_or_else(|| {
            back("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier")
        })?;
    let scope = get("scope");
    if scope.is_some_and(|s| s.len() > 256 || !s.bytes().all(|b| b == b' ' || b.is_ascii_graphic())) {
        return Err(back("invalid_scope", "scope is malformed"));
    }
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri,
        state: state_value.to_owned(),
        scope: scope.map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
    })
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The MAC input: a version, the expiry and each parameter, length-prefixed.
fn form_mac_input(auth: &AuthRequest, exp: i64) -> Vec<u8> {
    let mut input = b"slipgate-authorize-form-v1".to_vec();
    let fields = [
        exp.to_string(),
        auth.client_id.clone(),
        auth.redirect_uri.clone(),
        auth.state.clone(),
        auth.scope.clone().unwrap_or_default(),
        auth.code_challenge.clone(),
    ];
    for field in fields {
        input.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        input.extend_from_slice(field.as_bytes());
    }
    input
}

fn form_token(state: &IdpState, auth: &AuthRequest, now: i64) -> String {
    let exp = now.saturating_add(FORM_TTL_SECS);
    let tag = hmac::sign(&state.form_key, &form_mac_input(auth, exp));
    format!("{exp}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn verify_form_token(state: &IdpState, auth: &AuthRequest, token: &str, now: i64) -> bool {
    let Some((exp, tag)) = token.split_once('.') else { return false };
    let (Ok(exp), Ok(tag)) = (exp.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else { return false };
    if exp < now || exp > now.saturating_add(FORM_TTL_SECS) {
        return false;
    }
    // Constant time (aws-lc's verify).
    hmac::verify(&state.form_key, &form_mac_input(auth, exp), &tag).is_ok()
}

fn refuse(state: &IdpState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(status, message) => page(status, &error_body(message), None),
        Refusal::Redirect { redirect_uri, state: client_state, error, description } => {
            let mut query = vec![("error", error), ("error_description", description)];
            if let Some(s) = client_state.as_deref() {
                query.push(("state", s));
            }
            query.push(("iss", state.issuer.as_str()));
            redirect(&redirect_uri, &query)
        }
    }
}

fn redirect(redirect_uri: &str, query: &[(&str, &str)]) -> Response {
    let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{encoded}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            return page(StatusCode::BAD_REQUEST, &error_body("The address to return to is unusable."), None);
        }
    }
    set_page_headers(response.headers_mut(), None);
    response
}

fn login_page(state: &IdpState, auth: &AuthRequest, status: StatusCode, error: Option<&str>) -> Response {
    let token = form_token(state, auth, state.now());
    let mut hidden = String::new();
    let fields = [
        ("response_type", Some("code")),
        ("client_id", Some(auth.client_id.as_str())),
        ("redirect_uri", Some(auth.redirect_uri.as_str())),
        ("state", Some(auth.state.as_str())),
        ("scope", auth.scope.as_deref()),
        ("code_challenge", Some(auth.code_challenge.as_str())),
        ("code_challenge_method", Some("S256")),
        ("form_token", Some(token.as_str())),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            let _ = write!(hidden, "\n<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value));
        }
    }
    let alert = error
        .map_or_else(String::new, |e| format!("\n<p id=\"login-error\" role=\"alert\">{}</p>", escape(e)));
    let described =
        if error.is_some() { " aria-describedby=\"login-error\" aria-invalid=\"true\"" } else { "" };
    let body = format!(
        "<h1>Sign in to Slipgate</h1>\n<p>{client} asks to act for you. Your password stays with this \
         server.</p>{alert}\n<form method=\"post\" action=\"/oauth/authorize\">{hidden}\n\
         <p><label for=\"username\">Username</label><br>\n<input id=\"username\" name=\"username\" \
         autocomplete=\"username\" autocapitalize=\"none\" required autofocus{described}></p>\n\
         <p><label for=\"password\">Password</label><br>\n<input id=\"password\" name=\"password\" \
         type=\"password\" autocomplete=\"current-password\" required{described}></p>\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>",
        client = escape(&auth.client_id),
    );
    page(status, &body, Some(&auth.redirect_uri))
}

fn error_body(message: &str) -> String {
    format!("<h1>Sign-in problem</h1>\n<p role=\"alert\">{}</p>", escape(message))
}

/// An HTML page with this endpoint's headers; `redirect_uri` widens `form-action` to the
/// client's origin (browsers check the redirect after a form post against it).
fn page(status: StatusCode, body: &str, redirect_uri: Option<&str>) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>Sign in — Slipgate</title>\n</head>\n\
         <body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    set_page_headers(headers, redirect_uri);
    response
}

fn set_page_headers(headers: &mut HeaderMap, redirect_uri: Option<&str>) {
    let form_action = redirect_uri.and_then(origin_of).map_or_else(String::new, |o| format!(" {o}"));
    let csp = format!(
        "default-src 'none'; form-action 'self'{form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`: the form's own post carries this server's Origin; no other site is told
    // where the user came from.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `scheme://authority` of an absolute URI.
fn origin_of(uri: &str) -> Option<String> {
    let uri: http::Uri = uri.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a PKCE verifier is well formed (RFC 7636 §4.1).
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `grant_type=authorization_code` at `/oauth/token`: `code`, `redirect_uri`, `client_id` and
/// `code_verifier`, from a public client. `signed` is a verified signed token request (SPEC §4):
/// once the code checks out its nonce is spent, and the session and its tokens are bound to its
/// key (`token_type: httpsig`, `cnf`), so the refresh token works only with that key.
pub(crate) async fn code_grant(
    state: &IdpState,
    form: &Form,
    caller: &Caller,
    signed: Option<&super::signed::SignedRequest>,
) -> Result<Response, OAuthError> {
    let client_id = match caller {
        Caller::Public(Some(client_id)) => client_id,
        Caller::Public(None) => return Err(OAuthError::invalid_request("missing parameter `client_id`")),
        Caller::Registered(_) => {
            return Err(OAuthError::unauthorized_client(
                "the authorization-code grant is for registered public clients",
            ));
        }
    };
    let code = form.secret("code")?;
    let redirect_uri = form.required("redirect_uri")?;
    let verifier = form.secret("code_verifier")?;
    if !valid_verifier(verifier.expose()) {
        return Err(OAuthError::invalid_request("code_verifier must be 43 to 128 unreserved characters"));
    }
    if code.expose().len() > 256 {
        return Err(OAuthError::invalid_grant("invalid authorization code"));
    }
    let hash = crypto::sha256_b64(code.expose());
    let now = state.now();
    let record = match state.store.use_auth_code(&hash, now).await? {
        AuthCodeUse::Fresh(record) => record,
        AuthCodeUse::Reused(record) => {
            if let Some(session) = &record.session_id {
                state.store.revoke_session(session).await?;
            }
            tracing::warn!(client_id = %record.client_id, "authorization code reused; its session is revoked");
            return Err(OAuthError::invalid_grant(
                "authorization code already used; what it issued is revoked",
            ));
        }
        _ => return Err(OAuthError::invalid_grant("invalid or expired authorization code")),
    };
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.expose().as_bytes()));
    let tied = crypto::ct_eq(challenge.as_bytes(), record.code_challenge.as_bytes())
        && record.client_id == *client_id
        && record.redirect_uri.as_bytes() == redirect_uri.as_bytes();
    if !tied {
        tracing::warn!(client_id = %record.client_id, "authorization code presented with a wrong verifier, client or redirect_uri");
        return Err(OAuthError::invalid_grant(
            "the code_verifier, client_id or redirect_uri does not match the authorization request",
        ));
    }
    let user = match state.store.user(&record.username).await? {
        Some(user) if !user.disabled => user,
        _ => return Err(OAuthError::invalid_grant("the user is disabled or gone")),
    };
    let allowed: Vec<String> =
        record.scopes.iter().filter(|s| scopes_for_roles(&user.roles).contains(s)).cloned().collect();
    if allowed.is_empty() {
        return Err(OAuthError::invalid_grant("the user no longer holds the granted scopes"));
    }
    // The code is good: only now may the request spend its nonce.
    if let Some(signed) = signed {
        signed.spend_nonce(state).await?;
    }
    let session = SessionRecord {
        session_id: crypto::random_token::<16>().map_err(|()| OAuthError::server_error(&"no randomness"))?,
        username: user.username.clone(),
        client_id: record.client_id.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now.saturating_add(state.refresh_ttl),
        revoked: false,
        key_thumbprint: signed.map(|s| s.thumbprint().to_owned()),
    };
    if !state.store.start_session(&session, &user.password_hash).await? {
        return Err(OAuthError::invalid_grant("the user's password changed or the user was disabled"));
    }
    state.store.set_auth_code_session(&hash, &session.session_id).await?;
    issue_user_tokens(
        state,
        &user,
        &session,
        &allowed,
        None,
        signed.map(super::signed::SignedRequest::confirmation),
    )
    .await
}

/// CORS for the origins of `idp.allowed_origins` (SPEC §6, §8): exact matches only, never `*`,
/// no credentials. A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
/// here with 204; other requests get `Access-Control-Allow-Origin` added to their answer.
pub async fn cors(
    State(state): State<IdpState>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .filter(|o| state.allowed_origins.iter().any(|a| a.as_bytes() == o.as_bytes()))
        .cloned();
    let cors_path = matches!(
        request.uri().path(),
        slipgate_proto::oauth::TOKEN_PATH | slipgate_proto::oauth::REVOKE_PATH
    );
    if request.method() == http::Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let (Some(origin), true) = (allowed, cors_path) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, content-digest, signature, signature-input"),
            );
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return response;
    }
    let mut response = next.run(request).await;
    if origin.is_some() {
        response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let (Some(origin), true) = (allowed, cors_path) {
        response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escapes_markup_in_attribute_values() {
        assert_eq!(escape("\"><script>x</script>&'"), "&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;");
    }

    #[test]
    fn rejects_repeated_and_unknown_query_parameters() {
        assert!(parse_query("state=a&state=b").is_err());
        assert!(parse_query("state=a&nonce=b").is_err());
        assert_eq!(parse_query("state=a&scope=").unwrap(), vec![("state".to_owned(), "a".to_owned())]);
    }

    #[test]
    fn verifier_is_43_to_128_unreserved_characters() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&"-._~".repeat(32)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn origin_of_keeps_scheme_host_and_port() {
        assert_eq!(origin_of("https://127.0.0.1:8443/console/callback").unwrap(), "https://127.0.0.1:8443");
        assert!(origin_of("/relative").is_none());
    }
}
