//! Single-use nonces (SPEC §3.2–§3.3 step 6): the [`NonceStore`] trait, the
//! bounded in-memory store ([`MemoryNonceStore`]) and the Redis store shared
//! by every instance ([`RedisNonceStore`]).
//!
//! A `(keyid, nonce)` pair is accepted once. The signature layer asks the
//! store to keep it until `created + max_skew` (after that the signature is
//! stale anyway), and records it only after the signature verified, so only
//! correctly signed requests reach the store. Both stores fail closed: an
//! error is a 503, never a request let through unchecked.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::store::StoreError;

mod memory;
mod redis;

pub use memory::{DEFAULT_BUCKET_SECONDS, DEFAULT_NONCE_MEMORY, MemoryNonceStore};
pub use redis::{NONCE_PREFIX, NonceAndQuota, RedisNonceAndQuota, RedisNonceStore};

/// The outcome of recording a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceVerdict {
    /// First use: recorded now.
    Fresh,
    /// Seen before within its lifetime.
    Replayed,
}

/// How full a store is, for the admin `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceStoreUsage {
    /// Bytes reserved by the store's tables (their capacity, not their length).
    pub bytes: usize,
    /// The budget those bytes may reach (`replay.max_memory`).
    pub capacity_bytes: usize,
    /// Nonces held (including expired ones whose bucket is not dropped yet).
    pub entries: usize,
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

    /// The store's fill level, when it keeps one (the memory store); `None`
    /// for a store whose memory lives elsewhere (Redis).
    fn usage(&self) -> Option<NonceStoreUsage> {
        None
    }
}
