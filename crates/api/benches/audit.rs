//! Issue 16 target 3: what one audit line costs the request that writes it.
//!
//! The same `slipgate::audit` line (every field filled, as for an allowed
//! slip request), in the default format off a terminal (JSON, no ANSI), through
//! two writers, side by side and alternating over three rounds:
//! - `sync`: the former set-up, the formatted line written to the file
//!   descriptor by the request itself (`with_writer(stderr)`, one `write(2)`);
//! - `non_blocking`: [`slipgate_api::logging::writer`], the request formats the
//!   line and queues it; a thread writes it (lossless: a full queue waits).
//!
//! Both write to `/dev/null`, so the disk is never filled and the `sync`
//! figure is a floor (a file or a pipe costs the request more). A third
//! variant, `format_only`, formats the line and discards it in process
//! (`io::sink`, no system call): the share of the cost that is formatting.
//!
//! Those three go through tracing's JSON formatter (the former audit path, and
//! still the path of every other log line). Beside them, in the same rounds,
//! the audit encoder `logging::init` installs in the JSON format
//! ([`slipgate_api::audit::Encoder`]: the same bytes, written straight into a
//! reused buffer, the level decided once):
//! - `encoder_non_blocking`: encoded and queued on the lossless writer (now);
//! - `encoder_format_only`: encoded and discarded in process (`io::sink`).
//!
//! ```text
//! cargo bench -p slipgate-api --bench audit
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_api::audit::{AuditLine, Encoder, Levels, TraceParent, event};
use slipgate_proto::clock::SystemClock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

fn dev_null() -> std::fs::File {
    std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap_or_else(|e| panic!("/dev/null: {e}"))
}

/// The JSON subscriber of `slipgate_api::logging::init`, over `writer`.
fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("info"))
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_ansi(false)
        .finish()
}

fn line(trace: &TraceParent) -> AuditLine<'_> {
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
        trace: Some(trace),
    }
}

/// Through tracing (the subscriber in scope formats it).
fn one_line(trace: &TraceParent) {
    event(black_box(&line(trace)));
}

const INFO: Levels = Levels { info: true, debug: false };

fn bench(c: &mut Criterion) {
    let trace = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .unwrap_or_else(|| panic!("valid traceparent"));
    let mut group = c.benchmark_group("audit_line");
    for round in 1..=3 {
        let sync = subscriber(std::sync::Mutex::new(dev_null()));
        tracing::subscriber::with_default(sync, || {
            group.bench_function(format!("round{round}/sync"), |b| b.iter(|| one_line(&trace)));
        });
        let (writer, guard) = slipgate_api::logging::writer(dev_null());
        tracing::subscriber::with_default(subscriber(writer), || {
            group.bench_function(format!("round{round}/non_blocking"), |b| b.iter(|| one_line(&trace)));
        });
        drop(guard);
        let format_only = subscriber(std::io::sink);
        tracing::subscriber::with_default(format_only, || {
            group.bench_function(format!("round{round}/format_only"), |b| b.iter(|| one_line(&trace)));
        });
        let (writer, guard) = slipgate_api::logging::writer(dev_null());
        let encoder = Encoder::new(writer, INFO, Box::new(SystemClock));
        group.bench_function(format!("round{round}/encoder_non_blocking"), |b| {
            b.iter(|| encoder.emit(black_box(&line(&trace))));
        });
        drop(encoder);
        drop(guard);
        let encoder = Encoder::new(std::io::sink(), INFO, Box::new(SystemClock));
        group.bench_function(format!("round{round}/encoder_format_only"), |b| {
            b.iter(|| encoder.emit(black_box(&line(&trace))));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).sample_size(50);
    targets = bench
}
criterion_main!(benches);
