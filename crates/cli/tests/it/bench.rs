//! `slipgate bench` against a live `slipgate dev`.

use crate::batch::NO_RATE_LIMITS;
use crate::dev::DevProcess;

#[test]
fn bench_prints_one_json_object_with_throughput_latency_and_status_counts() {
    let dev = DevProcess::start_with(NO_RATE_LIMITS);
    dev.login("alice");
    let out = dev
        .command()
        .args(["bench", "--duration", "2s", "--connections", "4", "--warmup", "500ms", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/generate/salaryslip", dev.str("api_url"))),
        "target first: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "requests",
        "duration_s",
        "rps",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "status",
        "errors",
    ] {
        assert!(report.get(key).is_some(), "{key} missing: {report}");
    }
    let requests = report["requests"].as_u64().unwrap();
    assert!(requests > 0, "{report}");
    let ok = report["status"]["200"].as_u64().unwrap_or(0);
    assert!(ok * 10 >= requests * 9, "mostly 200s expected: {report}");
    assert_eq!(report["errors"], 0, "{report}");
    let p50 = report["p50_ms"].as_f64().unwrap();
    let p99 = report["p99_ms"].as_f64().unwrap();
    let max = report["max_ms"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{report}");
    assert!(report["duration_s"].as_f64().unwrap() >= 2.0, "{report}");
}

#[test]
fn bench_asks_for_pdf_slips_with_format_pdf_and_gets_only_pdf_answers() {
    let dev = DevProcess::start_with(NO_RATE_LIMITS);
    dev.login("alice");
    let out = dev
        .command()
        .args(["bench", "--duration", "1s", "--connections", "2", "--warmup", "200ms", "--json"])
        .args(["--format", "pdf"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(application/pdf)"), "the format is announced: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = report["requests"].as_u64().unwrap();
    assert!(requests > 0, "{report}");
    // A JSON answer to a PDF request would be counted as an error, not as a 200.
    assert_eq!(report["status"]["200"].as_u64(), Some(requests), "{report}");
    assert_eq!(report["errors"], 0, "{report}");
}

#[test]
fn bench_refuses_durations_and_connections_past_its_hard_caps() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .env("XDG_CONFIG_HOME", dir.path())
            .arg("bench")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--duration", "2h"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 1h"), "{out:?}");
    let out = run(&["--connections", "5000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("5000"), "{out:?}");
}
