//! The Slipgate client SDK (SPEC §5).
//!
//! Today: [`RequestSigner`], which adds `Content-Digest`, `Signature-Input`
//! and `Signature` to a request exactly as the API verifies them, with a fresh
//! CSPRNG nonce and `created` from a [`Clock`](slipgate_proto::clock::Clock);
//! and [`load_signing_key`] for the key files `slipgate keys new` writes.
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

mod signer;

pub use signer::{KeyFileError, RequestSigner, SignRequestError, load_signing_key};
