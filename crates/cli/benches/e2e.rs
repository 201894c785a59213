//! End to end: `slipgate bench` against `slipgate serve`, and against the same
//! server with the guard layers removed — a baseline built here, in the
//! benchmark harness, never a runtime option of the product.
//!
//! ```text
//! cargo bench -p slipgate-cli --bench e2e                  # full run, ≈ 2 min
//! cargo bench -p slipgate-cli --bench e2e -- --soak 10m    # memory over a steady-rate soak
//! cargo bench -p slipgate-cli --bench e2e -- --soak 15m --closed-loop   # sustained peak, defaults
//! cargo bench -p slipgate-cli --bench e2e -- --redis       # memory vs Redis stores, round trips
//! cargo bench -p slipgate-cli --bench e2e -- --test        # quick mode (CI): a few seconds
//! cargo bench -p slipgate-cli --bench e2e -- --binding     # device key + bound token vs registry HMAC
//! ```
//!
//! The comparison and the soak sign with the registry key `dev-hmac` and a `Bearer` token (profile
//! `hmac`). `--binding` runs the full server only, alternating that profile with dev's `default`
//! profile — its device key (Ed25519) and a token bound to it, `Authorization: HTTPSig` — three
//! rounds each, to measure what the per-request Ed25519 verification of bound tokens costs.
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
        let closed_loop = args.iter().any(|a| a == "--closed-loop");
        match flag_value(&args, "--soak") {
            // Closed loop (issue 16 target 1): as fast as the server answers, at the
            // default `signature.max_skew` and `replay.max_memory`.
            Some(d) if closed_loop => {
                parse_duration(&d).and_then(|d| Harness::start(quick, None, false)?.soak(d, None))
            }
            // A 60 s skew keeps nonces until `created + 60 s`, so the nonce store reaches
            // its steady size early in the soak and the rest shows whether anything else grows.
            Some(d) => parse_duration(&d)
                .and_then(|d| Harness::start(quick, Some("60s"), false)?.soak(d, Some(2000))),
            None if args.iter().any(|a| a == "--binding") => {
                Harness::start(quick, Some("300s"), false).and_then(|h| h.binding())
            }
            None if args.iter().any(|a| a == "--redis") => {
                Harness::start(quick, Some("300s"), true).and_then(|h| h.compare_redis())
            }
            None => Harness::start(quick, Some("300s"), false).and_then(|h| h.compare()),
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
    use slipgate_api::{AppState, ConfigLoader, Listeners, routes, with_response_layers};
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
            username: Some("alice".into()),
            cnf: None,
            token_type: None,
        };
        let app = Router::new()
            .route(slipgate_proto::SLIP_PATH, slipgate_test_support::router::unguarded_slip_route(claims))
            .route("/.well-known/slipgate-keys", axum::routing::get(routes::openapi::response_keys))
            .fallback(routes::not_found);
        let app = with_response_layers(app, &state);
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
    /// Slips the server counted in `/metrics` during the run (warm-up included).
    served: u64,
    /// Redis commands by name during the run (`INFO commandstats` delta), for
    /// [`Server::FullRedis`].
    redis_calls: std::collections::BTreeMap<String, u64>,
}

/// The profile signing with the registry key `dev-hmac` and a `Bearer` token.
const HMAC_PROFILE: &str = "hmac";
/// dev's profile: the device key and a token bound to it.
const DEVICE_PROFILE: &str = "default";

struct Harness {
    quick: bool,
    /// `slipgate bench --warmup` (`SLIPGATE_E2E_WARMUP`, default 2s).
    warmup: String,
    pinned: bool,
    dir: tempfile::TempDir,
    config_home: PathBuf,
    _dev: Proc,
    config: PathBuf,
    /// The same server with `replay.store = rate_limit.store = "redis"` (`--redis`).
    redis_config: Option<PathBuf>,
    /// The private `redis-server` of `--redis`, and its port.
    redis: Option<(Proc, u16)>,
    api_port: u16,
    admin_port: u16,
}

