//! `slipgate bench`: a bounded load generator for one's own deployment (SPEC §5).
//!
//! Every request goes through the SDK's signing path — a fresh nonce, the
//! `Content-Digest`, an RFC 9421 signature, the profile's token (`HTTPSig`
//! with its device key, or `Bearer` with a registry key) — so
//! what is measured is what real clients cost the API, replay and signature
//! checks included. Each of the N connections is its own HTTP/1.1 keep-alive
//! client. Without `--rate` the workers send back to back (closed loop); with
//! it, request *k* is due at `start + k / rate` (open loop), and its latency is
//! counted from when it was due, so a stalled server is not hidden by the
//! generator slowing down with it (coordinated omission) — except that a worker
//! idle and waiting for its slot counts from when its timer fired, since tokio
//! timers tick in whole milliseconds and that slack is the generator's own. The warm-up runs the
//! same traffic unmeasured. Nothing is retried: a 429 or 503 is counted, not
//! waited out. The first answer on each connection is verified in full,
//! response signature included, before the run starts (unless
//! `--danger-accept-unsigned-responses`, for a server that does not sign); the
//! measured answers are not (an Ed25519 verification each would load the
//! generator, not the server). `--format pdf` asks for PDF slips.
//!
//! Besides SPEC §5's members, `--json` has `per_second`: for each second of the
//! measured run (by when each request was due), its answers, how many took more
//! than 2 ms and the slowest — so a tail can be placed in time and set beside
//! what else the machine was doing then (the e2e harness does) — and
//! `timer_late_ms`, the most one of the generator's own timers fired after the
//! time it was set for in that second. The server plays no part in a timer
//! firing: 1-2 ms is tokio's millisecond tick; more means the generator itself
//! stalled (on a machine it shares with the server, so may the server have),
//! and the answers due then are late partly by the generator. `timer_late_max_ms`
//! is the most over the run. (Closed loop sets no timers: 0.)
//!
//! Bounds: duration ≤ 1 h, warm-up ≤ 10 min, connections ≤ 1024.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use slipgate_client::{Client, ClientError, Format, RetryPolicy, TokenFile, TokenManager};
use slipgate_proto::SlipRequest;
use slipgate_proto::units::HumanDuration;
use tokio::time::Instant;

use crate::profile::ClientArgs;

