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
//! cargo bench -p slipgate-cli --bench e2e -- --paths       # JSON, PDF and key-bound (HTTPSig) slips
//! cargo bench -p slipgate-cli --bench e2e -- --tail        # half-peak p99, three runs beside bare
//! cargo bench -p slipgate-cli --bench e2e -- --idle-penalty  # the same work after idle gaps (pin it: taskset)
//! ```
//!
//! The default run alternates three servers — full, baseline and **bare** — three rounds each,
//! and measures the **crypto floor** on the server's core between rounds: one HMAC verification
//! of a request's signature base, SHA-256 of its body and one Ed25519 signature of a response's
//! base (`--crypto-floor`; the criterion twin is the `crypto_floor` group of
//! `cargo bench -p slipgate-httpsig`). Bare is TLS, HTTP and the slip handler's JSON slip
//! with no security headers, no response signature, no audit line, no metrics and no guard
//! (`slipgate bench --danger-accept-unsigned-responses` drives it): the ceiling. Every run also
//! reports what else used the two cores (`/proc/stat`), steal, and the run-queue delay of the
//! server's and the generator's threads (`schedstat`), the evidence for a tail that is not the
//! server's. `--tail` also runs a speed probe on each core beside each run (`--speed-probe`: a
//! fixed unit of computation timed every 10 ms at real-time priority) and sets the seconds in
//! which more than 1 % of answers took over 2 ms (`slipgate bench --json`'s `per_second`)
//! beside how fast each virtual CPU ran in them (and its slowed units: ticks at which a virtual
//! CPU ran over 3× slower, which some guests show in most seconds with nothing running), with the machine's TCP loss probes and
//! retransmission timeouts during the run (`/proc/net/netstat`). Environment: `SLIPGATE_E2E_WARMUP` (default 2s), `SLIPGATE_E2E_RATE` (the
//! fixed rate instead of half the measured peak), `SLIPGATE_E2E_SCHED="chrt -f 1"` (as root:
//! every process the harness starts at real-time priority, the tail experiment), `SLIPGATE_E2E_PERF=DIR` (a `perf record` of each run's server
//! into DIR; `scripts/perf-components.py` sums it by component).
//!
//! The comparison and the soak sign with the registry key `dev-hmac` and a `Bearer` token (profile
//! `hmac`). `--paths` (also `--binding`) runs the full server only, alternating that profile asking
//! for JSON, the same asking for PDF (`Accept: application/pdf`), and dev's `default` profile — its
//! device key (Ed25519) and a token bound to it, `Authorization: HTTPSig` — three rounds each.
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
    } else if let Some(config) = flag_value(&args, "--serve-bare") {
        serve_bare(Path::new(&config))
    } else if let Some(length) = flag_value(&args, "--speed-probe") {
        parse_duration(&length)
            .and_then(speed_probe)
            .map(|seconds| println!("{}", serde_json::json!(seconds)))
    } else if args.iter().any(|a| a == "--idle-penalty") {
        idle_penalty(args.iter().any(|a| a == "--test")).map(|rows| {
            println!("| sleep before each unit | median, 256 KiB working set | median, registers only |");
            println!("|---|---|---|");
            for (gap, table, registers) in rows {
                println!("| {} µs | {table:.1} µs | {registers:.1} µs |", gap.as_micros());
            }
        })
    } else if args.iter().any(|a| a == "--crypto-floor") {
        // Quick mode: a fiftieth of the iterations, enough to fail loudly.
        let divisor = if args.iter().any(|a| a == "--test") { 50 } else { 1 };
        crypto_floor(divisor).map(|floor| println!("{}", floor.to_json()))
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
            None if args.iter().any(|a| a == "--binding" || a == "--paths") => {
                Harness::start(quick, Some("300s"), false).and_then(|h| h.paths())
            }
            None if args.iter().any(|a| a == "--tail") => {
                Harness::start(quick, Some("300s"), false).and_then(|h| h.tail())
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
    use slipgate_api::{AppState, ConfigLoader, routes, with_response_layers};

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let config: slipgate_api::Config = ConfigLoader::new().file(config_file)?.load()?;
        // The same log set-up as `slipgate serve` (the lossless writer, the audit encoder):
        // the audit line is part of the cost.
        let _log = slipgate_api::logging::init(&config.log);
        let state = AppState::from_config(&config)?;
        let claims = alice_claims();
        let app = Router::new()
            .route(slipgate_proto::SLIP_PATH, slipgate_test_support::router::unguarded_slip_route(claims))
            .route("/.well-known/slipgate-keys", axum::routing::get(routes::openapi::response_keys))
            .fallback(routes::not_found);
        let app = with_response_layers(app, &state);
        serve_on(&config, app, slipgate_api::admin_router(state)).await
    })
}

