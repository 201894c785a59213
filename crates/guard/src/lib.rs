//! Tower layers that guard the Slipgate API (SPEC §3.3).
//!
//! One folder per concern, each with pure decisions named `check` and
//! pluggable stores: the signature layer with its nonce stores ([`replay`]),
//! the token and scope layers ([`token`]) and the two rate-limit layers
//! ([`ratelimit`]); the connection-level defences live in
//! `slipgate-transport`. Every layer has one shape: a [`Guard`] that admits or
//! refuses a request, run by the generic [`Guarded`] service over any body
//! type; every refusal is one type, [`Rejection`], which the server renders.
//! In SPEC order: [`ratelimit::PerIpLimit`] (step 1), then, after the
//! server's own shedding and shape checks, [`signature::SignatureLayer`]
//! (3–6), [`token::TokenLayer`] (7), [`ratelimit::PerUserLimit`] (8) and
//! [`token::ScopeLayer`] (9). What the stores share is at the root: [`StoreError`]
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

mod guarded;
pub mod metrics;
pub mod ratelimit;
pub mod redis;
mod rejection;
pub mod replay;
pub mod signature;
mod store;
pub mod token;

pub use self::redis::{DEFAULT_REDIS_CONNECT_TIMEOUT, DEFAULT_REDIS_TIMEOUT, RedisConnection};
pub use guarded::{Chain, Guard, Guarded};
pub use rejection::Rejection;
pub use store::StoreError;

pub use slipgate_proto::clock::{Clock, ManualClock, SystemClock};
