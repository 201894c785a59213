//! Freshness (SPEC §3.2): [`check`].

use std::time::Duration;

use slipgate_proto::ProblemCode;

use crate::Rejection;

/// `|now − created| ≤ max_skew`, and `now ≤ expires` when present (unix
/// seconds; both edges inclusive).
///
/// # Errors
///
/// [`ProblemCode::RequestExpired`].
pub fn check(max_skew: Duration, created: i64, expires: Option<i64>, now: i64) -> Result<(), Rejection> {
    let skew = i64::try_from(max_skew.as_secs()).unwrap_or(i64::MAX);
    if created.abs_diff(now) > skew.unsigned_abs() {
        return Err(Rejection::new(
            ProblemCode::RequestExpired,
            format!("created is more than {skew} s away from the server clock"),
        ));
    }
    if let Some(expires) = expires
        && now > expires
    {
        return Err(Rejection::new(ProblemCode::RequestExpired, "the signature has expired"));
    }
    Ok(())
}
