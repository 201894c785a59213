//! The audit trail (target `slipgate::audit`): one structured line per
//! security decision about a request, and the rule that no slip is served
//! while those lines cannot be written.
//!
//! A line is written for every **refusal** (a problem answer, any route) and
//! every **allowed slip request**; never for a metrics scrape, a probe, the
//! OpenAPI document, the response keys or the console's static files. It holds
//! `decision` (`allowed` or `refused`), the problem `code`, `status`, `method`,
//! `route`, the verified `keyid`, the token's `subject` and `username` (once the
//! token was validated, SPEC §3.3 step 7), the `client_ip`, the `request_id`
//! and the W3C `traceparent`'s `trace_id` and `parent_id` when the request
//! carried a valid one — never a token, key, password or salary figure.
//!
//! Levels: `INFO`, except `rate_limited` (429) and `overloaded` (503 load
//! shedding), which are `DEBUG`: they are the answer to a flood and would
//! drown the log in it. They are still counted in
//! `slipgate_rejections_total{code}`; `RUST_LOG=slipgate::audit=debug` shows them.
//!
//! ```
//! use slipgate_api::audit::TraceParent;
//!
//! let t = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
//! assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
//! ```
//!
//! # Security
//! A malformed `traceparent` is ignored, neither logged nor echoed (it is
//! attacker input); a valid one is logged as its two ids, hex only. While the
//! log sink fails (a full disk) a slip request is refused with 503
//! `store_unavailable` before any other check (fail closed): nothing is served
//! that the trail cannot record. Not covered: lines lost before the failure
//! was noticed (the write that failed is the one that tells).

mod encoder;

use std::net::IpAddr;
use std::sync::OnceLock;

use http::HeaderMap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use slipgate_proto::ProblemCode;
use slipgate_proto::logsink;

use slipgate_guard::Rejection;
use tracing_appender::non_blocking::NonBlocking;

pub use encoder::{Encoder, Levels, encode};

/// The process's audit encoder, once [`install`]ed (JSON format).
static ENCODER: OnceLock<Encoder<NonBlocking>> = OnceLock::new();

/// Makes [`record`] write through `encoder` from now on, for the rest of the
/// process (the JSON format: `logging::init` does it). `false` when one was
/// installed already (the first stays). Without one, [`record`] emits a
/// tracing event, formatted by whatever subscriber is current.
pub fn install(encoder: Encoder<NonBlocking>) -> bool {
    ENCODER.set(encoder).is_ok()
}

/// A W3C Trace Context `traceparent` (version `00`), validated strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// `00-<trace-id>-<parent-id>-<flags>`, 55 characters, lower-case hex.
    value: String,
}

impl TraceParent {
    /// The header's value when it is a valid version-00 `traceparent`: lower-case
    /// hex fields of 2, 32, 16 and 2 digits, trace and parent ids not all zero.
    /// Anything else (other versions included) is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        if bytes.len() != 55 || !value.starts_with("00-") {
            return None;
        }
        let hex = |s: &[u8]| s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let zero = |s: &[u8]| s.iter().all(|b| *b == b'0');
        let (trace, parent, flags) = (&bytes[3..35], &bytes[36..52], &bytes[53..55]);
        let ok = bytes[35] == b'-'
            && bytes[52] == b'-'
            && hex(trace)
            && hex(parent)
            && hex(flags)
            && !zero(trace)
            && !zero(parent);
        ok.then(|| Self { value: value.to_owned() })
    }

    /// From the request headers: exactly one `traceparent` field, valid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
        let mut values = headers.get_all(TRACEPARENT).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Self::parse(first.to_str().ok()?)
    }

    /// The 32-digit trace id.
    pub fn trace_id(&self) -> &str {
        &self.value[3..35]
    }

    /// The 16-digit id of the caller's span.
    pub fn parent_id(&self) -> &str {
        &self.value[36..52]
    }
}

