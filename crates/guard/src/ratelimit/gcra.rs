//! The generic cell rate algorithm (GCRA) as one pure function.
//!
//! A rate of N per window W has an emission interval T = W / N and a burst
//! of N: the state per key is one number, the theoretical arrival time (TAT)
//! in milliseconds. A request at `now` is allowed when
//! `max(TAT, now) + T − now ≤ N·T`, and then moves the TAT by T. A TAT at or
//! before `now` means a full quota, so such a key needs no state at all.
//!
//! T is rounded *up* to whole milliseconds and the tolerance is taken as
//! `N·T − T` (SPEC's τ = W − T when N divides W): the burst is exactly N and
//! the sustained rate never exceeds N per W. The Redis script mirrors this
//! arithmetic (see `redis.rs`), so both stores decide alike.

use std::time::Duration;

use slipgate_proto::units::Rate;

/// What the algorithm decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The TAT to store (unchanged when refused).
    pub new_tat: u64,
    /// Requests still allowed right now after this one.
    pub remaining: u32,
    /// Until a full quota returns.
    pub reset_after: Duration,
    /// When refused: until one request will be allowed.
    pub retry_after: Option<Duration>,
    /// Until `remaining` grows by one (the `t` of draft-ietf-httpapi-
    /// ratelimit-headers-10, SPEC §3.7); zero when the quota is full. When
    /// refused this equals `retry_after`.
    pub next_after: Duration,
}

/// Until `remaining` grows by one, for a key whose TAT is `ahead` ms past
/// now: the quota after `r + 1` requests needs the TAT at
/// `limit − (r + 1)·T` ahead of now.
pub fn next_after(ahead: u64, remaining: u32, rate: Rate) -> Duration {
    let (interval, limit) = interval_and_limit(rate);
    if u64::from(remaining) >= u64::from(rate.quota.get()) {
        return Duration::ZERO;
    }
    let target = limit.saturating_sub(interval.saturating_mul(u64::from(remaining) + 1));
    Duration::from_millis(ahead.saturating_sub(target))
}

/// The emission interval T and the burst limit N·T, in milliseconds.
pub fn interval_and_limit(rate: Rate) -> (u64, u64) {
    let per_ms = u64::try_from(rate.per.as_millis()).unwrap_or(u64::MAX).max(1);
    let quota = u64::from(rate.quota.get());
    let interval = per_ms.div_ceil(quota).max(1);
    (interval, interval.saturating_mul(quota))
}

