//! [`ClientBuilder`]: a [`Client`] from names rather than parts.
//!
//! A user's client signs with its own device key and holds tokens bound to it:
//!
//! ```no_run
//! # async fn demo() -> Result<(), slipgate_client::ClientError> {
//! use std::num::NonZeroU32;
//! use slipgate_client::{Client, Credentials, Format, Password, RetryPolicy};
//! use slipgate_proto::SlipRequest;
//!
//! let client = Client::builder()
//!     .api_url("https://127.0.0.1:8443")
//!     .ca_file(".slipgate-dev/ca.pem")
//!     .device_key_file("keys/device.pem") // created 0600 when missing
//!     .idp_url("https://127.0.0.1:8444")
//!     .token_file("tokens.json")
//!     .retry(RetryPolicy::default().with_max_attempts(NonZeroU32::new(6).unwrap()))
//!     .build()?;
//! let password = Password::from(std::env::var("SLIPGATE_PASSWORD").unwrap_or_default());
//! client.tokens().login(&Credentials { username: "alice".into(), password }).await?;
//! let request = SlipRequest {
//!     emp_id: "01234".into(),
//!     emp_code: "ENG".into(),
//!     emp_name: "John Doe".into(),
//!     emp_grade: "7.1".into(),
//!     working_days: 24,
//!     pay_period: None,
//! };
//! let slip = client.generate(&request, Format::Json).await?;
//! client.tokens().logout().await?; // revokes the session, deletes the key and tokens
//! # let _ = slip; Ok(()) }
//! ```
//!
//! A service client signs with a registry key instead (`Bearer` tokens):
//! `.signing_key_file("dev-ed25519", ".slipgate-dev/dev-ed25519.pem")` in place of
//! `.device_key_file(…)`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slipgate_httpsig::SigningKey;
use slipgate_httpsig::jose::Jwks;

use crate::api::https_client_with;
use crate::{
    Client, ClientError, DeviceKey, IdpClient, PinStore, RequestSigner, RetryPolicy, ServerKeys, TokenFile,
    TokenManager,
};

/// How the builder gets the trusted response keys.
#[derive(Debug)]
enum TrustSource {
    Ready(ServerKeys),
    File(PathBuf),
}

/// How the builder gets its signer.
#[derive(Debug)]
enum SignerSource {
    Ready(RequestSigner),
    File { keyid: String, path: PathBuf },
    Device(DeviceKey),
    DeviceFile(PathBuf),
}

/// Builds a [`Client`]; see the [module docs](self) for an example.
///
/// Required: [`api_url`](Self::api_url), a signing key — a registry key
/// ([`signing_key`](Self::signing_key), [`signing_key_file`](Self::signing_key_file)
/// or [`signer`](Self::signer)) or a device key ([`device_key`](Self::device_key),
/// [`device_key_file`](Self::device_key_file)) — and tokens ([`tokens`](Self::tokens), or
/// [`idp_url`](Self::idp_url) with an optional [`token_file`](Self::token_file)).
/// With a device key, the identity server client built from `idp_url` signs
/// the token requests with it, so the tokens are bound to it (SPEC §4).
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    api_url: Option<String>,
    ca_file: Option<PathBuf>,
    identity: Option<(PathBuf, PathBuf)>,
    signer: Option<SignerSource>,
    tokens: Option<Arc<TokenManager>>,
    idp_url: Option<String>,
    token_file: Option<PathBuf>,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
    http1_only: bool,
    http: Option<reqwest::Client>,
    trust: Option<TrustSource>,
    max_correction: Option<Duration>,
}

