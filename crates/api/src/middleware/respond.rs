//! The layer just inside response signing ([`super::sign`], the outermost):
//! request ids, problem rendering ([`super::problem::render`]), security
//! headers, metrics and the audit trail for every response (SPEC §3.5, §3.6).
//!
//! The audit trail and its fields are described in [`crate::audit`]; counters
//! per refusal code are on `/metrics` as `slipgate_rejections_total{code=…}`.

use std::time::Instant;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use slipgate_guard::Rejection;
use slipgate_guard::signature::VerifiedKey;
use slipgate_guard::token::AuditSubject;
use slipgate_proto::headers;

use super::problem;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static(headers::REQUEST_ID);

/// The id of the request being served; handlers read it from the extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: see the module docs.
pub async fn respond(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = state.metrics.enter();
    let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf).to_owned();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = crate::metrics::route_label(matched.as_ref().map(MatchedPath::as_str));
    let method = crate::metrics::method_label(request.method());
    let trace = crate::audit::TraceParent::from_headers(request.headers());
    request.extensions_mut().insert(RequestId(id.clone()));
    let client_ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());

    let mut response = match crate::audit::gate(route) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    };
    let rejection = response.extensions_mut().remove::<Rejection>();
    // Left in place: the response signer outside binds the answer to it.
    let keyid = response.extensions().get::<VerifiedKey>().map(|k| k.keyid.clone());
    let subject = response.extensions_mut().remove::<AuditSubject>();
    let code = rejection.as_ref().map(|r| r.code);
    if let Some(code) = code {
        state.metrics.record_rejection(code.as_str());
    }
    if let Some(rejection) = rejection {
        problem::log_cause(&rejection, &id);
        response = problem::render(response, rejection, &id);
    }
    if crate::audit::wanted(code, route) {
        crate::audit::record(&crate::audit::AuditLine {
            code,
            status: response.status().as_u16(),
            method,
            route,
            keyid: keyid.as_deref(),
            subject: subject.as_ref().map(|s| s.sub.as_str()),
            username: subject.as_ref().and_then(|s| s.username.as_deref()),
            client_ip,
            request_id: &id,
            trace: trace.as_ref(),
        });
    }
    let h = response.headers_mut();
    problem::security_headers(h);
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(REQUEST_ID, v);
    }
    let labels = crate::metrics::RequestLabels { method, route, code: response.status().as_u16() };
    state.metrics.record(&labels, started.elapsed());
    response
}
