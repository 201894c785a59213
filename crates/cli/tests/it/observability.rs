//! Operators' view of a real `slipgate dev` (issue 19 item 2, issue 16 target 3):
//! both admin listeners' `/metrics`, `/healthz` and `/readyz`, the log on a
//! non-terminal stderr (JSON, no ANSI), the audit trail (refusals and slips
//! only, with the username and the caller's `traceparent`), and a full disk
//! under stderr.

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use slipgate_test_support::{SEED_BODY, https_client};

use crate::dev::DevProcess;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// Not a valid `traceparent` (upper-case hex): ignored, never logged.
const FORGED_TRACEPARENT: &str = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01";

fn pause() {
    #[allow(
        clippy::disallowed_methods,
        reason = "polls a real child process's log file: there is no event to await"
    )]
    std::thread::sleep(Duration::from_millis(50));
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The sample value of the first line that starts with `series` then a space.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

/// Runs `slipgate generate` as the logged-in profile's user for `emp_id`.
fn generate(dev: &DevProcess, emp_id: &str) -> std::process::Output {
    dev.command()
        .args(["generate", "--emp-id", emp_id, "--emp-code", "ENG", "--emp-name", "Alice Example"])
        .args(["--grade", "7.1", "--working-days", "24"])
        .output()
        .unwrap()
}

/// The JSON lines of `log`, waiting (bounded) until `done` holds for them:
/// lines reach the file through the log thread, a moment after the answer.
fn log_lines(log: &Path, done: impl Fn(&[serde_json::Value]) -> bool) -> (String, Vec<serde_json::Value>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
            .collect();
        if done(&lines) {
            return (text, lines);
        }
        assert!(Instant::now() < deadline, "the log never showed what was expected:\n{text}");
        pause();
    }
}

fn audit(lines: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    lines.iter().filter(|l| l["target"] == "slipgate::audit").collect()
}

