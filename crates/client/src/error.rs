//! Typed client errors, mapped back from the API's problem codes.

use std::time::Duration;

use slipgate_proto::{Problem, ProblemCode};

/// What went wrong talking to Slipgate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API answered with an RFC 9457 problem.
    #[error("{status} {code}: {detail}", code = problem.code, detail = problem.detail)]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The body.
        problem: Box<Problem>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// No usable credentials: log in first (or a refresh and re-prompt failed).
    #[error("not logged in: {0}")]
    LoginRequired(String),
    /// The identity server refused a grant (RFC 6749 §5.2 `error`).
    #[error("identity server refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Grant {
        /// `invalid_grant`, `invalid_client`, `slow_down`, …
        error: String,
        /// `error_description`.
        description: Option<String>,
        /// `Retry-After` on throttling.
        retry_after: Option<Duration>,
    },
    /// The request could not be signed.
    #[error(transparent)]
    Sign(#[from] crate::SignRequestError),
    /// Connection, TLS or timeout.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer's signature (SPEC §3.8) is missing or wrong: it was changed
    /// in transit or does not come from the API.
    #[error("response signature check failed: {0}")]
    ResponseSignature(String),
    /// An answer is signed by a key outside the pinned set, and the API now
    /// serves a different set: a key rotation (re-pin with `slipgate keys
    /// pin`) or a man in the middle. The message says which.
    #[error("response keys changed: {0}")]
    ServerKeysChanged(String),
    /// The local clock is further from the API's (as its signed answer says)
    /// than the client corrects on its own.
    #[error(
        "the local clock is {} s {} the API server's (from its signed answer), more than the {max_s} s this client corrects on its own: fix the clock (e.g. with NTP)",
        offset_s.unsigned_abs(),
        if *offset_s > 0 { "behind" } else { "ahead of" }
    )]
    ClockSkew {
        /// Server minus local, seconds.
        offset_s: i64,
        /// The largest correction allowed, seconds.
        max_s: u64,
    },
    /// An answer that is not what the protocol promises.
    #[error("unexpected response: {0}")]
    InvalidResponse(String),
    /// Local configuration (files, keys, CA).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The problem code, when the API sent one this version knows.
    pub fn code(&self) -> Option<ProblemCode> {
        match self {
            ClientError::Problem { problem, .. } => problem.problem_code(),
            _ => None,
        }
    }

    pub(crate) fn transport(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        // reqwest's Display includes the URL and the cause chain, which is
        // useful and holds no secrets (tokens travel in headers and bodies).
        ClientError::Transport(format!("{kind}: {e}"))
    }
}

/// Parses `Retry-After` (delay-seconds form).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
