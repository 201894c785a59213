//! Typed client errors, mapped back from the API's problem codes.

use std::time::Duration;

use slipgate_proto::{Problem, ProblemCode};

/// What went wrong talking to Slipgate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API answered with an RFC 9457 problem; a 422's field errors
    /// (`errors`) follow its detail in parentheses, `field: message` each.
    #[error("{status} {code}: {detail}{}", field_errors(problem), code = problem.code, detail = problem.detail)]
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
    /// Nothing accepted the connection at `addr` (`host:port`). Retried: a
    /// server that is restarting refuses for a moment.
    #[error("connection refused by {addr}: is the server running, and is this its address and port?")]
    Refused {
        /// `host:port` as the URL names it.
        addr: String,
    },
    /// The host name does not resolve (DNS). Not retried.
    #[error("unknown host `{host}`: the name does not resolve (DNS: {detail})")]
    UnknownHost {
        /// The name.
        host: String,
        /// The resolver's answer.
        detail: String,
    },
    /// The server's certificate failed verification. Not retried: another
    /// attempt meets the same certificate.
    #[error(
        "TLS verification of {addr} failed: the server's certificate{} was checked against {trusted}: {reason}",
        issued_by(issuer.as_deref(), subject.as_deref())
    )]
    TlsVerification {
        /// `host:port`.
        addr: String,
        /// What the verifier said (unknown issuer, expired, not valid for the name, …).
        reason: String,
        /// The certificate's issuer (RFC 4514), when it parses.
        issuer: Option<String>,
        /// The certificate's subject (RFC 4514), when it parses.
        subject: Option<String>,
        /// "the CA file …" or "the system's trusted roots".
        trusted: String,
    },
    /// The URL given for one Slipgate service answers like another one (the
    /// identity server's URL used as the API's, or the reverse).
    #[error("{url} looks like {found}, not {expected}: {evidence}")]
    WrongService {
        /// The URL as configured.
        url: String,
        /// "the Slipgate API" or "the identity server".
        expected: &'static str,
        /// What it looks like instead.
        found: &'static str,
        /// What gave it away.
        evidence: String,
    },
    /// A base URL that cannot name a Slipgate service (not https, a path, …);
    /// found before any connection ([`crate::origin::parse_origin`]).
    #[error("invalid {service} URL `{url}`: {why}")]
    InvalidUrl {
        /// "API" or "identity server".
        service: &'static str,
        /// The URL, without any credentials it held.
        url: String,
        /// What is wrong and what to write instead.
        why: String,
    },
    /// Another transport failure: a reset connection, a timeout, a TLS
    /// handshake the server broke off. Retried.
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

    /// Whether a later attempt could succeed where this one failed for
    /// want of an answer (refused, reset, timed out); never for a name that
    /// does not resolve or a certificate that does not verify.
    pub fn is_transient_transport(&self) -> bool {
        matches!(self, ClientError::Refused { .. } | ClientError::Transport(_))
    }

    pub(crate) fn transport(e: &reqwest::Error) -> Self {
        crate::connect::classify(e)
    }
}

/// `: emp_grade: …; working_days: …` for a problem with field errors.
fn field_errors(problem: &Problem) -> String {
    if problem.errors.is_empty() {
        return String::new();
    }
    let list: Vec<String> = problem.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
    format!(" ({})", list.join("; "))
}

fn issued_by(issuer: Option<&str>, subject: Option<&str>) -> String {
    match (subject, issuer) {
        (Some(subject), Some(issuer)) => format!(" (subject `{subject}`, issued by `{issuer}`)"),
        (None, Some(issuer)) => format!(" (issued by `{issuer}`)"),
        _ => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use slipgate_proto::FieldError;

    #[test]
    fn a_problem_with_field_errors_lists_them() {
        let mut problem = Problem::new(ProblemCode::ValidationFailed, "2 fields failed validation", "r1");
        problem.errors = vec![
            FieldError::new("emp_code", "must be 1-16 characters of A-Z, a-z, 0-9, _ or -"),
            FieldError::new("working_days", "must not exceed the period's basis of 30 days"),
        ];
        let e = ClientError::Problem { status: 422, problem: Box::new(problem), retry_after: None };
        assert_eq!(
            e.to_string(),
            "422 validation_failed: 2 fields failed validation (emp_code: must be 1-16 characters of A-Z, \
             a-z, 0-9, _ or -; working_days: must not exceed the period's basis of 30 days)"
        );
    }

    #[test]
    fn a_refused_certificate_names_its_issuer_and_what_was_trusted() {
        let e = ClientError::TlsVerification {
            addr: "127.0.0.1:8443".into(),
            reason: "its issuer is not a trusted CA".into(),
            issuer: Some("CN=Other CA".into()),
            subject: Some("CN=localhost".into()),
            trusted: "the CA file ca.pem".into(),
        };
        assert_eq!(
            e.to_string(),
            "TLS verification of 127.0.0.1:8443 failed: the server's certificate (subject `CN=localhost`, \
             issued by `CN=Other CA`) was checked against the CA file ca.pem: its issuer is not a trusted CA"
        );
    }
}
