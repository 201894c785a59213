//! [`Watched`]: the client's byte stream as the transport sees it. It feeds
//! every byte read to the head tracker of the connection's protocol, bounds
//! each request head by `header_timeout` (a read error ends the connection),
//! and queues, per HTTP/1.1 head, whether it carried conflicting framing, for
//! the service to answer 400 (SPEC §3.2).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::head::{Event, H1Tracker, H2Tracker};
use crate::stats::{Closed, TransportStats};

/// Whether a request may be served or was sent with a framing the
/// transport refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Serve,
    Refuse,
}

/// Requests in flight on one connection, and since when it has been idle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Activity {
    pub(crate) in_flight: usize,
    pub(crate) idle_since: Instant,
}

/// What the byte stream, the service and the idle watcher share.
#[derive(Debug)]
pub(crate) struct ConnShared {
    verdicts: Mutex<(VecDeque<Verdict>, bool)>,
    pub(crate) activity: tokio::sync::watch::Sender<Activity>,
}

impl ConnShared {
    pub(crate) fn new() -> Arc<Self> {
        let activity = Activity { in_flight: 0, idle_since: Instant::now() };
        Arc::new(Self {
            verdicts: Mutex::new((VecDeque::new(), false)),
            activity: tokio::sync::watch::Sender::new(activity),
        })
    }

    /// The verdict for the next HTTP/1.1 request (heads are dispatched in
    /// the order they were read). A connection the tracker lost is refused.
    pub(crate) fn next_verdict(&self) -> Verdict {
        let Ok(mut v) = self.verdicts.lock() else { return Verdict::Refuse };
        let next = v.0.pop_front().unwrap_or(Verdict::Refuse);
        if v.1 { Verdict::Refuse } else { next }
    }

    fn push(&self, verdict: Verdict) {
        if let Ok(mut v) = self.verdicts.lock() {
            v.0.push_back(verdict);
        }
    }

    fn lose(&self) {
        if let Ok(mut v) = self.verdicts.lock() {
            v.1 = true;
        }
    }

    /// One request started; the guard ends it (when the response body is done).
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.activity.send_modify(|a| a.in_flight += 1);
        InFlight(self.clone())
    }
}

/// A request in flight; dropping it marks the end.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<ConnShared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.activity.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

#[derive(Debug)]
enum Tracker {
    H1(H1Tracker),
    H2(H2Tracker),
}

/// The client's stream, watched.
#[derive(Debug)]
pub(crate) struct Watched<IO> {
    io: IO,
    tracker: Tracker,
    shared: Arc<ConnShared>,
    stats: Arc<TransportStats>,
    header_timeout: Duration,
    /// When the head being read must be complete (`None`: no head in progress).
    deadline: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl<IO> Watched<IO> {
    /// Starts watching right after the handshake: the first head is due
    /// within `header_timeout` from now.
    pub(crate) fn new(
        io: IO,
        h2: bool,
        shared: Arc<ConnShared>,
        stats: Arc<TransportStats>,
        header_timeout: Duration,
    ) -> Self {
        let tracker = if h2 { Tracker::H2(H2Tracker::default()) } else { Tracker::H1(H1Tracker::default()) };
        let deadline = Instant::now() + header_timeout;
        Self {
            io,
            tracker,
            shared,
            stats,
            header_timeout,
            deadline: Some(deadline),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    fn observe(&mut self, bytes: &[u8]) {
        let mut events = Vec::new();
        match &mut self.tracker {
            Tracker::H1(t) => t.feed(bytes, &mut |e| events.push(e)),
            Tracker::H2(t) => t.feed(bytes, &mut |e| events.push(e)),
        }
        let h1 = matches!(self.tracker, Tracker::H1(_));
        for event in events {
            match event {
                Event::HeadStarted => {
                    if self.deadline.is_none() {
                        self.deadline = Some(Instant::now() + self.header_timeout);
                    }
                }
                Event::HeadComplete { conflicting_framing } => {
                    self.deadline = None;
                    if h1 {
                        self.shared.push(if conflicting_framing { Verdict::Refuse } else { Verdict::Serve });
                    }
                }
                Event::Lost => {
                    self.deadline = None;
                    self.shared.lose();
                }
            }
        }
    }

    /// The deadline in force: an HTTP/1.1 head read ahead while a request is
    /// still being answered is due `header_timeout` after that answer.
    fn effective_deadline(&self) -> Option<Instant> {
        let deadline = self.deadline?;
        if matches!(self.tracker, Tracker::H1(_)) {
            let activity = *self.shared.activity.borrow();
            if activity.in_flight > 0 {
                return None;
            }
            return Some(deadline.max(activity.idle_since + self.header_timeout));
        }
        Some(deadline)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                this.observe(new);
            }
        }
        if let Some(deadline) = this.effective_deadline() {
            if Instant::now() >= deadline {
                this.stats.record(Closed::HeaderTimeout);
                return Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "request head not complete within the header timeout",
                )));
            }
            if result.is_pending() {
                this.sleep.as_mut().reset(deadline);
                if this.sleep.as_mut().poll(cx).is_ready() {
                    this.stats.record(Closed::HeaderTimeout);
                    return Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()));
                }
            }
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
