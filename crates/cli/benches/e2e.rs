//! End to end: `slipgate bench` against `slipgate serve`, and against the same
//! server with the guard layers removed — a baseline built here, in the
//! benchmark harness, never a runtime option of the product.
//!
//! ```text
//! cargo bench -p slipgate-cli --bench e2e                  # full run, ≈ 2 min
//! cargo bench -p slipgate-cli --bench e2e -- --soak 10m    # memory over a steady-rate soak
//! cargo bench -p slipgate-cli --bench e2e -- --test        # quick mode (CI): a few seconds
//! ```
//!
//! Set-up, as the performance issue describes it: `slipgate dev` provides the
//! identity server, the demo keys and a logged-in profile (it and the load
//! generator share core 1); the server under test runs alone on core 0 with
//! an HMAC key, introspection with a warm cache, memory stores and the limits
//! raised out of the way; `slipgate bench` signs every request with 32
//! keep-alive HTTP/1.1 connections over TLS 1.3 from core 1. The full server
//! and the baseline run alternately, three rounds each; the median is kept.
//! Besides requests per second, the server's CPU time per answered request is
//! read from `/proc` and its request counter, which compares the two servers
//! even when the generator, not the server, is the bottleneck.
//!
//! The baseline keeps everything but the guard layers: TLS, HTTP, request ids,
//! problem rendering, security headers, metrics, the audit line, the response
//! signature (SPEC §3.8; bound to the request's signature fields, parsed but
//! not verified, since the SDK insists on the binding) and the handler (strict
//! parsing, validation, the slip, JSON). It drops the per-IP limit, load shedding, the request-shape check,
//! signature/digest/nonce, the token and the per-user limit; the handler gets
//! the claims the token layer would have proved.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const SLIPGATE: &str = env!("CARGO_BIN_EXE_slipgate");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if let Some(config) = flag_value(&args, "--serve-baseline") {
        serve_baseline(Path::new(&config))
    } else {
        let quick = args.iter().any(|a| a == "--test");
        match flag_value(&args, "--soak") {
            // A 60 s skew keeps nonces 120 s, so the nonce store reaches its steady
            // size early in the soak and the rest shows whether anything else grows.
            Some(d) => parse_duration(&d).and_then(|d| Harness::start(quick, "60s")?.soak(d)),
            None => Harness::start(quick, "300s").and_then(|h| h.compare()),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("e2e: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned()
}

fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let d: slipgate_proto::units::HumanDuration = s.parse().map_err(|e| anyhow::anyhow!("{s}: {e}"))?;
    Ok(d.0)
}

/// The baseline server: `slipgate serve` minus the guard layers (see the module docs).
fn serve_baseline(config_file: &Path) -> anyhow::Result<()> {
    use axum::Router;
    use axum::routing::post;
    use slipgate_api::{AppState, ConfigLoader, Listeners, respond, routes};
    use slipgate_guard::token::TokenClaims;
    use slipgate_transport::{self as transport, ConnLimits, tls};

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let config: slipgate_api::Config = ConfigLoader::new().file(config_file)?.load()?;
        // The same log set-up as `slipgate serve`: the audit line is part of the cost.
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
        let state = AppState::from_config(&config)?;
        let claims = TokenClaims {
            sub: "alice".into(),
            scope: "salaryslip:self".into(),
            emp_id: Some("01234".into()),
            // slipgate dev's alice, whose record `slipgate bench` sends (SPEC §3.4 self rule).
            emp_code: Some("ENG".into()),
            emp_name: Some("Alice Example".into()),
            emp_grade: Some("7.1".into()),
            exp: i64::MAX,
            client_id: None,
            username: None,
            cnf: None,
            token_type: None,
        };
        let app = Router::new()
            .route(slipgate_proto::SLIP_PATH, post(routes::slip::generate).layer(axum::Extension(claims)))
            .route("/.well-known/slipgate-keys", axum::routing::get(routes::openapi::response_keys))
            .fallback(routes::not_found)
            .layer(axum::middleware::from_fn_with_state(state.clone(), respond::respond))
            .layer(axum::middleware::from_fn_with_state(state.clone(), respond::sign_response))
            .with_state(state.clone());
        let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) else {
            bail!("tls.cert and tls.key are required");
        };
        let tls = tls::server_config_with_client_ca(cert, key, None)?;
        let limits = ConnLimits { header_timeout: config.limits.header_timeout.0, ..ConnLimits::default() };
        let listeners = Listeners::bind(&config).await?;
        let stop = || async {
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
            }
        };
        let admin = tokio::spawn(transport::serve_plain(
            listeners.admin,
            slipgate_api::admin_router(state),
            limits.clone(),
            stop(),
        ));
        transport::serve_tls(listeners.api, tls, app, limits, stop()).await;
        admin.abort();
        Ok(())
    })
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a run measures.
#[derive(Debug, Clone)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    non_200: u64,
    cpu_us_per_request: f64,
    hwm_kib: u64,
    /// Share of its core the load generator used (1.0 = saturated).
    generator_busy: f64,
    /// Answers that spent more than 5 ms inside the server's service stack.
    slow_inside: u64,
}

