//! Tower layers that guard the Slipgate API (SPEC §3.3).
//!
//! One folder per concern, each with a pure `check` function and pluggable
//! stores: the signature layer with its nonce stores ([`replay`]), the token
//! layer and the rate-limit layer (the connection-level defences live in
//! `slipgate-transport`). What the stores share is at the root: [`StoreError`]
//! and the Redis connection ([`RedisConnection`]). Every
//! decision reads time through [`Clock`] (defined in `slipgate-proto`, re-exported here).
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

pub mod metrics;
pub mod ratelimit;
pub mod redis;
mod rejection;
pub mod replay;
pub mod signature;
mod store;
pub mod token;

pub use self::redis::{DEFAULT_REDIS_CONNECT_TIMEOUT, DEFAULT_REDIS_TIMEOUT, RedisConnection};
pub use rejection::Rejection;
pub use store::StoreError;

pub use slipgate_proto::clock::{Clock, ManualClock, SystemClock};
