//! `slipgate batch`: one slip per CSV row, resumable (SPEC §5).
//!
//! The whole file is read and checked before the first request: a header
//! that names an unknown column or lacks a required one, or a row with the
//! wrong number of fields, stops the run with the line to fix. Each row
//! becomes `DIR/<emp_id>-<YYYY-MM>.pdf|json`, written atomically (temporary
//! file, then rename), so an interrupted run never leaves a truncated file
//! that a rerun would take for done: a rerun skips exactly the finished rows.
//! `emp_id` and `pay_period` are checked here before they become part of a
//! file name, with the server's own rules, so a row cannot write outside DIR.
//!
//! Rate limits are waited out (the SDK honours `Retry-After`); rows the API
//! refuses go to `DIR/failed.csv` (the row plus `code` and `detail`), which
//! is itself valid input once fixed. Errors that would fail every row (not
//! logged in, a refused signature, the API unreachable) stop the run.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::IsTerminal as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use slipgate_client::{Client, ClientError, Format, Generated, RetryPolicy};
use slipgate_proto::{ProblemCode, SlipRequest};
use tokio::sync::mpsc;

use crate::client_cmd::OutputFormat;
use crate::profile::ClientArgs;

/// The columns every row has, in the SPEC's order.
const REQUIRED: [&str; 5] = ["emp_id", "emp_code", "emp_name", "emp_grade", "working_days"];
/// The optional column.
const PAY_PERIOD: &str = "pay_period";
/// Columns of our own `failed.csv`, ignored so that it can be fed back in.
const FAILED_EXTRA: [&str; 2] = ["code", "detail"];

/// Arguments of `slipgate batch`.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// The CSV file: header `emp_id,emp_code,emp_name,emp_grade,working_days[,pay_period]`.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Where slips (and failed.csv) are written.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// pdf or json.
    #[arg(long, value_enum, default_value = "pdf")]
    pub format: OutputFormat,
    /// Requests in flight at once (1-64).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// One CSV row: its fields as read (for failed.csv) and what they mean.
#[derive(Debug)]
struct Row {
    fields: Vec<String>,
    plan: Plan,
}

#[derive(Debug)]
enum Plan {
    /// Ask the API, write to the path.
    Send(SlipRequest, PathBuf),
    /// The output exists from an earlier run.
    Skip,
    /// Refused before any request.
    Fail(Failure),
}

#[derive(Debug, Clone)]
struct Failure {
    code: String,
    detail: String,
}

/// The checked input: header columns and rows.
#[derive(Debug)]
struct Input {
    header: Vec<String>,
    rows: Vec<Row>,
}

/// Column positions by name.
#[derive(Debug)]
struct Columns {
    required: [usize; 5],
    pay_period: Option<usize>,
    kept: Vec<usize>,
}

fn columns(header: &csv::StringRecord, file: &Path) -> anyhow::Result<Columns> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        let known =
            REQUIRED.contains(&name.as_str()) || name == PAY_PERIOD || FAILED_EXTRA.contains(&name.as_str());
        if !known {
            bail!(
                "{}: unknown column `{name}` in the header; the columns are {}[,{PAY_PERIOD}]",
                file.display(),
                REQUIRED.join(",")
            );
        }
        if seen.insert(name.clone(), i).is_some() {
            bail!("{}: column `{name}` appears twice in the header", file.display());
        }
    }
    let mut required = [0; 5];
    for (slot, name) in required.iter_mut().zip(REQUIRED) {
        *slot = *seen.get(name).ok_or_else(|| {
            anyhow!(
                "{}: the header lacks `{name}`; it must name {}[,{PAY_PERIOD}]",
                file.display(),
                REQUIRED.join(",")
            )
        })?;
    }
    let pay_period = seen.get(PAY_PERIOD).copied();
    let kept = (0..header.len()).filter(|i| !FAILED_EXTRA.iter().any(|n| seen.get(*n) == Some(i))).collect();
    Ok(Columns { required, pay_period, kept })
}

