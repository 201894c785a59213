//! Brute-force throttling of logins (SPEC §4; user guide in
//! `docs/identity-server.md`, "Brute-force throttling").
//!
//! Three counters decide whether a password may be checked at all, each
//! *before* any hashing:
//! - per (username, client IP): [`Limits::pair`] failures (`idp.login_max_failures`);
//! - per client IP over any usernames: [`Limits::ip`] failures (20);
//! - per username over all IPs: past [`Limits::global`] failures within an hour
//!   (`idp.login_max_failures_global`), only IPs the user logged in from
//!   successfully in the last 30 days may still try ([`KNOWN_IP_DAYS`]).
//!
//! An attempt is *reserved* atomically under one lock before its hash is
//! checked ([`LoginThrottle::reserve`]): a pending attempt counts like a
//! failure, so 30 concurrent guesses get at most `pair` verdicts and 429 for
//! the rest. The [`Reservation`] then settles as a failure or a success; if it
//! is dropped unsettled (the client went away mid-check) it counts as a
//! failure. A success releases its slot on every counter and clears the pair's
//! failures only when no other attempt on that pair overlapped it, so the
//! right password slipped into a burst of guesses cannot reopen the budget.
//!
//! Client IPs are keyed by [`ip_key`]: IPv4 as is, IPv6 by its /64.
//! Lockouts last 5 minutes and double while the key keeps failing (capped at
//! 1 hour); the per-username restriction lasts an hour. Memory is bounded: at
//! most [`MAX_ENTRIES`] keys; idle ones are evicted first, then the least
//! recently seen, locked or pending ones last.
//!
//! Not covered: counters live in memory per instance (several instances each
//! count on their own); a distributed attack from many IPs on many usernames
//! stays under the pair and IP limits by design, and argon2id's cost and the
//! bounded hashing queue bound its speed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Most tracked keys (pairs, IPs and usernames together).
pub const MAX_ENTRIES: usize = 100_000;
/// Pair and IP failures are counted within this many seconds.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Per-username failures over all IPs are counted within this many seconds.
pub const GLOBAL_WINDOW_SECS: i64 = 60 * 60;
/// Failures from one client IP over any usernames (SPEC §4).
pub const IP_MAX_FAILURES: u32 = 20;
/// How long a successful login makes an IP "known" for its user.
pub const KNOWN_IP_DAYS: i64 = 30;
const BASE_LOCKOUT_SECS: i64 = 5 * 60;
const MAX_LOCKOUT_SECS: i64 = 60 * 60;

/// The three limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures per (username, IP).
    pub pair: u32,
    /// Failures per IP over any usernames.
    pub ip: u32,
    /// Failures per username over all IPs within an hour, after which only known IPs may try.
    pub global: u32,
}

impl Limits {
    /// `login_max_failures` per pair, [`IP_MAX_FAILURES`] per IP (never less
    /// than the pair limit) and `global` per username.
    #[must_use]
    pub fn new(login_max_failures: u32, global: u32) -> Self {
        let pair = login_max_failures.max(1);
        Self { pair, ip: IP_MAX_FAILURES.max(pair), global: global.max(1) }
    }
}

/// The throttling key of a client address: IPv4 (and IPv4-mapped IPv6) as
/// is, IPv6 by its /64, so one host cannot rotate through its subnet.
#[must_use]
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
                format!("{net}/64")
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    pending: u32,
    window_start: i64,
    blocked_until: i64,
    lockouts: u32,
    last_seen: i64,
    /// Reservations ever made on this key: tells a success whether another
    /// attempt overlapped it.
    reservations: u64,
}

impl Entry {
    fn new(now: i64) -> Self {
        Self {
            failures: 0,
            pending: 0,
            window_start: now,
            blocked_until: 0,
            lockouts: 0,
            last_seen: now,
            reservations: 0,
        }
    }

    fn roll(&mut self, now: i64, window: i64) {
        if self.blocked_until <= now && now - self.window_start >= window {
            self.failures = 0;
            self.window_start = now;
        }
        if now - self.last_seen > MAX_LOCKOUT_SECS + window {
            self.lockouts = 0;
        }
    }

