//! Where another provider puts what Slipgate needs (`auth.claims.*`,
//! `auth.scopes.*`): the employee record's claim names and the scope names
//! that grant `salaryslip:self` / `salaryslip:any`. Both token modes read a
//! verified JWT's claims or an active RFC 7662 answer through one
//! [`ClaimMap`].
//!
//! Scopes are read from the RFC 9068 / RFC 7662 `scope` member (a
//! space-separated string); when a token has no `scope`, from `scp` (Okta
//! writes an array of strings, Entra ID a space-separated string). A token
//! carrying `scope` is judged by `scope` alone, so an `scp` beside it grants
//! nothing.
//!
//! ```
//! use slipgate_guard::token::{ClaimMap, SCOPE_SELF};
//!
//! let map = ClaimMap {
//!     emp_id: "employee_number".into(),
//!     scope_self: "payslip.read.own".into(),
//!     ..ClaimMap::default()
//! };
//! let token = serde_json::json!({
//!     "sub": "9f1c", "exp": 2_000_000_000, "scp": ["openid", "payslip.read.own"],
//!     "employee_number": "01234",
//! });
//! let claims = map.claims(token.as_object().unwrap()).unwrap();
//! assert_eq!((claims.scope.as_str(), claims.emp_id.as_deref()), (SCOPE_SELF, Some("01234")));
//! ```
//!
//! # Security
//! A mapped claim of another JSON type than a string (a number, an array, an
//! object) refuses the token rather than being converted, so a provider's
//! `employee_number: 1234` cannot match `"01234"` by accident; a claim that is
//! absent is simply absent, and the object-level rule (SPEC §3.4) then
//! refuses a `salaryslip:self` request with 403 `forbidden`. Scope names are
//! compared exactly (case-sensitive, RFC 6749 §3.3).

use serde_json::{Map, Value};
use slipgate_proto::oauth::Confirmation;

use super::claims::{SCOPE_ANY, SCOPE_SELF, TokenClaims};

/// The claim and scope names of one provider. [`Default`] is Slipgate's own
/// identity server: `emp_id`, `emp_code`, `name`, `emp_grade`,
/// `salaryslip:self`, `salaryslip:any`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMap {
    /// The claim holding the employee id (`auth.claims.emp_id`).
    pub emp_id: String,
    /// The claim holding the department code (`auth.claims.emp_code`).
    pub emp_code: String,
    /// The claim holding the employee's name (`auth.claims.name`).
    pub emp_name: String,
    /// The claim holding the pay grade (`auth.claims.emp_grade`).
    pub emp_grade: String,
    /// The provider's scope that grants `salaryslip:self` (`auth.scopes.self`).
    pub scope_self: String,
    /// The provider's scope that grants `salaryslip:any` (`auth.scopes.any`).
    pub scope_any: String,
}

impl Default for ClaimMap {
    fn default() -> Self {
        Self {
            emp_id: "emp_id".into(),
            emp_code: "emp_code".into(),
            emp_name: "name".into(),
            emp_grade: "emp_grade".into(),
            scope_self: SCOPE_SELF.into(),
            scope_any: SCOPE_ANY.into(),
        }
    }
}

/// Why a claims object could not be read; the validators map it to
/// `token_invalid` (a JWT) or to an outage (an identity server's nonsense).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// Neither `sub` nor `client_id` names the subject.
    #[error("no sub or client_id")]
    NoSubject,
    /// No integer `exp`.
    #[error("no integer exp")]
    NoExpiry,
    /// A member has the wrong JSON type.
    #[error("`{0}` has the wrong JSON type")]
    WrongType(&'static str),
    /// A mapped employee claim is not a string.
    #[error("a mapped employee claim is not a string")]
    EmployeeClaimType,
    /// `cnf` is not an `htsk` confirmation.
    #[error("cnf is not an htsk confirmation")]
    Confirmation,
}

fn string(object: &Map<String, Value>, name: &'static str) -> Result<Option<String>, MappingError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MappingError::WrongType(name)),
    }
}

/// The scopes of a `scope` string, or of an `scp` string or array of strings.
fn words<'a>(value: &'a Value, name: &'static str) -> Result<Vec<&'a str>, MappingError> {
    match value {
        Value::String(s) => Ok(s.split(' ').filter(|w| !w.is_empty()).collect()),
        Value::Array(items) if name == "scp" => {
            items.iter().map(|i| i.as_str().ok_or(MappingError::WrongType("scp"))).collect()
        }
        _ => Err(MappingError::WrongType(name)),
    }
}