/// Serves `app` on the configuration's API listener (TLS) and `admin` on its admin listener,
/// through the connection loop `slipgate serve` runs, until SIGTERM: the part the baseline and
/// bare servers share.
async fn serve_on(
    config: &slipgate_api::Config,
    app: axum::Router,
    admin: axum::Router,
) -> anyhow::Result<()> {
    use slipgate_api::Listeners;
    use slipgate_transport::{self as transport, ConnLimits, tls};

    let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) else {
        bail!("tls.cert and tls.key are required");
    };
    let tls = tls::server_config_with_client_ca(cert, key, None)?;
    let limits = ConnLimits { header_timeout: config.limits.header_timeout.0, ..ConnLimits::default() };
    let listeners = Listeners::bind(config).await?;
    let stop = || async {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            term.recv().await;
        }
    };
    let admin = tokio::spawn(transport::serve_plain(listeners.admin, admin, limits.clone(), stop()));
    transport::serve_tls(listeners.api, tls, app, limits, stop()).await;
    admin.abort();
    Ok(())
}

/// The claims the token layer would have proved for `slipgate dev`'s alice, whose record
/// `slipgate bench` sends (SPEC §3.4 self rule).
fn alice_claims() -> slipgate_guard::token::TokenClaims {
    slipgate_guard::token::TokenClaims {
        sub: "alice".into(),
        scope: "salaryslip:self".into(),
        emp_id: Some("01234".into()),
        emp_code: Some("ENG".into()),
        emp_name: Some("Alice Example".into()),
        emp_grade: Some("7.1".into()),
        exp: i64::MAX,
        client_id: None,
        username: Some("alice".into()),
        cnf: None,
        token_type: None,
    }
}

/// Slips the bare server has answered (its only counter; read by the harness).
static BARE_SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The bare server, the ceiling: TLS, HTTP and the slip handler's JSON slip (strict parsing,
/// validation, the slip, JSON) — no security headers, no response signature, no audit line,
/// no metrics, no request id, no guard layers. One atomic counter, served as the one line of
/// `/metrics` on the admin port, tells the harness how many slips it answered.
fn serve_bare(config_file: &Path) -> anyhow::Result<()> {
    use axum::Router;
    use axum::routing::get;
    use slipgate_api::{AppState, ConfigLoader};
    use std::sync::atomic::Ordering;

    async fn count(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        BARE_SERVED.fetch_add(1, Ordering::Relaxed);
        next.run(request).await
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let config: slipgate_api::Config = ConfigLoader::new().file(config_file)?.load()?;
        let state = AppState::from_config(&config)?;
        let app = Router::new()
            .route(
                slipgate_proto::SLIP_PATH,
                slipgate_test_support::router::unguarded_slip_route(alice_claims())
                    .layer(axum::middleware::from_fn(count)),
            )
            .with_state(state);
        let admin = Router::new().route(
            "/metrics",
            get(|| async {
                format!(
                    "slipgate_http_requests_total{{method=\"POST\",route=\"/generate/salaryslip\",code=\"200\"}} {}\n",
                    BARE_SERVED.load(Ordering::Relaxed)
                )
            }),
        );
        serve_on(&config, app, admin).await
    })
}

/// The crypto floor of one slip request, in µs per operation: what no implementation can skip.
#[derive(Debug, Clone, Copy)]
struct CryptoFloor {
    hmac_verify_us: f64,
    sha256_body_us: f64,
    ed25519_sign_us: f64,
}

/// Sizes of the floor's inputs, as `slipgate bench` sends and the server answers: the request's
/// signature base (six components and its parameters), the seed request's JSON body, the
/// response's signature base (status, type, digest and the request's signature, `;req`).
const FLOOR_REQUEST_BASE: usize = 392;
const FLOOR_BODY: usize = 110;
const FLOOR_RESPONSE_BASE: usize = 420;

impl CryptoFloor {
    fn total_us(&self) -> f64 {
        self.hmac_verify_us + self.sha256_body_us + self.ed25519_sign_us
    }

    fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "hmac_verify_us": self.hmac_verify_us,
            "sha256_body_us": self.sha256_body_us,
            "ed25519_sign_us": self.ed25519_sign_us,
        })
    }

    fn from_json(v: &serde_json::Value) -> anyhow::Result<Self> {
        let f = |k: &str| v[k].as_f64().with_context(|| format!("crypto floor without {k}"));
        Ok(Self {
            hmac_verify_us: f("hmac_verify_us")?,
            sha256_body_us: f("sha256_body_us")?,
            ed25519_sign_us: f("ed25519_sign_us")?,
        })
    }
}

