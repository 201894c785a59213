//! The API's router in this process: requests go through
//! `router(state).oneshot` with no socket and no TLS, for the tests of what
//! the service decides (signature, validation and error matrices). What needs
//! a connection (TLS versions, ALPN, timeouts, connection caps, chunked
//! framing) stays with [`TestApi`](crate::TestApi).
//!
//! The request reaches the router as the transport hands it over: origin-form
//! target, `Host` naming `127.0.0.1:8443` (a name in the test certificate),
//! the peer address as `ConnectInfo`, and `Content-Length` as a client sends it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use slipgate_api::AppState;
use slipgate_guard::ManualClock;
use tower::ServiceExt as _;

use crate::TestConfig;

/// The authority requests name and are signed for.
pub const AUTHORITY: &str = "127.0.0.1:8443";
/// The peer address every request comes from.
pub const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000);

/// A response read to the end: what a test asserts on, from a socket or not.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, panicking with the text when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        crate::json(&self.body)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Something that reads into an [`Answer`]: a reqwest response, a router's response.
pub trait IntoAnswer {
    /// Reads the whole response.
    fn into_answer(self) -> impl Future<Output = Answer> + Send;
}

impl IntoAnswer for Answer {
    fn into_answer(self) -> impl Future<Output = Answer> + Send {
        std::future::ready(self)
    }
}

impl IntoAnswer for reqwest::Response {
    async fn into_answer(self) -> Answer {
        let status = self.status();
        let headers = self.headers().clone();
        let body = self.bytes().await.unwrap();
        Answer { status, headers, body }
    }
}

impl IntoAnswer for http::Response<Body> {
    async fn into_answer(self) -> Answer {
        let (parts, body) = self.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Answer { status: parts.status, headers: parts.headers, body }
    }
}

/// The API's full router (every layer of SPEC §3.3) over a [`TestConfig`]:
/// the same keys, the same real identity server, tokens from it.
#[derive(Debug)]
pub struct TestRouter {
    /// The configuration, the identity server and paula's token.
    pub config: TestConfig,
    /// The state the router serves.
    pub state: AppState,
    router: axum::Router,
}

impl TestRouter {
    /// The router over a [`TestConfig`] with `overrides`, on the system clock.
    pub async fn new(overrides: &[&str]) -> Self {
        let config = TestConfig::new(overrides).await;
        let state = AppState::from_config(&config.config).unwrap();
        Self::over(config, state)
    }

    /// [`TestRouter::new`] with the service reading time from `clock`.
    pub async fn with_clock(overrides: &[&str], clock: Arc<ManualClock>) -> Self {
        let config = TestConfig::new(overrides).await;
        let state = AppState::with_clock(&config.config, clock).unwrap();
        Self::over(config, state)
    }

    fn over(config: TestConfig, state: AppState) -> Self {
        let router = slipgate_api::router(state.clone());
        Self { config, state, router }
    }

    /// `https://127.0.0.1:8443<path>`: the URL requests are signed for.
    pub fn url(&self, path: &str) -> String {
        format!("https://{AUTHORITY}{path}")
    }

    /// `Bearer <token>` of paula (scope `salaryslip:any`).
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.config.paula)
    }

    /// A signer with the `test-hmac` key.
    pub fn signer(&self) -> slipgate_client::RequestSigner {
        let key = slipgate_httpsig::SigningKey::hmac_sha256(&crate::TEST_HMAC_SECRET).unwrap();
        slipgate_client::RequestSigner::new(crate::TEST_HMAC_ID, key)
    }

    /// The `test-ed25519` private key (PKCS#8 PEM).
    pub fn ed25519_pem(&self) -> &str {
        &self.config.ed25519_pem
    }

    /// Sends `method path` with exactly `headers` (plus `Host` and
    /// `Content-Length` when they are absent) and `body`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Answer {
        let body: Bytes = body.into();
        let mut request = http::Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        *request.headers_mut() = headers;
        let headers = request.headers_mut();
        if !headers.contains_key(http::header::HOST) {
            headers.insert(http::header::HOST, HeaderValue::from_static(AUTHORITY));
        }
        if !body.is_empty() && !headers.contains_key(http::header::CONTENT_LENGTH) {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        *request.body_mut() = Body::from(body);
        self.oneshot(request).await
    }

    /// Sends a prepared request as it is, from [`PEER`].
    pub async fn oneshot(&self, mut request: http::Request<Body>) -> Answer {
        request.extensions_mut().insert(axum::extract::ConnectInfo(PEER));
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        response.into_answer().await
    }

    /// A signed `POST /generate/salaryslip` of `body` as paula, `extra`
    /// headers added before signing (they may replace the defaults).
    pub async fn post_signed(&self, body: &str, extra: &[(&str, &str)]) -> Answer {
        let url = reqwest::Url::parse(&self.url(slipgate_proto::SLIP_PATH)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("authorization", self.bearer().parse().unwrap());
        for (name, value) in extra {
            headers.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        self.signer().sign(&Method::POST, &url, &mut headers, body.as_bytes()).unwrap();
        self.send(Method::POST, slipgate_proto::SLIP_PATH, headers, body.to_owned()).await
    }

    /// Stops the identity server behind it.
    pub async fn stop(mut self) {
        self.config.idp.halt().await;
    }
}

/// A layer standing in for guard layers a benchmark leaves out: it hands the
/// handler what they would have proved — always the representation `Accept`
/// asks for (the shape check), with `read_body` the body as read (the
/// signature layer), with `claims` the token's claims (the token layer). A
/// baseline for benchmarks, never part of the service.
#[derive(Debug, Clone)]
pub struct StandIn {
    /// Read the body into a `VerifiedBody`.
    pub read_body: bool,
    /// Claims to hand on as if the token layer had validated them.
    pub claims: Option<slipgate_guard::token::TokenClaims>,
}

impl<S> tower::Layer<S> for StandIn {
    type Service = slipgate_guard::Guarded<Self, S>;
    fn layer(&self, inner: S) -> Self::Service {
        slipgate_guard::Guarded::new(self.clone(), inner)
    }
}

impl slipgate_guard::Guard<Body> for StandIn {
    type Note = ();

    async fn admit(
        &self,
        request: http::Request<Body>,
        _: &mut (),
    ) -> Result<http::Request<Body>, slipgate_guard::Rejection> {
        let (mut parts, mut body) = request.into_parts();
        let accept = parts.headers.get(http::header::ACCEPT);
        let format = slipgate_api::middleware::shape::negotiate(accept).unwrap_or_default();
        parts.extensions.insert(format);
        if self.read_body {
            let bytes = axum::body::to_bytes(std::mem::take(&mut body), usize::MAX).await.unwrap_or_default();
            parts.extensions.insert(slipgate_guard::signature::VerifiedBody(bytes));
        }
        if let Some(claims) = &self.claims {
            parts.extensions.insert(claims.clone());
        }
        Ok(http::Request::from_parts(parts, body))
    }
}

/// The slip handler without the guard stack, handed what the whole stack
/// would have proved for `claims` ([`StandIn`]).
pub fn unguarded_slip_route(
    claims: slipgate_guard::token::TokenClaims,
) -> axum::routing::MethodRouter<AppState> {
    let stand_in = StandIn { read_body: true, claims: Some(claims) };
    axum::routing::post(slipgate_api::routes::slip::generate).route_layer(stand_in)
}
