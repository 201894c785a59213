//! Integration tests of the identity server: the store suite against SQLite and
//! PostgreSQL, and the OAuth endpoints through a real TLS server on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorize;
mod binding;
mod endpoints;
mod jwt;
mod keys;
mod records;
mod sessions;
mod store_suite;
mod support;
mod throttling;
