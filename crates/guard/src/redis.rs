//! The Redis connection shared by every Redis-backed store (SPEC §7): the
//! nonce store ([`crate::replay::RedisNonceStore`]) and the rate-limit store
//! ([`crate::ratelimit::RedisRateLimitStore`]).
//!
//! Every call is bounded (250 ms by default) and any Redis error or timeout
//! is [`StoreError::Unavailable`]: the layers answer 503 and never let a
//! request through unchecked (fail closed). `redis://` and `rediss://` (TLS
//! with rustls and the platform's roots) URLs are accepted; the URL may carry
//! a password, so it never appears in an error or a log line.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::metrics::GuardMetrics;
use crate::store::StoreError;

/// The default bound on one Redis round trip.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The default bound on establishing a connection.
pub const DEFAULT_REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A self-healing, multiplexed Redis connection with a per-call time bound.
/// Clones share the connection.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    timeout: Duration,
    metrics: GuardMetrics,
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
            Ok(Ok(manager)) => {
                Ok(Self { manager, timeout: DEFAULT_REDIS_TIMEOUT, metrics: GuardMetrics::default() })
            }
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
        Ok(Self { manager, timeout: DEFAULT_REDIS_TIMEOUT, metrics: GuardMetrics::default() })
    }

    /// Bounds every call (default [`DEFAULT_REDIS_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Counts every round trip's latency and failures into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: GuardMetrics) -> Self {
        self.metrics = metrics;
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
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, call(self.manager.clone())).await;
        self.metrics.redis_call(what, started.elapsed(), matches!(result, Ok(Ok(_))));
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(what, &e)),
            Err(_) => {
                Err(StoreError::Unavailable(format!("redis {what} timed out after {:?}", self.timeout)))
            }
        }
    }
}
