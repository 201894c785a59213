//! [`RedisRateLimitStore`]: one quota per key shared by every API instance
//! (SPEC §3.7, §7).
//!
//! Each decision is ONE Lua script, atomic on the server, on the server's
//! clock (`TIME`), so instances with skewed clocks still agree. The script is
//! the same GCRA as `gcra.rs`, and stores the TAT with a `PX` expiry equal to
//! the time until a full quota returns: an idle key costs Redis nothing. Any
//! error or timeout is [`StoreError::Unavailable`] (the layer answers 503).

use std::time::Duration;

use futures_util::future::BoxFuture;
use slipgate_proto::units::Rate;

use super::gcra::{Decision, interval_and_limit, next_after};
use super::store::RateLimitStore;
use crate::redis::RedisConnection;
use crate::store::StoreError;

/// The default key prefix: keys are `slipgate:rl:<policy>:<key>`.
pub const RATE_LIMIT_PREFIX: &str = "slipgate:rl:";

/// The GCRA step shared by both scripts, as Lua source: decides one request
/// for the key `KEYS[k]` with the interval T `ARGV[i]` and the burst limit
/// N·T `ARGV[i+1]` (ms) on the server's clock, and returns {allowed,
/// remaining, reset_ms, retry_ms, tat} (`prefix` first, when given).
macro_rules! gcra_lua {
    ($key:literal, $interval:literal, $limit:literal, $($prefix:literal)?) => {
        concat!(
            "local t = redis.call('TIME')\n",
            "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            "local interval = tonumber(ARGV[", $interval, "])\n",
            "local limit = tonumber(ARGV[", $limit, "])\n",
            "local tat = tonumber(redis.call('GET', KEYS[", $key, "]))\n",
            "if tat == nil or tat < now then tat = now end\n",
            "local new_tat = tat + interval\n",
            "local ahead = new_tat - now\n",
            "if ahead > limit then\n",
            "  return {", $($prefix, ", ",)? "0, 0, tat - now, ahead - limit, tat}\n",
            "end\n",
            "redis.call('SET', KEYS[", $key, "], string.format('%d', new_tat), 'PX', ahead)\n",
            "return {", $($prefix, ", ",)? "1, math.floor((limit - ahead) / interval), ahead, 0, new_tat}\n",
        )
    };
}
pub(crate) use gcra_lua;

/// KEYS[1] the key; ARGV[1] the interval T and ARGV[2] the burst limit N·T
/// (ms). Returns {allowed, remaining, reset_ms, retry_ms, tat}.
const GCRA_SCRIPT: &str =
    concat!("if redis.replicate_commands then redis.replicate_commands() end\n", gcra_lua!("1", "1", "2",));

/// A [`RateLimitStore`] in Redis (or a Redis Cluster / Valkey: one key per script).
#[derive(Debug, Clone)]
pub struct RedisRateLimitStore {
    connection: RedisConnection,
    prefix: String,
    script: std::sync::Arc<redis::Script>,
}

impl RedisRateLimitStore {
    /// A store with the [`RATE_LIMIT_PREFIX`] key prefix.
    pub fn new(connection: RedisConnection) -> Self {
        let script = std::sync::Arc::new(redis::Script::new(GCRA_SCRIPT));
        Self { connection, prefix: RATE_LIMIT_PREFIX.to_owned(), script }
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

    /// The Redis key of `key` under `policy`.
    pub(crate) fn key(&self, policy: &str, key: &str) -> String {
        format!("{}{policy}:{key}", self.prefix)
    }
}

/// The decision in a script's `{allowed, remaining, reset_ms, retry_ms, tat}`.
pub(crate) fn to_decision(reply: &[i64], rate: Rate) -> Result<Decision, StoreError> {
    let &[allowed, remaining, reset_ms, retry_ms, tat] = reply else {
        return Err(StoreError::Unavailable(format!("rate-limit script returned {} values", reply.len())));
    };
    let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    let remaining = u32::try_from(remaining).unwrap_or(0);
    let next_after = if allowed == 1 {
        next_after(u64::try_from(reset_ms).unwrap_or(0), remaining, rate)
    } else {
        ms(retry_ms)
    };
    Ok(Decision {
        next_after,
        allowed: allowed == 1,
        new_tat: u64::try_from(tat).unwrap_or(0),
        remaining,
        reset_after: ms(reset_ms),
        retry_after: (allowed != 1).then(|| ms(retry_ms)),
    })
}

impl RateLimitStore for RedisRateLimitStore {
    fn decide<'a>(
        &'a self,
        policy: &'a str,
        key: &'a str,
        rate: Rate,
        _now_ms: u64,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        let (interval, limit) = interval_and_limit(rate);
        let key = self.key(policy, key);
        Box::pin(async move {
            let reply: Vec<i64> = self
                .connection
                .run("rate-limit script", |mut c| async move {
                    self.script.key(&key).arg(interval).arg(limit).invoke_async(&mut c).await
                })
                .await?;
            to_decision(&reply, rate)
        })
    }
}