/// Times the three operations of the floor with aws-lc-rs (as the server uses it): the median
/// of 7 batches each, in on-CPU time. `crates/httpsig/benches/verify.rs` (`crypto_floor`) is the criterion twin.
fn crypto_floor(divisor: u32) -> anyhow::Result<CryptoFloor> {
    use aws_lc_rs::{digest, hmac, rand::SecureRandom as _, signature::Ed25519KeyPair};
    use std::hint::black_box;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut secret = [0u8; 32];
    rng.fill(&mut secret).map_err(|_| anyhow::anyhow!("no randomness"))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let request_base = vec![b'a'; FLOOR_REQUEST_BASE];
    let tag = hmac::sign(&key, &request_base);
    let body = vec![b'{'; FLOOR_BODY];
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow::anyhow!("ed25519 key"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("ed25519 key"))?;
    let response_base = vec![b'r'; FLOOR_RESPONSE_BASE];
    // On-CPU time of this thread (ns, `schedstat`), not wall time: the server's figure is CPU
    // time too, and on a shared machine wall time would count the floor's waits for a CPU.
    let on_cpu_ns = || -> anyhow::Result<u64> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
        text.split_whitespace().next().and_then(|v| v.parse().ok()).context("unexpected schedstat")
    };
    let per_op = |n: u32, op: &dyn Fn()| -> anyhow::Result<f64> {
        let n = (n / divisor).max(1);
        let mut batches = Vec::new();
        for _ in 0..7 {
            let start = on_cpu_ns()?;
            for _ in 0..n {
                op();
            }
            batches.push(on_cpu_ns()?.saturating_sub(start) as f64 / 1e3 / f64::from(n));
        }
        Ok(middle(&mut batches))
    };
    let failed = std::cell::Cell::new(false);
    let hmac_verify_us = per_op(100_000, &|| {
        failed.set(failed.get() | hmac::verify(&key, black_box(&request_base), tag.as_ref()).is_err());
    })?;
    let sha256_body_us = per_op(200_000, &|| {
        black_box(digest::digest(&digest::SHA256, black_box(&body)));
    })?;
    let ed25519_sign_us = per_op(10_000, &|| {
        black_box(pair.sign(black_box(&response_base)));
    })?;
    if failed.get() {
        bail!("the floor's HMAC did not verify");
    }
    Ok(CryptoFloor { hmac_verify_us, sha256_body_us, ed25519_sign_us })
}

/// `--speed-probe LENGTH`: every 10 ms, the wall time of one fixed unit of pure computation (a
/// dependent xorshift chain, no memory traffic; ≈ 17-50 µs on an idle core, by guest), on
/// the CPU `taskset` gave it; prints, per second since the start, `[median, slowest, slowed]`:
/// the median and slowest unit time in µs and how many units took more than
/// [`SLOWED`] × the median unit of the whole probe (each slowed unit is one 10 ms tick at which
/// the virtual CPU ran that much slower). The harness runs one per core at `SCHED_FIFO` 99 where it may (`chrt`), above
/// every process it measures, so a unit is slow only when the virtual CPU itself ran slowly:
/// the host took it away (steal) or shared its core or caches with another guest. No library
/// measures that from inside a guest, hence the hand-written loop. Its cost: one unit per
/// 10 ms, ≈ 0.5 % of each core, taken from whatever was running.
fn speed_probe(length: Duration) -> anyhow::Result<Vec<[f64; 3]>> {
    use std::hint::black_box;
    const UNIT: u32 = 8_000;
    let start = Instant::now();
    let mut seconds: Vec<Vec<f64>> = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while start.elapsed() < length {
        let t0 = Instant::now();
        work_unit(&mut x, UNIT, None);
        let us = t0.elapsed().as_secs_f64() * 1e6;
        let second = usize::try_from(t0.duration_since(start).as_secs()).unwrap_or(usize::MAX);
        if seconds.len() <= second {
            seconds.resize_with(second + 1, Vec::new);
        }
        seconds[second].push(us);
        #[allow(clippy::disallowed_methods, reason = "the probe's own pace: there is no event to await")]
        std::thread::sleep(Duration::from_millis(10));
    }
    black_box(x);
    let typical = middle(&mut seconds.concat());
    Ok(seconds
        .into_iter()
        .map(|mut units| {
            let tenth = |us: f64| (us * 10.0).round() / 10.0;
            let slowest = units.iter().copied().reduce(f64::max).unwrap_or(0.0);
            let slowed = units.iter().filter(|&&us| us > SLOWED * typical).count() as f64;
            [tenth(middle(&mut units)), tenth(slowest), slowed]
        })
        .collect())
}

/// A probe unit this many times its run's median counts as slowed ([`speed_probe`]).
const SLOWED: f64 = 3.0;

/// `--idle-penalty`: how much slower the same work runs after the CPU has idled. A unit of
/// computation over a 256 KiB table (beyond the first-level caches, as a request's working set
/// is) and the same unit on registers only, each timed 400 times back to back and after sleeping
/// 100 µs, 1 ms and 10 ms before each; medians in µs. On a virtual machine whose host gives a
/// halted virtual CPU's physical CPU to other work, the table's unit comes back to cold caches.
fn idle_penalty(quick: bool) -> anyhow::Result<Vec<(Duration, f64, f64)>> {
    use std::hint::black_box;
    const SLOTS: usize = 1 << 15;
    let mut table = vec![0u64; SLOTS];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut unit = |touch: bool| {
        let t0 = Instant::now();
        work_unit(&mut x, 8_000, touch.then_some(&mut table[..]));
        t0.elapsed().as_secs_f64() * 1e6
    };
    let times = if quick { 10 } else { 400 };
    let mut rows = Vec::new();
    for gap in [0, 100, 1_000, 10_000].map(Duration::from_micros) {
        let mut median = |touch: bool| {
            let mut v: Vec<f64> = (0..times)
                .map(|_| {
                    if !gap.is_zero() {
                        #[allow(clippy::disallowed_methods, reason = "the idle gap is what is measured")]
                        std::thread::sleep(gap);
                    }
                    unit(touch)
                })
                .collect();
            middle(&mut v)
        };
        let with_table = median(true);
        rows.push((gap, with_table, median(false)));
    }
    black_box(&table);
    Ok(rows)
}

