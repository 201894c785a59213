#![allow(clippy::unwrap_used, clippy::panic)]
use super::*;

fn throttle(pair: u32, global: u32) -> LoginThrottle {
    LoginThrottle::new(Limits::new(pair, global))
}

fn granted<'a>(a: Admission<'a>) -> Reservation<'a> {
    match a {
        Admission::Granted(r) => r,
        other => panic!("expected a reservation, got {other:?}"),
    }
}

fn refused(a: &Admission<'_>) -> Option<i64> {
    match a {
        Admission::Refused { retry_after } => Some(*retry_after),
        _ => None,
    }
}

#[test]
fn pending_attempts_count_before_any_hash_is_checked() {
    let t = throttle(5, 100);
    let held: Vec<_> = (0..5).map(|_| granted(t.reserve("alice", "10.0.0.1", None, 0))).collect();
    // Nothing settled yet, and the sixth concurrent guess is already refused.
    assert_eq!(refused(&t.reserve("alice", "10.0.0.1", None, 0)), Some(BASE_LOCKOUT_SECS));
    for r in held {
        r.failure(0);
    }
    assert_eq!(refused(&t.reserve("alice", "10.0.0.1", None, 1)), Some(BASE_LOCKOUT_SECS - 1));
}

#[test]
fn a_right_password_inside_a_burst_does_not_reopen_the_budget() {
    let t = throttle(5, 100);
    let mut verdicts = 0;
    let mut held = Vec::new();
    for _ in 0..31 {
        if let Admission::Granted(r) = t.reserve("alice", "10.0.0.1", None, 0) {
            held.push(r);
        }
    }
    assert_eq!(held.len(), 5);
    // The right one settles first while the others are still being checked.
    held.remove(0).success(0);
    for r in held {
        r.failure(0);
        verdicts += 1;
    }
    // Later guesses: one slot is left of the five, then the lockout.
    while let Admission::Granted(r) = t.reserve("alice", "10.0.0.1", None, 0) {
        r.failure(0);
        verdicts += 1;
    }
    assert_eq!(verdicts, 5, "at most login_max_failures wrong-password verdicts");
}

#[test]
fn a_success_alone_clears_the_pair() {
    let t = throttle(3, 100);
    for _ in 0..2 {
        granted(t.reserve("alice", "ip", None, 0)).failure(0);
    }
    granted(t.reserve("alice", "ip", None, 1)).success(1);
    for _ in 0..2 {
        granted(t.reserve("alice", "ip", None, 2)).failure(2);
    }
    assert!(matches!(t.reserve("alice", "ip", None, 2), Admission::Granted(_)));
}

#[test]
fn an_overlapped_success_keeps_the_pairs_failures() {
    let t = throttle(3, 100);
    let right = granted(t.reserve("alice", "ip", None, 0));
    let wrong = granted(t.reserve("alice", "ip", None, 0));
    wrong.failure(0);
    right.success(0);
    granted(t.reserve("alice", "ip", None, 0)).failure(0);
    granted(t.reserve("alice", "ip", None, 0)).failure(0);
    assert!(refused(&t.reserve("alice", "ip", None, 0)).is_some());
}

#[test]
fn an_abandoned_check_counts_as_a_failure() {
    let t = throttle(1, 100);
    drop(granted(t.reserve("alice", "ip", None, 0)));
    assert!(refused(&t.reserve("alice", "ip", None, 0)).is_some());
}

#[test]
fn a_cancelled_attempt_counts_for_nothing() {
    let t = throttle(1, 100);
    granted(t.reserve("alice", "ip", None, 0)).cancel(0);
    assert!(matches!(t.reserve("alice", "ip", None, 0), Admission::Granted(_)));
}

#[test]
fn one_users_burst_leaves_the_ip_to_others() {
    let t = throttle(5, 100);
    for _ in 0..30 {
        if let Admission::Granted(r) = t.reserve("alice", "10.0.0.1", None, 0) {
            r.failure(0);
        }
    }
    assert!(matches!(t.reserve("paula", "10.0.0.1", None, 1), Admission::Granted(_)));
}