/// Decides one request at `now_ms` for a key whose stored TAT is `tat` (the pure
/// decision the stores apply atomically).
pub fn check(tat: Option<u64>, now_ms: u64, rate: Rate) -> Decision {
    let (interval, limit) = interval_and_limit(rate);
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat.saturating_add(interval);
    let ahead = new_tat - now_ms;
    if ahead > limit {
        return Decision {
            allowed: false,
            new_tat: tat,
            remaining: 0,
            reset_after: Duration::from_millis(tat - now_ms),
            retry_after: Some(Duration::from_millis(ahead - limit)),
            next_after: Duration::from_millis(ahead - limit),
        };
    }
    let remaining = u32::try_from((limit - ahead) / interval).unwrap_or(u32::MAX);
    Decision {
        allowed: true,
        new_tat,
        remaining,
        reset_after: Duration::from_millis(ahead),
        retry_after: None,
        next_after: next_after(ahead, remaining, rate),
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use slipgate_proto::clock::{Clock, ManualClock};

    use super::*;

    fn rate(s: &str) -> Rate {
        s.parse().unwrap()
    }

    fn now_ms(clock: &ManualClock) -> u64 {
        u64::try_from(clock.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
    }

    /// Runs one request against `tat`, storing the new TAT.
    fn hit(tat: &mut Option<u64>, clock: &ManualClock, rate: Rate) -> Decision {
        let d = check(*tat, now_ms(clock), rate);
        *tat = Some(d.new_tat);
        d
    }

    #[test]
    fn allows_a_full_burst_then_refuses() {
        let clock = ManualClock::at_unix(1_767_225_600);
        let r = rate("5/min");
        let mut tat = None;
        let remaining: Vec<u32> = (0..5).map(|_| hit(&mut tat, &clock, r)).map(|d| d.remaining).collect();
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        let refused = hit(&mut tat, &clock, r);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
    }

    #[test]
    fn t_is_the_time_until_one_more_request_not_the_full_quota() {
        let clock = ManualClock::at_unix(1_767_225_600);
        let r = rate("5/min");
        let mut tat = None;
        let first = hit(&mut tat, &clock, r);
        assert_eq!((first.remaining, first.next_after), (4, Duration::from_secs(12)));
        for _ in 0..4 {
            hit(&mut tat, &clock, r);
        }
        clock.advance(Duration::from_secs(5));
        let refused = hit(&mut tat, &clock, r);
        assert!(!refused.allowed);
        assert_eq!(refused.next_after, Duration::from_secs(7));
        assert_eq!(refused.retry_after, Some(refused.next_after));
        assert_eq!(refused.reset_after, Duration::from_secs(55));
        assert_eq!(next_after(0, 5, r), Duration::ZERO, "full quota");
    }

    #[test]
    fn refills_one_request_per_interval() {
        let clock = ManualClock::at_unix(1_767_225_600);
        let r = rate("5/min");
        let mut tat = None;
        for _ in 0..5 {
            assert!(hit(&mut tat, &clock, r).allowed);
        }
        clock.advance(Duration::from_secs(12));
        let d = hit(&mut tat, &clock, r);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!hit(&mut tat, &clock, r).allowed);
    }

    #[test]
    fn refuses_one_millisecond_before_the_interval_and_allows_at_it() {
        let clock = ManualClock::at_unix(1_767_225_600);
        let r = rate("5/min");
        let mut tat = None;
        for _ in 0..5 {
            hit(&mut tat, &clock, r);
        }
        clock.advance(Duration::from_millis(11_999));
        let early = hit(&mut tat, &clock, r);
        assert!(!early.allowed);
        assert_eq!(early.retry_after, Some(Duration::from_millis(1)));
        clock.advance(Duration::from_millis(1));
        assert!(hit(&mut tat, &clock, r).allowed);
    }

    #[test]
    fn a_refusal_does_not_move_the_tat() {
        let r = rate("1/s");
        let first = check(None, 1000, r);
        let refused = check(Some(first.new_tat), 1500, r);
        assert!(!refused.allowed);
        assert_eq!(refused.new_tat, first.new_tat);
        assert_eq!(refused.retry_after, Some(Duration::from_millis(500)));
        assert!(check(Some(refused.new_tat), 2000, r).allowed);
    }

    #[test]
    fn a_full_window_of_idleness_restores_the_whole_burst() {
        let clock = ManualClock::at_unix(1_767_225_600);
        let r = rate("600/min");
        let mut tat = None;
        for _ in 0..600 {
            assert!(hit(&mut tat, &clock, r).allowed);
        }
        assert!(!hit(&mut tat, &clock, r).allowed);
        clock.advance(Duration::from_secs(60));
        let d = hit(&mut tat, &clock, r);
        assert_eq!((d.allowed, d.remaining), (true, 599));
        assert_eq!(d.reset_after, Duration::from_millis(100));
    }

    #[test]
    fn an_old_tat_counts_as_a_full_quota() {
        let r = rate("3/s");
        assert_eq!(check(Some(5), 10_000, r), check(None, 10_000, r));
    }

    #[test]
    fn rounds_the_interval_up_so_the_rate_is_never_exceeded() {
        let r = Rate { quota: NonZeroU32::new(3).unwrap(), per: Duration::from_secs(1) };
        assert_eq!(interval_and_limit(r), (334, 1002));
        // Over any 10 s, at most 3 per second plus the burst.
        let mut tat = None;
        let mut allowed = 0;
        for ms in (0..10_000).step_by(10) {
            let d = check(tat, 1_000_000 + ms, r);
            tat = Some(d.new_tat);
            allowed += u32::from(d.allowed);
        }
        assert!(allowed <= 30 + 3, "{allowed}");
        assert!(allowed >= 30, "{allowed}");
    }
}
