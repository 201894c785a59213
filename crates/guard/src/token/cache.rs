//! A bounded cache of token verdicts, keyed by a keyed hash of the token.
//!
//! The key is HMAC-SHA256 of the token under a random per-process key, so the
//! map never holds tokens, and lookup timing tells an attacker nothing they
//! could compute (they do not know the key). Entries never outlive the
//! token's `exp` nor `cache_ttl`.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::hmac;

use super::claims::{TokenClaims, TokenError};

type Verdict = Result<TokenClaims, TokenError>;

/// The cache.
#[derive(Debug)]
pub struct TokenCache {
    key: hmac::Key,
    entries: Mutex<HashMap<[u8; 32], (Verdict, i64)>>,
    max_entries: usize,
}

impl TokenCache {
    /// A cache of at most `max_entries` verdicts.
    pub fn new(max_entries: usize) -> Result<Self, TokenError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| TokenError::Unavailable("no randomness for the token cache key".into()))?;
        Ok(Self { key, entries: Mutex::new(HashMap::new()), max_entries: max_entries.max(1) })
    }

    /// The cache key of `token`.
    pub fn key_of(&self, token: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.key, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// A cached verdict still valid at `now`.
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<Verdict> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(_, until)| now < *until).map(|(v, _)| v.clone())
    }

    /// Caches `verdict` until `until` (unix seconds).
    pub fn put(&self, key: [u8; 32], verdict: Verdict, until: i64, now: i64) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.max_entries {
            entries.retain(|_, (_, u)| *u > now);
        }
        if entries.len() >= self.max_entries {
            // Still full of live entries: drop a tenth (a cache miss is only a lookup).
            let drop: Vec<[u8; 32]> = entries.keys().take(self.max_entries / 10 + 1).copied().collect();
            for k in drop {
                entries.remove(&k);
            }
        }
        entries.insert(key, (verdict, until));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
