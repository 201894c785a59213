//! The Slipgate client SDK (SPEC §5): a signing HTTP client with token
//! management.
//!
//! Not implemented yet beyond this boundary; the signature and client issues
//! fill it in. It must never depend on axum or tower-http.
