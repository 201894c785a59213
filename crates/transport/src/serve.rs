//! The connection loops: TLS for the public listeners, plain HTTP/1.1 for admin.
//!
//! Per accepted connection, in order: the global cap (`max_connections`,
//! closed at once when full), the PROXY v2 header when the peer is in
//! `proxy_protocol_from`, the per-client cap (`max_connections_per_ip`), the
//! TLS handshake (within `header_timeout`), then HTTP/2 if and only if ALPN
//! chose `h2`, else HTTP/1.1 — never by sniffing the first bytes. The stream
//! is [`Watched`] for head timing and raw-head checks; a watcher closes the
//! connection after `idle_timeout` with no request in flight (HTTP/2 sends
//! GOAWAY first). On shutdown the listener closes at once and open
//! connections are drained gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use slipgate_proto::{Problem, ProblemCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::limits::{ConnCaps, ConnLimits, Slot};
use crate::proxy::{ProxySource, read_v2};
use crate::stats::{Closed, TransportStats};
use crate::watch::{Activity, ConnShared, Verdict, Watched};

/// How long open connections get to finish after shutdown (or GOAWAY) begins.
const DRAIN: Duration = Duration::from_secs(10);
/// Largest request head (HTTP/1.1 buffer, HTTP/2 header list).
const MAX_HEADER_BYTES: usize = crate::head::MAX_HEAD_BYTES;

/// The peer the connection came from when a PROXY header named the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyPeer(pub SocketAddr);

/// Serves `app` over TLS on `listener` until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    accept_loop(listener, app, limits, shutdown, Some(acceptor)).await;
}

/// Serves `app` over plain HTTP/1.1 (the admin listener) until `shutdown` resolves.
pub async fn serve_plain(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    accept_loop(listener, app, limits, shutdown, None).await;
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    tls: Option<TlsAcceptor>,
) {
    let limits = Arc::new(limits);
    let caps = ConnCaps::new(limits.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = caps.open() else {
            // Closed at once: dropping the stream resets nothing, it just closes.
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let conn = Connection {
            app: app.clone(),
            limits: limits.clone(),
            tls: tls.clone(),
            stop: stop_rx.clone(),
            peer,
        };
        tokio::spawn(conn.run(tcp, slot));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(DRAIN, caps.wait_empty()).await.is_err() {
        tracing::warn!("connections still open after the drain period; closing them");
    }
}

struct Connection {
    app: Router,
    limits: Arc<ConnLimits>,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
    peer: SocketAddr,
}

impl Connection {
    async fn run(self, mut tcp: TcpStream, mut slot: Slot) {
        let limits = self.limits.clone();
        let stats = limits.stats.clone();
        let timeout = limits.header_timeout;
        let mut client = self.peer;
        let mut proxy_peer = None;
        if limits.proxy_protocol_from.iter().any(|r| r.contains(self.peer.ip())) {
            match tokio::time::timeout(timeout, read_v2(&mut tcp)).await {
                Ok(Ok(ProxySource::Client(addr))) => {
                    client = addr;
                    proxy_peer = Some(ProxyPeer(self.peer));
                }
                Ok(Ok(ProxySource::Local)) => {}
                Ok(Err(error)) => {
                    tracing::debug!(peer = %self.peer, %error, "closing: no valid PROXY header");
                    stats.record(Closed::ProxyHeader);
                    return;
                }
                Err(_) => {
                    stats.record(Closed::ProxyHeader);
                    return;
                }
            }
        }
        if !slot.assign(client.ip()) {
            return;
        }
        match self.tls.clone() {
            Some(acceptor) => {
                let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(tcp)).await else {
                    stats.record(Closed::Handshake);
                    return;
                };
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                self.serve(stream, h2, client, proxy_peer, &stats).await;
            }
            None => self.serve(tcp, false, client, proxy_peer, &stats).await,
        }
        drop(slot);
    }

    async fn serve<IO>(
        self,
        io: IO,
        h2: bool,
        client: SocketAddr,
        proxy_peer: Option<ProxyPeer>,
        stats: &Arc<TransportStats>,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let shared = ConnShared::new();
        let io =
            TokioIo::new(Watched::new(io, h2, shared.clone(), stats.clone(), self.limits.header_timeout));
        let service = RequestService {
            app: self.app,
            shared: shared.clone(),
            h2,
            client,
            proxy_peer,
            stats: stats.clone(),
        };
        let service = hyper::service::service_fn(move |request| service.clone().call(request));
        let idle = self.limits.idle_timeout;
        if h2 {
            let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                .max_concurrent_streams(64)
                .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX))
                .keep_alive_interval(Some(Duration::from_secs(30)));
            drive(builder.serve_connection(io, service), &shared, idle, self.stop, stats).await;
        } else {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                // The head timeout is the transport's own (`Watched`): hyper's
                // would also run while a keep-alive connection is idle.
                .header_read_timeout(None)
                .max_buf_size(MAX_HEADER_BYTES.max(8192));
            drive(builder.serve_connection(io, service), &shared, idle, self.stop, stats).await;
        }
    }
}