#[tokio::test]
async fn both_admin_listeners_serve_conventional_metrics_and_the_log_is_json_with_usernames() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("dev.log");
    let file = File::create(&log).unwrap();
    let dev = DevProcess::start_logging("data", &[], |_| Stdio::from(file));
    let (admin, idp_admin) = (dev.str("admin_url").to_owned(), dev.str("idp_admin_url").to_owned());
    assert!(idp_admin.starts_with("http://127.0.0.1:"), "{idp_admin}");
    for url in [&admin, &idp_admin] {
        assert_eq!(get(&format!("{url}/healthz")).await.0, 200, "{url}");
        let (status, body) = get(&format!("{url}/readyz")).await;
        assert_eq!(status, 200, "{url}: {body}");
    }

    // A wrong password, a login, a slip, and a refused slip (another employee).
    let mut wrong = dev
        .command()
        .args(["login", "--username", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut wrong.stdin.take().unwrap(), b"not-alices-password\n").unwrap();
    assert!(!wrong.wait().unwrap().success());
    dev.login("alice");
    let ok = generate(&dev, "01234");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let refused = generate(&dev, "00001");
    assert!(!refused.status.success());
    // An unsigned request carrying the caller's trace context, and one with a forged one.
    let ca = std::path::PathBuf::from(dev.str("ca_file"));
    let client = https_client(&ca, &[&rustls::version::TLS13], &[]);
    let mut request_ids = Vec::new();
    for traceparent in [TRACEPARENT, FORGED_TRACEPARENT] {
        let response = client
            .post(format!("{}/generate/salaryslip", dev.str("api_url")))
            .header("content-type", "application/json")
            .header("traceparent", traceparent)
            .body(SEED_BODY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        request_ids.push(response.headers()["x-request-id"].to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert!(!body.to_ascii_lowercase().contains("4bf92f3577b34da6"), "never echoed: {body}");
    }

    let (status, api) = get(&format!("{admin}/metrics")).await;
    assert_eq!(status, 200);
    let slip = r#"method="POST",route="/generate/salaryslip""#;
    assert_eq!(sample(&api, &format!(r#"slipgate_http_requests_total{{{slip},code="200"}}"#)), 1.0);
    assert_eq!(sample(&api, &format!(r#"slipgate_http_requests_total{{{slip},code="403"}}"#)), 1.0);
    assert_eq!(sample(&api, &format!(r#"slipgate_http_requests_total{{{slip},code="401"}}"#)), 2.0);
    assert_eq!(sample(&api, r#"slipgate_rejections_total{code="forbidden"}"#), 1.0);
    assert_eq!(sample(&api, r#"slipgate_rejections_total{code="signature_missing"}"#), 2.0);
    assert_eq!(
        sample(&api, &format!(r#"slipgate_build_info{{version="{}"}}"#, env!("CARGO_PKG_VERSION"))),
        1.0
    );
    assert_eq!(sample(&api, "slipgate_max_concurrency"), 1024.0);
    assert_eq!(sample(&api, "slipgate_http_requests_in_flight"), 1.0, "the scrape itself");
    assert_eq!(sample(&api, "slipgate_nonce_store_entries"), 2.0, "two verified signatures");
    assert!(sample(&api, "slipgate_nonce_store_capacity_bytes") > 0.0);
    assert!(sample(&api, "slipgate_introspection_cache_misses_total") >= 1.0);
    assert!(sample(&api, r#"slipgate_idp_request_duration_seconds_count{op="introspect"}"#) >= 1.0);
    assert_eq!(sample(&api, r#"slipgate_redis_errors_total{op="rate-limit script"}"#), 0.0);
    assert_eq!(sample(&api, r#"slipgate_idp_request_errors_total{op="introspect"}"#), 0.0);
    assert_eq!(sample(&api, "slipgate_log_sink_failing"), 0.0);
    assert!(!api.contains("status=\""), "the status label is `code`:\n{api}");

    let (status, idp) = get(&format!("{idp_admin}/metrics")).await;
    assert_eq!(status, 200);
    assert_eq!(sample(&idp, r#"slipgate_idp_token_requests_total{grant="password",outcome="issued"}"#), 1.0);
    assert_eq!(
        sample(&idp, r#"slipgate_idp_token_requests_total{grant="password",outcome="invalid_grant"}"#),
        1.0
    );
    assert_eq!(sample(&idp, r#"slipgate_idp_login_failures_total{reason="invalid_credentials"}"#), 1.0);
    assert!(
        sample(
            &idp,
            r#"slipgate_idp_http_requests_total{method="POST",route="/oauth/introspect",code="200"}"#
        ) >= 1.0
    );
    assert!(
        sample(&idp, r#"slipgate_idp_http_requests_total{method="POST",route="/oauth/token",code="200"}"#)
            >= 1.0
    );
    assert!(idp.contains("# TYPE slipgate_idp_http_request_duration_seconds histogram"), "{idp}");
    assert!(sample(&idp, "slipgate_idp_db_ping_duration_seconds_count") >= 1.0, "the /readyz above");
    assert_eq!(sample(&idp, "slipgate_idp_db_errors_total"), 0.0);
    assert_eq!(
        sample(&idp, &format!(r#"slipgate_idp_build_info{{version="{}"}}"#, env!("CARGO_PKG_VERSION"))),
        1.0
    );
    assert!(idp.contains(r#"slipgate_connections_closed_total{reason="handshake"}"#), "{idp}");

    // The log: stderr is a file, so JSON lines and no colour codes.
    let (text, lines) = log_lines(&log, |lines| audit(lines).len() >= 4);
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a file:\n{text}");
    assert!(!text.contains(&dev.password_of("alice")), "a password in the log");
    assert!(!text.contains("not-alices-password"), "a tried password in the log");
    let audited = audit(&lines);
    assert_eq!(audited.len(), 4, "two slips and two unsigned requests, no scrape or probe:\n{text}");
    let allowed: Vec<_> = audited.iter().filter(|l| l["decision"] == "allowed").collect();
    assert_eq!(allowed.len(), 1, "{text}");
    assert_eq!(allowed[0]["username"], "alice", "{}", allowed[0]);
    assert_eq!(allowed[0]["route"], "/generate/salaryslip");
    assert_eq!(allowed[0]["method"], "POST");
    let forbidden = audited.iter().find(|l| l["code"] == "forbidden").unwrap();
    assert_eq!(forbidden["username"], "alice", "a refusal after the token check names the user");
    let traced = audited.iter().find(|l| l["request_id"] == request_ids[0].as_str()).unwrap();
    assert_eq!(traced["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736", "{traced}");
    assert_eq!(traced["parent_id"], "00f067aa0ba902b7", "{traced}");
    assert_eq!(traced["code"], "signature_missing");
    let forged = audited.iter().find(|l| l["request_id"] == request_ids[1].as_str()).unwrap();
    assert!(forged.get("trace_id").is_none(), "{forged}");
    assert!(
        !text.to_ascii_lowercase().contains(&FORGED_TRACEPARENT.to_ascii_lowercase()),
        "forged header logged"
    );
    assert!(!text.contains("\"route\":\"/metrics\"") && !text.contains("\"route\":\"/readyz\""), "{text}");
    // The identity server's lines name the user, never the password.
    let issued = lines.iter().find(|l| l["message"] == "user token issued").unwrap();
    assert_eq!(issued["username"], "alice", "{issued}");
    let failed = lines.iter().find(|l| l["message"] == "login failed").unwrap();
    assert_eq!(failed["username"], "alice", "{failed}");
}

#[tokio::test]
async fn idp_readyz_fails_while_its_database_file_is_gone() {
    let dev = DevProcess::start();
    let url = format!("{}/readyz", dev.str("idp_admin_url"));
    assert_eq!(get(&url).await.0, 200);
    let db = Path::new(dev.str("ca_file")).with_file_name("idp.db");
    let moved = db.with_file_name("idp.db.moved");
    std::fs::rename(&db, &moved).unwrap();
    let (status, body) = get(&url).await;
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
    assert_eq!(body["checks"]["log_sink"]["ok"], true, "{body}");
    assert!(!body.to_string().contains("idp.db"), "no path in the answer: {body}");
    std::fs::rename(&moved, &db).unwrap();
    assert_eq!(get(&url).await.0, 200, "ready again once the file is back");
}

/// `slipgate idp serve` on a PostgreSQL database of its own: ready, then not
/// ready once that database is dropped under it.
#[tokio::test]
async fn idp_readyz_fails_when_its_postgresql_database_is_dropped() {
    #[allow(clippy::disallowed_methods, reason = "test configuration: the service URL CI provides")]
    let base = std::env::var("SLIPGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("slipgate_readyz_{}", std::process::id());
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args([base.as_str(), "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {name}"));
    let dir = tempfile::tempdir().unwrap();
    let pki = slipgate_api::devpki::DevPki::ensure(dir.path()).unwrap();
    let database = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("SLIPGATE_TEST_POSTGRES_URL names no database: {base}"),
    };
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            "[idp]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndatabase = {database:?}\n\
             signing_key_file = {:?}\n[tls]\ncert = {:?}\nkey = {:?}\n[log]\nformat = \"json\"\n",
            dir.path().join("signing-key.pem"),
            pki.server_cert,
            pki.server_key,
        ),
    )
    .unwrap();
    let log = dir.path().join("idp.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .args(["idp", "serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let admin = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(line) = text.lines().find(|l| l.contains("slipgate identity server listening")) {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            break line["admin"].as_str().unwrap().to_owned();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("idp serve exited with {status}:\n{text}");
        }
        assert!(Instant::now() < deadline, "idp serve did not listen within 60 s:\n{text}");
        pause();
    };
    let url = format!("http://{admin}/readyz");
    assert_eq!(get(&url).await.0, 200);
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
    let (status, body) = get(&url).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap()
}

/// Issue 16: stderr on a full disk (`/dev/full`: ENOSPC on every write). The
/// server keeps answering, refuses slips (nothing unaudited is served) with a
/// SPEC 503, reports itself unready, and its memory stays bounded.
#[tokio::test]
async fn a_full_disk_under_stderr_refuses_slips_and_turns_both_servers_unready() {
    let dev = DevProcess::start_logging("data", &[], |_| {
        Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
    });
    for url in [dev.str("admin_url"), dev.str("idp_admin_url")] {
        let (status, body) = get(&format!("{url}/readyz")).await;
        assert_eq!(status, 503, "{url}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["checks"]["log_sink"]["ok"], false, "{url}: {body}");
    }
    dev.login("alice");
    let refused = generate(&dev, "01234");
    assert!(!refused.status.success());
    let ca = std::path::PathBuf::from(dev.str("ca_file"));
    let client = https_client(&ca, &[&rustls::version::TLS13], &[]);
    let slip = format!("{}/generate/salaryslip", dev.str("api_url"));
    let send = || async {
        let response = client
            .post(&slip)
            .header("content-type", "application/json")
            .body(SEED_BODY)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body)
    };
    let (status, body) = send().await;
    assert_eq!((status, body["code"].as_str()), (503, Some("store_unavailable")), "{body}");
    // A flood of refused requests (each one a lost log line) leaves memory bounded.
    let before = rss_kib(dev.pid());
    for _ in 0..3000 {
        assert_eq!(send().await.0, 503);
    }
    let after = rss_kib(dev.pid());
    assert!(after < before + 64 * 1024, "RSS grew from {before} KiB to {after} KiB");
    // The writer runs behind a queue: the flood's last lines may still be queued
    // when the flood ends, so wait (bounded) until the writer has tried them all.
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = get(&format!("{}/metrics", dev.str("admin_url"))).await.1;
        if sample(&metrics, "slipgate_log_lines_lost_total") >= 3000.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(sample(&metrics, "slipgate_log_sink_failing"), 1.0);
    assert!(sample(&metrics, "slipgate_log_lines_lost_total") >= 3000.0, "{metrics}");
    // The CLI's request (and its retries), the first probe, then the flood.
    assert!(
        sample(&metrics, r#"slipgate_rejections_total{code="store_unavailable"}"#) >= 3002.0,
        "{metrics}"
    );
}