/// `steps` steps of a dependent xorshift chain from `x` (which the compiler cannot fold), each
/// also writing one slot of `table` (a power-of-two length) when given: the unit of work of [`speed_probe`] (registers
/// only) and [`idle_penalty`].
fn work_unit(x: &mut u64, steps: u32, mut table: Option<&mut [u64]>) {
    for _ in 0..steps {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        if let Some(table) = table.as_deref_mut() {
            // A power-of-two length: the slot is a mask, as the constant `%` it replaces compiled to.
            let slot = (*x as usize) & (table.len() - 1);
            table[slot] ^= *x;
        }
        *x = std::hint::black_box(*x);
    }
}

/// The median of `values` (the upper one of an even count; 0 when empty), sorting them.
fn middle(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// One speed probe per core (`--speed-probe`), for `length`, at real-time priority when
/// `chrt` may set it.
fn start_probes(length: Duration) -> anyhow::Result<Vec<Child>> {
    let exe = std::env::current_exe()?;
    let fifo = Command::new("chrt").args(["-f", "99", "true"]).status().is_ok_and(|s| s.success());
    let prefix: &[&str] = if fifo { &["chrt", "-f", "99", "taskset", "-c"] } else { &["taskset", "-c"] };
    let mut probes = Vec::new();
    for cpu in ["0", "1"] {
        let mut c = Command::new(prefix[0]);
        c.args(&prefix[1..]).arg(cpu).arg(&exe);
        c.arg("--speed-probe").arg(format!("{}ms", length.as_millis()));
        probes.push(c.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?);
    }
    Ok(probes)
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
    p999_ms: f64,
    max_ms: f64,
    /// What else ran on the machine during the run.
    contention: Contention,
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
    /// `slipgate bench`'s `per_second`: answers, answers over 2 ms, slowest (ms), and how late
    /// the generator's own timers fired at most (ms).
    per_second: Vec<(u64, u64, f64, f64)>,
    /// With the probe on: per core, per second since the generator started, the probe's
    /// `[median, slowest]` unit time (µs) and its count of slowed units ([`speed_probe`]).
    speed: Vec<Vec<[f64; 3]>>,
    /// TCP loss probes and retransmission timeouts on the machine during the run ([`tcp_late_acks`]).
    late_acks: [u64; 2],
}

/// The columns of [`Run::row`].
const RUN_HEADER: &str = "| run | requests/s | p50 | p99 | p99.9 | max | server CPU per request | peak RSS | generator busy | > 5 ms inside the server | others on the server's core | generator's core busy | steal | run-queue wait: server / generator |";
const RUN_RULE: &str = "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

impl Run {
    /// One Markdown row under [`RUN_HEADER`].
    fn row(&self, name: &str) -> String {
        let c = &self.contention;
        format!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} µs | {:.1} MiB | {:.0} % | {} | {:.0} % | {:.0} % | {:.1} % | {:.1} / {:.1} ms/s |",
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.cpu_us_per_request,
            self.hwm_kib as f64 / 1024.0,
            100.0 * self.generator_busy,
            self.slow_inside,
            100.0 * c.others_on_server_core,
            100.0 * c.generator_core_busy,
            100.0 * c.steal,
            c.server_wait_ms_per_s,
            c.generator_wait_ms_per_s,
        )
    }

    /// The probe's median unit time on `core` in second `second` of the measured run (the
    /// probe's second `second + offset`), as a multiple of its fastest second in the run.
    fn slowdown(&self, core: usize, second: usize, offset: usize) -> Option<f64> {
        let probe = self.speed.get(core)?;
        let best = probe.iter().map(|s| s[0]).filter(|m| *m > 0.0).fold(f64::INFINITY, f64::min);
        probe.get(second + offset).map(|s| s[0] / best).filter(|x| x.is_finite())
    }

    /// The probe's slowed units on `core` in second `second` of the measured run (0 without a probe).
    fn slowed(&self, core: usize, second: usize, offset: usize) -> u64 {
        self.speed.get(core).and_then(|p| p.get(second + offset)).map_or(0, |s| s[2] as u64)
    }

    /// One row of `--tail`'s speed table: the seconds with a tail, the cores' speed then and else.
    fn speed_row(&self, name: &str, offset: usize) -> String {
        let x = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("×{v:.1}"));
        let slow = |i: usize| self.per_second.get(i).is_some_and(|&(answers, over, ..)| over * 100 > answers);
        let seconds = 0..self.per_second.len();
        let tail: Vec<String> = seconds
            .clone()
            .filter(|&i| slow(i))
            .map(|i| {
                let (_, over, max_ms, timer_late) = self.per_second[i];
                format!(
                    "s{i}: {} / {}, slowed {} / {}, generator's timers {timer_late:.0} ms late ({over}, {max_ms:.0} ms)",
                    x(self.slowdown(0, i, offset)),
                    x(self.slowdown(1, i, offset)),
                    self.slowed(0, i, offset),
                    self.slowed(1, i, offset),
                )
            })
            .collect();
        let mean = |pick: bool| {
            let v: Vec<f64> = seconds
                .clone()
                .filter(|&i| slow(i) == pick)
                .filter_map(|i| self.slowdown(0, i, offset))
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let worst = |core| seconds.clone().filter_map(|i| self.slowdown(core, i, offset)).reduce(f64::max);
        // The slowest single unit of the measured seconds: the longest the core was taken away.
        let stall_ms = |core: usize| {
            let probe = self.speed.get(core).map_or(&[][..], Vec::as_slice);
            probe
                .iter()
                .skip(offset)
                .take(self.per_second.len())
                .map(|s| s[1] / 1000.0)
                .reduce(f64::max)
                .unwrap_or(0.0)
        };
        // Slowed units on `core` in the measured seconds that `pick` keeps.
        let slowed_in = |core: usize, pick: &dyn Fn(usize) -> bool| -> u64 {
            seconds.clone().filter(|&i| pick(i)).map(|i| self.slowed(core, i, offset)).sum()
        };
        let both = seconds
            .clone()
            .filter(|&i| self.slowed(0, i, offset) > 0 && self.slowed(1, i, offset) > 0)
            .count();
        format!(
            "| {name} | {:.2} ms | {} | {} / {} | {} / {} (slowest unit {:.1} / {:.1} ms) | {} / {} ({both} of {} seconds on both at once; {} / {} in seconds without a tail) | {} / {} |",
            self.p99_ms,
            if tail.is_empty() { "none".to_owned() } else { tail.join("; ") },
            x(mean(true)),
            x(mean(false)),
            x(worst(0)),
            x(worst(1)),
            stall_ms(0),
            stall_ms(1),
            slowed_in(0, &|_| true),
            slowed_in(1, &|_| true),
            self.per_second.len(),
            slowed_in(0, &|i| !slow(i)),
            slowed_in(1, &|i| !slow(i)),
            self.late_acks[0],
            self.late_acks[1],
        )
    }
}

