//! OAuth 2.0 tokens for the CLI and SDK: a 0600 token file, and a manager
//! that logs in ([`IdpClient`]'s grants), renews on `token_invalid` — by
//! refresh, then by asking for credentials again when a prompt is available
//! (SPEC §5: "prompts for credentials when a token expires") — and logs out
//! (revokes the session, deletes the token file and the device key).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use slipgate_proto::oauth::TokenType;
use tokio::sync::Mutex;

use crate::error::ClientError;
use crate::idp::IdpClient;

/// The public client id the CLI and SDK present (no secret).
pub const PUBLIC_CLIENT_ID: &str = slipgate_proto::oauth::PUBLIC_CLI_CLIENT;

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
    /// `Bearer`, or `httpsig` for a token bound to the profile's device key
    /// (absent in files written before key binding: `Bearer`).
    #[serde(default = "bearer")]
    pub token_type: TokenType,
}

fn bearer() -> TokenType {
    TokenType::Bearer
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("scope", &self.scope)
            .field("username", &self.username)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
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

    /// Deletes the file; `Ok(false)` when there was none.
    pub fn remove(&self) -> Result<bool, ClientError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ClientError::Config(format!("cannot delete {}: {e}", self.path.display()))),
        }
    }
}

/// What [`TokenManager::logout`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Logout {
    /// Whether the session was revoked at the identity server.
    pub revocation: Revocation,
    /// Whether a token file was deleted.
    pub removed_tokens: bool,
    /// Whether a device key file was deleted.
    pub removed_device_key: bool,
}

/// The server side of a logout.
#[derive(Debug)]
#[non_exhaustive]
pub enum Revocation {
    /// The refresh token (and with it the session) was revoked.
    Revoked,
    /// There were no tokens to revoke.
    NotLoggedIn,
    /// The identity server could not be told; the session lives until it
    /// expires (a bound one is useless without the deleted device key).
    Failed(ClientError),
}

/// Why a [`Prompt`] is asked for credentials, so it can tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptReason {
    /// There are no stored tokens: the first login (or after a logout).
    NotLoggedIn,
    /// The session ended and the refresh token was refused.
    SessionExpired,
    /// The stored tokens are of the other kind (bearer where the profile now
    /// signs with a device key, or the reverse).
    WrongTokenType,
}

/// Asks the user for credentials (a terminal prompt), saying why, with the
/// username last used when known; `None` when impossible.
pub type Prompt = Arc<dyn Fn(PromptReason, Option<&str>) -> Option<Credentials> + Send + Sync>;

/// Holds the current tokens and renews them.
pub struct TokenManager {
    idp: IdpClient,
    file: Option<TokenFile>,
    tokens: Mutex<Option<TokenSet>>,
    /// Held across a whole renewal: refresh tokens rotate and the identity server treats a second use
    /// as theft (revoking the session), so concurrent `token_invalid` answers must share one refresh.
    renewing: Mutex<()>,
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
        Ok(Self { idp, file, tokens: Mutex::new(tokens), renewing: Mutex::new(()), prompt: None })
    }

    /// Asks `prompt` for credentials when a refresh fails.
    pub fn with_prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// The kind of token this manager obtains and hands out: `httpsig` when
    /// its [`IdpClient`] signs with a device key, else `Bearer`.
    pub fn token_type(&self) -> TokenType {
        self.idp.token_type()
    }

    /// The identity server client.
    pub fn idp(&self) -> &IdpClient {
        &self.idp
    }

    /// Logs out: revokes the session (RFC 7009, the refresh token, else the
    /// access token), then deletes the token file and the device key file —
    /// the local part even when the identity server cannot be reached.
    pub async fn logout(&self) -> Result<Logout, ClientError> {
        let current = self.tokens.lock().await.take();
        let revocation = match &current {
            None => Revocation::NotLoggedIn,
            Some(set) => {
                let revoked = match &set.refresh_token {
                    Some(refresh) => self.idp.revoke(refresh, "refresh_token").await,
                    None => self.idp.revoke(&set.access_token, "access_token").await,
                };
                match revoked {
                    Ok(()) => Revocation::Revoked,
                    Err(e) => Revocation::Failed(e),
                }
            }
        };
        let removed_tokens = match &self.file {
            Some(file) => file.remove()?,
            None => false,
        };
        let removed_device_key = match self.idp.device_key().and_then(|k| k.path()) {
            Some(path) => crate::DeviceKey::remove(path)?,
            None => false,
        };
        Ok(Logout { revocation, removed_tokens, removed_device_key })
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

    /// The current access token; prompts (once) when there is none, or when
    /// the stored one is not of [`Self::token_type`] (a bearer token where the
    /// profile now has a device key, or the reverse: the API would refuse it).
    pub async fn access_token(&self) -> Result<String, ClientError> {
        let (reason, username) = match self.tokens.lock().await.as_ref() {
            Some(set) if set.token_type == self.token_type() => return Ok(set.access_token.clone()),
            Some(set) => (PromptReason::WrongTokenType, Some(set.username.clone()).filter(|u| !u.is_empty())),
            None => (PromptReason::NotLoggedIn, None),
        };
        self.reprompt(reason, username.as_deref()).await
    }

    /// The API refused `rejected` as `token_invalid`: refresh, else re-prompt.
    pub async fn renew(&self, rejected: &str) -> Result<String, ClientError> {
        // One renewal at a time; a task that waited here finds the token already renewed below.
        let _turn = self.renewing.lock().await;
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
        let reason = if username.is_some() || self.tokens.lock().await.is_some() {
            PromptReason::SessionExpired
        } else {
            PromptReason::NotLoggedIn
        };
        self.reprompt(reason, username.as_deref()).await
    }

    async fn reprompt(&self, reason: PromptReason, username: Option<&str>) -> Result<String, ClientError> {
        let Some(prompt) = &self.prompt else {
            let why = match (reason, self.tokens.lock().await.as_ref()) {
                (_, Some(set)) if set.token_type != self.token_type() => format!(
                    "the stored token is a {} token, but this profile signs as {}; run `slipgate login`",
                    set.token_type,
                    self.token_type().scheme()
                ),
                (PromptReason::NotLoggedIn, _) | (_, None) => "no stored tokens; run `slipgate login`".into(),
                _ => "the session expired and cannot be refreshed; run `slipgate login`".into(),
            };
            return Err(ClientError::LoginRequired(why));
        };
        let prompt = prompt.clone();
        let username = username.map(str::to_owned);
        let credentials = tokio::task::spawn_blocking(move || prompt(reason, username.as_deref()))
            .await
            .map_err(|e| ClientError::Config(e.to_string()))?
            .ok_or_else(|| ClientError::LoginRequired("no credentials given".into()))?;
        Ok(self.login(&credentials).await?.access_token)
    }
}
