//! The object-level rule of SPEC §3.4 (step 11): [`check`].

use slipgate_proto::{ProblemCode, SlipBody};

use super::claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims};
use crate::Rejection;

/// On the parsed but not yet validated body: `salaryslip:any` may ask for
/// anyone; `salaryslip:self` only for the token's own employee record,
/// `emp_id`, `emp_code`, `emp_name` and `emp_grade` each exactly as the token
/// carries it. A member absent, of another JSON type or different, or a token
/// without a complete record, is 403 `forbidden` — before validation, so
/// probing another employee's slip learns nothing from validation messages.
///
/// # Errors
///
/// `forbidden`.
pub fn check(claims: &TokenClaims, body: &SlipBody) -> Result<(), Rejection> {
    if claims.has_scope(SCOPE_ANY) {
        return Ok(());
    }
    let record = [
        ("emp_id", &claims.emp_id),
        ("emp_code", &claims.emp_code),
        ("emp_name", &claims.emp_name),
        ("emp_grade", &claims.emp_grade),
    ];
    let own = claims.has_scope(SCOPE_SELF)
        && record.iter().all(|(member, value)| value.as_deref().is_some_and(|v| body.member_is(member, v)));
    if own {
        Ok(())
    } else {
        Err(Rejection::new(
            ProblemCode::Forbidden,
            "a salaryslip:self token may only generate its holder's own slip, with emp_id, emp_code, \
             emp_name and emp_grade exactly as on record",
        ))
    }
}