/// Reads and checks the whole file, and plans every row against `out_dir`.
fn read_input(file: &Path, out_dir: &Path, ext: &str, this_month: &str) -> anyhow::Result<Input> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let header = reader.headers().with_context(|| format!("{}: no header row", file.display()))?.clone();
    let cols = columns(&header, file)?;
    let mut first_by_path: HashMap<PathBuf, u64> = HashMap::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let fields = cols.kept.iter().map(|&i| field(i)).collect();
        let [id, code, name, grade, days] = cols.required.map(field);
        let period = cols.pay_period.map(field).filter(|p| !p.is_empty());
        let plan = match plan_row(id, code, name, grade, &days, period, out_dir, ext, this_month) {
            Ok((_, path)) if path.exists() => Plan::Skip,
            Ok((request, path)) => match first_by_path.entry(path) {
                Entry::Occupied(first) => Plan::Fail(Failure {
                    code: "duplicate_row".into(),
                    detail: format!("same emp_id and pay_period as line {}", first.get()),
                }),
                Entry::Vacant(slot) => {
                    let path = slot.key().clone();
                    slot.insert(line);
                    Plan::Send(request, path)
                }
            },
            Err(failure) => Plan::Fail(failure),
        };
        rows.push(Row { fields, plan });
    }
    let header = cols.kept.iter().map(|&i| header.get(i).unwrap_or_default().to_owned()).collect();
    Ok(Input { header, rows })
}

#[allow(clippy::too_many_arguments)]
fn plan_row(
    emp_id: String,
    emp_code: String,
    emp_name: String,
    emp_grade: String,
    working_days: &str,
    pay_period: Option<String>,
    out_dir: &Path,
    ext: &str,
    this_month: &str,
) -> Result<(SlipRequest, PathBuf), Failure> {
    let mut errors = Vec::new();
    // The file name is built from emp_id and the period: hold them to the
    // server's rules here, so no row can name a path outside DIR.
    let id_ok = (1..=32).contains(&emp_id.len())
        && emp_id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if !id_ok {
        errors.push("emp_id: must be 1-32 characters of A-Z, a-z, 0-9, _ and -".to_owned());
    }
    if pay_period.as_deref().is_some_and(|p| slipgate_proto::parse_period(p).is_none()) {
        errors.push("pay_period: must be YYYY-MM".to_owned());
    }
    let days = working_days.parse::<u32>();
    if days.is_err() {
        errors.push("working_days: must be a whole number, 0 or more".to_owned());
    }
    let Ok(working_days) = days else {
        return Err(Failure {
            code: ProblemCode::ValidationFailed.as_str().into(),
            detail: errors.join("; "),
        });
    };
    if !errors.is_empty() {
        return Err(Failure {
            code: ProblemCode::ValidationFailed.as_str().into(),
            detail: errors.join("; "),
        });
    }
    let month = pay_period.clone().unwrap_or_else(|| this_month.to_owned());
    let path = out_dir.join(format!("{emp_id}-{month}.{ext}"));
    Ok((SlipRequest { emp_id, emp_code, emp_name, emp_grade, working_days, pay_period }, path))
}

/// What became of one request.
#[derive(Debug)]
struct Outcome {
    index: usize,
    result: Result<(), ClientError>,
}

/// Errors that would fail every row the same way: stop instead.
fn is_fatal(e: &ClientError) -> bool {
    match e {
        ClientError::Problem { status, problem, .. } => {
            *status == 401 || problem.problem_code() == Some(ProblemCode::InsufficientScope)
        }
        ClientError::Transport(_)
        | ClientError::Refused { .. }
        | ClientError::UnknownHost { .. }
        | ClientError::TlsVerification { .. }
        | ClientError::InvalidUrl { .. }
        | ClientError::WrongService { .. }
        | ClientError::LoginRequired(_)
        | ClientError::Grant { .. }
        | ClientError::Sign(_)
        | ClientError::Config(_) => true,
        _ => false,
    }
}

