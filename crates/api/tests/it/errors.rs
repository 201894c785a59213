//! Request-shape errors of SPEC §3.6 with problem+json bodies.

use slipgate_test_support::{SEED_BODY, TestApi};

use crate::{expect_problem, post_slip};

#[tokio::test]
async fn unknown_path_is_404() {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().post(api.url("/generate/payslip")).send().await.unwrap();
    expect_problem(response, 404, "not_found").await;
    api.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().get(api.url("/generate/salaryslip")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    expect_problem(response, 405, "method_not_allowed").await;
    api.stop().await;
}

#[tokio::test]
async fn unacceptable_accept_is_406() {
    let api = TestApi::spawn(&[]).await;
    let response = post_slip(&api, SEED_BODY, &[("accept", "text/html")]).await;
    expect_problem(response, 406, "not_acceptable").await;
    api.stop().await;
}

#[tokio::test]
async fn declared_oversized_body_is_413() {
    let api = TestApi::spawn(&["limits.max_body=1KiB"]).await;
    let body = SEED_BODY.replace("John Doe", &"a".repeat(2000));
    expect_problem(post_slip(&api, &body, &[]).await, 413, "payload_too_large").await;
    api.stop().await;
}

#[tokio::test]
async fn chunked_oversized_body_is_413() {
    let api = TestApi::spawn(&["limits.max_body=1KiB"]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![b' '; 512])).collect();
    let url = reqwest::Url::parse(&api.url("/generate/salaryslip")).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", api.bearer().parse().unwrap());
    api.signer().sign(&http::Method::POST, &url, &mut headers, &[b' '; 4096]).unwrap();
    let response = api
        .client()
        .post(url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
        .send()
        .await
        .unwrap();
    expect_problem(response, 413, "payload_too_large").await;
    api.stop().await;
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::iter(chunks)
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let api = TestApi::spawn(&[]).await;
    let response = api
        .client()
        .post(api.url("/generate/salaryslip"))
        .header("content-type", "text/plain")
        .body(SEED_BODY)
        .send()
        .await
        .unwrap();
    expect_problem(response, 415, "unsupported_media_type").await;
    api.stop().await;
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let api = TestApi::spawn(&[]).await;
    let response = post_slip(&api, SEED_BODY, &[("content-type", "application/json; charset=utf-8")]).await;
    assert_eq!(response.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn query_string_is_400() {
    let api = TestApi::spawn(&[]).await;
    let response = api
        .client()
        .post(api.url("/generate/salaryslip?debug=1"))
        .header("content-type", "application/json")
        .body(SEED_BODY)
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "bad_request").await;
    api.stop().await;
}

#[tokio::test]
async fn problems_never_echo_submitted_values() {
    let api = TestApi::spawn(&[]).await;
    let body = SEED_BODY.replace("John Doe", "Secret 4242<b>");
    let response = post_slip(&api, &body, &[]).await;
    let text = response.text().await.unwrap();
    assert!(!text.contains("4242"), "{text}");
    api.stop().await;
}
