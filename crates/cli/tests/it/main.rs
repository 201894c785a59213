//! End-to-end tests of the `slipgate` binary as a user runs it, and of the SDK
//! against real servers (`sdk`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod attacks;
mod batch;
mod bench;
mod client;
mod dev;
mod docs_config;
mod docs_examples;
mod packaging;
mod scaleout;
mod sdk;
