//! The admin listener: health, readiness, metrics.

use slipgate_test_support::{SEED_BODY, TestApi};

use crate::post_slip;

#[tokio::test]
async fn healthz_and_readyz_answer_on_plain_http() {
    let api = TestApi::spawn(&[]).await;
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let response = client.get(api.admin_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    api.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let api = TestApi::spawn(&[]).await;
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    assert_eq!(post_slip(&api, "{", &[]).await.status(), 400);
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"slipgate_http_requests_total{route="/generate/salaryslip",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"slipgate_http_requests_total{route="/generate/salaryslip",status="400"} 1"#),
        "{text}"
    );
    assert!(text.contains("slipgate_http_request_duration_seconds_bucket"), "{text}");
    api.stop().await;
}

/// Issue 16: the memory nonce store's fill level is on `/metrics`.
#[tokio::test]
async fn metrics_show_the_nonce_store_fill_level() {
    let api = TestApi::spawn(&["replay.max_memory=\"8MiB\""]).await;
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("# TYPE slipgate_nonce_store_bytes gauge"), "{text}");
    assert!(text.contains(&format!("slipgate_nonce_store_capacity_bytes {}", 8 << 20)), "{text}");
    assert!(text.contains("slipgate_nonce_store_entries 1\n"), "{text}");
    let bytes: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("slipgate_nonce_store_bytes "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(bytes > 0 && bytes < 8 << 20, "{bytes}");
    api.stop().await;
}

#[tokio::test]
async fn admin_routes_are_not_on_the_api_listener() {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().get(api.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    api.stop().await;
}

#[tokio::test]
async fn readyz_reports_an_unreachable_identity_server() {
    let mut api = TestApi::spawn(&[]).await;
    let client = reqwest::Client::new();
    let ready = client.get(api.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    api.idp.halt().await;
    let not_ready = client.get(api.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.unwrap();
    assert_eq!(body["checks"]["identity_server"]["ok"], false, "{body}");
    api.stop().await;
}

#[tokio::test]
async fn metrics_count_refusals_by_problem_code() {
    let api = TestApi::spawn(&[]).await;
    let unsigned = api
        .client()
        .post(api.url("/generate/salaryslip"))
        .header("content-type", "application/json")
        .body(SEED_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"slipgate_rejections_total{code="signature_missing"} 1"#), "{text}");
    api.stop().await;
}
