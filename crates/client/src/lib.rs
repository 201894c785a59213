//! The Slipgate client SDK (SPEC §5).
//!
//! - [`RequestSigner`] adds `Content-Digest`, `Signature-Input` and
//!   `Signature` exactly as the API verifies them, with a fresh CSPRNG nonce
//!   and `created` from a [`Clock`](slipgate_proto::clock::Clock);
//!   [`load_signing_key`] reads the key files `slipgate keys new` writes.
//! - [`TokenManager`] logs in with the password grant, keeps tokens in a 0600
//!   [`TokenFile`], refreshes on `token_invalid` and, when that fails, asks a
//!   [`Prompt`] for credentials again.
//! - [`Client`] generates slips, typed errors ([`ClientError`]) mapped from the
//!   API's problem codes. It repairs what it can on its own: an expired token
//!   (refresh, re-prompt), a skewed local clock ([`OffsetClock`], from the
//!   verified response signature's `created`, bounded; never the unsigned
//!   `Date`), rate limits and transient failures ([`RetryPolicy`]:
//!   `Retry-After`, jittered backoff, bounded attempts, never a plain 4xx).
//!   [`Client::builder`] assembles one from a URL, a CA, a key and a token file.
//! - Every answer's signature is verified against trusted response keys
//!   ([`ServerKeys`]): a set named outright, or the API's published set pinned
//!   on first use in a [`PinStore`] (re-pinned after an announced rotation
//!   with [`PinStore::repin`], `slipgate keys pin`).
//!
//! A complete program is `examples/generate_slip.rs`.
//!
//! ```
//! use slipgate_client::RequestSigner;
//! use slipgate_httpsig::SigningKey;
//!
//! let signer = RequestSigner::new("dev-hmac", SigningKey::hmac_sha256(&[1u8; 32]).unwrap());
//! let url = reqwest::Url::parse("https://127.0.0.1:8443/generate/salaryslip").unwrap();
//! let mut headers = http::HeaderMap::new();
//! headers.insert("content-type", "application/json".parse().unwrap());
//! headers.insert("authorization", "Bearer example".parse().unwrap());
//! signer.sign(&http::Method::POST, &url, &mut headers, b"{}").unwrap();
//! assert!(headers.contains_key("signature-input"));
//! ```
//!
//! The SDK never depends on axum or tower-http.

mod api;
pub mod builder;
mod error;
mod files;
pub mod pins;
pub mod response;
mod retry;
mod signer;
pub mod skew;
mod tokens;

pub use api::{Client, Format, Generated, https_client, https_client_mtls};
pub use builder::ClientBuilder;
pub use error::ClientError;
pub use pins::{PinStore, ServerKeys};
pub use retry::RetryPolicy;
/// Reads a [`Password`] (a [`secrecy::SecretString`]).
pub use secrecy::ExposeSecret;
pub use signer::{KeyFileError, RequestSigner, SignRequestError, load_signing_key};
pub use skew::OffsetClock;
pub use tokens::{
    Credentials, IdpClient, PUBLIC_CLIENT_ID, Password, Prompt, TokenFile, TokenManager, TokenSet,
};
