//! The health of the process's log sink (issue 16: a full disk under stderr).
//!
//! The log writer (`slipgate_api::logging`) writes every line through
//! [`Tracked`], which records here whether the last write reached its
//! destination. The API refuses slip requests while the audit trail cannot be
//! written (503 `store_unavailable`: a request nobody can audit is not served),
//! and both servers' `/readyz` report `log_sink` as failing, so a load balancer
//! moves traffic away. The first write that succeeds again clears the state.
//!
//! ```
//! use std::io::Write as _;
//! use slipgate_proto::logsink::{LogHealth, Tracked};
//!
//! static HEALTH: LogHealth = LogHealth::new();
//! let mut full = Tracked::new(std::io::sink(), &HEALTH);
//! full.write_all(b"a line\n").unwrap();
//! assert!(!HEALTH.failing());
//! ```
//!
//! # Security
//! Fail closed: a lost audit line is counted (`lines_lost`) and turns the
//! service unready instead of being dropped silently. Not covered: what the
//! line said; it is gone with the write that failed.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether log lines reach their destination. One per process: [`health`].
#[derive(Debug)]
pub struct LogHealth {
    failing: AtomicBool,
    write_errors: AtomicU64,
}

impl LogHealth {
    /// A healthy sink.
    pub const fn new() -> Self {
        Self { failing: AtomicBool::new(false), write_errors: AtomicU64::new(0) }
    }

    /// `true` while the last write failed.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Lines that could not be written since the start.
    pub fn lines_lost(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    /// The fate of `lines` lines written (or not) by one call.
    fn wrote(&self, lines: u64, ok: bool) {
        if ok {
            if self.failing.load(Ordering::Relaxed) {
                self.failing.store(false, Ordering::Relaxed);
            }
        } else {
            self.write_errors.fetch_add(lines, Ordering::Relaxed);
            self.failing.store(true, Ordering::Relaxed);
        }
    }
}

impl Default for LogHealth {
    fn default() -> Self {
        Self::new()
    }
}

static HEALTH: LogHealth = LogHealth::new();

/// The process's log sink.
pub fn health() -> &'static LogHealth {
    &HEALTH
}

/// A writer that reports each line's fate to a [`LogHealth`]. A failed line
/// is counted and reported, not retried: retrying a full disk would stall the
/// queue in front of it, and with it every request.
///
/// Lines are batched: each `write` (one line) is kept until `flush` — which the
/// non-blocking worker calls as soon as its queue is empty — or until
/// [`BATCH_BYTES`] are waiting, then written with one call. Under load that is
/// one `write(2)` for many lines instead of one each; when idle a line goes
/// out at once. A batch that fails counts each of its lines as lost.
#[derive(Debug)]
pub struct Tracked<W: Write> {
    inner: W,
    health: &'static LogHealth,
    batch: Vec<u8>,
    lines: u64,
}

/// Bytes of lines kept before they are written without waiting for a flush.
pub const BATCH_BYTES: usize = 64 * 1024;

impl<W: Write> Tracked<W> {
    /// `inner`, reporting to `health`.
    pub fn new(inner: W, health: &'static LogHealth) -> Self {
        Self { inner, health, batch: Vec::new(), lines: 0 }
    }

    fn write_batch(&mut self) {
        if self.lines == 0 {
            return;
        }
        let ok = self.inner.write_all(&self.batch).is_ok();
        self.health.wrote(self.lines, ok);
        self.batch.clear();
        self.lines = 0;
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // One call is one line (the non-blocking worker writes each whole).
        if !self.batch.is_empty() && self.batch.len() + buf.len() > BATCH_BYTES {
            self.write_batch();
        }
        self.batch.extend_from_slice(buf);
        self.lines += 1;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_batch();
        if self.inner.flush().is_err() {
            self.health.wrote(1, false);
        }
        Ok(())
    }
}

impl<W: Write> Drop for Tracked<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails while `full` is set, like a disk without space;
    /// it keeps what it was given and counts the calls that wrote.
    struct Disk<'a>(&'a AtomicBool, Vec<u8>, usize);

    impl Write for Disk<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0.load(Ordering::Relaxed) {
                return Err(io::Error::from_raw_os_error(28));
            }
            self.1.extend_from_slice(buf);
            self.2 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What the non-blocking worker does per line when its queue then runs empty.
    fn line(w: &mut Tracked<Disk<'_>>, text: &[u8]) {
        w.write_all(text).unwrap_or_else(|e| panic!("{e}"));
        w.flush().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_failed_write_is_counted_and_the_next_good_one_recovers() {
        static H: LogHealth = LogHealth::new();
        let full = AtomicBool::new(false);
        let mut w = Tracked::new(Disk(&full, Vec::new(), 0), &H);
        line(&mut w, b"one\n");
        assert!(!H.failing());
        full.store(true, Ordering::Relaxed);
        line(&mut w, b"two\n");
        assert!(H.failing());
        assert_eq!(H.lines_lost(), 1);
        full.store(false, Ordering::Relaxed);
        line(&mut w, b"three\n");
        assert!(!H.failing());
        assert_eq!(w.inner.1, b"one\nthree\n");
    }

    #[test]
    fn lines_are_written_together_until_a_flush_or_the_batch_limit() {
        static H: LogHealth = LogHealth::new();
        let full = AtomicBool::new(false);
        let mut w = Tracked::new(Disk(&full, Vec::new(), 0), &H);
        for _ in 0..3 {
            w.write_all(b"queued\n").unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(w.inner.2, 0, "nothing written before the queue ran empty");
        w.flush().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((w.inner.2, w.inner.1.len()), (1, 21), "three lines, one write");

        // Past BATCH_BYTES the waiting lines go out without a flush.
        let long = vec![b'x'; BATCH_BYTES / 2 + 1];
        w.write_all(&long).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.inner.2, 1);
        w.write_all(&long).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.inner.2, 2, "the first long line was written to make room");

        // A batch that fails counts each of its lines; dropping the writer writes what waits.
        full.store(true, Ordering::Relaxed);
        w.write_all(b"a\n").unwrap_or_else(|e| panic!("{e}"));
        w.write_all(b"b\n").unwrap_or_else(|e| panic!("{e}"));
        w.flush().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(H.lines_lost(), 3, "the long line and a and b");
        full.store(false, Ordering::Relaxed);
        let mut out = Vec::new();
        {
            let mut sink = Tracked::new(&mut out, &H);
            sink.write_all(b"kept\n").unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(out, b"kept\n");
    }
}
