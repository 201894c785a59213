//! Test support for Slipgate, in two halves:
//!
//! - [`fixtures`] (always there, no dependency on the servers): the seed
//!   request, the test keys' material, JSON and PDF readers;
//! - the spawn helpers (feature `spawn`, on by default): a real API
//!   ([`TestApi`]) and identity server ([`idp::TestIdp`]) on `127.0.0.1:0`
//!   with a freshly generated PKI, the API's router in process
//!   ([`TestRouter`], `router(state).oneshot`), TLS clients that trust the
//!   test CA, and a man in the middle ([`mitm`]). A spawned server stops when
//!   its value is dropped, so a failed test leaves nothing running.
//!
//! Test code: panicking on a broken fixture is the desired failure mode.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod fixtures;

#[cfg(feature = "spawn")]
mod api;
#[cfg(feature = "spawn")]
pub mod idp;
#[cfg(feature = "spawn")]
pub mod mitm;
#[cfg(feature = "spawn")]
pub mod router;
#[cfg(feature = "spawn")]
mod tls;

pub use fixtures::{SEED_BODY, TEST_ED25519_ID, TEST_HMAC_ID, TEST_HMAC_SECRET, json, pdftotext};

#[cfg(feature = "spawn")]
pub use api::{TestApi, TestConfig};
#[cfg(feature = "spawn")]
pub use router::{Answer, IntoAnswer, TestRouter};
#[cfg(feature = "spawn")]
pub use tls::{client_tls, client_tls_with_identity, https_client, tls_connect};
