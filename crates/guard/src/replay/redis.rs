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

/// KEYS[1] the nonce, KEYS[2] (optional) the per-user quota; ARGV[1] the
/// nonce's lifetime (ms), ARGV[2] and ARGV[3] the user policy's interval and
/// burst limit (ms). Returns {0} for a replay (nothing else touched), {1} for
/// a fresh nonce without a user to charge, and {1, allowed, remaining,
/// reset_ms, retry_ms, tat} for a fresh nonce whose user was charged.
const NONCE_THEN_QUOTA_SCRIPT: &str = concat!(
    "if redis.replicate_commands then redis.replicate_commands() end\n",
    "if not redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return {0} end\n",
    "if #KEYS < 2 then return {1} end\n",
    crate::ratelimit::redis::gcra_lua!("2", "2", "3", "1")
);

/// SPEC §3.3 steps 6 and 8 in one Redis round trip, for a deployment whose
/// nonces and rate limits are both in Redis: one Lua script records the
/// nonce (`SET NX PX`, as [`RedisNonceStore`]) and, only when it is new and
/// the caller names a user (its token passed step 7), spends that user's
/// GCRA quota (the script of [`crate::ratelimit::RedisRateLimitStore`]). A
/// replay spends nothing; a request whose token failed records its nonce and
/// spends no quota, exactly as the three separate steps do.
///
/// Both keys go to one script, so in a Redis Cluster they would have to share
/// a slot; the connection is to one Redis (or a primary), as for the other stores.
#[derive(Debug, Clone)]
pub struct RedisNonceAndQuota {
    nonces: RedisNonceStore,
    rates: crate::ratelimit::RedisRateLimitStore,
    script: std::sync::Arc<redis::Script>,
}

/// What [`RedisNonceAndQuota::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceAndQuota {
    /// The nonce was used before: nothing recorded, no quota spent.
    Replayed,
    /// The nonce is recorded; the user's decision when one was charged.
    Fresh(Option<crate::ratelimit::Decision>),
}

impl RedisNonceAndQuota {
    /// Records nonces in `nonces` and spends quotas in `rates`, which must
    /// share one connection (the same Redis).
    pub fn new(nonces: RedisNonceStore, rates: crate::ratelimit::RedisRateLimitStore) -> Self {
        let script = std::sync::Arc::new(redis::Script::new(NONCE_THEN_QUOTA_SCRIPT));
        Self { nonces, rates, script }
    }

    /// Records `(keyid, nonce)` for `ttl` and, when it is new and `user` is
    /// `Some((policy, key, rate))`, decides one request of `key` under `policy`.
    pub async fn check(
        &self,
        keyid: &str,
        nonce: &str,
        ttl: Duration,
        user: Option<(&str, &str, slipgate_proto::units::Rate)>,
    ) -> Result<NonceAndQuota, StoreError> {
        let nonce_key = self.nonces.key(keyid, nonce);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.script.key(nonce_key);
        invocation.arg(ttl_ms);
        if let Some((policy, key, rate)) = user {
            let (interval, limit) = crate::ratelimit::interval_and_limit(rate);
            invocation.key(self.rates.key(policy, key)).arg(interval).arg(limit);
        }
        let reply: Vec<i64> = self
            .nonces
            .connection
            .run("nonce and quota script", |mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        match (reply.split_first(), user) {
            (Some((0, _)), _) => Ok(NonceAndQuota::Replayed),
            (Some((1, [])), None) => Ok(NonceAndQuota::Fresh(None)),
            (Some((1, decision)), Some((_, _, rate))) => {
                Ok(NonceAndQuota::Fresh(Some(crate::ratelimit::redis::to_decision(decision, rate)?)))
            }
            _ => Err(StoreError::Unavailable(format!(
                "nonce and quota script returned {} values",
                reply.len()
            ))),
        }
    }
}
