//! Integration tests of the API. What the service decides (the signature,
//! validation and error matrices) runs in process through
//! `router(state).oneshot` ([`TestRouter`](slipgate_test_support::TestRouter));
//! what needs a connection (TLS, HTTP/2, timeouts, connection caps, chunked
//! framing, the peer address) runs over a real TLS socket on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod bound;
mod config_layers;
mod console;
mod dos;
mod errors;
mod jwt;
mod mtls;
mod openapi;
mod order;
mod ratelimit;
mod redis_steps;
mod response_sig;
mod signatures;
mod slips;
mod tls;
mod validation;

use slipgate_test_support::{IntoAnswer, TestApi};

/// POSTs `body` as JSON to the slip endpoint, signed, with extra `headers`.
pub async fn post_slip(api: &TestApi, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    api.post_signed(body, headers).await
}

/// Asserts `response` is a problem+json with `status` and `code`; returns the body.
pub async fn expect_problem(response: impl IntoAnswer, status: u16, code: &str) -> serde_json::Value {
    let response = response.into_answer().await;
    assert_eq!(response.status.as_u16(), status, "status");
    let content_type = response.headers.get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let body = slipgate_test_support::json(&response.body);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    let typed: slipgate_proto::ProblemCode = code.parse().unwrap();
    assert_eq!(body["type"], typed.type_uri());
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// The `field`s of a 422's `errors`.
pub fn error_fields(body: &serde_json::Value) -> Vec<String> {
    body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}