struct Harness {
    quick: bool,
    /// `slipgate bench --warmup` (`SLIPGATE_E2E_WARMUP`, default 2s).
    warmup: String,
    pinned: bool,
    dir: tempfile::TempDir,
    config_home: PathBuf,
    _dev: Proc,
    config: PathBuf,
    api_port: u16,
    admin_port: u16,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn toml_str(p: &Path) -> String {
    toml_quoted(&p.display().to_string())
}

/// A TOML basic string (Rust's debug quoting escapes `"` and `\\` the same way).
fn toml_quoted(s: &str) -> String {
    format!("{s:?}")
}

/// `taskset -c CPU` in front of `program` when pinning is possible.
fn command(program: &str, cpu: Option<u8>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string(), program]);
            c
        }
        None => Command::new(program),
    }
}

impl Harness {
    fn start(quick: bool, max_skew: &str) -> anyhow::Result<Self> {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let taskset = Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success());
        let pinned = !quick && cpus >= 2 && taskset;
        if !quick && !pinned {
            eprintln!("e2e: not pinning (need 2 CPUs and taskset); figures will mix server and client");
        }
        let dir = tempfile::tempdir()?;
        let config_home = dir.path().join("config");
        let data = dir.path().join("data");
        let dev_process = Proc(
            command(SLIPGATE, pinned.then_some(1))
                .args(["dev", "--data-dir"])
                .arg(&data)
                .args(["--set", "server.listen=127.0.0.1:0", "--set", "server.admin_listen=127.0.0.1:0"])
                .args(["--set", "idp.listen=127.0.0.1:0"])
                .env("XDG_CONFIG_HOME", &config_home)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start slipgate dev")?,
        );
        let dev_json = data.join("dev.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dev_json.exists() {
            if Instant::now() > deadline {
                bail!("slipgate dev did not write dev.json within 60 s");
            }
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
        let dev: serde_json::Value = serde_json::from_slice(&std::fs::read(&dev_json)?)?;
        let str_of = |v: &serde_json::Value| v.as_str().map(str::to_owned).context("dev.json is incomplete");
        let password = dev["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["username"] == "alice"))
            .map(|u| &u["password"])
            .context("dev.json has no alice")?;
        let mut login = Command::new(SLIPGATE)
            .args(["login", "--username", "alice", "--password-stdin"])
            .env("XDG_CONFIG_HOME", &config_home)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        writeln!(login.stdin.take().context("no stdin")?, "{}", str_of(password)?)?;
        if !login.wait()?.success() {
            bail!("slipgate login failed");
        }

        let (api_port, admin_port) = (free_port()?, free_port()?);
        let config = dir.path().join("serve.toml");
        std::fs::write(
            &config,
            format!(
                r#"[server]
listen = "127.0.0.1:{api_port}"
admin_listen = "127.0.0.1:{admin_port}"

[tls]
cert = {cert}
key = {key}

[signature]
keys = [{{ id = "dev-hmac", alg = "hmac-sha256", secret_file = {secret} }}]
max_skew = "{max_skew}"
# dev's response key: the profile names dev's key set (`server_keys`).
response_key_file = {response_key}

[auth]
mode = "introspection"
idp_url = {idp}
ca = {ca}
client_id = {client_id}
client_secret_file = {client_secret}

[rate_limit]
ip = "100000000/s"
user = "100000000/s"

[limits]
max_concurrency = 100000
"#,
                cert = toml_str(&data.join("server.pem")),
                key = toml_str(&data.join("server-key.pem")),
                secret = toml_str(&data.join("dev-hmac.secret")),
                response_key = toml_str(&data.join("response-key.pem")),
                idp = toml_quoted(&str_of(&dev["idp_url"])?),
                ca = toml_str(&data.join("ca.pem")),
                client_id = toml_quoted(&str_of(&dev["introspection_client"]["client_id"])?),
                client_secret = toml_str(&data.join("introspection.secret")),
            ),
        )?;
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let warmup = std::env::var("SLIPGATE_E2E_WARMUP").unwrap_or_else(|_| "2s".into());
        Ok(Self { quick, warmup, pinned, dir, config_home, _dev: dev_process, config, api_port, admin_port })
    }

    fn spawn_server(&self, baseline: bool) -> anyhow::Result<Proc> {
        let log =
            std::fs::File::create(self.dir.path().join(if baseline { "baseline.log" } else { "serve.log" }))?;
        let cpu = self.pinned.then_some(0);
        let mut cmd = if baseline {
            let exe = std::env::current_exe()?;
            let mut c = command(&exe.display().to_string(), cpu);
            c.arg("--serve-baseline").arg(&self.config);
            c
        } else {
            let mut c = command(SLIPGATE, cpu);
            c.args(["serve", "--config"]).arg(&self.config);
            c
        };
        let child = Proc(cmd.stdout(Stdio::null()).stderr(log).spawn()?);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.api_port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                bail!("the server did not listen within 30 s (see {})", self.dir.path().display());
            }
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(child)
    }

