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

    fn wrote(&self, ok: bool) {
        if ok {
            if self.failing.load(Ordering::Relaxed) {
                self.failing.store(false, Ordering::Relaxed);
            }
        } else {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
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
#[derive(Debug)]
pub struct Tracked<W> {
    inner: W,
    health: &'static LogHealth,
}

impl<W: Write> Tracked<W> {
    /// `inner`, reporting to `health`.
    pub fn new(inner: W, health: &'static LogHealth) -> Self {
        Self { inner, health }
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // One call is one line (the non-blocking worker writes each whole).
        let ok = self.inner.write_all(buf).is_ok();
        self.health.wrote(ok);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.inner.flush().is_err() {
            self.health.wrote(false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails while `full` is set, like a disk without space.
    struct Disk<'a>(&'a AtomicBool, Vec<u8>);

    impl Write for Disk<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0.load(Ordering::Relaxed) {
                return Err(io::Error::from_raw_os_error(28));
            }
            self.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_counted_and_the_next_good_one_recovers() {
        static H: LogHealth = LogHealth::new();
        let full = AtomicBool::new(false);
        let mut w = Tracked::new(Disk(&full, Vec::new()), &H);
        w.write_all(b"one\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(!H.failing());
        full.store(true, Ordering::Relaxed);
        w.write_all(b"two\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(H.failing());
        assert_eq!(H.lines_lost(), 1);
        full.store(false, Ordering::Relaxed);
        w.write_all(b"three\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(!H.failing());
        assert_eq!(w.inner.1, b"one\nthree\n");
    }
}