    /// Seconds to wait, if this key refuses another attempt now.
    fn refusal(&self, now: i64, limit: u32, kind: Kind) -> Option<i64> {
        if self.blocked_until > now {
            return Some(self.blocked_until - now);
        }
        (self.failures.saturating_add(self.pending) >= limit).then(|| kind.lockout(self.lockouts))
    }

    fn fail(&mut self, now: i64, limit: u32, kind: Kind) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= limit {
            self.blocked_until = now + kind.lockout(self.lockouts);
            self.lockouts = self.lockouts.saturating_add(1);
            self.failures = 0;
            self.window_start = now;
        }
    }

    fn idle(&self, now: i64) -> bool {
        self.pending == 0 && self.blocked_until <= now && now - self.window_start >= GLOBAL_WINDOW_SECS
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pair,
    Ip,
    Global,
}

impl Kind {
    fn lockout(self, lockouts: u32) -> i64 {
        match self {
            Self::Global => GLOBAL_WINDOW_SECS,
            Self::Pair | Self::Ip => (BASE_LOCKOUT_SECS << lockouts.min(4)).min(MAX_LOCKOUT_SECS),
        }
    }

    fn window(self) -> i64 {
        match self {
            Self::Global => GLOBAL_WINDOW_SECS,
            Self::Pair | Self::Ip => WINDOW_SECS,
        }
    }
}

/// What [`LoginThrottle::reserve`] decided.
#[derive(Debug)]
#[must_use]
pub enum Admission<'a> {
    /// Check the password, then settle the reservation.
    Granted(Reservation<'a>),
    /// Refuse with 429 and this `Retry-After`.
    Refused {
        /// Seconds.
        retry_after: i64,
    },
    /// The username is past its global limit: ask the store whether this IP
    /// is known for the user, then reserve again with the answer.
    NeedsKnownIp,
}

/// Failed-login counters.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: Limits,
    entries: Mutex<HashMap<String, Entry>>,
}

/// The three counter keys of one attempt.
#[derive(Debug, Clone)]
struct Keys {
    pair: String,
    ip: String,
    global: String,
}

impl Keys {
    fn new(username: &str, ip: &str) -> Self {
        let user = username.to_lowercase();
        // IP keys hold no NUL, so the last NUL of a pair key separates the
        // two parts unambiguously whatever the username holds.
        Self { pair: format!("p:{user}\0{ip}"), ip: format!("i:{ip}"), global: format!("g:{user}") }
    }

    fn each(&self) -> [(&str, Kind); 3] {
        [(&self.pair, Kind::Pair), (&self.ip, Kind::Ip), (&self.global, Kind::Global)]
    }
}

/// A reserved attempt; settle it with [`Reservation::failure`] or
/// [`Reservation::success`]. Dropped unsettled, it counts as a failure.
#[derive(Debug)]
pub struct Reservation<'a> {
    throttle: &'a LoginThrottle,
    keys: Keys,
    now: i64,
    /// Nothing else was pending on the pair when this was reserved, and this
    /// was the pair's reservation number `pair_seq`.
    pair_alone: bool,
    pair_seq: u64,
    settled: bool,
}

impl Reservation<'_> {
    /// The password was wrong (or the user unknown or disabled).
    pub fn failure(mut self, now: i64) {
        self.settled = true;
        self.throttle.settle(&self.keys, now, Outcome::Failure);
    }

    /// The password was right.
    pub fn success(mut self, now: i64) {
        self.settled = true;
        self.throttle.settle(
            &self.keys,
            now,
            Outcome::Success { alone: self.pair_alone, seq: self.pair_seq },
        );
    }

    /// No password was checked (the queue was full, the store failed): the
    /// attempt counts for nothing.
    pub fn cancel(mut self, now: i64) {
        self.settled = true;
        self.throttle.settle(&self.keys, now, Outcome::Cancelled);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.keys, self.now, Outcome::Failure);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Failure,
    Success { alone: bool, seq: u64 },
    Cancelled,
}

