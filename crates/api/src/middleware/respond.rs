//! The layer just inside response signing (`sign_response`, the outermost):
//! request ids, problem rendering, security headers, metrics and the audit
//! trail for every response (SPEC §3.5, §3.6).
//!
//! The audit trail is one structured line per security decision on the target
//! `slipgate::audit`: `decision` (`allowed` or `refused`), the problem `code`,
//! `status`, the verified `keyid`, the token `subject`, the `client_ip` and the
//! `request_id` — never a token, key, password or salary figure. With
//! `log.format = "json"` each is one JSON object; counters per refusal code
//! are on `/metrics` as `slipgate_rejections_total{code=…}`.

use std::time::Instant;

use axum::body::Body;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderName, HeaderValue};
use slipgate_guard::signature::VerifiedKey;
use slipgate_guard::token::AuditSubject;
use slipgate_proto::{Problem, ProblemCode, headers};

use crate::error::ApiError;
use crate::middleware::response_sig::RequestSummary;
use crate::state::AppState;

/// The id of the request being served; handlers read it from the extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: see the module docs.
pub async fn respond(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = uuid::Uuid::new_v4().to_string();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    request.extensions_mut().insert(RequestId(id.clone()));
    let client_ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());

    let mut response = next.run(request).await;
    let rejection = response.extensions_mut().remove::<slipgate_guard::Rejection>();
    let error = response.extensions_mut().remove::<ApiError>().or_else(|| rejection.map(ApiError::from));
    // Left in place: the response signer outside binds the answer to it.
    let keyid = response.extensions().get::<VerifiedKey>().map(|k| k.keyid.clone());
    let subject = response.extensions_mut().remove::<AuditSubject>().map(|s| s.0);
    let code = error.as_ref().map(|e| e.code);
    if let Some(code) = code {
        state.metrics.record_rejection(code.as_str());
    }
    if let Some(error) = error {
        response = render_problem(response, error, &id);
    }
    if route != "/healthz" {
        audit(&AuditLine {
            code,
            status: response.status().as_u16(),
            route,
            keyid: keyid.as_deref(),
            subject: subject.as_deref(),
            client_ip,
            request_id: &id,
        });
    }
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(headers::HSTS_VALUE));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(HeaderName::from_static(headers::REQUEST_ID), v);
    }
    state.metrics.record(route, response.status().as_u16(), started.elapsed());
    response
}

fn render_problem(response: Response, error: ApiError, request_id: &str) -> Response {
    let (mut parts, _) = response.into_parts();
    let mut problem = Problem::new(error.code, error.detail, request_id);
    problem.errors = error.errors;
    problem.violated_policies = error.violated_policies;
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(headers::PROBLEM_JSON));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// What the audit trail records of one request.
struct AuditLine<'a> {
    code: Option<ProblemCode>,
    status: u16,
    route: &'a str,
    keyid: Option<&'a str>,
    subject: Option<&'a str>,
    client_ip: Option<IpAddr>,
    request_id: &'a str,
}

fn audit(line: &AuditLine<'_>) {
    let decision = if line.code.is_some() { "refused" } else { "allowed" };
    tracing::info!(
        target: "slipgate::audit",
        decision,
        code = line.code.map(ProblemCode::as_str),
        status = line.status,
        route = line.route,
        keyid = line.keyid,
        subject = line.subject,
        client_ip = line.client_ip.map(tracing::field::display),
        request_id = line.request_id,
        "security decision"
    );
}

/// Middleware (outermost on the API listener): signs every response (SPEC §3.8).
///
/// A request the signature layer verified hands over its label and signature
/// in the response's [`VerifiedKey`]; only a refused one has its signature
/// fields parsed again here, to bind the answer to what it sent.
pub async fn sign_response(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let key_bound = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(slipgate_guard::signature::is_httpsig);
    let mut sent = http::HeaderMap::new();
    for name in [headers::SIGNATURE_INPUT, headers::SIGNATURE] {
        for value in request.headers().get_all(name) {
            sent.append(name, value.clone());
        }
    }
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let summary = match parts.extensions.get::<VerifiedKey>() {
        Some(verified) => RequestSummary::new(method, uri, Some(verified)),
        None if sent.is_empty() => RequestSummary::new(method, uri, None),
        None => RequestSummary::unverified(method, uri, &sent, key_bound),
    };
    let now = state.clock.unix_seconds();
    let bytes = match axum::body::to_bytes(body, MAX_SIGNED_BODY).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "cannot buffer a response to sign it; answering 500 instead");
            return unsignable(&state, &summary, &parts, now);
        }
    };
    match state.response_signer.sign(&summary, &mut parts, &bytes, now) {
        Ok(()) => Response::from_parts(parts, Body::from(bytes)),
        Err(error) => {
            tracing::error!(%error, "cannot sign a response; answering 500 instead");
            unsignable(&state, &summary, &parts, now)
        }
    }
}

/// Headers of the refused answer that the replacing 500 keeps: the security
/// headers, the request id and the rate-limit state (SPEC §3.5, §3.7).
const KEPT_ON_500: [HeaderName; 6] = [
    CACHE_CONTROL,
    STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
    HeaderName::from_static(headers::REQUEST_ID),
    HeaderName::from_static(headers::RATELIMIT),
    HeaderName::from_static(headers::RATELIMIT_POLICY),
];

/// The answer sent instead of one that could not be signed (SPEC §3.8: a
/// response is never sent unsigned): a generic 500 problem — nothing of the
/// original body or its other headers — carrying the security and rate-limit
/// headers. It is signed in turn; only when the signer fails for it too does
/// it go out unsigned, holding nothing but the generic problem.
fn unsignable(
    state: &AppState,
    summary: &RequestSummary,
    original: &http::response::Parts,
    now: i64,
) -> Response {
    state.metrics.record_rejection(ProblemCode::Internal.as_str());
    let request_id = original.headers.get(headers::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    let problem =
        Problem::new(ProblemCode::Internal, "the server could not complete the request", request_id);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = http::StatusCode::INTERNAL_SERVER_ERROR;
    for name in &KEPT_ON_500 {
        for value in original.headers.get_all(name) {
            parts.headers.append(name.clone(), value.clone());
        }
    }
    // Never without the security headers, even if the inner layers set none.
    parts.headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(headers::HSTS_VALUE));
    parts.headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(headers::PROBLEM_JSON));
    if let Err(error) = state.response_signer.sign(summary, &mut parts, &body, now) {
        tracing::error!(%error, request_id, "cannot sign the replacing 500 either; it goes out unsigned");
    }
    Response::from_parts(parts, Body::from(body))
}

/// Largest response body that is signed (PDF slips are ~60 KiB).
const MAX_SIGNED_BODY: usize = 32 * 1024 * 1024;
