//! The web console's static files (SPEC §8) through the real TLS listener: the exact CSP,
//! the security headers, hashed long-cached assets, no cookies, no guard stack.

use slipgate_test_support::TestApi;

const CSP_PREFIX: &str = "default-src 'self'; connect-src 'self' https://";
const CSP_SUFFIX: &str = "; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

fn asset_paths(html: &str) -> Vec<String> {
    html.split("\"/console/assets/")
        .skip(1)
        .map(|rest| format!("/console/assets/{}", rest.split('"').next().unwrap()))
        .collect()
}

fn security_headers(headers: &reqwest::header::HeaderMap) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with(CSP_PREFIX) && csp.ends_with(CSP_SUFFIX), "{csp}");
    assert!(!csp.contains('*'), "{csp}");
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn the_console_page_carries_the_csp_and_names_hashed_assets() {
    let api = TestApi::spawn(&[]).await;
    for path in ["/console/", "/console/callback?code=x&state=y"] {
        let response = api.client().get(api.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        security_headers(response.headers());
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        // Static files are not API answers: no response signature, no rate-limit headers.
        assert!(response.headers().get("signature").is_none());
        let html = response.text().await.unwrap();
        assert!(!html.contains("{{"), "placeholders filled");
        assert!(!html.contains("<script>"), "no inline script");
        assert_eq!(asset_paths(&html).len(), 3, "{html}");
    }
    let redirect = api.client().get(api.url("/console")).send().await.unwrap();
    assert_eq!(redirect.url().path(), "/console/", "/console redirects to /console/");
    api.stop().await;
}

#[tokio::test]
async fn assets_are_immutable_under_their_content_hash_and_nothing_else_is_served() {
    let api = TestApi::spawn(&[]).await;
    let html = api.client().get(api.url("/console/")).send().await.unwrap().text().await.unwrap();
    for path in asset_paths(&html) {
        let response = api.client().get(api.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        security_headers(response.headers());
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            kind.starts_with(if path.ends_with(".js") { "text/javascript" } else { "text/css" }),
            "{kind}"
        );
        // The name's hash is the content's: a changed file gets a new name.
        let bytes = response.bytes().await.unwrap();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
        let hex: String = digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert!(path.contains(&format!(".{hex}.")), "{path} vs {hex}");
    }
    // Unhashed names, wrong hashes, traversal and other files are 404.
    for path in [
        "/console/assets/app.js",
        "/console/assets/app.0000000000000000.js",
        "/console/assets/..%2f..%2fCargo.toml",
        "/console/index.html",
        "/console/app.js",
    ] {
        let response = api.client().get(api.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    api.stop().await;
}

#[tokio::test]
async fn the_api_keeps_its_own_headers_next_to_the_console() {
    let api = TestApi::spawn(&[]).await;
    let response = api.client().get(api.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().get("signature").is_some(), "API answers stay signed");
    assert!(response.headers().get("content-security-policy").is_none());
    // The console's routes are GET only.
    let post = api.client().post(api.url("/console/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    api.stop().await;
}
