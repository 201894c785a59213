//! RFC 9421 HTTP Message Signatures and RFC 9530 `Content-Digest`, as pure functions.
//!
//! This crate does no I/O and never reads the clock: callers pass everything in (the message,
//! the keys, and — for freshness checks they make themselves — `now` as unix seconds). It is shared
//! by the server's signature layer (`slipgate-guard`) and the client signer (`slipgate-client`);
//! the wire protocol it implements is SPEC §3.2 and §3.8.
//!
//! The pieces, in the order a verifier uses them:
//!
//! 1. [`params::parse_signature_headers`] parses `Signature-Input` and `Signature` (bounded:
//!    header length, member and component counts, nonce form) and selects the *first*
//!    `Signature-Input` member, as SPEC §3.2 requires.
//! 2. The caller checks policy: required components ([`params::SignatureParams::covers`]),
//!    `created` / `expires` freshness, `keyid` lookup, nonce replay.
//! 3. [`digest::verify_content_digest`] recomputes the RFC 9530 digest over the received body.
//! 4. [`base::signature_base`] rebuilds the RFC 9421 §2.5 signature base from the message.
//! 5. [`sign::verify_signature`] checks the `alg` parameter against the key and verifies in
//!    constant time (HMAC) or with the public key (ECDSA P-256 r‖s, Ed25519).
//!
//! A signer calls [`digest::content_digest`] and [`sign::sign_message`].
//!
//! Key-bound tokens (SPEC §3.2.1, §4) add [`binding`]: raw public keys for the `pub` parameter,
//! RFC 7638 thumbprints and the `cnf.htsk` claim; a server rebuilds `@target-uri` from a
//! [`received::ReceivedRequest`].
//!
//! ```
//! use slipgate_httpsig::{
//!     base::{signature_base, Message},
//!     digest::{content_digest, verify_content_digest, DigestAlgorithm},
//!     keys::{Algorithm, SigningKey},
//!     params::{parse_signature_headers, Component},
//!     sign::{sign_message, verify_signature, SignParams},
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let body = br#"{"emp_id":"01234"}"#;
//! let msg = Message::request("POST", "https://api.example/generate/salaryslip")?
//!     .with_header("content-type", "application/json")
//!     .with_header("content-digest", &content_digest(DigestAlgorithm::Sha256, body));
//! let components = ["@method", "@path", "@authority", "content-type", "content-digest"]
//!     .map(Component::field_or_derived);
//! let key = SigningKey::hmac_sha256(&[7u8; 32])?;
//! let params = SignParams::new("sig1")
//!     .created(1_767_225_600)
//!     .nonce("q4Kj2dVbX8mNcP1a")
//!     .keyid("dev-hmac")
//!     .with_alg();
//! let signed = sign_message(&msg, None::<&Message>, &components, &params, &key)?;
//!
//! // Receiver side.
//! let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature))?;
//! verify_content_digest(msg.header("content-digest").as_deref(), body)?;
//! let base = signature_base(&parsed.params, &msg, None::<&Message>)?;
//! verify_signature(&parsed.params, &parsed.signature, &base, &key.verifying_key())?;
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! Covered: tampering with covered components and the body (through a covered `Content-Digest`),
//! algorithm confusion (the algorithm comes from the key, an `alg` parameter must match it), timing
//! side channels on HMAC tags and digests (constant-time comparison), parser abuse (bounded input,
//! no panics). Secrets are wrapped so their `Debug` prints `[redacted]`.
//!
//! Not covered here: replay and freshness (the caller owns the clock and the nonce store), key
//! lookup and rotation, and which components a deployment requires.

pub mod base;
pub mod binding;
pub mod digest;
pub mod jose;
pub mod keys;
pub mod params;
pub mod received;
pub mod sign;

/// Largest `Signature-Input` or `Signature` field value accepted, in bytes.
pub const MAX_FIELD_LEN: usize = 8 * 1024;
/// Largest `Content-Digest` field value accepted, in bytes.
pub const MAX_DIGEST_FIELD_LEN: usize = 2 * 1024;
/// Most dictionary members accepted in a parsed field.
pub const MAX_MEMBERS: usize = 32;
/// Most covered components accepted in one signature.
pub const MAX_COMPONENTS: usize = 32;
/// Shortest nonce accepted (SPEC §3.2).
pub const MIN_NONCE_LEN: usize = 8;
/// Longest nonce accepted (SPEC §3.2).
pub const MAX_NONCE_LEN: usize = 128;

pub use base::{BaseError, HttpMessage, Message, signature_base};
pub use binding::{BoundKey, Confirmation, Htsk, RawKeyError};
pub use digest::{DigestAlgorithm, DigestError, content_digest, verify_content_digest};
pub use keys::{Algorithm, KeyError, SecretBytes, SigningKey, VerifyError, VerifyingKey, to_pem};
pub use params::{
    Component, ParseError, ParsedSignature, SignatureParams, parse_signature_header_map,
    parse_signature_headers,
};
pub use sign::{SignError, SignParams, SignedHeaders, sign_message, verify_signature};
