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
async fn metrics_count_requests_by_method_route_and_code() {
    let api = TestApi::spawn(&[]).await;
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    assert_eq!(post_slip(&api, "{", &[]).await.status(), 400);
    let response = reqwest::get(api.admin_url("/metrics")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"slipgate_http_requests_total{method="POST",route="/generate/salaryslip",code="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"slipgate_http_requests_total{method="POST",route="/generate/salaryslip",code="400"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("# TYPE slipgate_http_request_duration_seconds histogram"), "{text}");
    assert!(
        text.contains(r#"slipgate_http_request_duration_seconds_count{method="POST",route="/generate/salaryslip",code="200"} 1"#),
        "{text}"
    );
    // Prometheus conventions: the status is `code`, never `status`.
    assert!(!text.contains("status=\""), "{text}");
    api.stop().await;
}

/// Issue 19: the build, the concurrency in flight against its cap, the
/// introspection cache, the identity server's latency and the log sink.
#[tokio::test]
async fn metrics_show_build_in_flight_cache_and_identity_server_latency() {
    let api = TestApi::spawn(&["limits.max_concurrency=77"]).await;
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    assert_eq!(post_slip(&api, SEED_BODY, &[]).await.status(), 200);
    let text = reqwest::get(api.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(
        text.contains(&format!("slipgate_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert_eq!(value("slipgate_max_concurrency"), 77.0);
    // The scrape itself is in flight while the registry is encoded.
    assert_eq!(value("slipgate_http_requests_in_flight"), 1.0);
    // One token, two requests: one question to the identity server, one cache hit.
    assert_eq!(value("slipgate_introspection_cache_misses_total"), 1.0);
    assert_eq!(value("slipgate_introspection_cache_hits_total"), 1.0);
    assert_eq!(value(r#"slipgate_idp_request_duration_seconds_count{op="introspect"}"#), 1.0);
    assert_eq!(value(r#"slipgate_idp_request_errors_total{op="introspect"}"#), 0.0);
    assert_eq!(value(r#"slipgate_redis_errors_total{op="SET NX"}"#), 0.0);
    assert_eq!(value("slipgate_log_sink_failing"), 0.0);
    assert!(text.contains(r#"slipgate_connections_closed_total{reason="handshake"}"#), "{text}");
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
