//! Tower layers that guard the Slipgate API (SPEC §3.3).
//!
//! This crate grows one folder per concern: the signature and replay layer, the
//! token layer and the rate-limit layer, each with a pure `check` function and
//! pluggable stores. What exists today is the shared notion of time every one of
//! them reads through: [`Clock`].
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use slipgate_guard::{Clock, ManualClock};
//!
//! let clock = ManualClock::at_unix(1_767_225_600);
//! clock.advance(Duration::from_secs(300));
//! assert_eq!(clock.unix_seconds(), 1_767_225_900);
//! assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_767_225_900));
//! ```

mod clock;

pub use clock::{Clock, ManualClock, SystemClock};