/// What else used the two cores during a run: the evidence for a tail that is not the server's.
#[derive(Debug, Clone, Copy, Default)]
struct Contention {
    /// Share of core 0 (the server's) used by anything but the server (`/proc/stat` − its own CPU).
    others_on_server_core: f64,
    /// Share of core 1 (the generator's and `slipgate dev`'s) used by anything.
    generator_core_busy: f64,
    /// Share of both cores the hypervisor gave to other guests (steal).
    steal: f64,
    /// Milliseconds per second that the server's threads were runnable but waiting for a CPU
    /// (`/proc/<pid>/task/*/schedstat`, run-queue delay).
    server_wait_ms_per_s: f64,
    /// The same for the load generator's threads.
    generator_wait_ms_per_s: f64,
}

/// The profile signing with the registry key `dev-hmac` and a `Bearer` token.
const HMAC_PROFILE: &str = "hmac";
/// dev's profile: the device key and a token bound to it.
const DEVICE_PROFILE: &str = "default";

struct Harness {
    quick: bool,
    /// `slipgate bench --warmup` (`SLIPGATE_E2E_WARMUP`, default 2s).
    warmup: String,
    /// Run a speed probe on each core beside each run (`--tail`).
    probe: std::cell::Cell<bool>,
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
    /// The harness's bare server: TLS, HTTP and the handler only (the ceiling).
    Bare,
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

/// `taskset -c CPU` in front of `program` when pinning is possible; with
/// `SLIPGATE_E2E_SCHED="chrt -f 1"` (as root) that command in front as well: the tail
/// experiment of docs/performance.md, which lets the measured processes run as soon as they
/// are runnable instead of queueing behind other work on the machine. (`nice` does not do
/// that across sessions when the kernel groups tasks by session, `sched_autogroup_enabled`.)
fn command(program: &str, cpu: Option<u8>) -> Command {
    #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
    let sched = std::env::var("SLIPGATE_E2E_SCHED").ok();
    let mut words: Vec<String> = sched.iter().flat_map(|s| s.split_whitespace()).map(str::to_owned).collect();
    if let Some(cpu) = cpu {
        words.extend(["taskset".into(), "-c".into(), cpu.to_string()]);
    }
    match words.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
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
            probe: std::cell::Cell::new(false),
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
            Server::Bare => "bare.log",
            Server::FullRedis => "serve-redis.log",
        };
        let log = std::fs::File::create(self.dir.path().join(log_name))?;
        let cpu = self.pinned.then_some(0);
        let mut cmd = match server {
            Server::Baseline | Server::Bare => {
                let exe = std::env::current_exe()?;
                let mut c = command(&exe.display().to_string(), cpu);
                let mode = if server == Server::Bare { "--serve-bare" } else { "--serve-baseline" };
                c.arg(mode).arg(&self.config);
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
        self.run_as(HMAC_PROFILE, "json", kind, duration, rate)
    }

    /// [`Harness::run`] signing as `profile`, asking for `format` (`json` or `pdf`).
    fn run_as(
        &self,
        profile: &str,
        format: &str,
        kind: Server,
        duration: &str,
        rate: Option<f64>,
    ) -> anyhow::Result<Run> {
        let server = self.spawn_server(kind)?;
        let pid = server.0.id();
        let connections = if self.quick { "4" } else { "32" };
        let mut cmd = command(SLIPGATE, self.pinned.then_some(1));
        cmd.args(["bench", "--profile", profile, "--api", &format!("https://127.0.0.1:{}", self.api_port)])
            .args(["--duration", duration, "--connections", connections, "--json", "--warmup", &self.warmup])
            .args(["--format", format])
            .env("XDG_CONFIG_HOME", &self.config_home);
        if kind == Server::Bare {
            // The ceiling signs nothing; the measured answers are never checked anyway.
            cmd.arg("--danger-accept-unsigned-responses");
        }
        if let Some(rate) = rate {
            cmd.args(["--rate", &format!("{rate:.0}/s")]);
        }
        let redis_port = self.redis.as_ref().map(|r| r.1).filter(|_| kind == Server::FullRedis);
        let redis_before = redis_port.map(redis_commandstats).transpose()?;
        let before = (cpu_ticks(pid)?, self.served()?, children_ticks()?, Instant::now());
        let perf = self.perf_record(pid, &format!("{kind:?}-{profile}-{format}"))?;
        let (cores_before, wait_before) = (core_ticks()?, run_delay_ns(pid)?);
        let late_acks_before = tcp_late_acks()?;
        let probes = if self.probe.get() {
            let length =
                parse_duration(&self.warmup)? + parse_duration(duration)? + Duration::from_millis(500);
            start_probes(length)?
        } else {
            Vec::new()
        };
        // The generator's own run-queue delay, sampled until it exits (its threads are gone after).
        let mut generator = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let generator_pid = generator.id();
        let mut generator_wait_ns = 0;
        while generator.try_wait()?.is_none() {
            generator_wait_ns = run_delay_ns(generator_pid).unwrap_or(generator_wait_ns);
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = generator.wait_with_output()?;
        drop(perf);
        let mut speed = Vec::new();
        for probe in probes {
            let out = probe.wait_with_output()?;
            if !out.status.success() {
                bail!("--speed-probe failed");
            }
            speed.push(serde_json::from_slice::<Vec<[f64; 3]>>(&out.stdout)?);
        }
        let after = (cpu_ticks(pid)?, self.served()?, children_ticks()?);
        let (cores_after, wait_after) = (core_ticks()?, run_delay_ns(pid)?);
        let late_acks_after = tcp_late_acks()?;
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
        let per_second = report["per_second"]
            .as_array()
            .map(|seconds| {
                let n = |s: &serde_json::Value, k: &str| s[k].as_u64().unwrap_or(0);
                seconds
                    .iter()
                    .map(|s| {
                        let ms = |k: &str| s[k].as_f64().unwrap_or(0.0);
                        (n(s, "answers"), n(s, "over_2ms"), ms("max_ms"), ms("timer_late_ms"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let served = after.1.saturating_sub(before.1).max(1);
        let ticks_per_s = 100.0; // USER_HZ on Linux
        let cpu_us = (after.0.saturating_sub(before.0)) as f64 / ticks_per_s * 1e6;
        let hwm_kib = vm_hwm_kib(pid)?;
        let slow_inside = self.slow_inside()?;
        let generator_busy = (after.2.saturating_sub(before.2)) as f64 / ticks_per_s / wall;
        let share = |core: usize, field: fn(&CoreTicks) -> u64| {
            let (a, b) = (&cores_after[core], &cores_before[core]);
            field(a).saturating_sub(field(b)) as f64 / a.total.saturating_sub(b.total).max(1) as f64
        };
        let server_busy = (after.0.saturating_sub(before.0)) as f64 / ticks_per_s / wall;
        let contention = Contention {
            others_on_server_core: (share(0, |c| c.busy) - server_busy).max(0.0),
            generator_core_busy: share(1, |c| c.busy),
            steal: (share(0, |c| c.steal) + share(1, |c| c.steal)) / 2.0,
            server_wait_ms_per_s: wait_after.saturating_sub(wait_before) as f64 / 1e6 / wall,
            generator_wait_ms_per_s: generator_wait_ns as f64 / 1e6 / wall,
        };
        drop(server);
        Ok(Run {
            rps: f("rps"),
            p50_ms: f("p50_ms"),
            p99_ms: f("p99_ms"),
            p999_ms: f("p999_ms"),
            max_ms: f("max_ms"),
            contention,
            non_200: requests.saturating_sub(ok) + report["errors"].as_u64().unwrap_or(0),
            cpu_us_per_request: cpu_us / served as f64,
            hwm_kib,
            generator_busy,
            slow_inside,
            served,
            redis_calls,
            per_second,
            speed,
            late_acks: [0, 1].map(|i| late_acks_after[i].saturating_sub(late_acks_before[i])),
        })
    }

    /// With `SLIPGATE_E2E_PERF=DIR`: `perf record` (CPU clock, DWARF call graphs) of the server
    /// `pid` until dropped, into `DIR/<n>-<name>.data` (warm-up included).
    fn perf_record(&self, pid: u32, name: &str) -> anyhow::Result<Option<Proc>> {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let Some(dir) = std::env::var_os("SLIPGATE_E2E_PERF").map(PathBuf::from) else {
            return Ok(None);
        };
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = dir.join(format!("{n:02}-{name}.data"));
        let child = Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start perf record (SLIPGATE_E2E_PERF is set)")?;
        Ok(Some(Proc(child)))
    }

    /// Slips the server has answered, from its `/metrics`.
    fn served(&self) -> anyhow::Result<u64> {
        self.metric("slipgate_http_requests_total{method=\"POST\",route=\"/generate/salaryslip\"")
    }

    /// Slips whose handling inside the server (middleware to handler and
    /// back, without socket and TLS time) took more than 5 ms.
    fn slow_inside(&self) -> anyhow::Result<u64> {
        let prefix = "slipgate_http_request_duration_seconds";
        let all = self.metric(&format!("{prefix}_count{{method=\"POST\",route=\"/generate/salaryslip\""))?;
        let fast = self.metric(&format!(
            "{prefix}_bucket{{method=\"POST\",route=\"/generate/salaryslip\",code=\"200\",le=\"0.005\""
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

    /// The crypto floor measured on the server's core, in a process of its own.
    fn floor(&self) -> anyhow::Result<CryptoFloor> {
        let exe = std::env::current_exe()?;
        let mut cmd = command(&exe.display().to_string(), self.pinned.then_some(0));
        cmd.arg("--crypto-floor");
        if self.quick {
            cmd.arg("--test");
        }
        let out = cmd.output()?;
        if !out.status.success() {
            bail!("--crypto-floor failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        CryptoFloor::from_json(&serde_json::from_slice(&out.stdout)?)
    }

    /// Full, baseline and bare alternating (three rounds, one in quick mode) with the crypto
    /// floor measured between them; then the fixed-rate runs. Fails on any answer but 200.
    fn compare(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        let kinds = [
            (Server::Full, "full (`slipgate serve`)"),
            (Server::Baseline, "baseline (guard layers removed)"),
            (Server::Bare, "bare (TLS + HTTP + handler)"),
        ];
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); kinds.len()];
        let mut floors = Vec::new();
        println!("{RUN_HEADER}");
        println!("{RUN_RULE}");
        for round in 1..=rounds {
            for (i, (kind, name)) in kinds.iter().enumerate() {
                let run = self.run(*kind, duration, None)?;
                eprintln!("e2e: round {round} {kind:?} {run:?}");
                if run.non_200 > 0 {
                    bail!("{name}: {} answers were not 200 ({run:?})", run.non_200);
                }
                println!("{}", run.row(&format!("{round}: {name}, peak")));
                runs[i].push(run);
            }
            floors.push(self.floor()?);
        }
        println!(
            "\n| round | full/bare throughput | full/baseline throughput | full CPU per request | bare CPU per request | crypto floor | full − bare − floor (target ≤ 15 µs) |"
        );
        println!("|---|---|---|---|---|---|---|");
        let rounds = runs[0].iter().zip(&runs[1]).zip(&runs[2]).zip(&floors).enumerate();
        for (round, (((full, base), bare), floor)) in rounds {
            println!(
                "| {} | {:.1} % | {:.1} % | {:.1} µs | {:.1} µs | {:.1} µs (HMAC {:.2} + SHA-256 {:.2} + Ed25519 {:.2}) | {:.1} µs |",
                round + 1,
                100.0 * full.rps / bare.rps,
                100.0 * full.rps / base.rps,
                full.cpu_us_per_request,
                bare.cpu_us_per_request,
                floor.total_us(),
                floor.hmac_verify_us,
                floor.sha256_body_us,
                floor.ed25519_sign_us,
                full.cpu_us_per_request - bare.cpu_us_per_request - floor.total_us(),
            );
        }
        let full = median(runs[0].clone());
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let half = match std::env::var("SLIPGATE_E2E_RATE").ok().and_then(|r| r.parse::<f64>().ok()) {
            Some(rate) => rate,
            None => (full.rps / 2.0).round(),
        };
        println!("\n{RUN_HEADER}");
        println!("{RUN_RULE}");
        for (name, kind, rate) in [
            (format!("full at {half:.0}/s (half of its peak)"), Server::Full, half),
            (format!("baseline at {half:.0}/s"), Server::Baseline, half),
            (format!("bare at {half:.0}/s"), Server::Bare, half),
            ("full at 200/s".to_owned(), Server::Full, 200.0),
        ] {
            let run = self.run(kind, duration, Some(rate))?;
            eprintln!("e2e: {name:8} {run:?}");
            if run.non_200 > 0 {
                bail!("{name}: {} answers were not 200", run.non_200);
            }
            println!("{}", run.row(&name));
        }
        Ok(())
    }

    /// Target 4: the full server at half of its closed-loop peak, three runs, each beside the bare
    /// server at the same rate, with what else used the cores during each run.
    fn tail(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
        let half = match std::env::var("SLIPGATE_E2E_RATE").ok().and_then(|r| r.parse::<f64>().ok()) {
            Some(rate) => rate,
            None => {
                let peak = self.run(Server::Full, duration, None)?;
                println!("full, closed-loop peak: {:.0} requests/s", peak.rps);
                (peak.rps / 2.0).round()
            }
        };
        println!("{RUN_HEADER}");
        println!("{RUN_RULE}");
        self.probe.set(true);
        let offset = usize::try_from(parse_duration(&self.warmup)?.as_secs()).unwrap_or(0);
        let mut runs = Vec::new();
        for round in 1..=rounds {
            for (kind, name) in [(Server::Full, "full"), (Server::Bare, "bare")] {
                let run = self.run(kind, duration, Some(half))?;
                eprintln!("e2e: round {round} {kind:?} {run:?}");
                if run.non_200 > 0 {
                    bail!("{name}: {} answers were not 200 ({run:?})", run.non_200);
                }
                let name = format!("{round}: {name} at {half:.0}/s");
                println!("{}", run.row(&name));
                runs.push((name, run));
            }
        }
        self.probe.set(false);
        println!(
            "\nThe virtual CPUs' speed beside the tail: a speed probe on each core at real-time priority times a \
             fixed unit of computation every 10 ms; ×1.0 is the run's fastest second on that core (generator \
             seconds aligned to the probe's to within the generator's start-up, ≈ 0.1-0.3 s); a slowed unit took \
             more than 3× the probe's median: a 10 ms tick at which that virtual CPU ran that much slower.\n"
        );
        println!(
            "| run | p99 | seconds with > 1 % of answers over 2 ms: unit time server core / generator core, slowed units, how late the generator's own timers fired at most (answers over 2 ms, slowest) | median unit time in those seconds / in the others (server core) | slowest second of the run: server / generator core | slowed units (> 3× the probe's median), server / generator core | TCP loss probes / retransmission timeouts |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (name, run) in &runs {
            println!("{}", run.speed_row(name, offset));
        }
        Ok(())
    }

    /// Target 6: the JSON slip with the registry HMAC key, the PDF slip with it, and the JSON slip
    /// with a device key and a bound token, alternating, three rounds (one in quick mode).
    fn paths(&self) -> anyhow::Result<()> {
        let (rounds, duration) = if self.quick { (1, "1s") } else { (3, "10s") };
        let kinds = [
            ("JSON, registry key `dev-hmac` (HMAC), `Bearer`", HMAC_PROFILE, "json"),
            ("PDF, registry key `dev-hmac` (HMAC), `Bearer`", HMAC_PROFILE, "pdf"),
            ("JSON, device key (Ed25519), bound token, `HTTPSig`", DEVICE_PROFILE, "json"),
        ];
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); kinds.len()];
        println!("{RUN_HEADER}");
        println!("{RUN_RULE}");
        for round in 1..=rounds {
            for (i, (name, profile, format)) in kinds.iter().enumerate() {
                let run = self.run_as(profile, format, Server::Full, duration, None)?;
                eprintln!("e2e: round {round} {profile} {format} {run:?}");
                if run.non_200 > 0 {
                    bail!("{name}: {} answers were not 200 ({run:?})", run.non_200);
                }
                println!("{}", run.row(&format!("{round}: {name}")));
                runs[i].push(run);
            }
        }
        println!(
            "\n| round | PDF/JSON throughput | PDF − JSON CPU per request | bound/HMAC throughput | bound − HMAC CPU per request |"
        );
        println!("|---|---|---|---|---|");
        for (round, ((json, pdf), bound)) in runs[0].iter().zip(&runs[1]).zip(&runs[2]).enumerate() {
            println!(
                "| {} | {:.1} % | {:.1} µs | {:.1} % | {:.1} µs |",
                round + 1,
                100.0 * pdf.rps / json.rps,
                pdf.cpu_us_per_request - json.cpu_us_per_request,
                100.0 * bound.rps / json.rps,
                bound.cpu_us_per_request - json.cpu_us_per_request,
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

/// One core's `/proc/stat` line, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
struct CoreTicks {
    busy: u64,
    steal: u64,
    total: u64,
}

/// The machine's TCP tail-loss probes and retransmission timeouts so far (`TCPLossProbes`,
/// `TCPTimeouts` of `/proc/net/netstat`): on loopback nothing is lost, so either one fires only
/// when an acknowledgement came late, and each waits ≈ 200 ms at the least for a lone segment.
fn tcp_late_acks() -> anyhow::Result<[u64; 2]> {
    let text = std::fs::read_to_string("/proc/net/netstat")?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next().unwrap_or_default(), lines.next().unwrap_or_default());
    let find = |name: &str| {
        names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.parse().ok())
    };
    Ok([find("TCPLossProbes").unwrap_or(0), find("TCPTimeouts").unwrap_or(0)])
}

/// `cpu0` and `cpu1` of `/proc/stat` (zeros for a core that is absent).
fn core_ticks() -> anyhow::Result<[CoreTicks; 2]> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let mut cores = [CoreTicks::default(); 2];
    for (i, core) in cores.iter_mut().enumerate() {
        let Some(line) = stat.lines().find(|l| l.starts_with(&format!("cpu{i} "))) else { continue };
        // user nice system idle iowait irq softirq steal guest guest_nice
        let v: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
        let at = |n: usize| v.get(n).copied().unwrap_or(0);
        *core = CoreTicks {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            steal: at(7),
            total: (0..8).map(at).sum(),
        };
    }
    Ok(cores)
}

/// Run-queue delay of all of `pid`'s threads so far, in ns (`schedstat`'s second field).
fn run_delay_ns(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(text) = std::fs::read_to_string(task?.path().join("schedstat")) else { continue };
        total += text.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(total)
}
