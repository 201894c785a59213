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
//!   API's problem codes.
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
mod error;
mod files;
mod signer;
mod tokens;

pub use api::{Client, Format, Generated, https_client};
pub use error::ClientError;
pub use signer::{KeyFileError, RequestSigner, SignRequestError, load_signing_key};
pub use tokens::{
    Credentials, IdpClient, PUBLIC_CLIENT_ID, Password, Prompt, TokenFile, TokenManager, TokenSet,
};
