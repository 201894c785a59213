//! The salary-slip request of SPEC §3.1 and its strict parser.
//!
//! Parsing happens in steps (SPEC §3.3 steps 10–12): [`SlipBody::parse`] checks
//! the JSON text and keeps the members as sent, duplicates included, so the
//! object-level rule can look at them before anything is validated; then
//! [`SlipBody::validate`] checks the member names (unknown or duplicate members
//! are errors) and each member's JSON type and form on its own, so every
//! problem is reported at once. Rules that need the pay scale (the grade
//! exists, `working_days` fits the basis) are the server's, in `slipgate-api`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, ProblemCode};

/// A structurally valid salary-slip request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlipRequest {
    /// 1–32 chars of `[A-Za-z0-9_-]`.
    pub emp_id: String,
    /// 1–16 chars of `[A-Za-z0-9_-]`.
    pub emp_code: String,
    /// 1–100 chars: letters of any script, spaces, `.`, `'`, `-`.
    pub emp_name: String,
    /// A grade name of the pay scale (checked by the server).
    pub emp_grade: String,
    /// Days worked, 0 ≤ n ≤ the period's basis (upper bound checked by the server).
    pub working_days: u32,
    /// `YYYY-MM`; the current UTC month when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_period: Option<String>,
}

/// Why a body is not a [`SlipRequest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is not JSON text (400 `invalid_json`).
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON, but not a valid request (422 `validation_failed`).
    #[error("request failed validation ({} field errors)", .0.len())]
    Invalid(Vec<FieldError>),
}

impl RequestError {
    /// The problem code to answer with.
    pub fn code(&self) -> ProblemCode {
        match self {
            RequestError::InvalidJson(_) => ProblemCode::InvalidJson,
            RequestError::Invalid(_) => ProblemCode::ValidationFailed,
        }
    }
}

/// The members, each present at most once, no others (checked by [`SlipBody::validate`]).
#[derive(Default)]
struct RawRequest {
    emp_id: Option<Value>,
    emp_code: Option<Value>,
    emp_name: Option<Value>,
    emp_grade: Option<Value>,
    working_days: Option<Value>,
    pay_period: Option<Value>,
}

const MAX_NAME_CHARS: usize = 100;

impl SlipRequest {
    /// Parses `body` strictly (SPEC §3.1): malformed JSON is
    /// [`RequestError::InvalidJson`]; a non-object, unknown or duplicate members,
    /// wrong JSON types and bad forms are [`RequestError::Invalid`] with one
    /// [`FieldError`] per problem.
    pub fn parse_strict(body: &[u8]) -> Result<Self, RequestError> {
        SlipBody::parse(body)?.validate()
    }

    /// The per-member checks of [`SlipRequest::parse_strict`], on members
    /// already known to be unique and expected.
    fn check(raw: RawRequest) -> Result<Self, RequestError> {
        let mut errors = Vec::new();
        let emp_id = ident_field(&mut errors, "emp_id", raw.emp_id, 32);
        let emp_code = ident_field(&mut errors, "emp_code", raw.emp_code, 16);
        let emp_name = name_field(&mut errors, raw.emp_name);
        let emp_grade = grade_field(&mut errors, raw.emp_grade);
        let working_days = days_field(&mut errors, raw.working_days);
        let pay_period = match raw.pay_period {
            None => None,
            Some(v) => match v {
                Value::String(s) if parse_period(&s).is_some() => Some(s),
                Value::String(_) => {
                    errors.push(FieldError::new("pay_period", "must be a month as YYYY-MM"));
                    None
                }
                other => {
                    errors.push(type_error("pay_period", "a string", &other));
                    None
                }
            },
        };
        match (emp_id, emp_code, emp_name, emp_grade, working_days) {
            (Some(emp_id), Some(emp_code), Some(emp_name), Some(emp_grade), Some(working_days))
                if errors.is_empty() =>
            {
                Ok(SlipRequest { emp_id, emp_code, emp_name, emp_grade, working_days, pay_period })
            }
            _ => Err(RequestError::Invalid(errors)),
        }
    }
}

/// Parses `YYYY-MM` (year 1900–9999, month 01–12) into `(year, month)`.
pub fn parse_period(s: &str) -> Option<(i32, u8)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
        return None;
    }
    let year: i32 = s.get(..4)?.parse().ok()?;
    let month: u8 = s.get(5..)?.parse().ok()?;
    ((1900..=9999).contains(&year) && (1..=12).contains(&month)).then_some((year, month))
}

