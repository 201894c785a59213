use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipgate_proto::clock::{ManualClock, SystemClock};
use tracing_subscriber::EnvFilter;

use super::*;

/// A writer the test reads back; clones share the bytes.
#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The line `logging::init`'s JSON subscriber writes for `line`.
fn through_tracing(line: &AuditLine<'_>, filter: &str) -> String {
    let out = Shared::default();
    let sink = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(move || sink.clone())
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || super::super::event(line));
    out.text()
}

fn encoded(line: &AuditLine<'_>, now: SystemTime) -> String {
    let mut buf = Vec::new();
    encode(&mut buf, now, line);
    String::from_utf8(buf).unwrap()
}

/// `{"timestamp":"…"` split from the rest of the line.
fn split_timestamp(line: &str) -> (&str, &str) {
    let at = line.find("\",\"level\"").unwrap_or_else(|| panic!("no level after the timestamp: {line}"));
    let stamp =
        line.strip_prefix("{\"timestamp\":\"").unwrap_or_else(|| panic!("no timestamp first: {line}"));
    (&stamp[..at - 14], &line[at..])
}

const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn encodes_the_line_tracings_json_format_writes_byte_for_byte() {
    let trace = TraceParent::parse(TRACE).unwrap();
    // Attacker-reachable strings: quotes, backslashes, control characters,
    // a line break (log injection), non-ASCII, U+2028.
    let hostile = "al\"ice\\\n{\"target\":\"x\"}\u{1}\u{7f}\u{e9}\u{2028}\t";
    let lines = [
        AuditLine {
            code: None,
            status: 200,
            method: "POST",
            route: "/generate/salaryslip",
            keyid: Some("dev-hmac"),
            subject: Some("alice"),
            username: Some("alice"),
            client_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
            request_id: "6f0a1f5e-3b0e-4c61-9d8f-5d7c3c2f9a11",
            trace: Some(&trace),
        },
        AuditLine {
            code: Some(ProblemCode::DigestMismatch),
            status: 400,
            method: "other",
            route: "unmatched",
            keyid: None,
            subject: None,
            username: None,
            client_ip: None,
            request_id: "r",
            trace: None,
        },
        AuditLine {
            code: Some(ProblemCode::Forbidden),
            status: 403,
            method: "POST",
            route: "/generate/salaryslip",
            keyid: Some(hostile),
            subject: Some(hostile),
            username: Some(hostile),
            client_ip: Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            request_id: hostile,
            trace: Some(&trace),
        },
        AuditLine {
            code: Some(ProblemCode::RateLimited),
            status: 429,
            method: "GET",
            route: "/generate/salaryslip",
            keyid: Some("dev-hmac"),
            subject: None,
            username: None,
            client_ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            request_id: "x",
            trace: None,
        },
    ];
    for line in &lines {
        let reference = through_tracing(line, "debug");
        let ours = encoded(line, SystemClock.now());
        let ((their_stamp, theirs), (our_stamp, rest)) =
            (split_timestamp(&reference), split_timestamp(&ours));
        assert_eq!(rest, theirs, "{line:?}");
        assert_eq!(our_stamp.len(), their_stamp.len(), "{our_stamp} / {their_stamp}");
        assert!(ours.ends_with("}\n") && ours.matches('\n').count() == 1, "one line: {ours:?}");
        let parsed: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(parsed["target"], "slipgate::audit");
    }
    let parsed: serde_json::Value = serde_json::from_str(&encoded(&lines[2], SystemClock.now())).unwrap();
    assert_eq!(parsed["username"], hostile);
    assert_eq!(parsed["client_ip"], "2001:db8::1");
}