const MAX_DURATION: Duration = Duration::from_secs(3600);
const MAX_WARMUP: Duration = Duration::from_secs(600);
const TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `slipgate bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// How long to measure, e.g. 10s, 2m (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub duration: HumanDuration,
    /// Concurrent connections, each an HTTP/1.1 keep-alive client (1-1024).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub connections: u16,
    /// A fixed request rate (open loop), e.g. 200/s, 6000/min; a bare number means per second.
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Unmeasured traffic before measuring (at most 10m).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub warmup: HumanDuration,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The representation to ask for: json or pdf (`Accept: application/pdf`).
    #[arg(long, value_enum, default_value = "json")]
    pub format: crate::client_cmd::OutputFormat,
    /// Do not check the response signature of the first answer on each
    /// connection: only to measure a server that does not sign its answers
    /// (a benchmark's ceiling). The measured answers are never checked.
    #[arg(long)]
    pub danger_accept_unsigned_responses: bool,
}

/// `200/s`, `6000/min`, `36000/h` or a bare per-second number → requests per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    let text = if s.contains('/') { s.to_owned() } else { format!("{}/s", s.trim()) };
    let rate: slipgate_proto::units::Rate = text.parse().map_err(|e| format!("{e}"))?;
    let per_second = f64::from(rate.quota.get()) / rate.per.as_secs_f64();
    if per_second > 1_000_000.0 {
        return Err(format!("`{s}` is more than 1000000/s"));
    }
    Ok(per_second)
}

/// What one worker saw.
#[derive(Debug)]
struct Stats {
    latency_us: Histogram<u64>,
    status: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
    /// Indexed by the second of the measured run the request was due in
    /// (at most `MAX_DURATION` seconds, so at most 3,601 entries).
    per_second: Vec<Second>,
}

/// The answers of one second of the run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Second {
    answers: u64,
    over_2ms: u64,
    max_us: u64,
    /// The most a worker's timer fired after its request was due (µs).
    timer_late_us: u64,
}

impl Second {
    /// Adds `other`'s answers to this window.
    fn absorb(&mut self, other: Second) {
        self.answers += other.answers;
        self.over_2ms += other.over_2ms;
        self.max_us = self.max_us.max(other.max_us);
        self.timer_late_us = self.timer_late_us.max(other.timer_late_us);
    }
}

/// The latency the `per_second` windows count answers above.
const SLOW: Duration = Duration::from_millis(2);

impl Stats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)?,
            status: BTreeMap::new(),
            errors: 0,
            first_error: None,
            per_second: Vec::new(),
        })
    }

    /// One answer (or failure), `latency` counted from `at`, the time since
    /// the measurement started (its second goes to `per_second`).
    fn record(
        &mut self,
        at: Duration,
        latency: Duration,
        result: &Result<slipgate_client::Generated, ClientError>,
        asked: Format,
    ) {
        let got = match result {
            Ok(slipgate_client::Generated::Json(..)) => Some(Format::Json),
            Ok(slipgate_client::Generated::Pdf(_)) => Some(Format::Pdf),
            Err(_) => None,
        };
        if got.is_some_and(|got| got != asked) {
            // A 200 in the other representation is not the answer that was asked for.
            self.errors += 1;
            self.first_error
                .get_or_insert_with(|| format!("asked for {}, got another type", asked.media_type()));
            return;
        }
        let status = match result {
            Ok(_) => Some(200),
            Err(ClientError::Problem { status, .. }) => Some(*status),
            Err(_) => None,
        };
        match (status, result) {
            (Some(code), _) => {
                *self.status.entry(code).or_default() += 1;
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.latency_us.saturating_record(us);
                self.window(at).absorb(Second {
                    answers: 1,
                    over_2ms: u64::from(latency > SLOW),
                    max_us: us,
                    timer_late_us: 0,
                });
            }
            (None, Err(e)) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| e.to_string());
            }
            (None, Ok(_)) => {}
        }
    }

    /// The window of the request due `at` after the measurement started.
    fn window(&mut self, at: Duration) -> &mut Second {
        let index = usize::try_from(at.as_secs()).unwrap_or(usize::MAX).min(MAX_DURATION.as_secs() as usize);
        if self.per_second.len() <= index {
            self.per_second.resize(index + 1, Second::default());
        }
        &mut self.per_second[index]
    }

    /// A worker's timer for the request due `at` fired `late` after it was due.
    fn timer_fired(&mut self, at: Duration, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.window(at).absorb(Second { timer_late_us: us, ..Second::default() });
    }

    fn merge(&mut self, other: Stats) -> anyhow::Result<()> {
        self.latency_us.add(&other.latency_us)?;
        for (code, n) in other.status {
            *self.status.entry(code).or_default() += n;
        }
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        if self.per_second.len() < other.per_second.len() {
            self.per_second.resize(other.per_second.len(), Second::default());
        }
        for (mine, theirs) in self.per_second.iter_mut().zip(other.per_second) {
            mine.absorb(theirs);
        }
        Ok(())
    }
}

/// When each phase starts and ends, and the open-loop schedule.
#[derive(Debug, Clone)]
struct Schedule {
    start: Instant,
    measure_from: Instant,
    end: Instant,
    interval: Option<Duration>,
    next_slot: Arc<AtomicU64>,
}

impl Schedule {
    /// The moment the next request's latency counts from, or `None` when the
    /// run is over: the time it was due when the worker is behind schedule
    /// (so a slow server's backlog is counted), the time the worker's timer
    /// fired when it was idle and waiting (tokio timers tick in whole
    /// milliseconds; that slack is the generator's, not the server's). With it,
    /// when the request was due and how late the timer fired (zero without one).
    async fn next(&self) -> Option<Slot> {
        let (due, from) = match self.interval {
            None => {
                let now = Instant::now();
                (now, now)
            }
            Some(interval) => {
                let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
                let due = self.start + interval.mul_f64(slot as f64);
                if Instant::now() < due {
                    tokio::time::sleep_until(due).await;
                    (due, Instant::now())
                } else {
                    (due, due)
                }
            }
        };
        // A backlog left at the end is dropped, not sent late.
        (due < self.end && Instant::now() < self.end).then_some(Slot { due, from })
    }
}

/// One request's place in the schedule ([`Schedule::next`]).
#[derive(Debug, Clone, Copy)]
struct Slot {
    due: Instant,
    /// When its latency counts from: `due`, or when the worker's timer fired.
    from: Instant,
}

impl Slot {
    /// How late the worker's timer fired (zero when it set none).
    fn timer_late(&self) -> Duration {
        self.from.saturating_duration_since(self.due)
    }
}

/// `slipgate bench`.
pub async fn run(client_args: &ClientArgs, args: BenchArgs) -> anyhow::Result<()> {
    crate::batch::init_client_logging();
    let duration = args.duration.0;
    let warmup = args.warmup.0;
    if duration.is_zero() || duration > MAX_DURATION {
        bail!("--duration must be more than 0 and at most 1h (got {})", args.duration);
    }
    if warmup > MAX_WARMUP {
        bail!("--warmup must be at most 10m (got {})", args.warmup);
    }
    let resolved = client_args.resolve()?;
    let http = crate::profile::ClientArgs::https(&resolved, TIMEOUT)?;
    let (signer, device) =
        crate::client_cmd::signer(&resolved, false).context("bench needs a logged-in profile")?;
    let tokens = Arc::new(TokenManager::new(
        crate::client_cmd::idp_client(&resolved, &http, device),
        Some(TokenFile::new(&resolved.token_file)),
    )?);
    tokens
        .access_token()
        .await
        .map_err(crate::client_cmd::explain)
        .context("bench needs a logged-in profile")?;
    // One trust for all connections: a first use pins once.
    let trust = resolved.trust.server_keys()?;
    let mut clients = Vec::new();
    for _ in 0..args.connections {
        let mut builder = Client::builder()
            .api_url(&resolved.api_url)
            .signer(signer.clone())
            .tokens(tokens.clone())
            .retry(RetryPolicy::never())
            .timeout(TIMEOUT)
            .trust_server_keys(trust.clone())
            .http1_only();
        if let Some(ca) = &resolved.ca_file {
            builder = builder.ca_file(ca);
        }
        clients.push(builder.build()?);
    }
    let format = match args.format {
        crate::client_cmd::OutputFormat::Json => Format::Json,
        crate::client_cmd::OutputFormat::Pdf => Format::Pdf,
    };
    let mode = match args.rate {
        Some(rate) => format!("open loop at {rate:.1}/s"),
        None => "closed loop".into(),
    };
    let signing = if signer.is_bound() {
        "HTTPSig, device key".to_owned()
    } else {
        format!("Bearer, registry key {}", signer.keyid())
    };
    eprintln!(
        "bench: POST {} ({}) with {} connection(s), {mode}, signed as {signing}, {} measured after {} warm-up",
        clients.first().map(|c| c.slip_url().to_string()).unwrap_or_default(),
        format.media_type(),
        args.connections,
        args.duration,
        args.warmup
    );

    let start = Instant::now();
    let schedule = Schedule {
        start,
        measure_from: start + warmup,
        end: start + warmup + duration,
        interval: args.rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        next_slot: Arc::new(AtomicU64::new(0)),
    };
    let request = seed_request();
    let check_first = !args.danger_accept_unsigned_responses;
    let mut workers = Vec::new();
    for client in clients {
        let (schedule, request) = (schedule.clone(), request.clone());
        workers.push(tokio::spawn(async move {
            // The first answer on each connection is checked in full, response
            // signature included; the measured ones are not, since an Ed25519
            // verification per answer would load the generator, not the server.
            // A refusal (say 429) is fine here; an answer that fails the check is not.
            if check_first
                && let Err(e @ ClientError::ResponseSignature(_)) = client.generate(&request, format).await
            {
                return Err(crate::client_cmd::explain(e).context("the server's answer failed verification"));
            }
            let client = client.danger_accept_unsigned_responses();
            let mut stats = Stats::new()?;
            while let Some(slot) = schedule.next().await {
                let result = client.generate(&request, format).await;
                if let Some(at) = slot.from.checked_duration_since(schedule.measure_from) {
                    stats.record(at, slot.from.elapsed(), &result, format);
                    stats.timer_fired(at, slot.timer_late());
                }
            }
            anyhow::Ok(stats)
        }));
    }
    let mut total = Stats::new()?;
    for worker in workers {
        total.merge(worker.await.context("a bench worker panicked")??)?;
    }
    let measured = schedule.measure_from.elapsed();
    let report = Report::new(&total, measured, args.rate);
    if args.json {
        println!("{}", serde_json::to_string(&report.to_json())?);
    } else {
        report.print();
    }
    if report.requests == 0 {
        bail!("no request got an answer{}", total.first_error.map(|e| format!(": {e}")).unwrap_or_default());
    }
    if let Some(e) = &total.first_error {
        eprintln!("first error: {e}");
    }
    let limited = report.status.get(&429).copied().unwrap_or(0);
    if limited > 0 {
        eprintln!(
            "note: {limited} of {} answers were 429: the API's rate limits (per user and per IP) \
             capped this run; raise rate_limit.user/rate_limit.ip on the server to measure beyond them",
            report.requests
        );
    }
    Ok(())
}

/// The seed request of SPEC §3.1 with `slipgate dev`'s alice as on record
/// (SPEC §3.4), so her `salaryslip:self` token works as well as paula's.
fn seed_request() -> SlipRequest {
    SlipRequest {
        emp_id: "01234".into(),
        emp_code: "ENG".into(),
        emp_name: "Alice Example".into(),
        emp_grade: "7.1".into(),
        working_days: 24,
        pay_period: None,
    }
}

/// The figures printed at the end.
#[derive(Debug)]
struct Report {
    requests: u64,
    duration_s: f64,
    rps: f64,
    target_rps: Option<f64>,
    quantiles_ms: [(&'static str, f64); 5],
    max_ms: f64,
    status: BTreeMap<u16, u64>,
    errors: u64,
    per_second: Vec<Second>,
}

impl Report {
    fn new(stats: &Stats, measured: Duration, target_rps: Option<f64>) -> Self {
        let h = &stats.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let q = |quantile: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(quantile)) };
        let requests = h.len();
        let duration_s = measured.as_secs_f64();
        Self {
            requests,
            duration_s,
            rps: if duration_s > 0.0 { requests as f64 / duration_s } else { 0.0 },
            target_rps,
            quantiles_ms: [
                ("p50_ms", q(0.5)),
                ("p90_ms", q(0.9)),
                ("p99_ms", q(0.99)),
                ("p999_ms", q(0.999)),
                ("mean_ms", if h.is_empty() { 0.0 } else { h.mean() / 1000.0 }),
            ],
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
            status: stats.status.clone(),
            errors: stats.errors,
            per_second: stats.per_second.clone(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut object = serde_json::json!({
            "requests": self.requests,
            "duration_s": round(self.duration_s),
            "rps": round(self.rps),
            "max_ms": round(self.max_ms),
            "status": self.status.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "errors": self.errors,
            "per_second": self.per_second.iter().map(|s| serde_json::json!({
                "answers": s.answers,
                "over_2ms": s.over_2ms,
                "max_ms": round(s.max_us as f64 / 1000.0),
                "timer_late_ms": round(s.timer_late_us as f64 / 1000.0),
            })).collect::<Vec<_>>(),
            "timer_late_max_ms": round(
                self.per_second.iter().map(|s| s.timer_late_us).max().unwrap_or(0) as f64 / 1000.0
            ),
        });
        if let Some(map) = object.as_object_mut() {
            for (name, value) in self.quantiles_ms {
                map.insert(name.into(), serde_json::json!(round(value)));
            }
            if let Some(target) = self.target_rps {
                map.insert("target_rps".into(), serde_json::json!(round(target)));
            }
        }
        object
    }

    fn print(&self) {
        println!("requests  {} in {:.2} s = {:.1} req/s", self.requests, self.duration_s, self.rps);
        if let Some(target) = self.target_rps {
            println!("target    {target:.1} req/s");
        }
        let [p50, p90, p99, p999, mean] = self.quantiles_ms.map(|(_, v)| v);
        println!(
            "latency   p50 {p50:.2} ms  p90 {p90:.2} ms  p99 {p99:.2} ms  p99.9 {p999:.2} ms  max {:.2} ms  (mean {mean:.2} ms)",
            self.max_ms
        );
        let status: Vec<String> = self.status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!("status    {}", if status.is_empty() { "-".into() } else { status.join("  ") });
        println!("errors    {}", self.errors);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_rates_per_second_minute_hour_and_bare() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("6000/min"), Ok(100.0));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert_eq!(parse_rate("50"), Ok(50.0));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn report_json_has_the_spec_members() {
        let mut stats = Stats::new().unwrap();
        let ok: Result<slipgate_client::Generated, ClientError> =
            Ok(slipgate_client::Generated::Pdf(bytes_of(b"%PDF-")));
        for ms in 1..=100 {
            // Due 20 ms apart: the answers of seconds 0, 1 and 2 of the run.
            stats.record(Duration::from_millis(20 * ms), Duration::from_millis(ms), &ok, Format::Pdf);
        }
        let refused = Err(ClientError::Transport("refused".into()));
        stats.record(Duration::ZERO, Duration::from_millis(1), &refused, Format::Pdf);
        let json = Report::new(&stats, Duration::from_secs(2), None).to_json();
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
            assert!(json.get(key).is_some(), "{key} missing: {json}");
        }
        assert_eq!(json["requests"], 100);
        assert_eq!(json["rps"], 50.0);
        assert_eq!(json["status"]["200"], 100);
        assert_eq!(json["errors"], 1);
        let p50 = json["p50_ms"].as_f64().unwrap();
        assert!((49.0..=51.0).contains(&p50), "{p50}");
        let max = json["max_ms"].as_f64().unwrap();
        assert!((99.0..=101.0).contains(&max), "{max}");
        // Seconds 0, 1, 2: latencies 1-49, 50-99 and 100 ms; the failure is in no window.
        let seconds = json["per_second"].as_array().unwrap();
        let answers: Vec<_> = seconds.iter().map(|s| s["answers"].as_u64().unwrap()).collect();
        let over: Vec<_> = seconds.iter().map(|s| s["over_2ms"].as_u64().unwrap()).collect();
        let slowest: Vec<_> = seconds.iter().map(|s| s["max_ms"].as_f64().unwrap().round()).collect();
        assert_eq!((answers, over, slowest), (vec![49, 50, 1], vec![47, 50, 1], vec![49.0, 99.0, 100.0]));
    }

    #[test]
    fn per_second_windows_of_workers_add_up_whatever_their_lengths() {
        let ok: Result<slipgate_client::Generated, ClientError> =
            Ok(slipgate_client::Generated::Pdf(bytes_of(b"%PDF-")));
        let (mut a, mut b) = (Stats::new().unwrap(), Stats::new().unwrap());
        a.record(Duration::from_millis(100), Duration::from_millis(3), &ok, Format::Pdf);
        b.record(Duration::from_millis(900), Duration::from_millis(1), &ok, Format::Pdf);
        b.record(Duration::from_millis(2500), Duration::from_millis(7), &ok, Format::Pdf);
        a.merge(b).unwrap();
        let second = |answers, over_2ms, max_ms: u64| Second {
            answers,
            over_2ms,
            max_us: max_ms * 1000,
            timer_late_us: 0,
        };
        assert_eq!(a.per_second, vec![second(2, 1, 3), second(0, 0, 0), second(1, 1, 7)]);
        // A request due past the hard cap lands in the last window instead of growing the vector.
        a.record(Duration::from_secs(10 * 3600), Duration::from_millis(1), &ok, Format::Pdf);
        assert_eq!(a.per_second.len(), 3601);
    }

    #[test]
    fn an_answer_in_the_other_representation_counts_as_an_error_not_a_200() {
        let mut stats = Stats::new().unwrap();
        let pdf: Result<slipgate_client::Generated, ClientError> =
            Ok(slipgate_client::Generated::Pdf(bytes_of(b"%PDF-")));
        stats.record(Duration::ZERO, Duration::from_millis(1), &pdf, Format::Json);
        assert_eq!(stats.errors, 1);
        assert!(stats.status.is_empty(), "{:?}", stats.status);
        assert!(stats.latency_us.is_empty());
        assert_eq!(stats.first_error.as_deref(), Some("asked for application/json, got another type"));
        stats.record(Duration::ZERO, Duration::from_millis(1), &pdf, Format::Pdf);
        assert_eq!(stats.status.get(&200), Some(&1));
        assert_eq!(
            stats.per_second,
            vec![Second { answers: 1, over_2ms: 0, max_us: 1000, timer_late_us: 0 }]
        );
    }

    #[test]
    fn a_late_timer_is_kept_per_second_apart_from_the_answers() {
        let ok: Result<slipgate_client::Generated, ClientError> =
            Ok(slipgate_client::Generated::Pdf(bytes_of(b"%PDF-")));
        let mut stats = Stats::new().unwrap();
        stats.record(Duration::from_millis(100), Duration::from_millis(1), &ok, Format::Pdf);
        stats.timer_fired(Duration::from_millis(100), Duration::from_micros(1_200));
        stats.timer_fired(Duration::from_millis(900), Duration::from_millis(23));
        stats.timer_fired(Duration::from_millis(1500), Duration::ZERO);
        let json = Report::new(&stats, Duration::from_secs(2), Some(2.0)).to_json();
        let late: Vec<_> =
            json["per_second"].as_array().unwrap().iter().map(|s| s["timer_late_ms"].clone()).collect();
        assert_eq!(late, [serde_json::json!(23.0), serde_json::json!(0.0)]);
        assert_eq!(json["timer_late_max_ms"], 23.0);
        // A timer fires late only when the worker slept; behind schedule it sets none.
        let now = Instant::now();
        let slept = Slot { due: now, from: now + Duration::from_millis(5) };
        let behind = Slot { due: now, from: now };
        assert_eq!((slept.timer_late(), behind.timer_late()), (Duration::from_millis(5), Duration::ZERO));
        // The answers were not counted twice.
        assert_eq!(json["requests"], 1);
    }

    fn bytes_of(b: &'static [u8]) -> bytes::Bytes {
        bytes::Bytes::from_static(b)
    }
}
