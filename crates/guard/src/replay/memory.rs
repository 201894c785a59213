//! The bounded in-memory [`NonceStore`].
//!
//! A `(keyid, nonce)` pair is accepted once. The layer asks the store to keep
//! it until `created + max_skew` (SPEC §3.2: after that the signature is stale
//! anyway), so the number of live nonces is about the request rate times the
//! freshness window, whatever the clients' clocks.
//!
//! # The memory store's layout
//!
//! [`MemoryNonceStore`] never keeps the pair itself, only a 64-bit
//! fingerprint: SipHash-1-3 of `keyid ‖ 0xff ‖ nonce` with a random key drawn
//! per process ([`std::collections::hash_map::RandomState`]), so nobody outside
//! the process can craft two nonces with one fingerprint. Two different pairs
//! sharing a fingerprint only make the second, legitimate request look
//! replayed (401 `replayed`; the client signs again with a new nonce); with
//! `n` live nonces that happens to a fresh request with probability about
//! `n / 2^64` (≈ 9 × 10⁻¹³ at 16 M live nonces). It can never let a replay in.
//!
//! Fingerprints live in 16 shards (one lock each, chosen by the fingerprint's
//! low bits). A shard holds one open-addressing table (linear probing, 8 bytes
//! a slot, no per-entry expiry) per *bucket* of expiry times: every nonce whose
//! expiry falls in the same `bucket_seconds` (default 60 s) shares a table, and
//! the whole table is dropped when its last second has passed. A table grows
//! by 1.5× when it is 7/8 full, so a live nonce costs between 9.1 and 13.7
//! bytes of slots (the accounting counts capacity, never length).
//!
//! Every byte the tables allocate is reserved against the budget
//! (`replay.max_memory`) before it is allocated, and released when the table
//! is dropped. When a table cannot grow within the budget it keeps filling up
//! to 15/16, and only then is the nonce refused with [`StoreError::Full`]
//! (503 `overloaded`): the store never forgets a live nonce, which would
//! re-open the replay window.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{NonceStore, NonceStoreUsage, NonceVerdict};
use crate::store::StoreError;

const SHARDS: usize = 16;
/// Slots of a new table (128 bytes), so idle buckets cost little.
const MIN_SLOTS: usize = 16;
/// The memory store's budget by default (`replay.max_memory`, 256 MiB).
pub const DEFAULT_NONCE_MEMORY: usize = 256 * 1024 * 1024;
/// The default width of an expiry bucket.
pub const DEFAULT_BUCKET_SECONDS: u32 = 60;
/// Bookkeeping charged per table on top of its slots.
const TABLE_OVERHEAD: usize = size_of::<Bucket>();

/// An open-addressing set of non-zero fingerprints (0 marks an empty slot).
/// Hand-written rather than a `HashSet` so its size is exactly the slots it
/// allocates and it can grow by 1.5× (a `HashSet` doubles, which would leave a
/// just-grown table at 18 bytes per entry).
#[derive(Debug)]
struct Table {
    slots: Box<[u64]>,
    len: usize,
}

impl Table {
    fn with_slots(n: usize) -> Self {
        Self { slots: vec![0; n].into_boxed_slice(), len: 0 }
    }

    fn bytes_for(slots: usize) -> usize {
        slots * size_of::<u64>()
    }

    fn home(&self, fp: u64) -> usize {
        // Multiply-shift onto any table size, from the high bits (the shard
        // was chosen by the low ones).
        let cap = self.slots.len() as u128;
        usize::try_from((u128::from(fp) * cap) >> 64).unwrap_or(0)
    }

    fn contains(&self, fp: u64) -> bool {
        let mut i = self.home(fp);
        for _ in 0..self.slots.len() {
            match self.slots.get(i).copied() {
                Some(0) | None => return false,
                Some(s) if s == fp => return true,
                Some(_) => i = if i + 1 == self.slots.len() { 0 } else { i + 1 },
            }
        }
        false
    }

    /// Inserts a fingerprint known to be absent; the caller keeps a free slot.
    fn insert(&mut self, fp: u64) {
        let mut i = self.home(fp);
        for _ in 0..self.slots.len() {
            if let Some(slot) = self.slots.get_mut(i)
                && *slot == 0
            {
                *slot = fp;
                self.len += 1;
                return;
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
    }

    /// Whether one more entry stays within `num / den` of the slots.
    fn fits(&self, num: usize, den: usize) -> bool {
        (self.len + 1) * den <= self.slots.len() * num
    }

    fn regrown(&self, slots: usize) -> Self {
        let mut next = Self::with_slots(slots);
        for &fp in self.slots.iter().filter(|&&s| s != 0) {
            next.insert(fp);
        }
        next
    }
}

#[derive(Debug)]
struct Bucket {
    /// `expiry.div_euclid(bucket_seconds)` of every nonce in it.
    id: i64,
    table: Table,
}

#[derive(Debug, Default)]
struct Shard {
    /// Ordered by `id`, oldest first.
    buckets: VecDeque<Bucket>,
}

/// A bounded in-memory [`NonceStore`] for a single instance; see the module
/// documentation for its layout and guarantees.
#[derive(Debug)]
pub struct MemoryNonceStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    budget: usize,
    bucket_seconds: i64,
    used: AtomicUsize,
    entries: AtomicUsize,
}

impl MemoryNonceStore {
    /// A store whose tables reserve at most `max_memory` bytes.
    pub fn new(max_memory: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self {
            shards,
            hasher: RandomState::new(),
            budget: max_memory,
            bucket_seconds: i64::from(DEFAULT_BUCKET_SECONDS),
            used: AtomicUsize::new(0),
            entries: AtomicUsize::new(0),
        }
    }

