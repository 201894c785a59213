//! The Slipgate identity server (SPEC §4): users, clients, OAuth 2.0 token,
//! introspection and revocation endpoints.
//!
//! Not implemented yet: this crate marks the boundary so that the API and the
//! client never grow a dependency on it. The identity-server issue fills it in.
