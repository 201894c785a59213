//! Clock-skew correction (SPEC §3.2 freshness).
//!
//! The API refuses a signature whose `created` lies more than `max_skew`
//! (300 s by default) from its own clock with `401 request_expired`. A client
//! machine whose clock is off would then fail every request. When that
//! answer carries a `Date` header more than [`SKEW_THRESHOLD`] away from the
//! local clock, [`Client`](crate::Client) logs a warning, records the offset in
//! its [`OffsetClock`] and signs again once; later requests reuse the offset.
//!
//! This trusts the server's `Date` only to *shift the signing time*: a forged
//! `Date` can at worst make this client's own requests fail freshness.
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

/// Skew below this is left alone: `Date` has one-second resolution and the
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

/// The server's `Date` header, if present and valid (RFC 9110 §5.6.7).
pub(crate) fn server_date(headers: &http::HeaderMap) -> Option<SystemTime> {
    let value = headers.get(http::header::DATE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
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
    fn parses_the_date_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::DATE, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(server_date(&headers), Some(at(784_111_777)));
        headers.insert(http::header::DATE, "yesterday".parse().unwrap());
        assert_eq!(server_date(&headers), None);
    }
}
