//! Redis-backed stores shared by every API instance (SPEC §7): the
//! connection they share, [`RedisConnection`], and [`RedisNonceStore`].
//!
//! Every call is bounded (250 ms by default) and any Redis error or timeout
//! is [`StoreError::Unavailable`]: the layers answer 503 and never let a
//! request through unchecked (fail closed). `redis://` and `rediss://` (TLS
//! with rustls and the platform's roots) URLs are accepted; the URL may carry
//! a password, so it never appears in an error or a log line.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{BoxFuture, NonceStore, NonceVerdict, StoreError};

/// The default bound on one Redis round trip.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The default bound on establishing a connection.
pub const DEFAULT_REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default key prefix of [`RedisNonceStore`].
pub const NONCE_PREFIX: &str = "slipgate:nonce:";

/// A self-healing, multiplexed Redis connection with a per-call time bound.
/// Clones share the connection.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    timeout: Duration,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

fn unavailable(what: &str, error: &redis::RedisError) -> StoreError {
    // The kind and the server's message only: never the URL (it may hold a password).
    StoreError::Unavailable(format!(
        "redis {what} failed: {:?}: {}",
        error.kind(),
        error.detail().unwrap_or("")
    ))
}

fn client(url: &str) -> Result<redis::Client, StoreError> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(StoreError::Unavailable("the redis url must start with redis:// or rediss://".into()));
    }
    redis::Client::open(url).map_err(|e| unavailable("url parsing", &e))
}

fn config(connect_timeout: Duration, timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(timeout))
        // Reconnects happen on the next call; a caller never waits on a backoff loop.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
}

impl RedisConnection {
    /// Connects now, within `connect_timeout`.
    pub async fn connect(url: &str, connect_timeout: Duration) -> Result<Self, StoreError> {
        let client = client(url)?;
        let config = config(connect_timeout, DEFAULT_REDIS_TIMEOUT);
        match tokio::time::timeout(connect_timeout, ConnectionManager::new_with_config(client, config)).await
        {
            Ok(Ok(manager)) => Ok(Self { manager, timeout: DEFAULT_REDIS_TIMEOUT }),
            Ok(Err(e)) => Err(unavailable("connect", &e)),
            Err(_) => {
                Err(StoreError::Unavailable(format!("redis connect timed out after {connect_timeout:?}")))
            }
        }
    }

    /// A connection made on first use, so the API can start (and report
    /// not-ready) while Redis is down. Must be called inside a Tokio runtime.
    pub fn lazy(url: &str, connect_timeout: Duration) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable("a lazy redis connection needs a tokio runtime".into()));
        }
        let client = client(url)?;
        let manager =
            ConnectionManager::new_lazy_with_config(client, config(connect_timeout, DEFAULT_REDIS_TIMEOUT))
                .map_err(|e| unavailable("connect", &e))?;
        Ok(Self { manager, timeout: DEFAULT_REDIS_TIMEOUT })
    }

    /// Bounds every call (default [`DEFAULT_REDIS_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `PING`, for the admin listener's `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let pong: String =
            self.run("PING", |mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await?;
        if pong == "PONG" { Ok(()) } else { Err(StoreError::Unavailable("redis answered PING oddly".into())) }
    }

    /// Runs one bounded call on a clone of the shared connection.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, call(self.manager.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(what, &e)),
            Err(_) => {
                Err(StoreError::Unavailable(format!("redis {what} timed out after {:?}", self.timeout)))
            }
        }
    }
}

/// A [`NonceStore`] in Redis: `SET <prefix><keyid>:<nonce> 1 NX PX <ttl>`,
/// atomic across every instance that shares the Redis. The layer passes
/// `ttl = created + max_skew + 1 − now`, so a key outlives the last second
/// its signature is fresh, as in the memory store; Redis' own `maxmemory`
/// policy must be `noeviction` for the store to never forget a live nonce.
#[derive(Debug, Clone)]
pub struct RedisNonceStore {
    connection: RedisConnection,
    prefix: String,
}

impl RedisNonceStore {
    /// A store with the [`NONCE_PREFIX`] key prefix.
    pub fn new(connection: RedisConnection) -> Self {
        Self { connection, prefix: NONCE_PREFIX.to_owned() }
    }

    /// Replaces the key prefix (tests, or several deployments on one Redis).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The connection, for `/readyz`.
    pub fn connection(&self) -> &RedisConnection {
        &self.connection
    }

    fn key(&self, keyid: &str, nonce: &str) -> String {
        // Nonces are `[A-Za-z0-9._~+/=-]` (no `:`), so `keyid:nonce` is unambiguous.
        format!("{}{keyid}:{nonce}", self.prefix)
    }
}

impl NonceStore for RedisNonceStore {
    fn check_and_record<'a>(
        &'a self,
        keyid: &'a str,
        nonce: &'a str,
        _now: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<NonceVerdict, StoreError>> {
        let key = self.key(keyid, nonce);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            let set: Option<String> = self
                .connection
                .run("SET NX", |mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_ms)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            Ok(if set.is_some() { NonceVerdict::Fresh } else { NonceVerdict::Replayed })
        })
    }
}