pub(crate) fn classify(e: &serde_json::Error) -> RequestError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            RequestError::InvalidJson(format!("at line {} column {}", e.line(), e.column()))
        }
        Category::Data => RequestError::Invalid(vec![member_error(&e.to_string())]),
    }
}

/// Turns serde's member-level message into a field error naming the member but
/// not echoing more than a bounded prefix of what the client sent.
pub(crate) fn member_error(message: &str) -> FieldError {
    let quoted = message.split('`').nth(1).map(|s| s.chars().take(64).collect::<String>());
    if message.starts_with("unknown field") {
        FieldError::new(quoted.unwrap_or_default(), "unknown member")
    } else if message.starts_with("duplicate field") {
        FieldError::new(quoted.unwrap_or_default(), "duplicate member")
    } else {
        FieldError::new("", "body must be a JSON object")
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> FieldError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    FieldError::new(field, format!("must be {expected}, got {got}"))
}

fn string_field(errors: &mut Vec<FieldError>, field: &str, v: Option<Value>) -> Option<String> {
    match v {
        None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            errors.push(type_error(field, "a string", &other));
            None
        }
    }
}

fn ident_field(errors: &mut Vec<FieldError>, field: &str, v: Option<Value>, max: usize) -> Option<String> {
    let s = string_field(errors, field, v)?;
    let ok_chars = s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if s.is_empty() || s.len() > max || !ok_chars {
        errors.push(FieldError::new(field, format!("must be 1-{max} characters of A-Z, a-z, 0-9, _ and -")));
        return None;
    }
    Some(s)
}

fn name_field(errors: &mut Vec<FieldError>, v: Option<Value>) -> Option<String> {
    let s = string_field(errors, "emp_name", v)?;
    let count = s.chars().count();
    if count == 0 || count > MAX_NAME_CHARS {
        errors.push(FieldError::new("emp_name", format!("must be 1-{MAX_NAME_CHARS} characters")));
        return None;
    }
    if s.chars().any(char::is_control) {
        errors.push(FieldError::new("emp_name", "must not contain control characters"));
        return None;
    }
    if !s.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '\'' || c == '-') {
        errors.push(FieldError::new("emp_name", "may contain only letters, spaces, '.', ''' and '-'"));
        return None;
    }
    if s.trim().is_empty() {
        errors.push(FieldError::new("emp_name", "must contain a letter"));
        return None;
    }
    Some(s)
}

fn grade_field(errors: &mut Vec<FieldError>, v: Option<Value>) -> Option<String> {
    let g = string_field(errors, "emp_grade", v)?;
    if g.is_empty() || g.chars().count() > 32 || g.chars().any(char::is_control) {
        errors.push(FieldError::new("emp_grade", "must name a grade of the pay scale"));
        return None;
    }
    Some(g)
}

/// Checks one employee member (`emp_id`, `emp_code`, `emp_name`, `emp_grade`)
/// by the form rules of [`SlipRequest::parse_strict`], for whoever stores such
/// values (the identity server's employee records). Whether a grade exists in
/// the pay scale is the API's to say.
pub fn check_member(field: &str, value: &str) -> Result<(), FieldError> {
    let mut errors = Vec::new();
    let v = Some(Value::String(value.to_owned()));
    match field {
        "emp_id" => _ = ident_field(&mut errors, "emp_id", v, 32),
        "emp_code" => _ = ident_field(&mut errors, "emp_code", v, 16),
        "emp_name" => _ = name_field(&mut errors, v),
        "emp_grade" => _ = grade_field(&mut errors, v),
        other => errors.push(FieldError::new(other, "unknown member")),
    }
    errors.into_iter().next().map_or(Ok(()), Err)
}

fn days_field(errors: &mut Vec<FieldError>, v: Option<Value>) -> Option<u32> {
    match v {
        None => {
            errors.push(FieldError::new("working_days", "is required"));
            None
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(d) => match u32::try_from(d) {
                Ok(d) if d <= 366 => Some(d),
                _ => {
                    errors.push(FieldError::new("working_days", "must not exceed the period's basis"));
                    None
                }
            },
            None if n.as_i64().is_some() => {
                errors.push(FieldError::new("working_days", "must not be negative"));
                None
            }
            None => {
                errors.push(FieldError::new("working_days", "must be an integer"));
                None
            }
        },
        Some(other) => {
            errors.push(type_error("working_days", "an integer", &other));
            None
        }
    }
}

mod members;
pub use members::SlipBody;

#[cfg(test)]
mod tests;