#[test]
fn locks_an_ip_after_twenty_failures_over_any_usernames() {
    let t = throttle(5, 100);
    for i in 0..20 {
        granted(t.reserve(&format!("user{i}"), "10.0.0.9", None, 0)).failure(0);
    }
    assert!(refused(&t.reserve("fresh", "10.0.0.9", None, 1)).is_some());
    assert!(matches!(t.reserve("fresh", "10.0.0.8", None, 1), Admission::Granted(_)));
}

#[test]
fn past_the_global_limit_only_known_ips_may_try() {
    let t = throttle(5, 10);
    for i in 0..10 {
        granted(t.reserve("alice", &format!("10.0.{i}.1"), None, 0)).failure(0);
    }
    let stranger = t.reserve("alice", "10.9.9.9", None, 1);
    assert!(matches!(stranger, Admission::NeedsKnownIp));
    drop(stranger);
    assert_eq!(refused(&t.reserve("alice", "10.9.9.9", Some(false), 1)), Some(GLOBAL_WINDOW_SECS - 1));
    granted(t.reserve("alice", "192.0.2.1", Some(true), 1)).success(1);
    // Other usernames are untouched.
    assert!(matches!(t.reserve("bob", "10.9.9.9", None, 1), Admission::Granted(_)));
    // The restriction lifts after the hour.
    assert!(matches!(t.reserve("alice", "10.9.9.9", None, GLOBAL_WINDOW_SECS), Admission::Granted(_)));
}

#[test]
fn usernames_are_counted_case_insensitively() {
    let t = throttle(2, 100);
    granted(t.reserve("alice", "ip", None, 0)).failure(0);
    granted(t.reserve("ALICE", "ip", None, 0)).failure(0);
    assert!(refused(&t.reserve("Alice", "ip", None, 0)).is_some());
}

#[test]
fn repeated_lockouts_grow() {
    let t = throttle(1, 100);
    granted(t.reserve("alice", "ip", None, 0)).failure(0);
    assert_eq!(refused(&t.reserve("alice", "ip", None, 0)), Some(BASE_LOCKOUT_SECS));
    let later = BASE_LOCKOUT_SECS;
    granted(t.reserve("alice", "ip", None, later)).failure(later);
    assert_eq!(refused(&t.reserve("alice", "ip", None, later)), Some(2 * BASE_LOCKOUT_SECS));
}

#[test]
fn failures_outside_the_window_are_forgotten() {
    let t = throttle(2, 100);
    granted(t.reserve("alice", "ip", None, 0)).failure(0);
    granted(t.reserve("alice", "ip", None, WINDOW_SECS)).failure(WINDOW_SECS);
    assert!(matches!(t.reserve("alice", "ip", None, WINDOW_SECS), Admission::Granted(_)));
}

#[test]
fn ipv6_clients_are_keyed_by_their_64() {
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(ip_key(a), "2001:db8:1:2::/64");
    assert_eq!(ip_key(a), ip_key(b));
    assert_ne!(ip_key(a), ip_key(c));
    assert_eq!(ip_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
    assert_eq!(ip_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
}

#[test]
fn memory_stays_bounded_under_a_flood_of_new_keys() {
    let t = throttle(5, 100);
    for i in 0..20 {
        granted(t.reserve(&format!("victim{i}"), "locked-ip", None, 0)).failure(0);
    }
    for i in 0..(MAX_ENTRIES / 2) {
        granted(t.reserve(&format!("u{i}"), &format!("ip{i}"), None, 1)).failure(1);
    }
    assert!(t.len() <= MAX_ENTRIES, "{}", t.len());
    // The locked IP survives the eviction of the flood's keys.
    assert!(refused(&t.reserve("anyone", "locked-ip", None, 2)).is_some());
}