impl LoginThrottle {
    /// Counters with these limits.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self { limits, entries: Mutex::default() }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn limit(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Pair => self.limits.pair,
            Kind::Ip => self.limits.ip,
            Kind::Global => self.limits.global,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides, atomically, whether `username` from `ip` (an [`ip_key`]) may
    /// have a password checked now, and if so counts the attempt as pending.
    /// `known_ip` is `None` until the store was asked (see [`Admission::NeedsKnownIp`]).
    pub fn reserve(&self, username: &str, ip: &str, known_ip: Option<bool>, now: i64) -> Admission<'_> {
        let keys = Keys::new(username, ip);
        let mut entries = self.lock();
        let mut wait: Option<i64> = None;
        for (key, kind) in keys.each() {
            let Some(entry) = entries.get_mut(key) else { continue };
            entry.roll(now, kind.window());
            let Some(left) = entry.refusal(now, self.limit(kind), kind) else { continue };
            if kind == Kind::Global {
                match known_ip {
                    Some(true) => continue,
                    Some(false) => {}
                    None if wait.is_none() => return Admission::NeedsKnownIp,
                    None => {}
                }
            }
            wait = Some(wait.map_or(left, |w| w.max(left)));
        }
        if let Some(retry_after) = wait {
            return Admission::Refused { retry_after: retry_after.max(1) };
        }
        let (mut pair_alone, mut pair_seq) = (false, 0);
        for (key, kind) in keys.each() {
            if !entries.contains_key(key) && entries.len() >= MAX_ENTRIES {
                evict(&mut entries, now);
            }
            let entry = entries.entry(key.to_owned()).or_insert_with(|| Entry::new(now));
            if kind == Kind::Pair {
                pair_alone = entry.pending == 0;
                pair_seq = entry.reservations.wrapping_add(1);
            }
            entry.pending = entry.pending.saturating_add(1);
            entry.reservations = entry.reservations.wrapping_add(1);
            entry.last_seen = now;
        }
        drop(entries);
        Admission::Granted(Reservation { throttle: self, keys, now, pair_alone, pair_seq, settled: false })
    }

    fn settle(&self, keys: &Keys, now: i64, outcome: Outcome) {
        let mut entries = self.lock();
        for (key, kind) in keys.each() {
            // Evicted meanwhile (only under a flood): nothing to settle.
            let Some(entry) = entries.get_mut(key) else { continue };
            entry.pending = entry.pending.saturating_sub(1);
            entry.last_seen = now;
            match outcome {
                Outcome::Failure => {
                    entry.roll(now, kind.window());
                    entry.fail(now, self.limit(kind), kind);
                }
                // Only the pair is cleared, and only after a login that no
                // other attempt on it overlapped; the IP's and the username's
                // failures stay, or one valid account would reset them.
                Outcome::Success { alone, seq } if kind == Kind::Pair => {
                    if alone && entry.pending == 0 && entry.reservations == seq {
                        entry.failures = 0;
                        entry.lockouts = 0;
                    }
                }
                Outcome::Success { .. } | Outcome::Cancelled => {}
            }
        }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Frees room: idle keys first, then the least recently seen eighth, so a
/// flood of new keys pays for one scan per [`MAX_ENTRIES`]` / 8` insertions.
/// Locked-out and pending keys go last: evicting them would lift a lockout.
fn evict(entries: &mut HashMap<String, Entry>, now: i64) {
    entries.retain(|_, e| !e.idle(now));
    if entries.len() < MAX_ENTRIES {
        return;
    }
    let mut ranked: Vec<((bool, i64), String)> = entries
        .iter()
        .map(|(k, e)| ((e.blocked_until > now || e.pending > 0, e.last_seen), k.clone()))
        .collect();
    let cut = (MAX_ENTRIES / 8).max(1);
    ranked.select_nth_unstable_by(cut - 1, |a, b| a.0.cmp(&b.0));
    for (_, key) in ranked.iter().take(cut) {
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests;