/// Which server a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// `slipgate serve`, memory stores.
    Full,
    /// The harness's layer-free server.
    Baseline,
    /// `slipgate serve` with both stores in the private Redis.
    FullRedis,
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
    /// `max_skew`: `None` keeps the default (`signature.max_skew` unset).
    /// `redis`: also start a private `redis-server` and write its config.
    fn start(quick: bool, max_skew: Option<&str>, redis: bool) -> anyhow::Result<Self> {
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
        // dev's profile names no registry key: its login makes the device key and a bound token.
        // The `hmac` profile is the same plus the registry key.
        let profiles = config_home.join("slipgate/profiles");
        let default = std::fs::read_to_string(profiles.join("default.toml"))?;
        std::fs::write(
            profiles.join(format!("{HMAC_PROFILE}.toml")),
            format!(
                "{default}key_id = \"dev-hmac\"\nkey_file = {}\n",
                toml_str(&data.join("dev-hmac.secret"))
            ),
        )?;
        for profile in [DEVICE_PROFILE, HMAC_PROFILE] {
            let mut login = Command::new(SLIPGATE)
                .args(["login", "--profile", profile, "--username", "alice", "--password-stdin"])
                .env("XDG_CONFIG_HOME", &config_home)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()?;
            writeln!(login.stdin.take().context("no stdin")?, "{}", str_of(password)?)?;
            if !login.wait()?.success() {
                bail!("slipgate login --profile {profile} failed");
            }
        }

        let (api_port, admin_port) = (free_port()?, free_port()?);
        let config = dir.path().join("serve.toml");
        let skew_line = max_skew.map(|s| format!("max_skew = \"{s}\"\n")).unwrap_or_default();
        let text = format!(
            r#"[server]
listen = "127.0.0.1:{api_port}"
admin_listen = "127.0.0.1:{admin_port}"

[tls]
cert = {cert}
key = {key}

[signature]
keys = [{{ id = "dev-hmac", alg = "hmac-sha256", secret_file = {secret} }}]
{skew_line}# dev's response key: the profile names dev's key set (`server_keys`).
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
        );
        std::fs::write(&config, &text)?;
        let (redis_config, redis) = if redis {
            let (server, port) = start_redis(dir.path(), pinned.then_some(1))?;
            let path = dir.path().join("serve-redis.toml");
            // Both stores in Redis; everything else as the memory configuration.
            let text = text.replace("[rate_limit]\n", "[rate_limit]\nstore = \"redis\"\n");
            std::fs::write(
                &path,
                format!(
                    "{text}\n[replay]\nstore = \"redis\"\n\n[redis]\nurl = \"redis://127.0.0.1:{port}/0\"\n"
                ),
            )?;
            (Some(path), Some((server, port)))
        } else {
            (None, None)
        };
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let warmup = std::env::var("SLIPGATE_E2E_WARMUP").unwrap_or_else(|_| "2s".into());
        Ok(Self {
            quick,
            warmup,
            pinned,
            dir,
            config_home,
            _dev: dev_process,
            config,
            redis_config,
            redis,
            api_port,
            admin_port,
        })
    }

    fn spawn_server(&self, server: Server) -> anyhow::Result<Proc> {
        let log_name = match server {
            Server::Full => "serve.log",
            Server::Baseline => "baseline.log",
            Server::FullRedis => "serve-redis.log",
        };
        let log = std::fs::File::create(self.dir.path().join(log_name))?;
        let cpu = self.pinned.then_some(0);
        let mut cmd = match server {
            Server::Baseline => {
                let exe = std::env::current_exe()?;
                let mut c = command(&exe.display().to_string(), cpu);
                c.arg("--serve-baseline").arg(&self.config);
                c
            }
            Server::Full => {
                let mut c = command(SLIPGATE, cpu);
                c.args(["serve", "--config"]).arg(&self.config);
                c
            }
            Server::FullRedis => {
                let config = self.redis_config.as_ref().context("the harness has no Redis configuration")?;
                let mut c = command(SLIPGATE, cpu);
                c.args(["serve", "--config"]).arg(config);
                c
            }
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
    fn run(&self, kind: Server, duration: &str, rate: Option<f64>) -> anyhow::Result<Run> {
        self.run_as(HMAC_PROFILE, kind, duration, rate)
    }

    /// [`Harness::run`] signing as `profile`.
    fn run_as(&self, profile: &str, kind: Server, duration: &str, rate: Option<f64>) -> anyhow::Result<Run> {
        let server = self.spawn_server(kind)?;
        let pid = server.0.id();
        let connections = if self.quick { "4" } else { "32" };
        let mut cmd = command(SLIPGATE, self.pinned.then_some(1));
        cmd.args(["bench", "--profile", profile, "--api", &format!("https://127.0.0.1:{}", self.api_port)])
            .args(["--duration", duration, "--connections", connections, "--json", "--warmup", &self.warmup])
            .env("XDG_CONFIG_HOME", &self.config_home);
        if let Some(rate) = rate {
            cmd.args(["--rate", &format!("{rate:.0}/s")]);
        }
        let redis_port = self.redis.as_ref().map(|r| r.1).filter(|_| kind == Server::FullRedis);
        let redis_before = redis_port.map(redis_commandstats).transpose()?;
        let before = (cpu_ticks(pid)?, self.served()?, children_ticks()?, Instant::now());
        let out = cmd.output()?;
        let after = (cpu_ticks(pid)?, self.served()?, children_ticks()?);
        let redis_calls = match (redis_port, redis_before) {
            (Some(port), Some(before)) => {
                let mut after = redis_commandstats(port)?;
                for (name, calls) in &mut after {
                    *calls = calls.saturating_sub(before.get(name).copied().unwrap_or(0));
                }
                after.retain(|name, calls| *calls > 0 && name != "info");
                after
            }
            _ => Default::default(),
        };
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
            served,
            redis_calls,
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
                let run = self.run(if baseline { Server::Baseline } else { Server::Full }, duration, None)?;
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
            let kind = if baseline { Server::Baseline } else { Server::Full };
            let run = self.run(kind, duration, Some(rate))?;
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

    /// The full server with a device key and bound tokens against the registry HMAC key, alternating,
    /// three rounds each (one in quick mode): every run and the medians.
    fn binding(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        let kinds = [
            ("registry key `dev-hmac` (HMAC), `Bearer`", HMAC_PROFILE),
            ("device key (Ed25519), bound token, `HTTPSig`", DEVICE_PROFILE),
        ];
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
        println!("| round | signed with | requests/s | p50 | p99 | server CPU per request |");
        println!("|---|---|---|---|---|---|");
        for round in 1..=rounds {
            for (i, (name, profile)) in kinds.iter().enumerate() {
                let run = self.run_as(profile, Server::Full, duration, None)?;
                eprintln!("e2e: round {round} {profile:8} {run:?}");
                if run.non_200 > 0 {
                    bail!("{name}: {} answers were not 200 ({run:?})", run.non_200);
                }
                println!(
                    "| {round} | {name} | {:.0} | {:.2} ms | {:.2} ms | {:.1} µs |",
                    run.rps, run.p50_ms, run.p99_ms, run.cpu_us_per_request
                );
                runs[i].push(run);
            }
        }
        let medians: Vec<Run> = runs.into_iter().map(median).collect();
        for ((name, _), r) in kinds.iter().zip(&medians) {
            println!(
                "| median | {name} | {:.0} | {:.2} ms | {:.2} ms | {:.1} µs |",
                r.rps, r.p50_ms, r.p99_ms, r.cpu_us_per_request
            );
        }
        if let [hmac, bound] = medians.as_slice() {
            println!(
                "\nthroughput bound/HMAC = {:.1} %; server CPU per request bound − HMAC = {:.1} µs",
                100.0 * bound.rps / hmac.rps,
                bound.cpu_us_per_request - hmac.cpu_us_per_request
            );
        }
        Ok(())
    }

    /// `length` at a steady `rate`, or closed loop (as fast as the server answers)
    /// when `rate` is `None`; resident memory and the nonce store's fill level
    /// sampled every 10 s, every status counted. Fails on any answer but 200.
    fn soak(&self, length: Duration, rate: Option<u32>) -> anyhow::Result<()> {
        let server = self.spawn_server(Server::Full)?;
        let pid = server.0.id();
        let mut cmd = command(SLIPGATE, self.pinned.then_some(1));
        cmd.args([
            "bench",
            "--profile",
            HMAC_PROFILE,
            "--api",
            &format!("https://127.0.0.1:{}", self.api_port),
        ])
        .args(["--duration", &format!("{}s", length.as_secs()), "--connections", "32", "--json"])
        .args(["--warmup", "1s"]);
        if let Some(rate) = rate {
            cmd.args(["--rate", &format!("{rate}/s")]);
        }
        let bench_log = self.dir.path().join("bench-soak.err");
        let mut bench = cmd
            .env("XDG_CONFIG_HOME", &self.config_home)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&bench_log)?)
            .spawn()?;
        let started = Instant::now();
        let cpu_start = cpu_ticks(pid)?;
        println!(
            "| elapsed | RSS | slips answered | nonces held | store bytes (reserved) | bytes per nonce | server CPU |"
        );
        println!("|---|---|---|---|---|---|---|");
        let mut samples = Vec::new();
        let mut last = (Instant::now(), cpu_start);
        while bench.try_wait()?.is_none() {
            let rss = status_kib(pid, "VmRSS:")?;
            let served = self.served()?;
            let entries = self.metric("slipgate_nonce_store_entries")?;
            let bytes = self.metric("slipgate_nonce_store_bytes ")?;
            let cpu = cpu_ticks(pid)?;
            let busy = (cpu.saturating_sub(last.1)) as f64 / 100.0 / last.0.elapsed().as_secs_f64().max(1e-3);
            last = (Instant::now(), cpu);
            println!(
                "| {:>4} s | {:.1} MiB | {served} | {entries} | {:.1} MiB | {} | {:.0} % |",
                started.elapsed().as_secs(),
                rss as f64 / 1024.0,
                bytes as f64 / 1_048_576.0,
                if entries > 0 { format!("{:.2}", bytes as f64 / entries as f64) } else { "-".into() },
                100.0 * busy,
            );
            samples.push((rss, entries, bytes));
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_secs(if self.quick { 1 } else { 10 }));
        }
        let out = bench.wait_with_output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        println!("bench: {}", text.trim());
        let report: serde_json::Value = serde_json::from_str(text.trim()).context("slipgate bench output")?;
        let requests = report["requests"].as_u64().unwrap_or(0);
        let ok = report["status"]["200"].as_u64().unwrap_or(0);
        let errors = report["errors"].as_u64().unwrap_or(0);
        // Steady state: a nonce lives until `created + max_skew` (+ up to one bucket),
        // so from about max_skew + 60 s on the store's size is flat at a steady rate.
        // Samples are 10 s apart; the skew is 60 s at a fixed rate, 300 s closed loop.
        let settled_from = if rate.is_some() { 12 } else { 36 };
        let settled = samples.get(settled_from..).unwrap_or_default();
        if let (Some(low), Some(high)) =
            (settled.iter().map(|s| s.0).min(), settled.iter().map(|s| s.0).max())
        {
            println!(
                "RSS from {} s to the end: lowest {:.1} MiB, highest {:.1} MiB; peak {:.1} MiB",
                settled_from * 10,
                low as f64 / 1024.0,
                high as f64 / 1024.0,
                vm_hwm_kib(pid)? as f64 / 1024.0
            );
        }
        if let Some(&(_, entries, bytes)) = samples.iter().max_by_key(|s| s.1) {
            println!(
                "nonce store at its fullest: {entries} nonces, {bytes} bytes reserved = {:.2} B per live nonce",
                bytes as f64 / entries.max(1) as f64
            );
        }
        println!(
            "server CPU per answered slip: {:.1} µs",
            (cpu_ticks(pid)?.saturating_sub(cpu_start)) as f64 / 100.0 * 1e6 / self.served()?.max(1) as f64
        );
        drop(server);
        // What the generator said (its first transport error, if any) and the server's
        // warnings and errors: the audit lines at info level are left out.
        for line in std::fs::read_to_string(&bench_log)?.lines().take(20) {
            println!("bench stderr: {line}");
        }
        let serve_log = std::io::BufReader::new(std::fs::File::open(self.dir.path().join("serve.log"))?);
        let mut notable = std::io::BufRead::lines(serve_log)
            .map_while(Result::ok)
            .filter(|l| !l.contains("INFO") && !l.trim().is_empty());
        let first: Vec<String> = notable.by_ref().take(10).collect();
        println!("server log: {} lines other than INFO", first.len() + notable.count());
        for line in first {
            println!("server log: {line}");
        }
        if !out.status.success() {
            bail!("slipgate bench failed");
        }
        if requests == 0 || ok != requests || errors > 0 {
            bail!(
                "{} of {requests} answers were not 200, {errors} errors: {}",
                requests - ok,
                report["status"]
            );
        }
        Ok(())
    }

    /// Memory stores against Redis stores, alternating, and Redis commands per slip.
    fn compare_redis(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        println!(
            "| round | stores | requests/s | p50 | p99 | server CPU per request | Redis commands per slip (by command) |"
        );
        println!("|---|---|---|---|---|---|---|");
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let mut pair = Vec::new();
            for kind in [Server::Full, Server::FullRedis] {
                let run = self.run(kind, duration, None)?;
                eprintln!("e2e: round {round} {kind:?} {run:?}");
                if run.non_200 > 0 {
                    bail!("{kind:?}: {} answers were not 200 ({run:?})", run.non_200);
                }
                let per_slip: Vec<String> = run
                    .redis_calls
                    .iter()
                    .map(|(name, calls)| format!("{name} {:.3}", *calls as f64 / run.served.max(1) as f64))
                    .collect();
                let total: u64 = run.redis_calls.values().sum();
                println!(
                    "| {round} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} µs | {} |",
                    if kind == Server::Full { "memory" } else { "redis" },
                    run.rps,
                    run.p50_ms,
                    run.p99_ms,
                    run.cpu_us_per_request,
                    if kind == Server::Full {
                        "-".to_owned()
                    } else {
                        format!("{:.3} ({})", total as f64 / run.served.max(1) as f64, per_slip.join(", "))
                    }
                );
                pair.push(run);
            }
            if let [memory, redis] = &pair[..] {
                ratios.push((redis.rps / memory.rps, memory.cpu_us_per_request / redis.cpu_us_per_request));
            }
        }
        // Round trips: `INFO commandstats` also counts the commands a Lua script
        // runs inside Redis, so a short fixed-rate run under MONITOR separates what
        // the server sends (one round trip each: nothing is pipelined) from those.
        let port = self.redis.as_ref().map(|r| r.1).context("no Redis")?;
        let monitor = Monitor::start(port)?;
        let run = self.run(Server::FullRedis, if self.quick { "1s" } else { "3s" }, Some(200.0))?;
        let (sent, in_scripts) = monitor.stop()?;
        if run.non_200 > 0 {
            bail!("under MONITOR: {} answers were not 200", run.non_200);
        }
        let per = |m: &std::collections::BTreeMap<String, u64>| {
            let total: u64 = m.values().sum();
            let by: Vec<String> =
                m.iter().map(|(k, v)| format!("{k} {:.3}", *v as f64 / run.served.max(1) as f64)).collect();
            format!("{:.3} ({})", total as f64 / run.served.max(1) as f64, by.join(", "))
        };
        println!(
            "\nunder MONITOR, {} slips at 200/s: commands sent by the server (round trips) per slip {}; \
             run inside Lua scripts per slip {}",
            run.served,
            per(&sent),
            per(&in_scripts)
        );
        for (round, (rps, cpu)) in ratios.iter().enumerate() {
            println!(
                "round {}: throughput redis/memory = {:.1} %; CPU per request memory/redis = {:.1} %",
                round + 1,
                100.0 * rps,
                100.0 * cpu
            );
        }
        Ok(())
    }
}