impl ClaimMap {
    fn employee(&self, object: &Map<String, Value>, name: &str) -> Result<Option<String>, MappingError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(MappingError::EmployeeClaimType),
        }
    }

    /// The provider's scopes, from `scope` or else `scp`.
    fn granted(object: &Map<String, Value>) -> Result<Vec<&str>, MappingError> {
        match (object.get("scope"), object.get("scp")) {
            (Some(v), _) if !v.is_null() => words(v, "scope"),
            (_, Some(v)) if !v.is_null() => words(v, "scp"),
            _ => Ok(Vec::new()),
        }
    }

    /// Slipgate's salary-slip scopes a token with the provider's `granted` scopes holds.
    fn translate(&self, granted: &[&str]) -> String {
        let mut ours = Vec::new();
        if granted.contains(&self.scope_self.as_str()) {
            ours.push(SCOPE_SELF);
        }
        if granted.contains(&self.scope_any.as_str()) {
            ours.push(SCOPE_ANY);
        }
        ours.join(" ")
    }

    /// Reads the claims of a verified token or an active introspection answer.
    /// [`TokenClaims::scope`] then holds Slipgate's scope names only.
    ///
    /// # Errors
    ///
    /// A [`MappingError`] naming the member that is missing or of the wrong type.
    pub fn claims(&self, object: &Map<String, Value>) -> Result<TokenClaims, MappingError> {
        let client_id = string(object, "client_id")?;
        // RFC 7662 makes `sub` optional: a client-credentials token's subject is its client.
        let sub = string(object, "sub")?.or_else(|| client_id.clone()).ok_or(MappingError::NoSubject)?;
        let exp = object.get("exp").and_then(Value::as_i64).ok_or(MappingError::NoExpiry)?;
        let cnf = match object.get("cnf") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<Confirmation>(v.clone()).map_err(|_| MappingError::Confirmation)?,
            ),
        };
        Ok(TokenClaims {
            sub,
            scope: self.translate(&Self::granted(object)?),
            emp_id: self.employee(object, &self.emp_id)?,
            emp_code: self.employee(object, &self.emp_code)?,
            emp_name: self.employee(object, &self.emp_name)?,
            emp_grade: self.employee(object, &self.emp_grade)?,
            exp,
            client_id,
            username: string(object, "username")?,
            cnf,
            token_type: None,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn read(map: &ClaimMap, v: Value) -> Result<TokenClaims, MappingError> {
        map.claims(v.as_object().unwrap())
    }

    fn keycloak() -> ClaimMap {
        ClaimMap {
            emp_id: "employee_number".into(),
            emp_code: "department".into(),
            emp_name: "full_name".into(),
            emp_grade: "grade".into(),
            scope_self: "payslip:own".into(),
            scope_any: "payslip:all".into(),
        }
    }

    #[test]
    fn the_default_map_reads_slipgate_tokens_unchanged() {
        let claims = read(
            &ClaimMap::default(),
            json!({"sub": "alice", "exp": 9, "scope": "openid salaryslip:self", "emp_id": "01234",
                   "emp_code": "ENG", "name": "Alice Example", "emp_grade": "7.1", "client_id": "slipgate-cli"}),
        )
        .unwrap();
        assert_eq!(claims.scope, SCOPE_SELF);
        assert_eq!(
            (claims.emp_id.as_deref(), claims.emp_name.as_deref(), claims.client_id.as_deref()),
            (Some("01234"), Some("Alice Example"), Some("slipgate-cli"))
        );
    }

    #[test]
    fn mapped_names_are_read_and_ours_ignored() {
        let claims = read(
            &keycloak(),
            json!({"sub": "u1", "exp": 9, "scope": "payslip:all salaryslip:self", "employee_number": "00001",
                   "emp_id": "01234", "department": "HR", "full_name": "Paula Payroll", "grade": "8.1"}),
        )
        .unwrap();
        assert_eq!(claims.scope, SCOPE_ANY, "only the mapped scope names count");
        assert_eq!(
            (claims.emp_id.as_deref(), claims.emp_code.as_deref(), claims.emp_grade.as_deref()),
            (Some("00001"), Some("HR"), Some("8.1"))
        );
    }

    #[test]
    fn scp_arrays_and_strings_are_read_only_without_scope() {
        let map = keycloak();
        let okta = read(&map, json!({"sub": "u", "exp": 9, "scp": ["payslip:own"]})).unwrap();
        assert_eq!(okta.scope, SCOPE_SELF);
        let entra = read(&map, json!({"sub": "u", "exp": 9, "scp": "openid payslip:all"})).unwrap();
        assert_eq!(entra.scope, SCOPE_ANY);
        let both =
            read(&map, json!({"sub": "u", "exp": 9, "scope": "openid", "scp": ["payslip:all"]})).unwrap();
        assert_eq!(both.scope, "", "scp beside scope grants nothing");
        let none = read(&map, json!({"sub": "u", "exp": 9})).unwrap();
        assert_eq!(none.scope, "");
    }

    #[test]
    fn rejects_claims_of_the_wrong_type() {
        let map = keycloak();
        for (bad, err) in [
            (json!({"sub": "u", "exp": 9, "employee_number": 1234}), MappingError::EmployeeClaimType),
            (json!({"sub": "u", "exp": 9, "grade": ["7.1"]}), MappingError::EmployeeClaimType),
            (json!({"sub": "u", "exp": 9, "scope": ["payslip:own"]}), MappingError::WrongType("scope")),
            (json!({"sub": "u", "exp": 9, "scp": [1]}), MappingError::WrongType("scp")),
            (json!({"sub": 7, "exp": 9}), MappingError::WrongType("sub")),
            (json!({"sub": "u", "exp": "9"}), MappingError::NoExpiry),
            (json!({"exp": 9}), MappingError::NoSubject),
            (json!({"sub": "u", "exp": 9, "cnf": {"jkt": "x"}}), MappingError::Confirmation),
        ] {
            assert_eq!(read(&map, bad.clone()).unwrap_err(), err, "{bad}");
        }
    }

    #[test]
    fn a_client_credentials_answer_without_sub_is_its_client() {
        let claims = read(&ClaimMap::default(), json!({"client_id": "batch", "exp": 9})).unwrap();
        assert_eq!(claims.sub, "batch");
        assert!(claims.is_service_token());
    }
}