fn failure_of(e: &ClientError) -> Failure {
    match e {
        ClientError::Problem { problem, .. } => {
            let detail = if problem.errors.is_empty() {
                problem.detail.clone()
            } else {
                problem
                    .errors
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            Failure { code: problem.code.clone(), detail }
        }
        ClientError::InvalidResponse(_) => Failure { code: "invalid_response".into(), detail: e.to_string() },
        other => Failure { code: "client_error".into(), detail: other.to_string() },
    }
}

/// Counts for the progress line and the summary.
#[derive(Debug, Default)]
struct Tally {
    generated: usize,
    skipped: usize,
    failed: usize,
}

/// `slipgate batch`.
pub async fn run(client_args: &ClientArgs, args: BatchArgs) -> anyhow::Result<()> {
    init_client_logging();
    let (format, ext) = match args.format {
        OutputFormat::Pdf => (Format::Pdf, "pdf"),
        OutputFormat::Json => (Format::Json, "json"),
    };
    let input = read_input(&args.file, &args.out_dir, ext, &current_month())?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create the output directory {}", args.out_dir.display()))?;
    // Rate limits are waited out (up to an hour per row); other transient
    // failures get a few attempts.
    let retry = RetryPolicy::default()
        .with_max_attempts(NonZeroU32::new(6).unwrap_or(NonZeroU32::MIN))
        .with_rate_limit_budget(Duration::from_secs(3600));
    let client = crate::client_cmd::client(client_args)?.with_retry(retry);

    let mut failures: Vec<(usize, Failure)> = Vec::new();
    let mut tally = Tally::default();
    let mut jobs = Vec::new();
    for (index, row) in input.rows.iter().enumerate() {
        match &row.plan {
            Plan::Send(request, path) => jobs.push((index, request.clone(), path.clone())),
            Plan::Skip => tally.skipped += 1,
            Plan::Fail(f) => failures.push((index, f.clone())),
        }
    }
    tally.failed = failures.len();
    eprintln!(
        "batch: {} rows in {}: {} done before (skipped), {} refused before sending, {} to generate ({} at a time) into {}",
        input.rows.len(),
        args.file.display(),
        tally.skipped,
        tally.failed,
        jobs.len(),
        args.concurrency,
        args.out_dir.display()
    );

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, interrupted) = (stop.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
            }
        })
    };
    let total = jobs.len();
    let mut outcomes = spawn_workers(client, format, jobs, usize::from(args.concurrency), stop.clone());
    let mut progress = Progress::new(total as u64);
    let mut fatal: Option<ClientError> = None;
    let mut done = 0u64;
    while let Some(Outcome { index, result }) = outcomes.recv().await {
        done += 1;
        match result {
            Ok(()) => tally.generated += 1,
            Err(e) if is_fatal(&e) => {
                stop.store(true, Ordering::SeqCst);
                if fatal.is_none() {
                    fatal = Some(e);
                }
            }
            Err(e) => {
                tally.failed += 1;
                failures.push((index, failure_of(&e)));
            }
        }
        progress.update(done, &tally, started.elapsed());
    }
    watcher.abort();
    progress.finish();

    write_failed(&args.out_dir, &input, &mut failures)?;
    print_summary(&tally, started.elapsed(), &args.out_dir);
    if let Some(e) = fatal {
        return Err(crate::client_cmd::explain(e)).context(
            "stopped: this error would fail every row; fix it and run the same command again to resume",
        );
    }
    if interrupted.load(Ordering::SeqCst) {
        bail!("interrupted; run the same command again to resume");
    }
    if tally.failed > 0 {
        bail!("{} row(s) failed; see {}", tally.failed, args.out_dir.join("failed.csv").display());
    }
    Ok(())
}

