//! Brute-force throttling through the real server.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::TestIdp;

/// Tries wrong passwords for `username` until one answers 429; returns the attempt number.
async fn hammer(idp: &TestIdp, username: &str) -> (usize, u64) {
    for attempt in 1..=10 {
        let response = idp
            .http
            .post(idp.url("/oauth/token"))
            .form(&[("grant_type", "password"), ("username", username), ("password", "wrong-guess")])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "slow_down");
            return (attempt, retry_after);
        }
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    panic!("no 429 within 10 attempts");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_while_another_user_can_log_in() {
    let idp = TestIdp::spawn().await;
    let (attempt, retry_after) = hammer(&idp, "alice").await;
    assert_eq!(attempt, 6, "five failures allowed, the sixth attempt is refused");
    assert!(retry_after > 0);
    // Even the right password waits: the lockout is checked before the password.
    let (status, _) = idp.login("alice", &idp.password_of("alice")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    idp.login_ok("paula").await;
    idp.stop().await;
}

#[tokio::test]
async fn lockout_lifts_after_retry_after() {
    let idp = TestIdp::spawn().await;
    let (_, retry_after) = hammer(&idp, "alice").await;
    idp.clock.advance(Duration::from_secs(retry_after));
    idp.login_ok("alice").await;
    idp.stop().await;
}

#[tokio::test]
async fn unknown_usernames_are_throttled_too() {
    let idp = TestIdp::spawn().await;
    let (attempt, _) = hammer(&idp, "nobody").await;
    assert_eq!(attempt, 6);
    idp.stop().await;
}
