//! Where the GCRA state lives: the [`RateLimitStore`] trait and a bounded
//! in-memory store for a single instance (the Redis store is in `redis.rs`).
//!
//! # Memory under a flood of new keys
//! The memory store keeps a keyed 64-bit SipHash of `(policy, key)` (never the
//! key itself) and its TAT, 16 bytes an entry, in shards. A key whose TAT is at
//! or before `now` has a full quota and carries no state, so it is dropped.
//! When a shard is full of live keys, the eighth of them with the *oldest* TAT
//! is evicted in one pass (amortised O(1) per insert). Evicting a key can only
//! give that key a fresh burst, never more than the burst: the oldest TATs are
//! the keys nearest a full quota anyway, and a client hammering its own key
//! keeps the newest TAT, so a flood of new keys cannot reset it. Refusing new
//! keys instead would let that flood lock out every new client.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use slipgate_proto::units::Rate;

use super::gcra::{self, Decision};
use crate::store::{PassThrough, StoreError};

/// Keeps GCRA state per `(policy, key)` and decides atomically.
pub trait RateLimitStore: Send + Sync + std::fmt::Debug + 'static {
    /// Decides one request for `key` under `policy` at `rate` and records it.
    /// `now_ms` is the caller's clock (unix milliseconds); a shared store may
    /// use its own clock instead, so that all instances agree.
    fn decide<'a>(
        &'a self,
        policy: &'a str,
        key: &'a str,
        rate: Rate,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Decision, StoreError>>;
}

const SHARDS: usize = 16;

type Shard = HashMap<u64, u64, BuildHasherDefault<PassThrough>>;

/// A bounded in-memory [`RateLimitStore`] for a single instance.
#[derive(Debug)]
pub struct MemoryRateLimitStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl MemoryRateLimitStore {
    /// A store tracking at most `max_keys` keys (at least one per shard).
    pub fn new(max_keys: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self { shards, per_shard: (max_keys / SHARDS).max(1), hasher: Default::default() }
    }

    /// Tracked keys (keys with a full quota may linger until evicted).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |s| s.len())).sum()
    }

    /// Whether the store tracks nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys the store will hold.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// The bytes the entries occupy, from the allocated capacities.
    pub fn approx_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                // hashbrown: one control byte per bucket, 8/7 buckets per slot.
                s.lock().map_or(0, |s| s.capacity() * 8 / 7 * (2 * size_of::<u64>() + 1))
            })
            .sum()
    }

    /// Decides synchronously (the memory store never waits).
    pub fn decide_now(
        &self,
        policy: &str,
        key: &str,
        rate: Rate,
        now_ms: u64,
    ) -> Result<Decision, StoreError> {
        let mut h = self.hasher.build_hasher();
        h.write(policy.as_bytes());
        h.write_u8(0xff); // separator: ("ab","c") and ("a","bc") differ
        h.write(key.as_bytes());
        let hash = h.finish();
        let index = usize::try_from(hash >> 60).unwrap_or(0) % SHARDS;
        let Some(shard) = self.shards.get(index) else {
            return Err(StoreError::Unavailable("rate-limit shard index out of range".into()));
        };
        let mut shard =
            shard.lock().map_err(|_| StoreError::Unavailable("rate-limit shard poisoned".into()))?;
        let decision = gcra::check(shard.get(&hash).copied(), now_ms, rate);
        if !decision.allowed {
            return Ok(decision);
        }
        if !shard.contains_key(&hash) && shard.len() >= self.per_shard {
            make_room(&mut shard, self.per_shard, now_ms);
        }
        shard.insert(hash, decision.new_tat);
        Ok(decision)
    }
}

/// Frees at least an eighth of a full shard: first the keys with a full
/// quota, then the live keys with the oldest TAT.
fn make_room(shard: &mut Shard, per_shard: usize, now_ms: u64) {
    shard.retain(|_, tat| *tat > now_ms);
    let target = per_shard - (per_shard / 8).max(1);
    if shard.len() <= target {
        return;
    }
    let mut tats: Vec<u64> = shard.values().copied().collect();
    let evict = shard.len() - target;
    // The `evict`-th smallest TAT: everything below it goes, ties in any order.
    let (_, &mut cutoff, _) = tats.select_nth_unstable(evict - 1);
    let mut below = tats.iter().filter(|t| **t < cutoff).count();
    shard.retain(|_, tat| {
        if *tat < cutoff {
            return false;
        }
        if *tat == cutoff && below < evict {
            below += 1;
            return false;
        }
        true
    });
}

impl RateLimitStore for MemoryRateLimitStore {
    fn decide<'a>(
        &'a self,
        policy: &'a str,
        key: &'a str,
        rate: Rate,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        Box::pin(std::future::ready(self.decide_now(policy, key, rate, now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rate(s: &str) -> Rate {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_policies_and_keys_apart() {
        let store = MemoryRateLimitStore::new(1000);
        let r = rate("1/min");
        assert!(store.decide_now("ip", "a", r, 1_000).unwrap().allowed);
        assert!(!store.decide_now("ip", "a", r, 1_000).unwrap().allowed);
        assert!(store.decide_now("user", "a", r, 1_000).unwrap().allowed);
        assert!(store.decide_now("ip", "b", r, 1_000).unwrap().allowed);
        assert!(store.decide_now("ipa", "", r, 1_000).unwrap().allowed);
    }

    #[test]
    fn a_million_new_keys_stay_within_max_keys() {
        let store = MemoryRateLimitStore::new(10_000);
        let r = rate("600/min");
        let mut key = String::new();
        for i in 0..1_000_000u32 {
            use std::fmt::Write as _;
            key.clear();
            let _ = write!(key, "10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            assert!(store.decide_now("ip", &key, r, 1_767_225_600_000).unwrap().allowed);
        }
        assert!(store.len() <= 10_000, "{}", store.len());
        let bytes = store.approx_bytes();
        println!(
            "10,000-key memory rate-limit store after 1,000,000 keys: {} entries, ~{bytes} bytes",
            store.len()
        );
        assert!(bytes < 1024 * 1024, "{bytes}");
    }

    #[test]
    fn eviction_spares_the_busiest_key() {
        // One shard of 16 keys is enough to see the order of eviction.
        let store = MemoryRateLimitStore::new(16 * 16);
        let r = rate("5/min");
        let now = 1_767_225_600_000;
        for _ in 0..5 {
            assert!(store.decide_now("ip", "hot", r, now).unwrap().allowed);
        }
        for i in 0..10_000 {
            let _ = store.decide_now("ip", &format!("cold-{i}"), r, now + 1);
        }
        assert!(store.len() <= 256);
        assert!(!store.decide_now("ip", "hot", r, now + 2).unwrap().allowed, "the hot key was evicted");
    }

    #[test]
    fn full_quota_keys_are_dropped_first() {
        let store = MemoryRateLimitStore::new(16);
        let r = rate("1/s");
        let now = 1_000_000;
        for i in 0..1000 {
            let _ = store.decide_now("ip", &format!("k{i}"), r, now + i * 2_000);
        }
        // Each key expires 1 s after its request, so at most a few are live.
        assert!(store.len() <= 16);
        let d = store.decide_now("ip", "k999", r, now + 999 * 2_000 + 10).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Some(Duration::from_millis(990)));
    }
}
