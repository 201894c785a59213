//! The HTTP endpoints (SPEC §4) and what they share: strict form parsing and
//! client authentication (HTTP Basic, RFC 6749 §2.3.1).

pub mod authorize;
pub mod introspect;
pub mod revoke;
pub(crate) mod signed;
pub mod token;
pub mod wellknown;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, Request, header};

use slipgate_proto::forwarded::client_ip;

use crate::crypto;
use crate::error::OAuthError;
use crate::secret::Secret;
use crate::state::IdpState;
use crate::store::ClientRecord;

/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// Time allowed to receive the body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest client id accepted.
const MAX_CLIENT_ID_LEN: usize = 128;
/// The built-in public client a token is issued to when the caller names none
/// (SPEC §4); it cannot be registered.
pub const DEFAULT_PUBLIC_CLIENT: &str = slipgate_proto::oauth::PUBLIC_CLI_CLIENT;

/// A parsed `application/x-www-form-urlencoded` body.
#[derive(Default)]
pub(crate) struct Form(HashMap<String, String>);

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be passwords or tokens: names only.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Form {
    /// Reads and parses the body: the right content type, bounded size and
    /// time, no repeated parameter (RFC 6749 §3.2); empty values count as absent.
    pub(crate) async fn read(request: Request<Body>) -> Result<(http::request::Parts, Self), OAuthError> {
        let (parts, _, form) = Self::read_with_body(request).await?;
        Ok((parts, form))
    }

    /// [`Form::read`], also returning the body as received (a signed token
    /// request's `Content-Digest` is checked against these bytes).
    pub(crate) async fn read_with_body(
        request: Request<Body>,
    ) -> Result<(http::request::Parts, axum::body::Bytes, Self), OAuthError> {
        let (parts, body) = request.into_parts();
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        let bytes = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_FORM_BYTES))
            .await
            .map_err(|_| OAuthError::invalid_request("the body arrived too slowly"))?
            .map_err(|_| OAuthError::invalid_request("the body is too large or unreadable"))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| OAuthError::invalid_request("the body is not a valid form"))?;
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if map.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{}` is repeated",
                    truncate(&name)
                )));
            }
            if !value.is_empty() {
                map.insert(name, value);
            }
        }
        Ok((parts, bytes, Self(map)))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    pub(crate) fn secret(&self, name: &str) -> Result<Secret, OAuthError> {
        self.required(name).map(Secret::from)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Who is calling a token, introspection or revocation endpoint.
#[derive(Debug)]
pub(crate) enum Caller {
    /// A registered client that authenticated with HTTP Basic.
    Registered(ClientRecord),
    /// A public client, with the `client_id` it named, if any.
    Public(Option<String>),
}

impl Caller {
    /// The client id to record in tokens, and whose tokens this caller may revoke.
    pub(crate) fn client_id(&self) -> &str {
        match self {
            Self::Registered(c) => &c.client_id,
            Self::Public(id) => id.as_deref().unwrap_or(DEFAULT_PUBLIC_CLIENT),
        }
    }

    /// Whether this caller proved it is confidential client `client_id`.
    pub(crate) fn is_registered(&self, client_id: &str) -> bool {
        matches!(self, Self::Registered(c) if c.client_id == client_id)
    }
}

/// Refuses a caller that is not `client_id` when that client is confidential
/// (has a secret): 401 `invalid_client`. Public client ids pass.
pub(crate) async fn require_if_confidential(
    state: &IdpState,
    caller: &Caller,
    client_id: &str,
) -> Result<(), OAuthError> {
    if caller.is_registered(client_id) {
        return Ok(());
    }
    match state.store.client(client_id).await? {
        Some(client) if client.is_confidential() => Err(OAuthError::invalid_client(
            "the token belongs to a confidential client: authenticate as it with HTTP Basic",
        )),
        _ => Ok(()),
    }
}

/// Authenticates the caller: HTTP Basic when an `Authorization` header is sent
/// (then it must be a valid registered client), else a public client. A
/// caller naming a confidential client's `client_id` without its credentials
/// is refused (401 `invalid_client`), so nobody gets tokens recorded as that
/// client's (RFC 6749 §3.2.1).
pub(crate) async fn authenticate(
    state: &IdpState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Caller, OAuthError> {
    if form.get("client_secret").is_some() {
        return Err(OAuthError::invalid_request("send client credentials with HTTP Basic, not in the body"));
    }
    let form_id = form.get("client_id");
    if let Some(id) = form_id
        && (id.len() > MAX_CLIENT_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(OAuthError::invalid_request("client_id is malformed"));
    }
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        if let Some(id) = form_id
            && state.store.client(id).await?.is_some_and(|c| c.is_confidential())
        {
            return Err(OAuthError::invalid_client(
                "this client_id is a confidential client: authenticate with HTTP Basic",
            ));
        }
        return Ok(Caller::Public(form_id.map(str::to_owned)));
    };
    let (id, secret) = parse_basic(authorization)
        .ok_or_else(|| OAuthError::invalid_client("malformed HTTP Basic credentials"))?;
    if form_id.is_some_and(|f| f != id) {
        return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
    }
    let client = state.store.client(&id).await?;
    // An unknown id still costs a hash and a comparison.
    let stored =
        client.as_ref().map_or_else(|| crypto::sha256_b64("unknown client"), |c| c.secret_hash.clone());
    let presented = crypto::sha256_b64(secret.expose());
    match client {
        Some(client) if crypto::ct_eq(presented.as_bytes(), stored.as_bytes()) => {
            Ok(Caller::Registered(client))
        }
        _ => Err(OAuthError::invalid_client("client authentication failed")),
    }
}

/// Requires a registered client (introspection, client credentials).
pub(crate) async fn require_registered(
    state: &IdpState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<ClientRecord, OAuthError> {
    match authenticate(state, headers, form).await? {
        Caller::Registered(client) => Ok(client),
        Caller::Public(_) => {
            Err(OAuthError::invalid_client("this endpoint requires HTTP Basic client authentication"))
        }
    }
}

fn parse_basic(value: &HeaderValue) -> Option<(String, Secret)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 1024 {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = percent_decode(id)?;
    let secret = percent_decode(secret)?;
    (!id.is_empty() && id.len() <= MAX_CLIENT_ID_LEN).then(|| (id, Secret::new(secret)))
}

/// `application/x-www-form-urlencoded` decoding of a Basic credential
/// (RFC 6749 §2.3.1).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The client address as the login throttle keys it (SPEC §3.7, §4): the TCP
/// peer, or from `X-Forwarded-For` when the peer is in `idp.trusted_proxies`;
/// IPv6 by its /64.
pub(crate) fn client_ip_key(state: &IdpState, parts: &http::request::Parts) -> String {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return "unknown".to_owned();
    };
    let lines: Vec<&str> =
        parts.headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("invalid")).collect();
    let xff = (!lines.is_empty()).then(|| lines.join(","));
    crate::throttle::ip_key(client_ip(peer.ip(), xff.as_deref(), &state.trusted_proxies))
}

/// A 200 JSON answer that no cache may keep.
pub(crate) fn no_store_json<T: serde::Serialize>(body: T) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Any unknown path.
pub(crate) async fn not_found() -> OAuthError {
    OAuthError::not_found()
}

/// A known path with the wrong method.
pub(crate) async fn method_not_allowed() -> OAuthError {
    OAuthError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let value =
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("my%20client:s%3Acret+x"))).unwrap();
        let (id, secret) = parse_basic(&value).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose(), "s:cret x");
    }

    #[test]
    fn rejects_malformed_basic_credentials() {
        let cases = [
            "Bearer abc".to_owned(),
            "Basic !!!".to_owned(),
            "Basic".to_owned(),
            format!("Basic {}", STANDARD.encode("nocolon")),
            format!("Basic {}", STANDARD.encode(":secret")),
            format!("Basic {}", STANDARD.encode("id:%zz")),
        ];
        for bad in cases {
            let value = HeaderValue::from_str(&bad).unwrap();
            assert!(parse_basic(&value).is_none(), "{bad}");
        }
    }
}
