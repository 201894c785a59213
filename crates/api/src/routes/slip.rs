//! `POST /generate/salaryslip` (SPEC §3): SPEC §3.3 steps 10–13 on the body
//! the signature layer verified — the JSON parse, the object-level rule,
//! strict validation — then the slip in the representation the shape check
//! negotiated ([`crate::middleware::shape`]).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use slipgate_guard::Rejection;
use slipgate_guard::signature::VerifiedBody;
use slipgate_guard::token::{TokenClaims, employee};
use slipgate_payroll::{ComputeError, SlipInput};
use slipgate_proto::{FieldError, ProblemCode, SlipBody};
use time::OffsetDateTime;

use crate::state::AppState;

/// The representation the client asked for (one type with the SDK's).
pub use slipgate_proto::Format;

/// The handler.
pub async fn generate(State(state): State<AppState>, request: Request) -> Result<Response, Rejection> {
    let mut extensions = request.into_parts().0.extensions;
    // What the layers before proved: fail closed when one of them did not run.
    let claims = extensions
        .remove::<TokenClaims>()
        .ok_or_else(|| Rejection::internal(&"the token layer did not run"))?;
    let VerifiedBody(body) = extensions
        .remove::<VerifiedBody>()
        .ok_or_else(|| Rejection::internal(&"the signature layer did not run"))?;
    let format =
        extensions.remove::<Format>().ok_or_else(|| Rejection::internal(&"the shape check did not run"))?;
    // SPEC §3.3 steps 10–12: the JSON parse, then the object-level rule of
    // §3.4 on the members as sent, then strict validation — so a
    // `salaryslip:self` token probing another employee's slip gets 403 before
    // any validation message could tell it something.
    let parsed = SlipBody::parse(&body).map_err(|e| match e {
        slipgate_proto::RequestError::InvalidJson(detail) => {
            Rejection::new(ProblemCode::InvalidJson, format!("body is not valid JSON ({detail})"))
        }
        other => Rejection::new(ProblemCode::InvalidJson, other.to_string()),
    })?;
    employee::check(&claims, &parsed)?;
    let slip_request = parsed.validate().map_err(|e| match e {
        slipgate_proto::RequestError::Invalid(errors) => Rejection::validation(errors),
        other => Rejection::new(ProblemCode::ValidationFailed, other.to_string()),
    })?;
    let now = OffsetDateTime::from(state.clock.now());
    let (year, month) = match slip_request.pay_period.as_deref().and_then(slipgate_proto::parse_period) {
        Some(period) => period,
        None => (now.year(), u8::from(now.month())),
    };
    let input = SlipInput {
        emp_id: &slip_request.emp_id,
        emp_code: &slip_request.emp_code,
        emp_name: &slip_request.emp_name,
        emp_grade: &slip_request.emp_grade,
        year,
        month,
        working_days: slip_request.working_days,
    };
    let slip_id = uuid::Uuid::new_v4().to_string();
    let slip = state.scale.compute(&input, slip_id, now).map_err(|e| match e {
        ComputeError::UnknownGrade => {
            Rejection::validation(vec![FieldError::new("emp_grade", "must name a grade of the pay scale")])
        }
        ComputeError::DaysExceedBasis { basis } => Rejection::validation(vec![FieldError::new(
            "working_days",
            format!("must not exceed the period's basis of {basis} days"),
        )]),
        other => Rejection::internal(&other),
    })?;
    match format {
        Format::Json => {
            let body = serde_json::to_vec(&slip).map_err(|e| Rejection::internal(&e))?;
            Ok(([(CONTENT_TYPE, HeaderValue::from_static(Format::Json.media_type()))], body).into_response())
        }
        Format::Pdf => {
            let pdf = state.pdf.clone();
            let bytes = tokio::task::spawn_blocking(move || pdf.render(&slip))
                .await
                .map_err(|e| Rejection::internal(&e))?
                .map_err(|e| Rejection::internal(&e))?;
            Ok(([(CONTENT_TYPE, HeaderValue::from_static(Format::Pdf.media_type()))], bytes).into_response())
        }
    }
}
