//! The rate-limit layer (SPEC §3.3 steps 1 and 8, §3.7): GCRA quotas per
//! client address (`ip`, before any crypto) and per token subject (`user`,
//! after the token layer), with the draft-ietf-httpapi-ratelimit-headers
//! fields on every response:
//! `RateLimit-Policy: "ip";q=600;w=60, "user";q=120;w=60` and
//! `RateLimit: "<policy nearest its limit>";r=<remaining>;t=<seconds>`.
//! A refused request gets 429 `rate_limited` with `Retry-After` and the
//! violated policies in the [`Rejection`](crate::Rejection); a store that
//! cannot decide gets 503 `store_unavailable`. Two layers, [`PerIpLimit`] and
//! [`PerUserLimit`]; the pure decisions are [`gcra::check`] (one request
//! against a stored TAT) and [`policy::check`] (a store's answer as outcome
//! and refusal).
//!
//! ```
//! use std::sync::Arc;
//! use slipgate_guard::ratelimit::{MemoryRateLimitStore, PerIpLimit, PerUserLimit, RateLimits, TrustedProxies};
//! use slipgate_guard::SystemClock;
//!
//! let store = Arc::new(MemoryRateLimitStore::new(1_000_000));
//! let limits = RateLimits { ip: "600/min".parse().unwrap(), user: "120/min".parse().unwrap() };
//! let trusted = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap();
//! // Outermost, before the signature layer:
//! let per_ip = PerIpLimit::new(store.clone(), limits, trusted, Arc::new(SystemClock));
//! // Inside the token layer, which provides `TokenClaims`:
//! let per_user = PerUserLimit::new(store, limits.user, Arc::new(SystemClock));
//! # let _ = (per_ip, per_user);
//! ```
//!
//! # Security
//! Covers: request floods from one address or one account (a burst of N, then
//! N per window), including floods of forged requests, which the per-IP layer
//! refuses before any signature work; `X-Forwarded-For` spoofing (believed only
//! from `trusted_proxies`, read right to left); memory exhaustion by floods of
//! new keys (the memory store is bounded, see [`MemoryRateLimitStore`]); a
//! Redis outage (fail closed, 503, each call bounded by a timeout).
//! Not covered: distributed floods from many addresses (each gets its own
//! quota: put a network-level defence in front), and quotas across instances
//! with the memory store (use [`RedisRateLimitStore`]).

mod client_ip;
pub mod gcra;
mod layer;
pub mod policy;
pub(crate) mod redis;
mod store;

#[cfg(test)]
mod tests;

pub use client_ip::{InvalidProxy, IpRange, MAX_FORWARDED_ENTRIES, TrustedProxies, client_ip};
pub use gcra::{Decision, interval_and_limit};
pub(crate) use layer::UserDecision;
pub use layer::{ClientAddr, Outcomes, PerIpLimit, PerUserLimit, RATELIMIT, RATELIMIT_POLICY, UserNote};
pub use policy::{Outcome, POLICY_IP, POLICY_USER, RateLimits, policy_header, ratelimit_header};
pub use redis::{RATE_LIMIT_PREFIX, RedisRateLimitStore};
pub use store::{MemoryRateLimitStore, RateLimitStore};