/// What the audit trail records of one request.
#[derive(Debug)]
pub struct AuditLine<'a> {
    /// The problem code of a refusal; `None` when allowed.
    pub code: Option<ProblemCode>,
    /// The HTTP status answered.
    pub status: u16,
    /// The request method.
    pub method: &'a str,
    /// The matched route.
    pub route: &'a str,
    /// The verified request-signing key.
    pub keyid: Option<&'a str>,
    /// The token's `sub`.
    pub subject: Option<&'a str>,
    /// The token's `username`, when it has one.
    pub username: Option<&'a str>,
    /// The client address.
    pub client_ip: Option<IpAddr>,
    /// The request id (`X-Request-Id` of the answer).
    pub request_id: &'a str,
    /// The caller's trace context.
    pub trace: Option<&'a TraceParent>,
}

/// Whether a request gets an audit line: refusals, and allowed slip requests.
pub fn wanted(code: Option<ProblemCode>, route: &str) -> bool {
    code.is_some() || route == slipgate_proto::SLIP_PATH
}

/// Writes `line` on `slipgate::audit`: through the installed [`Encoder`]
/// when there is one, otherwise as a tracing event with the same fields.
pub fn record(line: &AuditLine<'_>) {
    match ENCODER.get() {
        Some(encoder) => encoder.emit(line),
        None => event(line),
    }
}

/// `line` as a tracing event (the `pretty` format, tests, benchmarks).
pub fn event(line: &AuditLine<'_>) {
    let flood = encoder::is_flood(line.code);
    macro_rules! emit {
        ($level:expr) => {
            tracing::event!(
                target: "slipgate::audit",
                $level,
                decision = if line.code.is_some() { "refused" } else { "allowed" },
                code = line.code.map(ProblemCode::as_str),
                status = line.status,
                method = line.method,
                route = line.route,
                keyid = line.keyid,
                subject = line.subject,
                username = line.username,
                client_ip = line.client_ip.map(tracing::field::display),
                request_id = line.request_id,
                trace_id = line.trace.map(TraceParent::trace_id),
                parent_id = line.trace.map(TraceParent::parent_id),
                "security decision"
            )
        };
    }
    if flood {
        emit!(tracing::Level::DEBUG);
    } else {
        emit!(tracing::Level::INFO);
    }
}

/// The refusal of a slip request while the audit trail cannot be written
/// (fail closed); `None` otherwise.
pub fn gate(route: &str) -> Option<Rejection> {
    (route == slipgate_proto::SLIP_PATH && logsink::health().failing()).then(|| {
        Rejection::new(
            ProblemCode::StoreUnavailable,
            "the service cannot record requests right now; retry later",
        )
    })
}

/// Adds the log sink's series to `registry`.
pub fn register(registry: &mut Registry) {
    registry.register_collector(Box::new(LogSinkSeries));
}

#[derive(Debug)]
struct LogSinkSeries;

impl Collector for LogSinkSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let health = logsink::health();
        let lost = ConstCounter::new(health.lines_lost());
        lost.encode(encoder.encode_descriptor(
            "slipgate_log_lines_lost",
            "Log lines the destination refused (a full disk); slip requests are refused meanwhile",
            None,
            lost.metric_type(),
        )?)?;
        let failing = ConstGauge::new(i64::from(health.failing()));
        failing.encode(encoder.encode_descriptor(
            "slipgate_log_sink_failing",
            "1 while the last log write failed (slip requests answer 503 store_unavailable)",
            None,
            failing.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn accepts_a_version_00_traceparent() {
        let t = TraceParent::parse(VALID).unwrap_or_else(|| panic!("valid"));
        assert_eq!((t.trace_id(), t.parent_id()), ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"));
    }

    #[test]
    fn rejects_malformed_traceparents() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn two_traceparent_fields_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.append("traceparent", http::HeaderValue::from_static(VALID));
        assert!(TraceParent::from_headers(&headers).is_some());
        headers.append("traceparent", http::HeaderValue::from_static(VALID));
        assert!(TraceParent::from_headers(&headers).is_none());
    }

    #[test]
    fn only_refusals_and_slip_requests_are_audited() {
        assert!(wanted(None, slipgate_proto::SLIP_PATH));
        assert!(wanted(Some(ProblemCode::NotFound), "unmatched"));
        for quiet in ["/metrics", "/healthz", "/readyz", "/openapi.json", "/.well-known/slipgate-keys"] {
            assert!(!wanted(None, quiet), "{quiet}");
        }
    }
}
