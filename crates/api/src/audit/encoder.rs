//! The audit line's own JSON encoder: the fields of an [`AuditLine`] written
//! straight into a reused per-thread buffer, then queued as bytes to the same
//! lossless writer as every other log line (issue 16, target 3).
//!
//! The line is byte for byte the one `tracing-subscriber`'s JSON format writes
//! for the same event (same keys, same order, same string escaping — done by
//! `serde_json` —, the same RFC 3339 timestamp with microseconds), without
//! tracing's field visitor and per-event filter: whether `INFO` and `DEBUG`
//! lines of `slipgate::audit` are wanted is decided once, when the encoder is
//! built ([`Levels::from_dispatcher`]). The date and time of day are formatted
//! once per second and per thread; only the microseconds are written per line.
//!
//! Only the JSON format goes this way; the `pretty` format (a terminal) keeps
//! tracing's formatter.

use std::cell::RefCell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use slipgate_proto::ProblemCode;
use slipgate_proto::clock::Clock;

use super::{AuditLine, TraceParent};

/// Which audit levels the filter lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// `INFO` lines (every decision but the flood answers).
    pub info: bool,
    /// `DEBUG` lines (`rate_limited`, `overloaded`).
    pub debug: bool,
}

impl Levels {
    /// What the current dispatcher (the global subscriber and its `RUST_LOG`
    /// filter, once installed) enables for the `slipgate::audit` target.
    pub fn from_dispatcher() -> Self {
        Self {
            info: tracing::enabled!(target: "slipgate::audit", tracing::Level::INFO),
            debug: tracing::enabled!(target: "slipgate::audit", tracing::Level::DEBUG),
        }
    }
}

/// Encodes audit lines as JSON and hands each, whole, to `writer`.
#[derive(Debug)]
pub struct Encoder<W> {
    writer: W,
    levels: Levels,
    clock: Box<dyn Clock>,
}

/// Bytes a line's buffer keeps between lines; a longer line's buffer is
/// shrunk back after it (attacker-chosen fields cannot pin memory).
const KEPT_CAPACITY: usize = 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(KEPT_CAPACITY));
    /// `(unix seconds, "YYYY-MM-DDTHH:MM:SS")` of the last line this thread wrote.
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

impl<W: Write + Clone> Encoder<W> {
    /// An encoder over `writer` (one `write` call per line), passing the
    /// lines `levels` allows, stamped with `clock`'s time.
    pub fn new(writer: W, levels: Levels, clock: Box<dyn Clock>) -> Self {
        Self { writer, levels, clock }
    }

    /// Writes `line` when its level is enabled. A writer error is ignored, as
    /// tracing does: the lossless writer only fails once its thread is gone
    /// (shutdown); a failing destination is reported by its thread.
    pub fn emit(&self, line: &AuditLine<'_>) {
        let debug = is_flood(line.code);
        if !(if debug { self.levels.debug } else { self.levels.info }) {
            return;
        }
        let now = self.clock.now();
        BUFFER.with_borrow_mut(|buf| {
            buf.clear();
            encode(buf, now, line);
            let _ = self.writer.clone().write_all(buf);
            if buf.capacity() > KEPT_CAPACITY {
                buf.truncate(0);
                buf.shrink_to(KEPT_CAPACITY);
            }
        });
    }
}

/// Whether `code` answers a flood (logged at `DEBUG`).
pub(super) fn is_flood(code: Option<ProblemCode>) -> bool {
    matches!(code, Some(ProblemCode::RateLimited | ProblemCode::Overloaded))
}

/// Appends `line` as one JSON object and a newline to `buf`.
pub fn encode(buf: &mut Vec<u8>, now: SystemTime, line: &AuditLine<'_>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(buf, now);
    buf.extend_from_slice(if is_flood(line.code) {
        b"\",\"level\":\"DEBUG\""
    } else {
        b"\",\"level\":\"INFO\""
    });
    buf.extend_from_slice(b",\"message\":\"security decision\",\"decision\":");
    buf.extend_from_slice(if line.code.is_some() { b"\"refused\"" } else { b"\"allowed\"" });
    if let Some(code) = line.code {
        string(buf, "code", code.as_str());
    }
    buf.extend_from_slice(b",\"status\":");
    let _ = serde_json::to_writer(&mut *buf, &line.status);
    string(buf, "method", line.method);
    string(buf, "route", line.route);
    optional(buf, "keyid", line.keyid);
    optional(buf, "subject", line.subject);
    optional(buf, "username", line.username);
    if let Some(ip) = line.client_ip {
        buf.extend_from_slice(b",\"client_ip\":");
        // An address serialises as its display form, a JSON string.
        let _ = serde_json::to_writer(&mut *buf, &ip);
    }
    string(buf, "request_id", line.request_id);
    optional(buf, "trace_id", line.trace.map(TraceParent::trace_id));
    optional(buf, "parent_id", line.trace.map(TraceParent::parent_id));
    buf.extend_from_slice(b",\"target\":\"slipgate::audit\"}\n");
}

/// `,"key":"value"`, the value escaped by `serde_json`; `key` is a literal.
fn string(buf: &mut Vec<u8>, key: &str, value: &str) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":");
    // Writing into a Vec cannot fail, and a &str always serialises.
    let _ = serde_json::to_writer(&mut *buf, value);
}

fn optional(buf: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        string(buf, key, value);
    }
}

/// `now` as `tracing-subscriber` writes it: `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (UTC, microseconds). The part up to the seconds is cached per thread.
fn timestamp(buf: &mut Vec<u8>, now: SystemTime) {
    let (secs, micros) = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_micros()),
        // Before 1970 (a badly set clock): the epoch, rather than a wrong sign.
        Err(_) => (0, 0),
    };
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            *text = date_time(secs);
            *cached = secs;
        }
        buf.extend_from_slice(text.as_bytes());
    });
    let mut digits = [b'.', b'0', b'0', b'0', b'0', b'0', b'0', b'Z'];
    let mut rest = micros;
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
    }
    buf.extend_from_slice(&digits);
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` after the epoch, UTC.
fn date_time(secs: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59".to_owned())
}

#[cfg(test)]
mod tests;
