//! Denial-of-service defences through the real server.

use std::time::Duration;

use slipgate_test_support::{SEED_BODY, TestApi, tls_connect};
use tokio::io::AsyncWriteExt as _;

use crate::{expect_problem, post_slip};

/// A request whose body never finishes holds its permit; with
/// `max_concurrency = 1` the next request is shed with 503 `overloaded`.
#[tokio::test]
async fn sheds_load_beyond_max_concurrency() {
    let api = TestApi::spawn(&["limits.max_concurrency=1", "limits.request_timeout=20s"]).await;
    let url = reqwest::Url::parse(&api.url("/generate/salaryslip")).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", api.bearer().parse().unwrap());
    api.signer().sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
    let mut head = format!(
        "POST /generate/salaryslip HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
        api.addr,
        SEED_BODY.len()
    );
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut slow = tls_connect(api.addr, &api.ca).await;
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&SEED_BODY.as_bytes()[..10]).await.unwrap();
    slow.flush().await.unwrap();
    // Give the server a moment to route the slow request and take the permit.
    let mut shed = None;
    for _ in 0..50 {
        let response = post_slip(&api, SEED_BODY, &[]).await;
        if response.status() == 503 {
            shed = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = shed.expect("the second request was never shed");
    assert_eq!(response.headers()["retry-after"], "1");
    expect_problem(response, 503, "overloaded").await;
    drop(slow);
    api.stop().await;
}
