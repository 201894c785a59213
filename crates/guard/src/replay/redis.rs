//! [`RedisNonceStore`]: single-use nonces in Redis, shared by every API
//! instance (SPEC §7). Every call is bounded and fails closed
//! ([`crate::redis::RedisConnection`]).

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{NonceStore, NonceVerdict};
use crate::redis::RedisConnection;
use crate::store::StoreError;

/// The default key prefix of [`RedisNonceStore`].
pub const NONCE_PREFIX: &str = "slipgate:nonce:";

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
