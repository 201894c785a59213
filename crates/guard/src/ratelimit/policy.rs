//! The two policies (`ip`, `user`), what each decided for a request, and the
//! draft-ietf-httpapi-ratelimit-headers fields (SPEC §3.7); [`check`] turns a
//! store's answer into the outcome and, when the request must stop, the refusal.

use std::time::Duration;

use http::HeaderValue;
use slipgate_proto::ProblemCode;
use slipgate_proto::units::Rate;

use super::gcra::Decision;
use crate::Rejection;
use crate::store::StoreError;

/// The per-IP policy's name.
pub const POLICY_IP: &str = "ip";
/// The per-user policy's name.
pub const POLICY_USER: &str = "user";

/// The two configured policies (`rate_limit.ip`, `rate_limit.user`), all of
/// which `RateLimit-Policy` advertises on every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address (default `600/min`).
    pub ip: Rate,
    /// Per token subject (default `120/min`).
    pub user: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_min = |n| Rate { quota: n, per: Duration::from_secs(60) };
        Self {
            ip: per_min(std::num::NonZeroU32::new(600).unwrap_or(std::num::NonZeroU32::MIN)),
            user: per_min(std::num::NonZeroU32::new(120).unwrap_or(std::num::NonZeroU32::MIN)),
        }
    }
}

/// Where one policy stood after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// `"ip"` or `"user"`.
    pub policy: &'static str,
    /// Requests left now.
    pub remaining: u32,
    /// Until one more request is allowed (`r` grows by one): the `t` of
    /// the `RateLimit` field (draft-ietf-httpapi-ratelimit-headers-10);
    /// zero when the quota is full.
    pub reset_after: Duration,
    /// Whether this policy refused the request.
    pub refused: bool,
}

/// `"ip";q=600;w=60, "user";q=120;w=60`.
pub fn policy_header(policies: &[(&'static str, Rate)]) -> HeaderValue {
    let text = policies
        .iter()
        .map(|(name, rate)| format!("\"{name}\";q={};w={}", rate.quota, rate.per.as_secs().max(1)))
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static(""))
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `"<policy>";r=<remaining>;t=<seconds>` for the policy nearest its limit:
/// the fewest requests left, then the one that refused, then the longest wait.
pub fn ratelimit_header(outcomes: &[Outcome]) -> Option<HeaderValue> {
    let nearest =
        outcomes.iter().min_by_key(|o| (o.remaining, !o.refused, std::cmp::Reverse(o.reset_after)))?;
    let text = format!("\"{}\";r={};t={}", nearest.policy, nearest.remaining, ceil_secs(nearest.reset_after));
    HeaderValue::try_from(text).ok()
}

/// The pure decision: a store answer becomes the outcome for the headers and,
/// when the request must stop, the rejection (429, or 503 fail-closed).
pub fn check(
    policy: &'static str,
    answer: Result<Decision, StoreError>,
) -> (Option<Outcome>, Option<Rejection>) {
    let decision = match answer {
        Ok(decision) => decision,
        Err(error) => {
            let rejection =
                Rejection::new(ProblemCode::StoreUnavailable, "the rate-limit store is unavailable")
                    .with_cause(&format_args!("{policy} policy: {error}"));
            return (None, Some(rejection));
        }
    };
    let outcome = Outcome {
        policy,
        remaining: decision.remaining,
        reset_after: decision.next_after,
        refused: !decision.allowed,
    };
    if decision.allowed {
        return (Some(outcome), None);
    }
    let mut rejection = Rejection::new(
        ProblemCode::RateLimited,
        format!("the `{policy}` rate limit is exhausted; retry after the time in Retry-After"),
    )
    // Equal to the `t` of the `RateLimit` field, so it never points earlier (SPEC §3.7).
    .with_retry_after(decision.next_after);
    rejection.violated_policies = vec![policy];
    (Some(outcome), Some(rejection))
}