/// Runs `conn` until it ends, the server stops, or it has been idle for `idle`;
/// then shuts it down gracefully (GOAWAY for HTTP/2), bounded by [`DRAIN`].
async fn drive<C>(
    conn: C,
    shared: &Arc<ConnShared>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
    stats: &TransportStats,
) where
    C: GracefulConnection,
{
    tokio::pin!(conn);
    let idle_expired = idle_expired(shared.activity.subscribe(), idle);
    tokio::pin!(idle_expired);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = &mut idle_expired => stats.record(Closed::IdleTimeout),
        _ = stop.wait_for(|stop| *stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(DRAIN, conn).await;
}

/// Resolves once no request has been in flight for `idle`.
async fn idle_expired(mut activity: watch::Receiver<Activity>, idle: Duration) {
    loop {
        let now = *activity.borrow_and_update();
        if now.in_flight > 0 {
            if activity.changed().await.is_err() {
                return std::future::pending().await;
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep_until(now.idle_since + idle) => return,
            changed = activity.changed() => if changed.is_err() {
                return std::future::pending().await;
            },
        }
    }
}

static REFUSED: AtomicU64 = AtomicU64::new(0);

#[derive(Clone)]
struct RequestService {
    app: Router,
    shared: Arc<ConnShared>,
    h2: bool,
    client: SocketAddr,
    proxy_peer: Option<ProxyPeer>,
    stats: Arc<TransportStats>,
}

impl RequestService {
    async fn call(self, mut request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let in_flight = self.shared.begin();
        if !self.h2 && self.shared.next_verdict() == Verdict::Refuse {
            self.stats.record(Closed::ConflictingFraming);
            return Ok(conflicting_framing());
        }
        request.extensions_mut().insert(ConnectInfo::<SocketAddr>(self.client));
        if let Some(peer) = self.proxy_peer {
            request.extensions_mut().insert(peer);
        }
        let response = match self.app.oneshot(request.map(Body::new)).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        Ok(response.map(|body| Body::new(Tracked { body, _in_flight: in_flight })))
    }
}

/// SPEC §3.2: an HTTP/1.1 head with both `Content-Length` and
/// `Transfer-Encoding`. Answered here, before the application, like the
/// HTTP library's own answers to malformed heads, and the connection closes.
fn conflicting_framing() -> Response<Body> {
    let id = format!("transport-{}", REFUSED.fetch_add(1, Ordering::Relaxed));
    let problem = Problem::new(
        ProblemCode::BadRequest,
        "the request carries both Content-Length and Transfer-Encoding",
        id,
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = http::StatusCode::BAD_REQUEST;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A response body that keeps its request counted as in flight until it is
/// sent (or dropped).
struct Tracked {
    body: Body,
    _in_flight: crate::watch::InFlight,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
