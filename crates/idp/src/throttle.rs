//! Brute-force throttling of logins (SPEC §4): failed password attempts are
//! counted per username and per client IP; past the limit within the window
//! further attempts are refused with 429 and `Retry-After` *before* any
//! password hashing, so a locked-out attacker costs almost nothing.
//!
//! Lockouts double with each repeat (5 min, 10 min, … capped at 1 h) while the
//! key keeps failing. Memory is bounded: at most [`MAX_ENTRIES`] keys; idle
//! ones are evicted first, then the least recently seen.
//!
//! Not covered: a distributed attack spreading guesses over many IPs and many
//! usernames stays under both limits by design; argon2id's cost and the
//! semaphore around it bound its speed.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most tracked keys (usernames plus IPs).
pub const MAX_ENTRIES: usize = 10_000;
/// Failures are counted within this many seconds.
pub const WINDOW_SECS: i64 = 15 * 60;
const BASE_LOCKOUT_SECS: i64 = 5 * 60;
const MAX_LOCKOUT_SECS: i64 = 60 * 60;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: i64,
    blocked_until: i64,
    lockouts: u32,
    last_seen: i64,
}

/// Failed-login counters.
#[derive(Debug)]
pub struct LoginThrottle {
    user_limit: u32,
    ip_limit: u32,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// `max_failures` per username; an IP gets four times as many, since users
    /// behind one NAT share it.
    #[must_use]
    pub fn new(max_failures: u32) -> Self {
        let user_limit = max_failures.max(1);
        Self { user_limit, ip_limit: user_limit.saturating_mul(4), entries: Mutex::default() }
    }

    fn keys(username: &str, ip: &str) -> [(String, bool); 2] {
        [(format!("u:{}", username.to_lowercase()), true), (format!("i:{ip}"), false)]
    }

    /// Seconds until `username` from `ip` may try again, if either is locked out.
    pub fn retry_after(&self, username: &str, ip: &str, now: i64) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::keys(username, ip)
            .iter()
            .filter_map(|(key, _)| entries.get(key))
            .map(|e| e.blocked_until - now)
            .filter(|left| *left > 0)
            .max()
    }

    /// Records a failed attempt.
    pub fn failure(&self, username: &str, ip: &str, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (key, is_user) in Self::keys(username, ip) {
            if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
                evict(&mut entries, now);
            }
            let limit = if is_user { self.user_limit } else { self.ip_limit };
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                window_start: now,
                blocked_until: 0,
                lockouts: 0,
                last_seen: now,
            });
            if now - e.last_seen > MAX_LOCKOUT_SECS + WINDOW_SECS {
                e.lockouts = 0;
            }
            if now - e.window_start >= WINDOW_SECS {
                e.failures = 0;
                e.window_start = now;
            }
            e.last_seen = now;
            e.failures += 1;
            if e.failures >= limit {
                let shift = e.lockouts.min(4);
                e.blocked_until = now + (BASE_LOCKOUT_SECS << shift).min(MAX_LOCKOUT_SECS);
                e.lockouts += 1;
                e.failures = 0;
                e.window_start = now;
            }
        }
    }

    /// Forgets the username's failures after a successful login (the IP's stay).
    pub fn success(&self, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&format!("u:{}", username.to_lowercase()));
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict(entries: &mut HashMap<String, Entry>, now: i64) {
    entries.retain(|_, e| e.blocked_until > now || now - e.window_start < WINDOW_SECS);
    // Locked-out keys go last: evicting them would lift a lockout.
    if entries.len() >= MAX_ENTRIES
        && let Some(oldest) =
            entries.iter().min_by_key(|(_, e)| (e.blocked_until > now, e.last_seen)).map(|(k, _)| k.clone())
    {
        entries.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_username_after_the_limit_and_reports_retry_after() {
        let t = LoginThrottle::new(3);
        for _ in 0..2 {
            t.failure("alice", "10.0.0.1", 100);
            assert_eq!(t.retry_after("alice", "10.0.0.1", 100), None);
        }
        t.failure("alice", "10.0.0.1", 100);
        assert_eq!(t.retry_after("alice", "10.0.0.2", 160), Some(BASE_LOCKOUT_SECS - 60));
        assert_eq!(t.retry_after("ALICE", "10.0.0.2", 160), Some(BASE_LOCKOUT_SECS - 60));
        assert_eq!(t.retry_after("bob", "10.0.0.1", 160), None);
        assert_eq!(t.retry_after("alice", "10.0.0.1", 100 + BASE_LOCKOUT_SECS), None);
    }

    #[test]
    fn repeated_lockouts_grow() {
        let t = LoginThrottle::new(1);
        t.failure("alice", "ip", 0);
        assert_eq!(t.retry_after("alice", "other", 0), Some(BASE_LOCKOUT_SECS));
        t.failure("alice", "ip", BASE_LOCKOUT_SECS);
        assert_eq!(t.retry_after("alice", "other", BASE_LOCKOUT_SECS), Some(2 * BASE_LOCKOUT_SECS));
    }

    #[test]
    fn locks_an_ip_after_four_times_the_limit() {
        let t = LoginThrottle::new(2);
        for i in 0..8 {
            t.failure(&format!("user{i}"), "10.0.0.9", 0);
        }
        assert!(t.retry_after("fresh", "10.0.0.9", 1).is_some());
        assert!(t.retry_after("fresh", "10.0.0.8", 1).is_none());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let t = LoginThrottle::new(2);
        t.failure("alice", "ip", 0);
        t.failure("alice", "ip", WINDOW_SECS);
        assert_eq!(t.retry_after("alice", "ip", WINDOW_SECS), None);
    }

    #[test]
    fn success_resets_the_username() {
        let t = LoginThrottle::new(2);
        t.failure("alice", "ip", 0);
        t.success("alice");
        t.failure("alice", "ip", 1);
        assert_eq!(t.retry_after("alice", "ip", 1), None);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_usernames() {
        let t = LoginThrottle::new(5);
        for i in 0..(MAX_ENTRIES + 500) {
            t.failure(&format!("u{i}"), "ip", 0);
        }
        assert!(t.len() <= MAX_ENTRIES);
        // The IP, seen on every attempt, survives the eviction of old usernames.
        assert!(t.retry_after("anyone", "ip", 1).is_some());
    }
}