/// `concurrency` tasks take jobs in file order until done or told to stop.
fn spawn_workers(
    client: Client,
    format: Format,
    jobs: Vec<(usize, SlipRequest, PathBuf)>,
    concurrency: usize,
    stop: Arc<AtomicBool>,
) -> mpsc::UnboundedReceiver<Outcome> {
    let (tx, rx) = mpsc::unbounded_channel();
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..concurrency.min(jobs.len().max(1)) {
        let (client, jobs, next, stop, tx) =
            (client.clone(), jobs.clone(), next.clone(), stop.clone(), tx.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let Some((index, request, path)) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    break;
                };
                let result = match client.generate(request, format).await {
                    Ok(generated) => save(path.clone(), generated).await,
                    Err(e) => Err(e),
                };
                if tx.send(Outcome { index: *index, result }).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

async fn save(path: PathBuf, generated: Generated) -> Result<(), ClientError> {
    let bytes = match generated {
        Generated::Json(_, bytes) | Generated::Pdf(bytes) => bytes,
    };
    // Slips are personal data: 0600, and atomic so a kill never leaves a
    // partial file that a rerun would skip.
    tokio::task::spawn_blocking(move || {
        slipgate_proto::files::write_atomic(&path, &bytes, true)
            .map_err(|e| ClientError::Config(format!("cannot write {}: {e}", path.display())))
    })
    .await
    .map_err(|e| ClientError::Config(e.to_string()))?
}

fn write_failed(out_dir: &Path, input: &Input, failures: &mut [(usize, Failure)]) -> anyhow::Result<()> {
    let path = out_dir.join("failed.csv");
    if failures.is_empty() {
        // A stale list from an earlier run would be misleading.
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    failures.sort_by_key(|(index, _)| *index);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = input.header.clone();
    header.extend(FAILED_EXTRA.map(String::from));
    writer.write_record(&header)?;
    for (index, failure) in failures.iter() {
        let Some(row) = input.rows.get(*index) else { continue };
        let mut record = row.fields.clone();
        record.push(failure.code.clone());
        record.push(failure.detail.clone());
        writer.write_record(&record)?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    slipgate_proto::files::write_atomic(&path, &bytes, true)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn print_summary(tally: &Tally, elapsed: Duration, out_dir: &Path) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { tally.generated as f64 / secs } else { 0.0 };
    println!("  generated  {:>8}", tally.generated);
    println!("  skipped    {:>8}", tally.skipped);
    let failed_note = if tally.failed > 0 {
        format!("   (see {})", out_dir.join("failed.csv").display())
    } else {
        String::new()
    };
    println!("  failed     {:>8}{failed_note}", tally.failed);
    println!("  elapsed    {secs:>8.1} s");
    println!("  rate       {rate:>8.1} slips/s");
}

/// A progress bar on a terminal, plain lines every few seconds otherwise.
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { total: u64, last: Instant },
}

impl Progress {
    fn new(total: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines { total, last: Instant::now() }
        }
    }

    fn update(&mut self, done: u64, tally: &Tally, elapsed: Duration) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{} failed", tally.failed));
            }
            Progress::Lines { total, last } => {
                if last.elapsed() < Duration::from_secs(2) && done < *total {
                    return;
                }
                *last = Instant::now();
                let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
                let left = total.saturating_sub(done) as f64;
                let eta = if rate > 0.0 { format!("{:.0} s", left / rate) } else { "?".into() };
                eprintln!(
                    "progress: {done}/{total} ({} generated, {} failed); {rate:.1}/s, ETA {eta}",
                    tally.generated, tally.failed
                );
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// The current month, UTC, as `YYYY-MM` (the API's default period).
fn current_month() -> String {
    let now =
        time::OffsetDateTime::from(slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock));
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

/// Warnings (e.g. a skewed clock) on stderr; `RUST_LOG` for more.
pub(crate) fn init_client_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).compact().try_init();
}

#[cfg(test)]
mod tests;
