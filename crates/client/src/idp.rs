//! The identity server's endpoints the SDK calls (SPEC §4): the password and
//! refresh grants — signed with the device key when there is one, so the
//! tokens come back bound to it (`token_type: "httpsig"`) — and RFC 7009
//! revocation for `logout`.
//!
//! Answers are parsed as the shared contract types
//! [`slipgate_proto::oauth::TokenResponse`] and
//! [`slipgate_proto::oauth::OAuthErrorBody`], which the identity server writes.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use slipgate_proto::clock::{Clock, SystemClock};
use slipgate_proto::oauth::{self, OAuthErrorBody, TokenResponse, TokenType};

use secrecy::ExposeSecret as _;

use crate::error::{ClientError, retry_after};
use crate::tokens::{Credentials, TokenSet};
use crate::{DeviceKey, PUBLIC_CLIENT_ID};

/// The largest answer read from the identity server.
const MAX_ANSWER: usize = 64 * 1024;

/// The identity server's token and revocation endpoints.
#[derive(Debug, Clone)]
pub struct IdpClient {
    http: reqwest::Client,
    idp_url: String,
    device: Option<DeviceKey>,
    clock: Arc<dyn Clock>,
}

impl IdpClient {
    /// A client for the identity server at `idp_url`; its grants are unsigned
    /// and yield `Bearer` tokens until [`IdpClient::with_device_key`].
    pub fn new(http: reqwest::Client, idp_url: &str) -> Self {
        Self {
            http,
            idp_url: idp_url.trim_end_matches('/').to_owned(),
            device: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Signs every grant with `device` (SPEC §4) and accepts only tokens bound to it.
    pub fn with_device_key(mut self, device: DeviceKey) -> Self {
        self.device = Some(device);
        self
    }

    /// Reads `created` of signed token requests from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The device key grants are signed with, if any.
    pub fn device_key(&self) -> Option<&DeviceKey> {
        self.device.as_ref()
    }

    /// The kind of token its grants yield: `httpsig` with a device key, else `Bearer`.
    pub fn token_type(&self) -> TokenType {
        if self.device.is_some() { TokenType::Httpsig } else { TokenType::Bearer }
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, ClientError> {
        crate::origin::parse_origin(&self.idp_url, crate::origin::Service::IdentityServer)?
            .join(path)
            .map_err(|e| ClientError::Config(format!("invalid identity server URL `{}`: {e}", self.idp_url)))
    }

    /// The password grant.
    pub async fn password(&self, credentials: &Credentials) -> Result<TokenSet, ClientError> {
        let form = [
            ("grant_type", "password"),
            ("username", credentials.username.as_str()),
            ("password", credentials.password.expose_secret()),
            ("client_id", PUBLIC_CLIENT_ID),
        ];
        let mut set = self.grant(&form).await?;
        set.username.clone_from(&credentials.username);
        Ok(set)
    }

    /// The refresh grant; the old refresh token is spent (rotation). With a
    /// device key it is signed by it: a bound session refreshes only so.
    pub async fn refresh(&self, refresh_token: &str, username: &str) -> Result<TokenSet, ClientError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", PUBLIC_CLIENT_ID),
        ];
        let mut set = self.grant(&form).await?;
        set.username = username.to_owned();
        Ok(set)
    }

    /// RFC 7009 revocation of `token` (`hint`: `refresh_token` or
    /// `access_token`) by the public client, which names its `client_id`.
    /// Revoking a refresh token ends its session: every access token of it
    /// stops working at once (SPEC §4).
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), ClientError> {
        let form = [("token", token), ("token_type_hint", hint), ("client_id", PUBLIC_CLIENT_ID)];
        let (status, _, body) = self.post(oauth::REVOKE_PATH, &form, false).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(self.oauth_error(status, None, &body))
    }

    async fn grant(&self, form: &[(&str, &str)]) -> Result<TokenSet, ClientError> {
        let (status, retry, body) = self.post(oauth::TOKEN_PATH, form, true).await?;
        if !status.is_success() {
            return Err(self.oauth_error(status, retry, &body));
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| ClientError::InvalidResponse("token endpoint answer is not RFC 6749 JSON".into()))?;
        let expected = self.token_type();
        if t.token_type != expected {
            // A bound request answered with a bearer token (or the reverse)
            // would be refused by the API on every call: say so now.
            return Err(ClientError::InvalidResponse(format!(
                "the identity server issued a {} token where {} was asked for{}",
                t.token_type,
                expected,
                if expected == TokenType::Httpsig {
                    " (does it support signed token requests, SPEC version 2?)"
                } else {
                    ""
                }
            )));
        }
        Ok(TokenSet {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            scope: t.scope,
            username: String::new(),
            token_type: t.token_type,
        })
    }

    /// POSTs `form` to `path`, signed with the device key when `sign` and there is one.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        sign: bool,
    ) -> Result<(reqwest::StatusCode, Option<std::time::Duration>, Vec<u8>), ClientError> {
        let url = self.url(path)?;
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| ClientError::Config(format!("cannot encode the form: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let (true, Some(device)) = (sign, &self.device) {
            crate::signer::sign_token_request(
                device,
                self.clock.as_ref(),
                &url,
                &mut headers,
                body.as_bytes(),
            )?;
        }
        let mut response = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::transport(&e))?;
        let status = response.status();
        let retry = retry_after(response.headers());
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ClientError::transport(&e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(ClientError::InvalidResponse("the identity server's answer is too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, retry, bytes))
    }
}

impl IdpClient {
    /// The error of a refused grant or revocation (RFC 6749 §5.2), or, when
    /// the answer is the API's, an error saying the URL names the API.
    fn oauth_error(
        &self,
        status: reqwest::StatusCode,
        retry: Option<std::time::Duration>,
        body: &[u8],
    ) -> ClientError {
        let idp = crate::origin::Service::IdentityServer;
        if let Some(e) =
            crate::origin::wrong_service(&self.idp_url, idp, status.as_u16(), &HeaderMap::new(), body)
        {
            return e;
        }
        match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(e) => {
                ClientError::Grant { error: e.error, description: e.error_description, retry_after: retry }
            }
            Err(_) => ClientError::InvalidResponse(format!("the identity server answered {status}")),
        }
    }
}
