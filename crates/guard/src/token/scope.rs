//! Step 9 of SPEC §3.3, after the per-user rate limit: [`check`] and the
//! [`ScopeLayer`] that runs it.

use http::Request;
use slipgate_proto::{Presentation, ProblemCode};

use super::claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims};
use crate::Rejection;
use crate::guarded::{Guard, guard_layer};

/// The token has a salary-slip scope (`salaryslip:self` or `salaryslip:any`);
/// the refusal is challenged for `presented` (RFC 6750 `insufficient_scope`).
///
/// # Errors
///
/// `insufficient_scope`.
pub fn check(claims: &TokenClaims, presented: Presentation) -> Result<(), Rejection> {
    if claims.has_scope(SCOPE_ANY) || claims.has_scope(SCOPE_SELF) {
        return Ok(());
    }
    Err(Rejection::new(ProblemCode::InsufficientScope, "the token has no salary-slip scope")
        .presented(presented))
}

/// Refuses tokens without a salary-slip scope (403 `insufficient_scope`). It
/// reads the [`TokenClaims`] and [`Presentation`] the token layer proved, so it
/// runs inside it (and inside the per-user rate limit, SPEC §3.3 steps 7 → 8 → 9);
/// a request that reaches it without them is refused as `token_missing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScopeLayer;

guard_layer!(ScopeLayer);

impl<B: Send + 'static> Guard<B> for ScopeLayer {
    type Note = ();

    async fn admit(&self, request: Request<B>, _: &mut ()) -> Result<Request<B>, Rejection> {
        let presented = request.extensions().get::<Presentation>().copied().unwrap_or_default();
        let Some(claims) = request.extensions().get::<TokenClaims>() else {
            return Err(Rejection::new(
                ProblemCode::TokenMissing,
                "no validated token reached the scope check",
            )
            .presented(presented));
        };
        check(claims, presented)?;
        Ok(request)
    }
}