    /// Groups expiries into buckets of `seconds` (default 60; at least 1). A
    /// nonce may be kept up to `seconds − 1` past its expiry; wider buckets
    /// mean fewer tables to look into per request: a fresh nonce is looked
    /// up in every live bucket of its shard (the same pair signed with another
    /// `created` lands in another bucket), about `2 × max_skew / seconds` + 1
    /// of them, each lookup one cache miss on a large store.
    pub fn with_bucket_seconds(mut self, seconds: u32) -> Self {
        self.bucket_seconds = i64::from(seconds.max(1));
        self
    }

    /// Nonces held (expired ones linger until their bucket is dropped).
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes reserved by the tables: their allocated slots plus bookkeeping.
    pub fn bytes(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.budget)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    fn fingerprint(&self, keyid: &str, nonce: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(keyid.as_bytes());
        h.write_u8(0xff); // separator: ("ab","c") and ("a","bc") differ
        h.write(nonce.as_bytes());
        match h.finish() {
            0 => 1, // 0 marks an empty slot
            fp => fp,
        }
    }

    /// Drops the shard's buckets whose every expiry is at or before `now`.
    fn purge(&self, shard: &mut Shard, now: i64) {
        while let Some(front) = shard.buckets.front() {
            // Entries are live while `expiry > now`; the bucket's last expiry
            // is `(id + 1) × width − 1`.
            let last = front.id.saturating_add(1).saturating_mul(self.bucket_seconds).saturating_sub(1);
            if last > now {
                break;
            }
            if let Some(bucket) = shard.buckets.pop_front() {
                self.release(Table::bytes_for(bucket.table.slots.len()) + TABLE_OVERHEAD);
                self.entries.fetch_sub(bucket.table.len, Ordering::Relaxed);
            }
        }
    }

    /// When the budget looks spent: drops expired buckets of the other
    /// shards too (without waiting on their locks), then tries again.
    fn reserve_after_purge(&self, bytes: usize, now: i64, own: usize) -> bool {
        if self.reserve(bytes) {
            return true;
        }
        for (i, shard) in self.shards.iter().enumerate() {
            if i != own
                && let Ok(mut shard) = shard.try_lock()
            {
                self.purge(&mut shard, now);
            }
        }
        self.reserve(bytes)
    }

    /// The synchronous decision behind [`NonceStore::check_and_record`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Full`] when the budget is spent (nothing was forgotten),
    /// [`StoreError::Unavailable`] if a shard's lock was poisoned.
    pub fn decide_now(
        &self,
        keyid: &str,
        nonce: &str,
        now: i64,
        ttl: Duration,
    ) -> Result<NonceVerdict, StoreError> {
        let fp = self.fingerprint(keyid, nonce);
        let index = usize::try_from(fp).unwrap_or(0) % SHARDS;
        let Some(shard) = self.shards.get(index) else {
            return Err(StoreError::Unavailable("shard index out of range".into()));
        };
        let mut shard = shard.lock().map_err(|_| StoreError::Unavailable("nonce shard poisoned".into()))?;
        self.purge(&mut shard, now);
        // The same pair with another `created` lands in another bucket: look in all.
        if shard.buckets.iter().any(|b| b.table.contains(fp)) {
            return Ok(NonceVerdict::Replayed);
        }
        let secs = ttl.as_secs().saturating_add(u64::from(ttl.subsec_nanos() > 0)).max(1);
        let expiry = now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
        let id = expiry.div_euclid(self.bucket_seconds);
        let position = shard.buckets.partition_point(|b| b.id < id);
        if shard.buckets.get(position).is_none_or(|b| b.id != id) {
            if !self.reserve_after_purge(Table::bytes_for(MIN_SLOTS) + TABLE_OVERHEAD, now, index) {
                return Err(StoreError::Full(self.budget));
            }
            shard.buckets.insert(position, Bucket { id, table: Table::with_slots(MIN_SLOTS) });
        }
        let Some(bucket) = shard.buckets.get_mut(position) else {
            return Err(StoreError::Unavailable("nonce bucket vanished".into()));
        };
        if !bucket.table.fits(7, 8) {
            let old = bucket.table.slots.len();
            let new = old + old / 2;
            // Old and new tables coexist during the copy: both are reserved.
            if self.reserve_after_purge(Table::bytes_for(new), now, index) {
                bucket.table = bucket.table.regrown(new);
                self.release(Table::bytes_for(old));
            } else if !bucket.table.fits(15, 16) {
                return Err(StoreError::Full(self.budget));
            }
        }
        bucket.table.insert(fp);
        self.entries.fetch_add(1, Ordering::Relaxed);
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
        let verdict = self.decide_now(keyid, nonce, now, ttl);
        Box::pin(std::future::ready(verdict))
    }

    fn usage(&self) -> Option<NonceStoreUsage> {
        Some(NonceStoreUsage { bytes: self.bytes(), capacity_bytes: self.budget, entries: self.len() })
    }
}
