//! The shared state behind every handler.

use std::ops::Deref;
use std::sync::Arc;

use slipgate_proto::clock::Clock;
use slipgate_proto::forwarded::TrustedProxies;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::RunError;
use crate::config::IdpConfig;
use crate::crypto;
use crate::error::OAuthError;
use crate::secret::Secret;
use crate::store::Store;
use crate::throttle::{Limits, LoginThrottle};
use crate::tokens::TokenKeys;

/// Password hashes computed at once; each takes 19 MiB, so this bounds memory
/// and CPU under a login flood (the rest wait in line).
const CONCURRENT_HASHES: usize = 4;

/// Handler state; clones share everything.
#[derive(Debug, Clone)]
pub struct IdpState(Arc<Inner>);

/// What the handlers share.
#[derive(Debug)]
pub struct Inner {
    /// Users, clients, tokens, keys.
    pub store: Arc<dyn Store>,
    /// The signing key and JWKS.
    pub keys: TokenKeys,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Failed-login counters.
    pub throttle: LoginThrottle,
    /// Whose `X-Forwarded-For` names the client (`idp.trusted_proxies`).
    pub trusted_proxies: TrustedProxies,
    /// Password checks waiting or running (`idp.max_pending_logins`).
    pending: Arc<Semaphore>,
    hashing: Arc<Semaphore>,
    dummy_hash: String,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Access-token lifetime, seconds.
    pub access_ttl: i64,
    /// Refresh-token lifetime, seconds.
    pub refresh_ttl: i64,
    /// `idp.allowed_origins`: browser origins answered with CORS headers.
    pub allowed_origins: Vec<String>,
    /// The key of the login form's anti-forgery tokens (random per process;
    /// [`crate::routes::authorize`]).
    pub(crate) form_key: aws_lc_rs::hmac::Key,
    /// What `/metrics` on the admin listener shows ([`crate::ops`]).
    pub metrics: Arc<crate::ops::IdpMetrics>,
}

impl Deref for IdpState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl IdpState {
    /// Builds the state: loads (or creates) the signing key from
    /// `idp.signing_key_file` and prepares the dummy hash that unknown
    /// usernames are checked against.
    pub async fn new(
        config: &IdpConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RunError> {
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let access_ttl = secs(config.idp.access_token_ttl.0);
        let key_file = config.signing_key_path()?;
        let keys = TokenKeys::load(store.as_ref(), &key_file, access_ttl, clock.unix_seconds()).await?;
        let dummy = Secret::new(crypto::random_token::<18>().map_err(|()| RunError::Random)?);
        let dummy_hash = tokio::task::spawn_blocking(move || crypto::hash_password(&dummy))
            .await
            .map_err(|_| RunError::Random)?
            .map_err(RunError::Hash)?;
        Ok(Self(Arc::new(Inner {
            store,
            keys,
            clock,
            throttle: LoginThrottle::new(Limits::new(
                config.idp.login_max_failures,
                config.idp.login_max_failures_global,
            )),
            trusted_proxies: config.trusted_proxies().map_err(|e| crate::ConfigError::Value {
                key: "idp.trusted_proxies",
                message: e.to_string(),
            })?,
            pending: Arc::new(Semaphore::new(
                usize::try_from(config.idp.max_pending_logins).unwrap_or(usize::MAX),
            )),
            hashing: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
            dummy_hash,
            issuer: config.issuer().to_owned(),
            audience: config.idp.audience.clone(),
            access_ttl,
            refresh_ttl: secs(config.idp.refresh_token_ttl.0),
            allowed_origins: config.idp.allowed_origins.clone(),
            form_key: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                &crypto::random_bytes::<32>().map_err(|()| RunError::Random)?,
            ),
            metrics: Arc::default(),
        })))
    }

    /// Now, unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// Picks up a rotated signing key and the retired keys (the server does
    /// this every [`crate::keys::RELOAD_SECS`]); on error the keys in use stay.
    pub async fn reload_keys(&self) -> Result<(), crate::keys::KeyError> {
        self.keys.reload(self.store.as_ref(), self.now()).await
    }

    /// A place in the bounded queue of password checks, or `None` when
    /// `idp.max_pending_logins` checks are already waiting or running.
    pub(crate) fn enter_login_queue(&self) -> Option<LoginSlot> {
        self.pending.clone().try_acquire_owned().ok().map(|_permit| LoginSlot { _permit })
    }

    /// Checks `password` against `hash`, or against the dummy hash when there
    /// is no user, so both cost one argon2id verification. The permits move
    /// into the blocking task: a client that goes away mid-check frees its
    /// places only when the hash is done, so the bounds hold.
    pub(crate) async fn check_password(
        &self,
        slot: LoginSlot,
        hash: Option<String>,
        password: Secret,
    ) -> Result<bool, OAuthError> {
        let permit = self.hashing.clone().acquire_owned().await.map_err(|e| OAuthError::server_error(&e))?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = tokio::task::spawn_blocking(move || {
            let _held = (slot, permit);
            crypto::verify_password(&hash, &password)
        })
        .await
        .map_err(|e| OAuthError::server_error(&e))?;
        Ok(ok && known)
    }
}

/// A place in the queue of password checks; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct LoginSlot {
    _permit: OwnedSemaphorePermit,
}