/// The request timeout when none is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl ClientBuilder {
    /// The API's base URL, e.g. `https://slipgate.example.com`.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Presents this client certificate (PEM chain) and key for mutual TLS.
    pub fn client_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some((cert.into(), key.into()));
        self
    }

    /// A PEM file of CA certificates to trust instead of the system roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Signs with `key`, announced as `keyid`.
    pub fn signing_key(mut self, keyid: impl Into<String>, key: SigningKey) -> Self {
        self.signer = Some(SignerSource::Ready(RequestSigner::new(keyid, key)));
        self
    }

    /// Signs with the key file `slipgate keys new` wrote (read at
    /// [`build`](Self::build)), announced as `keyid`.
    pub fn signing_key_file(mut self, keyid: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.signer = Some(SignerSource::File { keyid: keyid.into(), path: path.into() });
        self
    }

    /// Signs with the device key `key` and presents tokens bound to it
    /// (`Authorization: HTTPSig`, SPEC §3.2.1) instead of a registry key.
    pub fn device_key(mut self, key: DeviceKey) -> Self {
        self.signer = Some(SignerSource::Device(key));
        self
    }

    /// [`device_key`](Self::device_key) with the key file at `path`, created
    /// (Ed25519, 0600, directory 0700) at [`build`](Self::build) when missing.
    pub fn device_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.signer = Some(SignerSource::DeviceFile(path.into()));
        self
    }

    /// Signs with a ready [`RequestSigner`] (e.g. one with its own clock).
    pub fn signer(mut self, signer: RequestSigner) -> Self {
        self.signer = Some(SignerSource::Ready(signer));
        self
    }

    /// Uses (and shares) this token manager.
    pub fn tokens(mut self, tokens: Arc<TokenManager>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Without [`tokens`](Self::tokens): the identity server to renew tokens at.
    pub fn idp_url(mut self, url: impl Into<String>) -> Self {
        self.idp_url = Some(url.into());
        self
    }

    /// Without [`tokens`](Self::tokens): the 0600 file tokens are kept in
    /// (as `slipgate login` writes it).
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// The retry policy ([`RetryPolicy::default`] when unset).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The timeout of one HTTP exchange ([`DEFAULT_TIMEOUT`] when unset).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Speak HTTP/1.1 only: one request per connection at a time, so that
    /// one client holds one connection (load generation).
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self
    }

    /// Trusts exactly this response key set (no trust on first use), e.g.
    /// the API's published JWKS obtained out of band.
    pub fn server_keys(mut self, keys: Jwks) -> Self {
        let source = "given to ClientBuilder::server_keys".to_owned();
        self.trust = Some(TrustSource::Ready(ServerKeys::Fixed { keys: Arc::new(keys), source }));
        self
    }

    /// Trusts exactly the response key set in this JWKS file (read at
    /// [`build`](Self::build)), as a profile's `server_keys` names it.
    pub fn server_keys_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust = Some(TrustSource::File(path.into()));
        self
    }

    /// Pins the response keys on first use in `store` (shared by its clones),
    /// refusing a changed set until [`PinStore::repin`]. Without this or
    /// [`server_keys`](Self::server_keys), the client pins in memory for its
    /// lifetime.
    pub fn pin_store(mut self, store: PinStore) -> Self {
        self.trust = Some(TrustSource::Ready(ServerKeys::Pinned(store)));
        self
    }

    /// Trusts the response keys `trust` describes (fixed, or pinned in a shared store).
    pub fn trust_server_keys(mut self, trust: ServerKeys) -> Self {
        self.trust = Some(TrustSource::Ready(trust));
        self
    }

    /// [`pin_store`](Self::pin_store) with a pin file (0600) at `path`.
    pub fn pin_file(self, path: impl Into<PathBuf>) -> Self {
        self.pin_store(PinStore::file(path))
    }

    /// The largest clock correction the client applies on its own (default
    /// 300 s, [`crate::skew::DEFAULT_MAX_CORRECTION`]).
    pub fn max_clock_correction(mut self, max: Duration) -> Self {
        self.max_correction = Some(max);
        self
    }

    /// Uses this HTTP client; [`ca_file`](Self::ca_file),
    /// [`timeout`](Self::timeout) and [`http1_only`](Self::http1_only) then
    /// have no effect.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The client, or [`ClientError::Config`] naming what is missing or wrong.
    pub fn build(self) -> Result<Client, ClientError> {
        let api_url = self
            .api_url
            .ok_or_else(|| ClientError::Config("no API URL: call ClientBuilder::api_url".into()))?;
        let http = match self.http {
            Some(http) => http,
            None => https_client_with(
                self.ca_file.as_deref(),
                self.identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
                self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                self.http1_only,
            )?,
        };
        let (signer, device) = match self.signer {
            Some(SignerSource::Ready(signer)) => (signer, None),
            Some(SignerSource::File { keyid, path }) => {
                let key = crate::load_signing_key(&path).map_err(|e| ClientError::Config(e.to_string()))?;
                (RequestSigner::new(keyid, key), None)
            }
            Some(SignerSource::Device(key)) => (RequestSigner::bound(&key), Some(key)),
            Some(SignerSource::DeviceFile(path)) => {
                let key = DeviceKey::load_or_create(&path)?;
                (RequestSigner::bound(&key), Some(key))
            }
            None => {
                return Err(ClientError::Config(
                    "no signing key: call ClientBuilder::signing_key, signing_key_file or device_key".into(),
                ));
            }
        };
        let tokens = match (self.tokens, self.idp_url) {
            (Some(tokens), _) => tokens,
            (None, Some(idp_url)) => {
                let idp = IdpClient::new(http.clone(), &idp_url);
                let idp = match device {
                    Some(key) => idp.with_device_key(key),
                    None => idp,
                };
                Arc::new(TokenManager::new(idp, self.token_file.map(TokenFile::new))?)
            }
            (None, None) => {
                return Err(ClientError::Config(
                    "no tokens: call ClientBuilder::tokens or ClientBuilder::idp_url".into(),
                ));
            }
        };
        let mut client =
            Client::new(http, &api_url, signer, tokens)?.with_retry(self.retry.unwrap_or_default());
        match self.trust {
            None => {}
            Some(TrustSource::Ready(trust)) => client = client.with_server_keys(trust)?,
            Some(TrustSource::File(path)) => {
                client = client.with_server_keys(ServerKeys::from_file(&path)?)?
            }
        }
        if let Some(max) = self.max_correction {
            client = client.with_max_clock_correction(max);
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Client, ClientError>) -> String {
        match result {
            Ok(_) => String::from("built"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn build_names_the_missing_api_url() {
        assert!(message(Client::builder().build()).contains("api_url"));
    }

    #[test]
    fn build_names_the_missing_signing_key() {
        let m = message(Client::builder().api_url("https://127.0.0.1:1").build());
        assert!(m.contains("signing_key"), "{m}");
    }

    #[test]
    fn build_names_the_missing_tokens() {
        let key = SigningKey::hmac_sha256(&[7u8; 32]).map_err(|e| e.to_string());
        let Ok(key) = key else { panic!("hmac key") };
        let m = message(Client::builder().api_url("https://127.0.0.1:1").signing_key("k", key).build());
        assert!(m.contains("idp_url"), "{m}");
    }

    #[test]
    fn build_rejects_a_bad_api_url() {
        let key = SigningKey::hmac_sha256(&[7u8; 32]).map_err(|e| e.to_string());
        let Ok(key) = key else { panic!("hmac key") };
        let m = message(
            Client::builder()
                .api_url("not a url")
                .signing_key("k", key)
                .idp_url("https://127.0.0.1:2")
                .build(),
        );
        assert!(m.contains("invalid API URL"), "{m}");
    }

    #[test]
    fn build_with_everything_applies_the_retry_policy() {
        let key = SigningKey::hmac_sha256(&[7u8; 32]).map_err(|e| e.to_string());
        let Ok(key) = key else { panic!("hmac key") };
        let client = Client::builder()
            .api_url("https://127.0.0.1:1")
            .signing_key("k", key)
            .idp_url("https://127.0.0.1:2")
            .retry(RetryPolicy::never())
            .build();
        let Ok(client) = client else { panic!("{}", message(client)) };
        assert_eq!(client.retry_policy().max_attempts(), 1);
        assert_eq!(client.slip_url().as_str(), "https://127.0.0.1:1/generate/salaryslip");
    }
}
