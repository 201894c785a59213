//! Clock-skew correction (SPEC §3.2 freshness).
//!
//! The API refuses a signature whose `created` lies more than `max_skew`
//! (300 s by default) from its own clock with `401 request_expired`. A client
//! machine whose clock is off would then fail every request. Every verified
//! answer's signature carries the server's `created`
//! ([`VerifiedAnswer`](crate::response::VerifiedAnswer)); when it is more than
//! [`SKEW_THRESHOLD`] away from this client's (corrected) clock,
//! [`Client`](crate::Client) logs a warning and records the offset in its
//! [`OffsetClock`] — and, when the answer was `request_expired`, signs again
//! once. Later requests reuse the offset.
//!
//! # Security
//! Only a verified signature's `created` moves the clock: it is signed by a
//! trusted server key and bound to this very request (`;req`), so a man in the
//! middle cannot forge or replay it. The unsigned `Date` header is never used:
//! a proxy shifting it by hours changes nothing. The offset is also bounded
//! ([`DEFAULT_MAX_CORRECTION`], 300 s, the server's default window; see
//! `ClientBuilder::max_clock_correction`): even a trusted key cannot move the
//! signing clock far enough to make this client sign requests that only
//! become fresh hours later — requests someone could hold and replay then. A
//! larger skew is reported ([`ClientError::ClockSkew`](crate::ClientError::ClockSkew))
//! rather than corrected.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use slipgate_client::OffsetClock;
//! use slipgate_proto::clock::{Clock, ManualClock};
//!
//! let clock = OffsetClock::new(Arc::new(ManualClock::at_unix(1_000)));
//! clock.set_offset_millis(-30_000);
//! assert_eq!(clock.unix_seconds(), 970);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use slipgate_proto::clock::Clock;

/// Skew below this is left alone: `created` has one-second resolution and the
/// server's window is minutes wide.
pub const SKEW_THRESHOLD: Duration = Duration::from_secs(5);

/// A clock that reads `base` and adds a correction learned from the server.
#[derive(Debug)]
pub struct OffsetClock {
    base: Arc<dyn Clock>,
    offset_ms: AtomicI64,
}

impl OffsetClock {
    /// `base` with no correction yet.
    pub fn new(base: Arc<dyn Clock>) -> Self {
        Self { base, offset_ms: AtomicI64::new(0) }
    }

    /// The uncorrected clock.
    pub fn base(&self) -> &Arc<dyn Clock> {
        &self.base
    }

    /// The correction in milliseconds (server minus local).
    pub fn offset_millis(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the correction in milliseconds (server minus local).
    pub fn set_offset_millis(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        let now = self.base.now();
        let offset = self.offset_millis();
        let shift = Duration::from_millis(offset.unsigned_abs());
        let shifted = if offset >= 0 { now.checked_add(shift) } else { now.checked_sub(shift) };
        shifted.unwrap_or(now)
    }
}

/// The largest correction applied by default: the server's default window.
pub const DEFAULT_MAX_CORRECTION: Duration = Duration::from_secs(300);

/// What one verified server time says about the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// Within [`SKEW_THRESHOLD`] of the corrected clock: nothing to do.
    InLine,
    /// The new offset (ms), within the bound.
    Corrected(i64),
    /// The offset (ms) it would take, beyond the bound: not applied.
    BeyondBound(i64),
}

/// The server's signed `created` as a time.
pub(crate) fn server_time(created: i64) -> Option<SystemTime> {
    let secs = u64::try_from(created).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The correction that `server` (a verified `created`) asks of a clock now
/// reading `corrected_now` with offset `current_ms`, bounded by `max`.
pub(crate) fn observe(
    current_ms: i64,
    server: SystemTime,
    corrected_now: SystemTime,
    max: Duration,
) -> Observed {
    let Some(extra) = skew_millis(server, corrected_now) else { return Observed::InLine };
    let offset = current_ms.saturating_add(extra);
    if u128::from(offset.unsigned_abs()) > max.as_millis() {
        Observed::BeyondBound(offset)
    } else {
        Observed::Corrected(offset)
    }
}

/// The offset (server minus local, ms) when `server` and `local` differ by
/// more than [`SKEW_THRESHOLD`].
pub(crate) fn skew_millis(server: SystemTime, local: SystemTime) -> Option<i64> {
    let (magnitude, sign) = match server.duration_since(local) {
        Ok(ahead) => (ahead, 1),
        Err(behind) => (behind.duration(), -1),
    };
    if magnitude <= SKEW_THRESHOLD {
        return None;
    }
    i64::try_from(magnitude.as_millis()).ok().map(|ms| sign * ms)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::UNIX_EPOCH;

    use slipgate_proto::clock::ManualClock;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn ignores_skew_within_the_threshold() {
        assert_eq!(skew_millis(at(1_000), at(1_005)), None);
        assert_eq!(skew_millis(at(1_005), at(1_000)), None);
    }

    #[test]
    fn measures_skew_past_the_threshold_in_both_directions() {
        assert_eq!(skew_millis(at(1_600), at(1_000)), Some(600_000));
        assert_eq!(skew_millis(at(1_000), at(1_600)), Some(-600_000));
    }

    #[test]
    fn offset_clock_shifts_its_base_both_ways() {
        let clock = OffsetClock::new(Arc::new(ManualClock::at_unix(10_000)));
        clock.set_offset_millis(600_000);
        assert_eq!(clock.unix_seconds(), 10_600);
        clock.set_offset_millis(-600_000);
        assert_eq!(clock.unix_seconds(), 9_400);
    }

    #[test]
    fn observe_corrects_within_the_bound_and_refuses_beyond_it() {
        let max = Duration::from_secs(300);
        assert_eq!(observe(0, at(1_003), at(1_000), max), Observed::InLine);
        assert_eq!(observe(0, at(1_200), at(1_000), max), Observed::Corrected(200_000));
        assert_eq!(observe(0, at(1_000), at(1_200), max), Observed::Corrected(-200_000));
        assert_eq!(observe(0, at(2_200), at(1_000), max), Observed::BeyondBound(1_200_000));
        // The bound is on the total offset, not on each step.
        assert_eq!(observe(250_000, at(1_100), at(1_000), max), Observed::BeyondBound(350_000));
        assert_eq!(observe(250_000, at(1_000), at(1_100), max), Observed::Corrected(150_000));
    }

    #[test]
    fn server_time_refuses_negative_created() {
        assert_eq!(server_time(784_111_777), Some(at(784_111_777)));
        assert_eq!(server_time(-1), None);
    }
}
