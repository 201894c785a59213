//! `POST /generate/salaryslip` (SPEC §3): request shape, validation, slip
//! generation and content negotiation.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use slipgate_guard::token::{TokenClaims, authorize_employee};
use slipgate_payroll::{ComputeError, SlipInput};
use slipgate_proto::{FieldError, ProblemCode, SlipBody, headers};
use std::time::Duration;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// The representation the client asked for (one type with the SDK's).
pub use slipgate_proto::Format;

/// The handler.
pub async fn generate(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let claims = request
        .extensions()
        .get::<TokenClaims>()
        .cloned()
        .ok_or_else(|| ApiError::internal(&"the token layer did not run"))?;
    let format = negotiate(request.headers().get(ACCEPT))?;
    let body = read_bounded(request.into_body(), state.max_body, state.request_timeout).await?;
    // SPEC §3.3 steps 10–12: the JSON parse, then the object-level rule of
    // §3.4 on the members as sent, then strict validation — so a
    // `salaryslip:self` token probing another employee's slip gets 403 before
    // any validation message could tell it something.
    let parsed = SlipBody::parse(&body).map_err(|e| match e {
        slipgate_proto::RequestError::InvalidJson(detail) => {
            ApiError::new(ProblemCode::InvalidJson, format!("body is not valid JSON ({detail})"))
        }
        other => ApiError::new(ProblemCode::InvalidJson, other.to_string()),
    })?;
    authorize_employee(&claims, &parsed)?;
    let slip_request = parsed.validate().map_err(|e| match e {
        slipgate_proto::RequestError::Invalid(errors) => ApiError::validation(errors),
        other => ApiError::new(ProblemCode::ValidationFailed, other.to_string()),
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
            ApiError::validation(vec![FieldError::new("emp_grade", "must name a grade of the pay scale")])
        }
        ComputeError::DaysExceedBasis { basis } => ApiError::validation(vec![FieldError::new(
            "working_days",
            format!("must not exceed the period's basis of {basis} days"),
        )]),
        other => ApiError::internal(&other),
    })?;
    match format {
        Format::Json => {
            let body = serde_json::to_vec(&slip).map_err(|e| ApiError::internal(&e))?;
            Ok(([(CONTENT_TYPE, HeaderValue::from_static(Format::Json.media_type()))], body).into_response())
        }
        Format::Pdf => {
            let pdf = state.pdf.clone();
            let bytes = tokio::task::spawn_blocking(move || pdf.render(&slip))
                .await
                .map_err(|e| ApiError::internal(&e))?
                .map_err(|e| ApiError::internal(&e))?;
            Ok(([(CONTENT_TYPE, HeaderValue::from_static(Format::Pdf.media_type()))], bytes).into_response())
        }
    }
}

/// Middleware for step 2 of SPEC §3.3, before any signature work.
pub async fn shape(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match check_shape(request.uri(), request.headers(), state.max_body) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Step 2 of SPEC §3.3: no repeated singleton field, no query, a JSON content type, a declared length
/// within the limit. Runs before the body is read.
pub fn check_shape(uri: &http::Uri, headers: &HeaderMap, max_body: usize) -> Result<(), ApiError> {
    // One field, one line (SPEC §3.2) before the content type is read, so a
    // second Content-Type line is a 400 whichever line comes first.
    slipgate_guard::signature::check_single_lines(headers)?;
    if uri.query().is_some() {
        return Err(ApiError::new(ProblemCode::BadRequest, "this endpoint takes no query string"));
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(headers::JSON));
    if !is_json {
        return Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    }
    if let Some(len) = headers.get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::new(ProblemCode::BadRequest, "Content-Length is not a number"))?;
        if len > max_body as u64 {
            return Err(too_large(max_body));
        }
    }
    Ok(())
}

fn too_large(max_body: usize) -> ApiError {
    ApiError::new(ProblemCode::PayloadTooLarge, format!("the body exceeds the limit of {max_body} bytes"))
}

/// Reads at most `max_body` bytes within `timeout`; a longer body (however it
/// is framed) is a 413, a body that does not arrive in time a 400.
pub async fn read_bounded(body: Body, max_body: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let collect = http_body_util::Limited::new(body, max_body).collect();
    match tokio::time::timeout(timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(too_large(max_body))
        }
        Ok(Err(_)) => Err(ApiError::new(ProblemCode::BadRequest, "the request body could not be read")),
        Err(_) => Err(ApiError::new(
            ProblemCode::BadRequest,
            "the request body did not arrive within the time limit",
        )),
    }
}

/// Picks JSON or PDF from `Accept` (RFC 9110 §12.5.1, q-values honoured).
/// No header, or one that ranks both equally, means JSON; one that accepts
/// neither is a 406.
pub fn negotiate(accept: Option<&HeaderValue>) -> Result<Format, ApiError> {
    let Some(accept) = accept else { return Ok(Format::Json) };
    let accept = accept
        .to_str()
        .map_err(|_| ApiError::new(ProblemCode::BadRequest, "Accept header is not valid text"))?;
    let (mut json_q, mut pdf_q) = (None::<(u16, u8)>, None::<(u16, u8)>);
    for range in accept.split(',').take(32) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map(parse_q)
            .next()
            .unwrap_or(Some(1000))
            .unwrap_or(0);
        // Specificity: an exact type beats `application/*`, which beats `*/*`.
        let (json_spec, pdf_spec) = match media.as_str() {
            headers::JSON => (Some(3), None),
            headers::PDF => (None, Some(3)),
            "application/*" => (Some(2), Some(2)),
            "*/*" => (Some(1), Some(1)),
            _ => (None, None),
        };
        for (slot, spec) in [(&mut json_q, json_spec), (&mut pdf_q, pdf_spec)] {
            if let Some(spec) = spec
                && slot.is_none_or(|(_, s)| spec > s)
            {
                *slot = Some((q, spec));
            }
        }
    }
    let json = json_q.map_or(0, |(q, _)| q);
    let pdf = pdf_q.map_or(0, |(q, _)| q);
    match (json, pdf) {
        (0, 0) => Err(ApiError::new(
            ProblemCode::NotAcceptable,
            "this endpoint produces application/json or application/pdf",
        )),
        (j, p) if p > j => Ok(Format::Pdf),
        _ => Ok(Format::Json),
    }
}

/// A q-value in thousandths, or `None` when malformed.
fn parse_q(s: &str) -> Option<u16> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = int * 1000 + frac_value;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Result<Format, ProblemCode> {
        negotiate(Some(&HeaderValue::from_str(accept).unwrap())).map_err(|e| e.code)
    }

    #[test]
    fn negotiates_by_preference() {
        assert_eq!(negotiate(None).unwrap(), Format::Json);
        assert_eq!(pick("application/pdf"), Ok(Format::Pdf));
        assert_eq!(pick("*/*"), Ok(Format::Json));
        assert_eq!(pick("application/json;q=0.5, application/pdf"), Ok(Format::Pdf));
        assert_eq!(pick("application/pdf;q=0.4, */*;q=0.5"), Ok(Format::Json));
        assert_eq!(pick("application/*;q=0.2, application/pdf;q=0.9"), Ok(Format::Pdf));
    }

    #[test]
    fn refuses_what_it_cannot_produce() {
        assert_eq!(pick("text/html"), Err(ProblemCode::NotAcceptable));
        assert_eq!(pick("application/json;q=0, application/pdf;q=0"), Err(ProblemCode::NotAcceptable));
        assert_eq!(pick("application/pdf;q=0, */*;q=0"), Err(ProblemCode::NotAcceptable));
    }
}
