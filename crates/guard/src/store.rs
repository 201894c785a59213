//! What the stores share: their error, and the hasher of their in-memory
//! tables. The nonce stores live in [`crate::replay`], the rate-limit stores
//! in [`crate::ratelimit`]; both have a Redis implementation over
//! [`crate::redis::RedisConnection`].

use std::hash::Hasher;

/// Why a store (nonces or rate limits) could not decide. Both fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing service (Redis) is unreachable or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The memory store's budget is spent; the value is the budget in bytes.
    #[error("store is full ({0} bytes in use)")]
    Full(usize),
}

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