/// A private `redis-server` on a free loopback port, nothing persisted,
/// `noeviction` (the nonce store must never forget a live nonce).
fn start_redis(dir: &Path, cpu: Option<u8>) -> anyhow::Result<(Proc, u16)> {
    let port = free_port()?;
    let redis_dir = dir.join("redis");
    std::fs::create_dir_all(&redis_dir)?;
    let child = Proc(
        command("redis-server", cpu)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--maxmemory-policy", "noeviction", "--dir"])
            .arg(&redis_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server (is it installed?)")?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_commandstats(port).is_err() {
        if Instant::now() > deadline {
            bail!("redis-server did not answer within 10 s");
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, port))
}

/// A `MONITOR` connection read on its own thread: commands by name, split into
/// those a client sent and those a Lua script ran (`[db lua]`).
struct Monitor {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<(CallCounts, CallCounts)>>,
}

type CallCounts = std::collections::BTreeMap<String, u64>;

impl Monitor {
    fn start(port: u16) -> anyhow::Result<Self> {
        use std::io::BufRead as _;
        use std::sync::atomic::Ordering;
        let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        (&stream).write_all(b"*1\r\n$7\r\nMONITOR\r\n")?;
        let mut reader = std::io::BufReader::new(stream);
        let mut ok = String::new();
        reader.read_line(&mut ok)?;
        if ok.trim_end() != "+OK" {
            bail!("MONITOR answered {ok:?}");
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut sent, mut in_scripts) = (CallCounts::new(), CallCounts::new());
            let mut line = String::new();
            loop {
                match reader.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) if line.ends_with('\n') => {
                        // `+1700000000.123456 [0 127.0.0.1:5555] "SET" "k" ...`
                        if let Some((origin, rest)) = line.split_once("] \"").and_then(|(head, rest)| {
                            Some((
                                head.rsplit_once('[')?.1.to_owned(),
                                rest.split('"').next()?.to_lowercase(),
                            ))
                        }) {
                            let map = if origin.ends_with(" lua") { &mut in_scripts } else { &mut sent };
                            *map.entry(rest).or_default() += 1;
                        }
                        line.clear();
                    }
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        if flag.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok((sent, in_scripts))
        });
        Ok(Self { stop, thread })
    }

    /// Stops reading once the stream is quiet; the `INFO` calls of the harness are left out.
    fn stop(self) -> anyhow::Result<(CallCounts, CallCounts)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (mut sent, in_scripts) =
            self.thread.join().map_err(|_| anyhow::anyhow!("MONITOR thread panicked"))??;
        sent.remove("info");
        Ok((sent, in_scripts))
    }
}

/// `INFO commandstats` of the Redis at `port`: calls by command name.
fn redis_commandstats(port: u16) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    use std::io::{BufRead as _, Read as _};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    (&stream).write_all(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")?;
    let mut reader = std::io::BufReader::new(&stream);
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let len: usize = header
        .strip_prefix('$')
        .and_then(|l| l.trim_end().parse().ok())
        .with_context(|| format!("unexpected Redis answer {header:?}"))?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    // Lines like `cmdstat_set:calls=12,usec=34,...`.
    Ok(String::from_utf8(body)?
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
            Some((name.to_owned(), calls))
        })
        .collect())
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
