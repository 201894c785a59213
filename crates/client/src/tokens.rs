//! OAuth 2.0 tokens for the CLI and SDK: the password and refresh grants
//! against the identity server, a 0600 token file, and a manager that renews
//! on `token_invalid` — by refresh, then by asking for credentials again when
//! a prompt is available (SPEC §5: "prompts for credentials when a token
//! expires").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::{ClientError, retry_after};

/// The public client id the CLI and SDK present (no secret).
pub const PUBLIC_CLIENT_ID: &str = "slipgate-cli";

/// A password: redacted in `Debug`, zeroized on drop.
pub type Password = secrecy::SecretString;

/// A username and password.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: Password,
}

/// Tokens as the identity server issued them.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: String,
    /// The rotating refresh token, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scope: String,
    /// The user they were issued to.
    #[serde(default)]
    pub username: String,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("scope", &self.scope)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The identity server's token endpoint.
#[derive(Debug, Clone)]
pub struct IdpClient {
    http: reqwest::Client,
    token_url: String,
}

impl IdpClient {
    /// A client for the identity server at `idp_url`.
    pub fn new(http: reqwest::Client, idp_url: &str) -> Self {
        Self { http, token_url: format!("{}/oauth/token", idp_url.trim_end_matches('/')) }
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

    /// The refresh grant; the old refresh token is spent (rotation).
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

    async fn grant(&self, form: &[(&str, &str)]) -> Result<TokenSet, ClientError> {
        let response = self
            .http
            .post(&self.token_url)
            .form(form)
            .send()
            .await
            .map_err(|e| ClientError::transport(&e))?;
        let status = response.status();
        let retry = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| ClientError::transport(&e))?;
        if status.is_success() {
            let t: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
                ClientError::InvalidResponse("token endpoint answer is not RFC 6749 JSON".into())
            })?;
            return Ok(TokenSet {
                access_token: t.access_token,
                refresh_token: t.refresh_token,
                scope: t.scope,
                username: String::new(),
            });
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) => Err(ClientError::Grant {
                error: e.error,
                description: e.error_description,
                retry_after: retry,
            }),
            Err(_) => Err(ClientError::InvalidResponse(format!("token endpoint answered {status}"))),
        }
    }
}

/// Where tokens are kept between runs (mode 0600).
#[derive(Debug, Clone)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// The token file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored tokens, if any.
    pub fn load(&self) -> Result<Option<TokenSet>, ClientError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                ClientError::Config(format!("{} is not a token file; log in again", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::Config(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    /// Replaces the stored tokens (atomically, created 0600).
    pub fn save(&self, tokens: &TokenSet) -> Result<(), ClientError> {
        let bytes = serde_json::to_vec(tokens).map_err(|e| ClientError::Config(e.to_string()))?;
        crate::files::write_private(&self.path, &bytes)
    }
}

/// Asks the user for credentials (a terminal prompt); `None` when impossible.
pub type Prompt = Arc<dyn Fn(Option<&str>) -> Option<Credentials> + Send + Sync>;

/// Holds the current tokens and renews them.
pub struct TokenManager {
    idp: IdpClient,
    file: Option<TokenFile>,
    tokens: Mutex<Option<TokenSet>>,
    prompt: Option<Prompt>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("idp", &self.idp)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager using `idp`, persisting to `file` when given.
    pub fn new(idp: IdpClient, file: Option<TokenFile>) -> Result<Self, ClientError> {
        let tokens = match &file {
            Some(f) => f.load()?,
            None => None,
        };
        Ok(Self { idp, file, tokens: Mutex::new(tokens), prompt: None })
    }

    /// Asks `prompt` for credentials when a refresh fails.
    pub fn with_prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Logs in with the password grant and stores the tokens.
    pub async fn login(&self, credentials: &Credentials) -> Result<TokenSet, ClientError> {
        let set = self.idp.password(credentials).await?;
        self.store(set.clone()).await?;
        Ok(set)
    }

    async fn store(&self, set: TokenSet) -> Result<(), ClientError> {
        if let Some(file) = &self.file {
            file.save(&set)?;
        }
        *self.tokens.lock().await = Some(set);
        Ok(())
    }

    /// The current access token; prompts (once) when there is none.
    pub async fn access_token(&self) -> Result<String, ClientError> {
        if let Some(set) = self.tokens.lock().await.as_ref() {
            return Ok(set.access_token.clone());
        }
        self.reprompt(None).await
    }

    /// The API refused `rejected` as `token_invalid`: refresh, else re-prompt.
    pub async fn renew(&self, rejected: &str) -> Result<String, ClientError> {
        let current = self.tokens.lock().await.clone();
        let username = current.as_ref().map(|s| s.username.clone()).filter(|u| !u.is_empty());
        if let Some(set) = current {
            if set.access_token != rejected {
                // Another task already renewed it.
                return Ok(set.access_token);
            }
            if let Some(refresh) = &set.refresh_token {
                match self.idp.refresh(refresh, &set.username).await {
                    Ok(new) => {
                        let token = new.access_token.clone();
                        self.store(new).await?;
                        return Ok(token);
                    }
                    Err(ClientError::Grant { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        self.reprompt(username.as_deref()).await
    }

    async fn reprompt(&self, username: Option<&str>) -> Result<String, ClientError> {
        let Some(prompt) = &self.prompt else {
            return Err(ClientError::LoginRequired(
                "the session expired and cannot be refreshed; run `slipgate login`".into(),
            ));
        };
        let prompt = prompt.clone();
        let username = username.map(str::to_owned);
        let credentials = tokio::task::spawn_blocking(move || prompt(username.as_deref()))
            .await
            .map_err(|e| ClientError::Config(e.to_string()))?
            .ok_or_else(|| ClientError::LoginRequired("no credentials given".into()))?;
        Ok(self.login(&credentials).await?.access_token)
    }
}
