//! The web console's static files (SPEC §8): `GET /console/` (and `/console/callback`, where
//! the identity server sends the browser back) answer `index.html`; its script and style sheet
//! are served under names that carry their content hash, `/console/assets/app.<hash>.js`.
//!
//! The files are compiled into the binary (`include_bytes!` of the repository's `console/`),
//! so a fresh build serves the console without Node or any download. The hashed names are
//! computed once at start and written into `index.html`, with the identity server's origin for
//! the page's `connect-src`.
//!
//! These routes sit outside the API's guard stack (no signature, token or rate-limit layers and
//! no response signature — SPEC §3.8 exempts them), but every answer carries the security
//! headers: the exact Content-Security-Policy of SPEC §8, HSTS, `nosniff`,
//! `Referrer-Policy: no-referrer` (the callback URL holds the code), `X-Frame-Options: DENY`
//! and `Cross-Origin-Opener-Policy: same-origin`. Assets are cached for a year (`immutable`:
//! a changed file has a new name); `index.html` is `no-cache`, so a new build is picked up at
//! once. No answer sets a cookie.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// An embedded file: its source name, its bytes and its media type.
struct Source {
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

const INDEX: &[u8] = include_bytes!("../../../../console/index.html");
const SOURCES: [Source; 3] = [
    Source {
        name: "app.js",
        bytes: include_bytes!("../../../../console/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Source {
        name: "sig.js",
        bytes: include_bytes!("../../../../console/sig.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Source {
        name: "style.css",
        bytes: include_bytes!("../../../../console/style.css"),
        content_type: "text/css; charset=utf-8",
    },
];

/// An asset under its hashed name.
#[derive(Debug)]
struct Asset {
    hashed: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

/// The console as served: `index.html` with the hashed names filled in, and the assets.
#[derive(Debug)]
pub struct Console {
    index: bytes::Bytes,
    assets: Vec<Asset>,
    csp: HeaderValue,
}

impl Console {
    /// The console for an identity server at `idp_url` (its origin is what the page may
    /// connect to besides its own); `None` leaves the page only `'self'`.
    #[must_use]
    pub fn new(idp_url: Option<&str>) -> Self {
        let idp_origin = idp_url.and_then(origin_of).unwrap_or_default();
        let mut index = String::from_utf8_lossy(INDEX).into_owned();
        let mut assets = Vec::new();
        for source in &SOURCES {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, source.bytes);
            let mut hex = String::new();
            for b in hash.as_ref().iter().take(8) {
                let _ = write!(hex, "{b:02x}");
            }
            let (stem, ext) = source.name.rsplit_once('.').unwrap_or((source.name, ""));
            let hashed = format!("{stem}.{hex}.{ext}");
            index = index.replace(&format!("{{{{{}}}}}", source.name), &format!("/console/assets/{hashed}"));
            assets.push(Asset { hashed, bytes: source.bytes, content_type: source.content_type });
        }
        index = index.replace("{{IDP_ORIGIN}}", &escape_attr(&idp_origin));
        let connect = if idp_origin.is_empty() { String::new() } else { format!(" {idp_origin}") };
        let csp = format!(
            "default-src 'self'; connect-src 'self'{connect}; script-src 'self'; object-src 'none'; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        Self {
            index: bytes::Bytes::from(index),
            assets,
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static(
                    "default-src 'self'; connect-src 'self'; script-src 'self'; object-src 'none'; \
                     frame-ancestors 'none'; base-uri 'none'",
                )
            }),
        }
    }

    /// The hashed path of an asset by its source name (`app.js`), for tests and docs.
    #[must_use]
    pub fn asset_path(&self, name: &str) -> Option<String> {
        let (stem, ext) = name.rsplit_once('.')?;
        self.assets
            .iter()
            .find(|a| a.hashed.starts_with(&format!("{stem}.")) && a.hashed.ends_with(&format!(".{ext}")))
            .map(|a| format!("/console/assets/{}", a.hashed))
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(slipgate_proto::headers::HSTS_VALUE),
        );
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
        headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?).to_ascii_lowercase())
}

fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The console's routes, outside the API's guard stack.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(index))
        .route("/console/callback", get(index))
        .route("/console/assets/{name}", get(asset))
        .layer(axum::middleware::from_fn_with_state(console.clone(), headers))
        .with_state(console)
}

async fn headers(
    State(console): State<Arc<Console>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    console.headers(response.headers_mut());
    response
}

async fn index(State(console): State<Arc<Console>>) -> Response {
    let mut response = console.index.clone().into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn asset(State(console): State<Arc<Console>>, Path(name): Path<String>) -> Response {
    let Some(asset) = console.assets.iter().find(|a| a.hashed == name) else {
        let mut response = (StatusCode::NOT_FOUND, "not found\n").into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    };
    let mut response = asset.bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn index_names_every_asset_by_its_hash_and_the_idp_origin() {
        let console = Console::new(Some("https://127.0.0.1:8444/"));
        let index = std::str::from_utf8(&console.index).unwrap();
        assert!(!index.contains("{{"), "every placeholder is filled");
        for name in ["app.js", "sig.js", "style.css"] {
            let path = console.asset_path(name).unwrap();
            assert!(index.contains(&path), "{path}");
            assert_eq!(path.len(), "/console/assets/".len() + name.len() + 17, "{path}");
        }
        assert!(index.contains("content=\"https://127.0.0.1:8444\""));
        assert_eq!(
            console.csp.to_str().unwrap(),
            "default-src 'self'; connect-src 'self' https://127.0.0.1:8444; script-src 'self'; \
             object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        );
    }

    #[test]
    fn no_file_has_inline_script_or_style() {
        let index = std::str::from_utf8(INDEX).unwrap();
        assert!(!index.contains("<script>") && !index.contains("<style") && !index.contains(" style="));
        assert!(!index.contains(" on") || !regex_like_handler(index), "no inline event handlers");
        for s in &SOURCES {
            let text = std::str::from_utf8(s.bytes).unwrap();
            assert!(!text.contains("localStorage"), "{}: never localStorage", s.name);
            assert!(!text.contains("document.cookie"), "{}: never cookies", s.name);
            assert!(!text.contains("eval("), "{}", s.name);
            assert!(!text.contains("innerHTML"), "{}: text only", s.name);
        }
    }

    /// Whether an attribute like ` onclick=` appears.
    fn regex_like_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        })
    }
}
