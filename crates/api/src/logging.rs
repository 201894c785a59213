//! Structured logs on stderr (SPEC §6) through a non-blocking, lossless writer.
//!
//! The level follows `RUST_LOG` (tracing's filter syntax, default `info`); the
//! format `log.format`: `json`, or `pretty` — with colour only when stderr is a
//! terminal, never ANSI codes in a file. Unset, it is `pretty` on a terminal and
//! `json` otherwise.
//!
//! A request formats its line and hands it to a bounded queue
//! ([`QUEUE_LINES`] lines); one thread writes the queue to stderr. When the
//! queue is full the request waits for room (`lossy(false)`): a line is never
//! dropped for speed, and memory stays bounded by the queue. A line the
//! destination refuses (a full disk) is counted in
//! [`slipgate_proto::logsink`], which turns slip requests away (503) and
//! `/readyz` unready until a write succeeds again.
//!
//! In the JSON format the audit line (`slipgate::audit`) is encoded by
//! [`crate::audit::Encoder`] rather than by tracing's formatter: the same line,
//! byte for byte, on the same queue, for a fraction of the cost. Its level is
//! decided from `RUST_LOG` once, here.
//!
//! ```no_run
//! use slipgate_api::config::LogConfig;
//!
//! let _guard = slipgate_api::logging::init(&LogConfig::default());
//! tracing::info!("written by the log thread; flushed when the guard drops");
//! ```

use std::io::IsTerminal as _;

use slipgate_proto::clock::SystemClock;
use slipgate_proto::config::{LogConfig, LogFormat};
use slipgate_proto::logsink::{self, Tracked};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines the queue holds before a request waits for the writer thread.
pub const QUEUE_LINES: usize = 16_384;

/// Keeps the writer thread; dropping it flushes what is queued.
#[must_use = "dropping the guard stops the log writer"]
#[derive(Debug)]
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
}

/// The non-blocking, lossless writer over `inner` (stderr in the servers; a
/// bench passes a file). Every line's fate goes to the process's
/// [`logsink::health`].
pub fn writer<W: std::io::Write + Send + 'static>(inner: W) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("slipgate-log")
        .finish(Tracked::new(inner, logsink::health()))
}

/// Installs the global subscriber on stderr. Call once per process, keep the
/// guard until the end.
pub fn init(config: &LogConfig) -> LogGuard {
    let terminal = std::io::stderr().is_terminal();
    let format = config.resolve(terminal);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = writer(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer.clone());
    let installed = match format {
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(false).with_ansi(false).try_init()
        }
        LogFormat::Pretty => builder.compact().with_ansi(terminal).try_init(),
    };
    if installed.is_ok() && format == LogFormat::Json {
        // The audit line skips tracing's formatter: same bytes, same queue, the
        // `RUST_LOG` decision for `slipgate::audit` taken here, once.
        crate::audit::install(crate::audit::Encoder::new(
            writer,
            crate::audit::Levels::from_dispatcher(),
            Box::new(SystemClock),
        ));
    }
    LogGuard { _worker: installed.is_ok().then_some(guard) }
}
