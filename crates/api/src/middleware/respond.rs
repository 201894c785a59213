//! The layer just inside response signing ([`super::sign`], the outermost):
//! request ids, problem rendering ([`super::problem::render`]), security
//! headers, metrics and the audit trail for every response (SPEC §3.5, §3.6).
//!
//! The audit trail is one structured line per security decision on the target
//! `slipgate::audit`: `decision` (`allowed` or `refused`), the problem `code`,
//! `status`, the verified `keyid`, the token `subject`, the `client_ip` and the
//! `request_id` — never a token, key, password or salary figure. With
//! `log.format = "json"` each is one JSON object; counters per refusal code
//! are on `/metrics` as `slipgate_rejections_total{code=…}`.

use std::time::Instant;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use slipgate_guard::Rejection;
use slipgate_guard::signature::VerifiedKey;
use slipgate_guard::token::AuditSubject;
use slipgate_proto::{ProblemCode, headers};

use super::problem;
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
    let rejection = response.extensions_mut().remove::<Rejection>();
    // Left in place: the response signer outside binds the answer to it.
    let keyid = response.extensions().get::<VerifiedKey>().map(|k| k.keyid.clone());
    let subject = response.extensions_mut().remove::<AuditSubject>().map(|s| s.0);
    let code = rejection.as_ref().map(|r| r.code);
    if let Some(code) = code {
        state.metrics.record_rejection(code.as_str());
    }
    if let Some(rejection) = rejection {
        problem::log_cause(&rejection, &id);
        response = problem::render(response, rejection, &id);
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
    problem::security_headers(h);
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(HeaderName::from_static(headers::REQUEST_ID), v);
    }
    state.metrics.record(route, response.status().as_u16(), started.elapsed());
    response
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
