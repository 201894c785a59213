//! Step 10 of SPEC §3.3: the body as JSON members, before validation.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{RawRequest, RequestError, SlipRequest, classify};
use crate::FieldError;

/// A salary-slip body parsed as JSON but not validated: its members as sent,
/// in order, duplicates kept (`None` when the body is JSON but no object).
///
/// ```
/// use slipgate_proto::SlipBody;
///
/// let body = SlipBody::parse(br#"{"emp_id": "01234", "emp_id": "00042"}"#).unwrap();
/// assert!(!body.member_is("emp_id", "01234"), "every occurrence must match");
/// assert!(body.validate().is_err(), "the duplicate is a validation error");
/// ```
#[derive(Clone, PartialEq)]
pub struct SlipBody {
    members: Option<Vec<(String, Value)>>,
}

impl fmt::Debug for SlipBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are salary data: names only.
        let names: Vec<&str> = self.members.iter().flatten().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("SlipBody").field("members", &names).finish()
    }
}

impl SlipBody {
    /// Parses `body` as JSON: malformed text is [`RequestError::InvalidJson`];
    /// anything well-formed is accepted here.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        serde_json::from_slice(body).map_err(|e| classify(&e))
    }

    /// Whether member `name` is present and every occurrence of it is the
    /// JSON string `expected` (an absent member, another JSON type or another
    /// value is `false`).
    #[must_use]
    pub fn member_is(&self, name: &str, expected: &str) -> bool {
        let mut found = false;
        for (key, value) in self.members.iter().flatten() {
            if key == name {
                if value.as_str() != Some(expected) {
                    return false;
                }
                found = true;
            }
        }
        found
    }

    /// Validates the members strictly (SPEC §3.1): a non-object, an unknown or
    /// duplicate member (the first one met), wrong JSON types and bad forms are
    /// [`RequestError::Invalid`].
    pub fn validate(self) -> Result<SlipRequest, RequestError> {
        let invalid = |field: &str, message: &str| {
            let field: String = field.chars().take(64).collect();
            Err(RequestError::Invalid(vec![FieldError::new(field, message)]))
        };
        let Some(members) = self.members else { return invalid("", "body must be a JSON object") };
        let mut raw = RawRequest::default();
        for (name, value) in members {
            let slot = match name.as_str() {
                "emp_id" => &mut raw.emp_id,
                "emp_code" => &mut raw.emp_code,
                "emp_name" => &mut raw.emp_name,
                "emp_grade" => &mut raw.emp_grade,
                "working_days" => &mut raw.working_days,
                "pay_period" => &mut raw.pay_period,
                _ => return invalid(&name, "unknown member"),
            };
            if slot.is_some() {
                return invalid(&name, "duplicate member");
            }
            *slot = Some(value);
        }
        SlipRequest::check(raw)
    }
}

impl<'de> Deserialize<'de> for SlipBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = SlipBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SlipBody, A::Error> {
        let mut members = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            members.push(entry);
        }
        Ok(SlipBody { members: Some(members) })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SlipBody, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<SlipBody, E> {
        Ok(not_an_object())
    }
}

fn not_an_object() -> SlipBody {
    SlipBody { members: None }
}
