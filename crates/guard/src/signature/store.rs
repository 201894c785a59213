//! Single-use nonces: the [`NonceStore`] trait and a bounded in-memory store.
//!
//! A `(keyid, nonce)` pair is accepted once. The memory store keeps a keyed
//! 64-bit SipHash of the pair (never the pair itself) with its expiry, in
//! shards to keep lock hold times short. Entries expire after the time-to-live
//! the layer asks for (2 × `max_skew`, SPEC §3.2), and the total is capped: a
//! full store refuses new nonces (fail closed) instead of forgetting live ones,
//! which would re-open the replay window.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

/// A boxed future, so stores can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outcome of recording a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceVerdict {
    /// First use: recorded now.
    Fresh,
    /// Seen before within its lifetime.
    Replayed,
}

/// Why a store could not decide. Both fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing service (Redis) is unreachable or failed.
    #[error("nonce store unavailable: {0}")]
    Unavailable(String),
    /// The memory store is at its configured capacity.
    #[error("nonce store is full ({0} live entries)")]
    Full(usize),
}

/// Records nonces and tells first uses from replays.
pub trait NonceStore: Send + Sync + std::fmt::Debug + 'static {
    /// Atomically checks `(keyid, nonce)` and records it until `now + ttl`
    /// (`now` in unix seconds).
    fn check_and_record<'a>(
        &'a self,
        keyid: &'a str,
        nonce: &'a str,
        now: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<NonceVerdict, StoreError>>;
}

const SHARDS: usize = 16;

/// The hashes are already SipHash outputs: store them as they are.
#[derive(Debug, Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug, Default)]
struct Shard {
    live: HashSet<u64, BuildHasherDefault<PassThrough>>,
    /// `(expiry, hash)` in insertion order; expiries are non-decreasing while
    /// the clock is, so purging pops from the front.
    order: VecDeque<(i64, u64)>,
}

impl Shard {
    fn purge(&mut self, now: i64) {
        while let Some(&(expiry, hash)) = self.order.front() {
            if expiry > now {
                break;
            }
            self.order.pop_front();
            self.live.remove(&hash);
        }
    }
}

/// A bounded in-memory [`NonceStore`] for a single instance.
#[derive(Debug)]
pub struct MemoryNonceStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl MemoryNonceStore {
    /// A store holding at most `max_entries` live nonces.
    pub fn new(max_entries: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self { shards, per_shard: max_entries.div_ceil(SHARDS).max(1), hasher: Default::default() }
    }

    /// Live entries (expired ones may linger until their shard is next touched).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |s| s.live.len())).sum()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the entries occupy, from the allocated capacities.
    pub fn approx_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock().map_or(0, |s| {
                    // hashbrown: one control byte per bucket, 8/7 buckets per slot.
                    s.live.capacity() * 8 / 7 * (size_of::<u64>() + 1)
                        + s.order.capacity() * size_of::<(i64, u64)>()
                })
            })
            .sum()
    }

    fn decide(&self, keyid: &str, nonce: &str, now: i64, ttl: Duration) -> Result<NonceVerdict, StoreError> {
        let mut h = self.hasher.build_hasher();
        h.write(keyid.as_bytes());
        h.write_u8(0xff); // separator: ("ab","c") and ("a","bc") differ
        h.write(nonce.as_bytes());
        let hash = h.finish();
        let index = usize::try_from(hash >> 60).unwrap_or(0) % SHARDS;
        let Some(shard) = self.shards.get(index) else {
            return Err(StoreError::Unavailable("shard index out of range".into()));
        };
        let mut shard = shard.lock().map_err(|_| StoreError::Unavailable("nonce shard poisoned".into()))?;
        shard.purge(now);
        if shard.live.contains(&hash) {
            return Ok(NonceVerdict::Replayed);
        }
        if shard.live.len() >= self.per_shard {
            return Err(StoreError::Full(self.per_shard * SHARDS));
        }
        let expiry = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        shard.live.insert(hash);
        shard.order.push_back((expiry, hash));
        Ok(NonceVerdict::Fresh)
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_record<'a>(
        &'a self,
        keyid: &'a str,
        nonce: &'a str,
        now: i64,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<NonceVerdict, StoreError>> {
        let verdict = self.decide(keyid, nonce, now, ttl);
        Box::pin(std::future::ready(verdict))
    }
}
