//! Request-shape errors of SPEC §3.6 with problem+json bodies: a table run
//! in process (`router(state).oneshot`), and over a real socket the one case
//! that needs HTTP framing (a chunked body without a declared length).

use http::{HeaderMap, Method};
use slipgate_test_support::{SEED_BODY, TestApi, TestRouter};

use crate::expect_problem;

/// How a case's request is made.
enum Sent {
    /// Exactly these headers and body, unsigned (the check fails before the signature).
    Plain(Method, &'static str, &'static [(&'static str, &'static str)], &'static str),
    /// A signed slip request as paula with these extra headers.
    Signed(&'static str, &'static [(&'static str, &'static str)]),
}

/// `(case, request, status, code)`.
fn problem_cases() -> Vec<(&'static str, Sent, u16, &'static str)> {
    vec![
        ("unknown_path_is_404", Sent::Plain(Method::POST, "/generate/payslip", &[], ""), 404, "not_found"),
        (
            "wrong_method_is_405_with_allow",
            Sent::Plain(Method::GET, "/generate/salaryslip", &[], ""),
            405,
            "method_not_allowed",
        ),
        (
            "unacceptable_accept_is_406",
            Sent::Signed(SEED_BODY, &[("accept", "text/html")]),
            406,
            "not_acceptable",
        ),
        (
            "non_json_content_type_is_415",
            Sent::Plain(Method::POST, "/generate/salaryslip", &[("content-type", "text/plain")], SEED_BODY),
            415,
            "unsupported_media_type",
        ),
        (
            "query_string_is_400",
            Sent::Plain(
                Method::POST,
                "/generate/salaryslip?debug=1",
                &[("content-type", "application/json")],
                SEED_BODY,
            ),
            400,
            "bad_request",
        ),
    ]
}

async fn send(router: &TestRouter, sent: &Sent) -> slipgate_test_support::Answer {
    match sent {
        Sent::Plain(method, path, headers, body) => {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.insert(*name, value.parse().unwrap());
            }
            router.send(method.clone(), path, map, *body).await
        }
        Sent::Signed(body, extra) => router.post_signed(body, extra).await,
    }
}

#[tokio::test]
async fn error_matrix() {
    let router = TestRouter::new(&[]).await;
    for (name, sent, status, code) in problem_cases() {
        let answer = send(&router, &sent).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.text());
        if name == "wrong_method_is_405_with_allow" {
            assert_eq!(answer.headers["allow"], "POST");
        }
        assert_eq!(answer.json()["code"], code, "{name}");
        expect_problem(answer, status, code).await;
    }
    // json_content_type_with_charset_is_accepted
    let answer = router.post_signed(SEED_BODY, &[("content-type", "application/json; charset=utf-8")]).await;
    assert_eq!(answer.status, 200, "json_content_type_with_charset_is_accepted: {}", answer.text());
    // problems_never_echo_submitted_values
    // `Zq` is not hex: the random request id cannot contain the marker by chance.
    let body = SEED_BODY.replace("John Doe", "Secret Zq4242<b>");
    let text = router.post_signed(&body, &[]).await.text();
    assert!(!text.contains("Zq4242"), "problems_never_echo_submitted_values: {text}");
    router.stop().await;
}

#[tokio::test]
async fn declared_oversized_body_is_413() {
    let router = TestRouter::new(&["limits.max_body=1KiB"]).await;
    let body = SEED_BODY.replace("John Doe", &"a".repeat(2000));
    expect_problem(router.post_signed(&body, &[]).await, 413, "payload_too_large").await;
    router.stop().await;
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
