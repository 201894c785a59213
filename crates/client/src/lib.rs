//! The Slipgate client SDK (SPEC §5).
//!
//! - [`RequestSigner`] adds `Content-Digest`, `Signature-Input` and
//!   `Signature` exactly as the API verifies them, with a fresh CSPRNG nonce
//!   and `created` from a [`Clock`](slipgate_proto::clock::Clock): with a
//!   registry key (`keyid`, `Bearer` token; [`load_signing_key`] reads the key
//!   files `slipgate keys new` writes) or with a [`DeviceKey`] presenting a
//!   token bound to it (`Authorization: HTTPSig`, SPEC §3.2.1).
//! - [`DeviceKey`]: the client's own Ed25519 key (PKCS#8 PEM, 0600 in a 0700
//!   directory). [`IdpClient::with_device_key`] signs the token requests with
//!   it (SPEC §4), so the identity server binds the tokens to it: a stolen
//!   token is useless without this key.
//! - [`TokenManager`] logs in with the password grant, keeps tokens in a 0600
//!   [`TokenFile`], refreshes on `token_invalid` (signed by the same device
//!   key) and, when that fails, asks a [`Prompt`] for credentials again;
//!   [`TokenManager::logout`] revokes the session (RFC 7009) and deletes the
//!   token file and the device key.
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
//! - Failures name their cause: [`ClientError::Refused`] (retried),
//!   [`ClientError::UnknownHost`] and [`ClientError::TlsVerification`] (with
//!   the certificate's issuer and the CA file checked against; not retried),
//!   [`ClientError::InvalidUrl`] before any connection ([`origin`]), and
//!   [`ClientError::WrongService`] when the identity server's URL is used as
//!   the API's or the reverse.
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
mod connect;
pub mod device;
mod error;
mod files;
mod idp;
pub mod origin;
pub mod pins;
pub mod response;
mod retry;
mod signer;
pub mod skew;
mod tls;
mod tokens;

pub use api::{Client, Format, Generated, https_client, https_client_mtls};
pub use builder::ClientBuilder;
pub use device::DeviceKey;
pub use error::ClientError;
pub use idp::IdpClient;
pub use pins::{PinStore, ServerKeys};
pub use retry::RetryPolicy;
/// Reads a [`Password`] (a [`secrecy::SecretString`]).
pub use secrecy::ExposeSecret;
pub use signer::{
    BOUND_COMPONENTS, COMPONENTS, KeyFileError, RequestSigner, SignRequestError, TOKEN_REQUEST_COMPONENTS,
    load_signing_key, sign_token_request,
};
pub use skew::OffsetClock;
pub use tokens::{
    Credentials, Logout, PUBLIC_CLIENT_ID, Password, Prompt, PromptReason, Revocation, TokenFile,
    TokenManager, TokenSet,
};