    /// One `slipgate bench` run against a fresh server process.
    fn run(&self, baseline: bool, duration: &str, rate: Option<f64>) -> anyhow::Result<Run> {
        let server = self.spawn_server(baseline)?;
        let pid = server.0.id();
        let connections = if self.quick { "4" } else { "32" };
        let mut cmd = command(SLIPGATE, self.pinned.then_some(1));
        cmd.args(["bench", "--api", &format!("https://127.0.0.1:{}", self.api_port)])
            .args(["--duration", duration, "--connections", connections, "--json", "--warmup", &self.warmup])
            .env("XDG_CONFIG_HOME", &self.config_home);
        if let Some(rate) = rate {
            cmd.args(["--rate", &format!("{rate:.0}/s")]);
        }
        let before = (cpu_ticks(pid)?, self.served()?, children_ticks()?, Instant::now());
        let out = cmd.output()?;
        let after = (cpu_ticks(pid)?, self.served()?, children_ticks()?);
        let wall = before.3.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("slipgate bench failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let f = |k: &str| report[k].as_f64().unwrap_or(0.0);
        let requests = report["requests"].as_u64().unwrap_or(0);
        let ok = report["status"]["200"].as_u64().unwrap_or(0);
        let served = after.1.saturating_sub(before.1).max(1);
        let ticks_per_s = 100.0; // USER_HZ on Linux
        let cpu_us = (after.0.saturating_sub(before.0)) as f64 / ticks_per_s * 1e6;
        let hwm_kib = vm_hwm_kib(pid)?;
        let slow_inside = self.slow_inside()?;
        let generator_busy = (after.2.saturating_sub(before.2)) as f64 / ticks_per_s / wall;
        drop(server);
        Ok(Run {
            rps: f("rps"),
            p50_ms: f("p50_ms"),
            p99_ms: f("p99_ms"),
            max_ms: f("max_ms"),
            non_200: requests.saturating_sub(ok) + report["errors"].as_u64().unwrap_or(0),
            cpu_us_per_request: cpu_us / served as f64,
            hwm_kib,
            generator_busy,
            slow_inside,
        })
    }

    /// Slips the server has answered, from its `/metrics`.
    fn served(&self) -> anyhow::Result<u64> {
        self.metric("slipgate_http_requests_total{route=\"/generate/salaryslip\"")
    }

    /// Slips whose handling inside the server (middleware to handler and
    /// back, without socket and TLS time) took more than 5 ms.
    fn slow_inside(&self) -> anyhow::Result<u64> {
        let prefix = "slipgate_http_request_duration_seconds";
        let all = self.metric(&format!("{prefix}_count{{route=\"/generate/salaryslip\""))?;
        let fast = self.metric(&format!(
            "{prefix}_bucket{{route=\"/generate/salaryslip\",status=\"200\",le=\"0.005\""
        ))?;
        Ok(all.saturating_sub(fast))
    }

    /// The sum of the `/metrics` samples whose line starts with `prefix`.
    fn metric(&self, prefix: &str) -> anyhow::Result<u64> {
        use std::io::Read as _;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.admin_port))?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum())
    }

    fn compare(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        let mut full = Vec::new();
        let mut base = Vec::new();
        for round in 1..=rounds {
            for baseline in [false, true] {
                let run = self.run(baseline, duration, None)?;
                let name = if baseline { "baseline" } else { "full" };
                eprintln!("e2e: round {round} {name:8} {run:?}");
                if run.non_200 > 0 {
                    bail!("{name}: {} answers were not 200 ({run:?})", run.non_200);
                }
                if baseline { base.push(run) } else { full.push(run) }
            }
        }
        let (full, base) = (median(full), median(base));
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let half = match std::env::var("SLIPGATE_E2E_RATE").ok().and_then(|r| r.parse::<f64>().ok()) {
            Some(rate) => rate,
            None => (full.rps / 2.0).round(),
        };
        let mut fixed = Vec::new();
        for (name, baseline, rate) in [
            (format!("full at {half:.0}/s (half of its peak)"), false, half),
            (format!("baseline at {half:.0}/s"), true, half),
            ("full at 200/s".to_owned(), false, 200.0),
        ] {
            let run = self.run(baseline, duration, Some(rate))?;
            eprintln!("e2e: {name:8} {run:?}");
            if run.non_200 > 0 {
                bail!("{name}: {} answers were not 200", run.non_200);
            }
            fixed.push((name, run));
        }
        println!(
            "| server | requests/s | p50 | p99 | max | server CPU per request | peak RSS | generator busy | > 5 ms inside the server |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        let peak = [
            ("full (`slipgate serve`), peak".to_owned(), full.clone()),
            ("baseline (guard layers removed), peak".to_owned(), base.clone()),
        ];
        for (name, r) in peak.iter().chain(fixed.iter()) {
            println!(
                "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} µs | {:.1} MiB | {:.0} % | {} |",
                r.rps,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.cpu_us_per_request,
                r.hwm_kib as f64 / 1024.0,
                100.0 * r.generator_busy,
                r.slow_inside
            );
        }
        println!(
            "\nthroughput full/baseline = {:.1} %; CPU per request baseline/full = {:.1} %",
            100.0 * full.rps / base.rps,
            100.0 * base.cpu_us_per_request / full.cpu_us_per_request
        );
        Ok(())
    }

    /// Steady rate for `length`, resident memory sampled every 10 s.
    fn soak(&self, length: Duration) -> anyhow::Result<()> {
        let server = self.spawn_server(false)?;
        let pid = server.0.id();
        let rate = 2000;
        let mut bench = command(SLIPGATE, self.pinned.then_some(1))
            .args(["bench", "--api", &format!("https://127.0.0.1:{}", self.api_port)])
            .args(["--duration", &format!("{}s", length.as_secs()), "--connections", "32", "--json"])
            .args(["--rate", &format!("{rate}/s"), "--warmup", "1s"])
            .env("XDG_CONFIG_HOME", &self.config_home)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let started = Instant::now();
        println!("| elapsed | RSS |");
        println!("|---|---|");
        let mut samples = Vec::new();
        while bench.try_wait()?.is_none() {
            let rss = status_kib(pid, "VmRSS:")?;
            println!("| {:>4} s | {:.1} MiB |", started.elapsed().as_secs(), rss as f64 / 1024.0);
            samples.push(rss);
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_secs(if self.quick { 1 } else { 10 }));
        }
        let out = bench.wait_with_output()?;
        println!("bench: {}", String::from_utf8_lossy(&out.stdout).trim());
        // Samples are 10 s apart: from the second minute on, the nonce store has its steady size.
        let settled = samples.get(12..).unwrap_or_default();
        if let (Some(low), Some(high)) = (settled.iter().min(), settled.iter().max()) {
            println!(
                "RSS from 2 min to the end: lowest {:.1} MiB, highest {:.1} MiB; peak {:.1} MiB",
                *low as f64 / 1024.0,
                *high as f64 / 1024.0,
                vm_hwm_kib(pid)? as f64 / 1024.0
            );
        }
        drop(server);
        Ok(())
    }
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// cutime + cstime of this process: CPU of the children it has waited for.
fn children_ticks() -> anyhow::Result<u64> {
    let f = stat_fields("self")?;
    Ok(f(16) + f(17))
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let f = stat_fields(&pid.to_string())?;
    Ok(f(14) + f(15))
}

/// Numeric field *n* (1-based, as in proc(5)) of `/proc/<who>/stat`; 0 when absent.
fn stat_fields(who: &str) -> anyhow::Result<impl Fn(usize) -> u64 + use<>> {
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat"))?;
    // Fields after the parenthesised command name start at field 3.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r.to_owned()).context("unexpected /proc/pid/stat")?;
    let fields: Vec<u64> = rest.split(' ').map(|v| v.parse().unwrap_or(0)).collect();
    Ok(move |n: usize| n.checked_sub(3).and_then(|i| fields.get(i)).copied().unwrap_or(0))
}

fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

fn vm_hwm_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmHWM:")
}
