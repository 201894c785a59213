//! `slipgate batch` against a live `slipgate dev`: a month of slips, failures
//! in failed.csv, resuming after a kill, and waiting out rate limits.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use slipgate_test_support::pdftotext;

use crate::dev::DevProcess;

/// Rate limits high enough that a test batch is never throttled (SPEC §3.7
/// defaults would hold paula to 120/min).
pub const NO_RATE_LIMITS: &[&str] =
    &["--set", "rate_limit.user=100000/min", "--set", "rate_limit.ip=100000/min"];

const HEADER: &str = "emp_id,emp_code,emp_name,emp_grade,working_days,pay_period";
const GRADES: [&str; 6] = ["5.1", "6.1", "6.2", "7.1", "7.2", "8.1"];
const PERIOD: &str = "2025-03";

/// A name of letters only (the API's rule), distinct per `i`.
fn name_of(i: usize) -> String {
    let mut suffix = String::new();
    let mut n = i;
    loop {
        suffix.push(char::from(b'a' + u8::try_from(n % 26).unwrap()));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    format!("Worker Q{suffix}")
}

/// `rows` valid rows, except the ones listed in `invalid` (row index → line).
fn write_csv(path: &Path, rows: usize, invalid: &HashMap<usize, String>) {
    let mut text = format!("{HEADER}\n");
    for i in 0..rows {
        let line = invalid.get(&i).cloned().unwrap_or_else(|| {
            format!("E{i:05},ENG,{},{},{},{PERIOD}", name_of(i), GRADES[i % GRADES.len()], i % 29)
        });
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn batch(dev: &DevProcess, csv: &Path, out: &Path) -> Command {
    let mut command = dev.command();
    command.arg("batch").arg(csv).arg("--out-dir").arg(out).stdin(Stdio::null());
    command
}

fn pdfs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "pdf"));
    files.sort();
    files
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn batch_generates_every_valid_row_and_lists_invalid_ones_in_failed_csv() {
    let dev = DevProcess::start_with(NO_RATE_LIMITS);
    dev.login("paula");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("march.csv");
    let invalid = HashMap::from([
        (100, format!("E00100,ENG,{},9.9,20,{PERIOD}", name_of(100))),
        (500, format!("E00500,ENG,{},7.1,99,{PERIOD}", name_of(500))),
        (900, format!("bad id!,ENG,{},7.1,20,{PERIOD}", name_of(900))),
    ]);
    write_csv(&csv, 1000, &invalid);
    let out_dir = dir.path().join("slips");
    let out = batch(&dev, &csv, &out_dir).args(["--concurrency", "4"]).output().unwrap();
    let shown = text(&out);
    assert!(!out.status.success(), "a failed row must fail the run:\n{shown}");
    assert!(shown.contains("generated") && shown.contains("997"), "{shown}");

    let files = pdfs(&out_dir);
    assert_eq!(files.len(), 997, "{shown}");
    for i in (0..1000).filter(|i| !invalid.contains_key(i)) {
        assert!(out_dir.join(format!("E{i:05}-{PERIOD}.pdf")).exists(), "row {i} has no PDF");
    }
    for i in [0, 1, 333, 678, 999] {
        let pdf = std::fs::read(out_dir.join(format!("E{i:05}-{PERIOD}.pdf"))).unwrap();
        let words = pdftotext(&pdf);
        assert!(words.contains(&name_of(i)), "row {i}: {words}");
    }

    let failed = std::fs::read_to_string(out_dir.join("failed.csv")).unwrap();
    let mut lines = failed.lines();
    assert_eq!(lines.next(), Some(format!("{HEADER},code,detail").as_str()));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{failed}");
    for (row, (index, field)) in rows.iter().zip([(100, "emp_grade"), (500, "working_days"), (900, "emp_id")])
    {
        assert!(row.starts_with(&invalid[&index]), "{row}");
        assert!(row.contains(",validation_failed,"), "{row}");
        assert!(row.contains(field), "{row}");
    }
}

#[test]
fn batch_resumes_after_being_killed_without_redoing_finished_rows() {
    let dev = DevProcess::start_with(NO_RATE_LIMITS);
    dev.login("paula");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("april.csv");
    const ROWS: usize = 400;
    write_csv(&csv, ROWS, &HashMap::new());
    let out_dir = dir.path().join("slips");

    let mut child = batch(&dev, &csv, &out_dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while pdfs(&out_dir).len() < ROWS / 3 {
        assert!(Instant::now() < deadline, "no progress");
        assert!(child.try_wait().unwrap().is_none(), "the batch finished before it could be interrupted");
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let before: Vec<(PathBuf, u64, i64, i64)> = pdfs(&out_dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, m.ino(), m.mtime(), m.mtime_nsec())
        })
        .collect();
    assert!(before.len() < ROWS, "the kill came too late to test resuming");
    for (path, ..) in &before {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{} is not a whole PDF", path.display());
        assert!(String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(64)..]).contains("%%EOF"));
    }

    let out = batch(&dev, &csv, &out_dir).output().unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(pdfs(&out_dir).len(), ROWS, "{shown}");
    for (path, ino, mtime, nsec) in &before {
        let m = std::fs::metadata(path).unwrap();
        assert_eq!(
            (m.ino(), m.mtime(), m.mtime_nsec()),
            (*ino, *mtime, *nsec),
            "{} was redone",
            path.display()
        );
    }
    assert!(shown.contains(&format!("{} done before (skipped)", before.len())), "{shown}");
    assert!(!out_dir.join("failed.csv").exists());
}

#[test]
fn batch_waits_out_rate_limits_instead_of_failing() {
    let dev =
        DevProcess::start_with(&["--set", "rate_limit.user=30/min", "--set", "rate_limit.ip=100000/min"]);
    dev.login("paula");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("small.csv");
    write_csv(&csv, 33, &HashMap::new());
    let out_dir = dir.path().join("slips");
    let mut child = batch(&dev, &csv, &out_dir)
        .args(["--format", "json"])
        .env("RUST_LOG", "slipgate_client=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // 30 pass at once; the other 3 wait ≈ 2 s each for a returning quota.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("batch did not finish within 120 s");
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let files = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"));
    assert_eq!(files.count(), 33, "{shown}");
    assert!(shown.contains("retrying") && shown.contains("rate_limited"), "no 429 was waited out:\n{shown}");
}

#[test]
fn batch_rejects_an_unknown_column_before_sending_anything() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "emp_id,emp_code,emp_name,emp_grade,working_days,salary\nE1,ENG,Ann,7.1,3,100\n")
        .unwrap();
    // No profile at all: the file is checked before any client is set up.
    let out = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .arg("batch")
        .arg(&csv)
        .arg("--out-dir")
        .arg(dir.path().join("slips"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(shown.contains("unknown column `salary`"), "{shown}");
    assert!(!dir.path().join("slips").exists(), "nothing may be written");
}

#[test]
fn completions_prints_a_script_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_slipgate")).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("slipgate") && script.contains("batch") && script.contains("bench"),
            "{shell}"
        );
    }
}
