//! Structured logs on stderr: see [`slipgate_api::logging`].

pub use slipgate_api::logging::init;
