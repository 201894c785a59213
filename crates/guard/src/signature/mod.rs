//! The signature and replay layer (SPEC §3.2–§3.3, steps 3–6).
//!
//! Each step is a pure function named `check` in its module: [`head::check`]
//! (step 3: one field one line ([`lines::check`]), parse, key lookup,
//! [`freshness::check`]), [`body::check`] (steps 4–5: digest, then signature),
//! and for key-bound requests [`bound::check`] (step 3 without a key lookup).
//! [`SignatureLayer`] reads the body once, runs them, then spends the nonce
//! (step 6); the body reaches the handler as [`VerifiedBody`].
//!
//! Every request must carry an RFC 9421 signature over at least `@method`,
//! `@path`, `@authority`, `content-type`, `content-digest` and `authorization`,
//! with `created`, `keyid` and a `nonce`; the body must match its RFC 9530
//! `Content-Digest`. The checks run cheapest first: header parsing, key
//! lookup and freshness before the body is read; digest and signature after;
//! the nonce is recorded last, so only correctly signed requests reach the
//! store. What passed reaches the handler as [`VerifiedKey`] and
//! [`VerifiedBody`] extensions.
//!
//! A request presenting a key-bound token (`Authorization: HTTPSig`, SPEC
//! §3.2.1) takes another order, given the token validator
//! ([`SignatureLayer::with_bound_tokens`]): the one signature tagged
//! `httpsig-oauth` is checked without a key lookup (no `keyid`, `alg` or `pub`;
//! [`BOUND_REQUIRED`] covered; fresh), then the token must be valid and carry
//! `cnf.htsk`, then the digest and the signature are checked with that key,
//! and the nonce is spent under [`bound_replay_key`] (the key's RFC 7638
//! thumbprint). The validated claims go on to the token layer; every refusal
//! challenges `WWW-Authenticate: HTTPSig`.
//!
//! ```
//! use std::sync::Arc;
//! use slipgate_guard::replay::MemoryNonceStore;
//! use slipgate_guard::signature::{KeyRing, SignatureLayer, SignaturePolicy};
//! use slipgate_guard::SystemClock;
//! use slipgate_httpsig::VerifyingKey;
//!
//! let mut keys = KeyRing::new();
//! keys.insert("dev-hmac", VerifyingKey::hmac_sha256(&[7u8; 32]).unwrap()).unwrap();
//! let layer = SignatureLayer::new(Arc::new(keys), Arc::new(MemoryNonceStore::new(16 << 20)), Arc::new(SystemClock))
//!     .with_policy(SignaturePolicy::new().with_max_skew(std::time::Duration::from_secs(300)));
//! # let _ = layer;
//! ```
//!
//! # Security
//! Covers: body tampering (digest), header and target tampering (covered
//! components), forged signatures (constant-time HMAC compare, fixed-length
//! ECDSA r‖s, Ed25519), algorithm confusion (the algorithm comes from the key
//! registry; a differing `alg` is refused), stale and future-dated requests
//! (two-sided window), and replays (single-use nonces kept until `created + max_skew`).
//! A stolen key-bound token is worth nothing without its device's private key,
//! and forged or unbound tokens never reach the nonce store.
//! Not covered: a stolen signing key (rotate it: several keys may be live), and
//! replays across instances with the memory store (use the Redis store).

pub mod body;
pub mod bound;
pub mod freshness;
pub mod head;
mod keys;
mod layer;
pub mod lines;
mod policy;

#[cfg(test)]
mod bound_tests;
#[cfg(test)]
mod tests;

pub use bound::{BOUND_REPLAY_PREFIX, BOUND_REQUIRED, BoundHead, bound_replay_key, is_httpsig};
pub use head::HeadChecked;
pub use keys::{DuplicateKeyId, KeyResolver, KeyRing, VerifiedKey};
pub use layer::{SignatureLayer, VerifiedBody};
pub use lines::SINGLETON_FIELDS;
pub use policy::{DEFAULT_REQUIRED, SignaturePolicy};