#[test]
fn stamps_utc_to_the_microsecond_across_second_boundaries() {
    let at = |secs: u64, micros: u64| UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
    let line = AuditLine {
        code: None,
        status: 200,
        method: "POST",
        route: "/generate/salaryslip",
        keyid: None,
        subject: None,
        username: None,
        client_ip: None,
        request_id: "r",
        trace: None,
    };
    for (now, expected) in [
        (at(1_764_601_331, 482_123), "2025-12-01T15:02:11.482123"),
        (at(1_764_601_331, 999_999), "2025-12-01T15:02:11.999999"),
        (at(1_764_601_332, 7), "2025-12-01T15:02:12.000007"),
        (at(1_764_601_331, 0), "2025-12-01T15:02:11.000000"),
        (at(951_868_800, 500_000), "2000-03-01T00:00:00.500000"),
        (UNIX_EPOCH + Duration::from_nanos(1_999), "1970-01-01T00:00:00.000001"),
    ] {
        let text = encoded(&line, now);
        assert_eq!(split_timestamp(&text).0, format!("{expected}Z"), "{now:?}");
    }
    let before_1970 = UNIX_EPOCH - Duration::from_secs(5);
    assert_eq!(split_timestamp(&encoded(&line, before_1970)).0, "1970-01-01T00:00:00.000000Z");
}

#[test]
fn writes_only_the_levels_the_filter_enabled_one_write_per_line() {
    let allowed = AuditLine {
        code: None,
        status: 200,
        method: "POST",
        route: "/generate/salaryslip",
        keyid: None,
        subject: Some("alice"),
        username: None,
        client_ip: None,
        request_id: "a",
        trace: None,
    };
    let flood = AuditLine { code: Some(ProblemCode::Overloaded), status: 503, request_id: "f", ..allowed };
    let limited = AuditLine { code: Some(ProblemCode::RateLimited), status: 429, request_id: "l", ..allowed };
    for (levels, expected) in [
        (Levels { info: true, debug: false }, &["a"][..]),
        (Levels { info: true, debug: true }, &["a", "f", "l"][..]),
        (Levels { info: false, debug: false }, &[][..]),
    ] {
        let out = Shared::default();
        let encoder = Encoder::new(out.clone(), levels, Box::new(ManualClock::at_unix(1_764_601_331)));
        for line in [&allowed, &flood, &limited] {
            encoder.emit(line);
        }
        let text = out.text();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["request_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids, expected, "{levels:?}: {text}");
        assert!(
            text.lines().all(|l| l.starts_with("{\"timestamp\":\"2025-12-01T15:02:11.000000Z\"")),
            "{text}"
        );
    }
}

#[test]
fn a_long_line_is_written_whole_and_its_buffer_given_back() {
    let long = "x".repeat(64 * 1024);
    let line = AuditLine {
        code: Some(ProblemCode::TokenInvalid),
        status: 401,
        method: "POST",
        route: "/generate/salaryslip",
        keyid: Some(&long),
        subject: None,
        username: None,
        client_ip: None,
        request_id: "r",
        trace: None,
    };
    let out = Shared::default();
    let encoder =
        Encoder::new(out.clone(), Levels { info: true, debug: false }, Box::new(ManualClock::at_unix(0)));
    encoder.emit(&line);
    let parsed: serde_json::Value = serde_json::from_str(&out.text()).unwrap();
    assert_eq!(parsed["keyid"].as_str().map(str::len), Some(long.len()));
    assert!(BUFFER.with_borrow(Vec::capacity) <= KEPT_CAPACITY);
}

#[test]
fn levels_follow_rust_log_for_the_audit_target() {
    for (filter, expected) in [
        ("info", Levels { info: true, debug: false }),
        ("info,slipgate::audit=debug", Levels { info: true, debug: true }),
        ("warn", Levels { info: false, debug: false }),
        ("debug,slipgate::audit=off", Levels { info: false, debug: false }),
        ("slipgate::audit=info", Levels { info: true, debug: false }),
    ] {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(filter))
            .with_writer(std::io::sink)
            .finish();
        let levels = tracing::subscriber::with_default(subscriber, Levels::from_dispatcher);
        assert_eq!(levels, expected, "RUST_LOG={filter}");
    }
}
