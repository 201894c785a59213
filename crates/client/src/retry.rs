//! When and how long to wait before repeating a request (SPEC §3.6, §3.7).
//!
//! Asking for a slip has no side effect on the server beyond spending a
//! nonce, and every attempt is signed again with a fresh nonce, so repeating
//! one is safe. [`RetryPolicy`] repeats only what a later attempt can fix:
//!
//! - `429 rate_limited`: waits `Retry-After` (capped by
//!   [`RetryPolicy::with_max_retry_after`], 60 s by default), plus a little jitter
//!   so concurrent callers do not return in lockstep;
//! - `503` (`auth_unavailable`, `store_unavailable`, `overloaded`) and
//!   transport failures (refused or reset connections, timeouts): jittered
//!   exponential backoff, or `Retry-After` when the server sent one.
//!
//! A host name that does not resolve and a certificate that does not verify
//! are reported at once ([`ClientError::UnknownHost`],
//! [`ClientError::TlsVerification`]): another attempt a second later meets
//! the same answer.
//!
//! Bulk callers can let `429`s not count as attempts at all
//! ([`RetryPolicy::with_rate_limit_budget`]): they then go exactly as fast as
//! the server's quota allows.
//!
//! Every other error — any other 4xx, a 500, a bad answer, a local problem —
//! is returned at once: repeating a request the server refused for what it
//! *is* only adds load. (`token_invalid` and `request_expired` with a skewed
//! clock are repaired by [`Client`](crate::Client) itself, once, before this
//! policy is asked.)
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use slipgate_client::RetryPolicy;
//!
//! let policy = RetryPolicy::default()
//!     .with_max_attempts(NonZeroU32::new(8).unwrap())
//!     .with_max_retry_after(Duration::from_secs(30));
//! assert_eq!(policy.max_attempts(), 8);
//! ```

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::ClientError;

/// Bounded, jittered retries for transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: NonZeroU32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    rate_limit_budget: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 250 ms doubling up to 8 s, `Retry-After`
    /// honoured up to 60 s per wait.
    fn default() -> Self {
        Self {
            max_attempts: NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            rate_limit_budget: None,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries (load generators want to see every answer).
    pub fn never() -> Self {
        Self { max_attempts: NonZeroU32::MIN, ..Self::default() }
    }

    /// Attempts in total, the first included.
    pub fn with_max_attempts(mut self, attempts: NonZeroU32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The backoff before the first retry; it doubles per attempt.
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff between two attempts.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest wait a `Retry-After` header can impose; a longer one is
    /// cut to this.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Waits out `429` answers without counting them as attempts, until the
    /// time spent waiting on them in one call adds up to `budget` (each wait
    /// still capped by [`with_max_retry_after`](Self::with_max_retry_after)).
    /// For bulk work that should go as fast as the server allows and no
    /// faster, such as `slipgate batch`. Needs `max_attempts` of at least 2.
    pub fn with_rate_limit_budget(mut self, budget: Duration) -> Self {
        self.rate_limit_budget = Some(budget);
        self
    }

    /// Attempts in total, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.get()
    }

    /// How long to wait after attempt number `attempt` (1-based) failed with
    /// `error`, or `None` to give up. `unit` in `[0, 1)` chooses the jitter;
    /// a pure function, so the policy is tested without sleeping.
    pub fn delay(&self, attempt: u32, error: &ClientError, unit: f64) -> Option<Duration> {
        if attempt >= self.max_attempts.get() {
            return None;
        }
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        match error {
            ClientError::Problem { status: 429, retry_after, .. } => Some(match retry_after {
                Some(wait) => self.after(*wait, unit),
                None => self.backoff(attempt, unit),
            }),
            ClientError::Problem { status: 503, retry_after, .. } => Some(match retry_after {
                Some(wait) => self.after(*wait, unit),
                None => self.backoff(attempt, unit),
            }),
            e if e.is_transient_transport() => Some(self.backoff(attempt, unit)),
            _ => None,
        }
    }

    /// `Retry-After`, capped, plus up to a tenth of it (at most 1 s) of jitter.
    fn after(&self, wait: Duration, unit: f64) -> Duration {
        let wait = wait.min(self.max_retry_after);
        let spread = (wait / 10).min(Duration::from_secs(1));
        wait + spread.mul_f64(unit)
    }

    /// "Equal jitter": between half and all of `base × 2^(attempt-1)`, capped.
    fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        let full = self.base_delay.saturating_mul(factor).min(self.max_delay);
        full / 2 + (full / 2).mul_f64(unit)
    }
}

/// A uniformly random number in `[0, 1)` from the system CSPRNG (0 if it fails:
/// jitter is a courtesy, not a security property).
pub(crate) fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0.0;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// Runs `op` until it succeeds or `policy` gives up, sleeping with `sleep`
/// between attempts (tokio's sleep in the client; a recorder in tests).
pub(crate) async fn run<T, Op, Fut, Sleep, SleepFut>(
    policy: &RetryPolicy,
    mut sleep: Sleep,
    mut op: Op,
) -> Result<T, ClientError>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
    Sleep: FnMut(Duration) -> SleepFut,
    SleepFut: Future<Output = ()>,
{
    let mut attempt = 1;
    let mut rate_limited_wait = Duration::ZERO;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        // Within the budget, a 429 is judged as if it were the first failure.
        let free = matches!(error, ClientError::Problem { status: 429, .. })
            && policy.rate_limit_budget.is_some_and(|budget| rate_limited_wait < budget);
        let Some(wait) = policy.delay(if free { 1 } else { attempt }, &error, jitter()) else {
            return Err(error);
        };
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
        sleep(wait).await;
        if free {
            rate_limited_wait += wait;
        } else {
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests;
