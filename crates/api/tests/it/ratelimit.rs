//! Rate limits (SPEC §3.7) through the real server.

use slipgate_test_support::{SEED_BODY, TestApi};

use crate::{expect_problem, post_slip};

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn rejections(api: &TestApi, code: &str) -> u64 {
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    let prefix = format!("slipgate_rejections_total{{code=\"{code}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn sixth_request_under_a_five_per_minute_user_policy_is_429() {
    let api = TestApi::spawn(&["rate_limit.user=5/min"]).await;
    for i in 0..5 {
        let ok = post_slip(&api, SEED_BODY, &[]).await;
        assert_eq!(ok.status(), 200, "request {i}");
        assert_eq!(header(&ok, "ratelimit-policy"), r#""ip";q=600;w=60, "user";q=5;w=60"#);
        assert!(
            header(&ok, "ratelimit").starts_with(&format!(r#""user";r={};t="#, 4 - i)),
            "{}",
            header(&ok, "ratelimit")
        );
    }
    let refused = post_slip(&api, SEED_BODY, &[]).await;
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=12).contains(&retry_after), "Retry-After {retry_after}");
    assert!(header(&refused, "ratelimit").starts_with(r#""user";r=0;t="#));
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "https://iana.org/assignments/http-problem-types#quota-exceeded");
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["violated-policies"], serde_json::json!(["user"]));
    api.stop().await;
}

/// SPEC §3.3 step 1: the per-IP limit stops a flood before any signature work.
#[tokio::test]
async fn ip_policy_stops_a_flood_before_signature_verification() {
    let api = TestApi::spawn(&["rate_limit.ip=5/min"]).await;
    let forger = slipgate_client::RequestSigner::new(
        slipgate_test_support::TEST_HMAC_ID,
        slipgate_httpsig::SigningKey::hmac_sha256(&[0x66; 32]).unwrap(),
    );
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses
            .push(api.send_signed(&forger, "/generate/salaryslip", SEED_BODY, &[]).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15, "{statuses:?}");
    // Exactly five signatures were verified (and failed); the other fifteen never reached the check.
    assert_eq!(rejections(&api, "signature_invalid").await, 5);
    assert_eq!(rejections(&api, "rate_limited").await, 15);
    api.stop().await;
}

#[tokio::test]
async fn spoofed_forwarded_for_is_ignored_from_an_untrusted_peer() {
    let api = TestApi::spawn(&["rate_limit.ip=3/min"]).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let xff = format!("203.0.113.{i}");
        statuses
            .push(post_slip(&api, SEED_BODY, &[("x-forwarded-for", xff.as_str())]).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    api.stop().await;
}

#[tokio::test]
async fn forwarded_for_counts_from_a_trusted_proxy() {
    let api = TestApi::spawn(&["rate_limit.ip=3/min", r#"rate_limit.trusted_proxies=["127.0.0.1"]"#]).await;
    for i in 0..6 {
        let xff = format!("203.0.113.{i}");
        let response = post_slip(&api, SEED_BODY, &[("x-forwarded-for", xff.as_str())]).await;
        assert_eq!(response.status(), 200, "client {xff} has its own quota");
    }
    api.stop().await;
}

#[tokio::test]
async fn bad_signatures_do_not_consume_the_users_quota() {
    let api = TestApi::spawn(&["rate_limit.user=2/min"]).await;
    let forger = slipgate_client::RequestSigner::new(
        slipgate_test_support::TEST_HMAC_ID,
        slipgate_httpsig::SigningKey::hmac_sha256(&[0x77; 32]).unwrap(),
    );
    let auth = api.bearer();
    for _ in 0..5 {
        let r = api
            .send_signed(&forger, "/generate/salaryslip", SEED_BODY, &[("authorization", auth.as_str())])
            .await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    expect_problem(post_slip(&api, SEED_BODY, &[]).await, 429, "rate_limited").await;
    api.stop().await;
}

#[tokio::test]
async fn unreachable_redis_fails_closed_with_store_unavailable() {
    let api = TestApi::spawn(&["rate_limit.store=redis", "redis.url=redis://127.0.0.1:1/0"]).await;
    expect_problem(post_slip(&api, SEED_BODY, &[]).await, 503, "store_unavailable").await;
    let ready = reqwest::get(api.admin_url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    // Issue 19: the outage is on /metrics, by the round trip that failed.
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    let errors = |op: &str| -> f64 {
        let series = format!("slipgate_redis_errors_total{{op=\"{op}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&series)?.parse().ok()).unwrap_or_else(|| panic!("{text}"))
    };
    assert_eq!(errors("rate-limit script"), 1.0, "{text}");
    assert_eq!(errors("PING"), 1.0, "the readiness probe: {text}");
    assert!(
        text.contains(r#"slipgate_redis_command_duration_seconds_count{op="rate-limit script"} 1"#),
        "{text}"
    );
    api.stop().await;
}
