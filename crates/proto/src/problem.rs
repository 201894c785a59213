//! RFC 9457 problem details and the problem codes of SPEC §3.6.

use serde::{Deserialize, Serialize};

/// How a request presented its credentials, which picks the scheme of a
/// refusal's `WWW-Authenticate` challenge (SPEC §3.6, §3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Presentation {
    /// A registry key's signature with `Authorization: Bearer` (SPEC §3.2):
    /// challenges name `Signature` or `Bearer`.
    #[default]
    Bearer,
    /// A key-bound token, `Authorization: HTTPSig` (SPEC §3.2.1): every
    /// challenge names `HTTPSig`.
    HttpSig,
}

/// The `WWW-Authenticate` value of the table's challenge column, for both
/// presentations: `$scheme` (`Signature` or `Bearer`) with optional
/// parameters, or `HTTPSig` with the same parameters.
macro_rules! challenge {
    () => {
        None
    };
    ($scheme:ident) => {
        Some((stringify!($scheme), "HTTPSig"))
    };
    ($scheme:ident $params:literal) => {
        Some((concat!(stringify!($scheme), " ", $params), concat!("HTTPSig ", $params)))
    };
}

macro_rules! problem_codes {
    ($($variant:ident => ($code:literal, $status:literal, $title:literal $(, $scheme:ident $($params:literal)?)?),)*) => {
        /// Every problem `code` the API answers with (SPEC §3.6).
        ///
        /// The code is the stable, machine-readable part of an error; clients map it
        /// back with [`str::parse`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ProblemCode {
            $(
                #[doc = concat!("`", $code, "` (", stringify!($status), ")")]
                $variant,
            )*
        }

        impl ProblemCode {
            /// Every code, in SPEC order.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The wire name, e.g. `signature_invalid`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ProblemCode::$variant => $code,)* }
            }

            /// The HTTP status this code is sent with.
            pub const fn status(self) -> u16 {
                match self { $(ProblemCode::$variant => $status,)* }
            }

            /// A short human-readable summary (the problem `title`).
            pub const fn title(self) -> &'static str {
                match self { $(ProblemCode::$variant => $title,)* }
            }

            /// The `WWW-Authenticate` challenge this code is sent with, for a
            /// request presented as `presented`; `None` for codes without one.
            /// Signature codes challenge `Signature`, token codes `Bearer` with
            /// the RFC 6750 `error` (SPEC §3.6); on a key-bound request every
            /// challenge names `HTTPSig` instead (SPEC §3.2.1).
            pub const fn challenge(self, presented: Presentation) -> Option<&'static str> {
                let pair: Option<(&'static str, &'static str)> = match self {
                    $(ProblemCode::$variant => challenge!($($scheme $($params)?)?),)*
                };
                match (pair, presented) {
                    (Some((registry, _)), Presentation::Bearer) => Some(registry),
                    (Some((_, bound)), Presentation::HttpSig) => Some(bound),
                    (None, _) => None,
                }
            }
        }

        impl std::str::FromStr for ProblemCode {
            type Err = UnknownProblemCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(ProblemCode::$variant),)*
                    _ => Err(UnknownProblemCode(s.chars().take(64).collect())),
                }
            }
        }
    };
}

// code => (wire name, status, title, `WWW-Authenticate` challenge if any)
problem_codes! {
    BadRequest => ("bad_request", 400, "Bad request"),
    InvalidJson => ("invalid_json", 400, "Body is not valid JSON"),
    SignatureMissing => ("signature_missing", 401, "Request signature missing", Signature),
    SignatureMalformed => ("signature_malformed", 401, "Request signature malformed", Signature),
    UnknownKey => ("unknown_key", 401, "Unknown signing key", Signature),
    AlgorithmMismatch => ("algorithm_mismatch", 401, "Signature algorithm does not match the key", Signature),
    ComponentsMissing => ("components_missing", 401, "Required signature components missing", Signature),
    DigestMissing => ("digest_missing", 401, "Content-Digest missing", Signature),
    DigestMismatch => ("digest_mismatch", 401, "Content-Digest does not match the body", Signature),
    SignatureInvalid => ("signature_invalid", 401, "Signature does not verify", Signature),
    RequestExpired => ("request_expired", 401, "Request outside its freshness window", Signature),
    NonceMissing => ("nonce_missing", 401, "Signature nonce missing", Signature),
    Replayed => ("replayed", 401, "Request replayed", Signature),
    TokenMissing => ("token_missing", 401, "Bearer token missing", Bearer),
    TokenInvalid => ("token_invalid", 401, "Bearer token invalid", Bearer "error=\"invalid_token\""),
    InsufficientScope => ("insufficient_scope", 403, "Insufficient scope",
        Bearer "error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\""),
    Forbidden => ("forbidden", 403, "Forbidden"),
    NotFound => ("not_found", 404, "Not found"),
    MethodNotAllowed => ("method_not_allowed", 405, "Method not allowed"),
    NotAcceptable => ("not_acceptable", 406, "Not acceptable"),
    PayloadTooLarge => ("payload_too_large", 413, "Payload too large"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "Unsupported media type"),
    ValidationFailed => ("validation_failed", 422, "Validation failed"),
    RateLimited => ("rate_limited", 429, "Rate limit exceeded"),
    Internal => ("internal", 500, "Internal error"),
    AuthUnavailable => ("auth_unavailable", 503, "Identity server unavailable"),
    StoreUnavailable => ("store_unavailable", 503, "Shared store unavailable"),
    Overloaded => ("overloaded", 503, "Server overloaded"),
}

impl ProblemCode {
    /// The problem `type` URI. Rate limiting uses the IANA-registered type of
    /// draft-ietf-httpapi-ratelimit-headers; everything else a Slipgate URN.
    pub fn type_uri(self) -> String {
        match self {
            ProblemCode::RateLimited => {
                "https://iana.org/assignments/http-problem-types#quota-exceeded".to_owned()
            }
            other => format!("urn:slipgate:problem:{}", other.as_str()),
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the [`ProblemCode`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown problem code `{0}`")]
pub struct UnknownProblemCode(pub String);

/// One field-level validation failure (the `errors` member of a 422).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The JSON member at fault.
    pub field: String,
    /// What is wrong with it; never contains the submitted value.
    pub message: String,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// An RFC 9457 problem-details body as Slipgate sends it (SPEC §3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `urn:slipgate:problem:<code>` (or the IANA quota type for 429).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the code.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong for this request; never a secret, token or salary figure.
    pub detail: String,
    /// The machine-readable code.
    pub code: String,
    /// The request id, to correlate with server logs.
    pub request_id: String,
    /// Field-level failures of a 422.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Names of the rate-limit policies a 429 violated.
    #[serde(rename = "violated-policies", default, skip_serializing_if = "Vec::is_empty")]
    pub violated_policies: Vec<String>,
}

impl Problem {
    /// A problem of `code` with `detail`, for request `request_id`.
    pub fn new(code: ProblemCode, detail: impl Into<String>, request_id: impl Into<String>) -> Self {
        Self {
            type_uri: code.type_uri(),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code: code.as_str().to_owned(),
            request_id: request_id.into(),
            errors: Vec::new(),
            violated_policies: Vec::new(),
        }
    }

    /// The typed code, when the server sent one this version knows.
    pub fn problem_code(&self) -> Option<ProblemCode> {
        self.code.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_name() {
        for code in ProblemCode::ALL {
            assert_eq!(code.as_str().parse::<ProblemCode>(), Ok(*code));
        }
    }

    #[test]
    fn rate_limited_uses_the_iana_problem_type() {
        assert_eq!(
            ProblemCode::RateLimited.type_uri(),
            "https://iana.org/assignments/http-problem-types#quota-exceeded"
        );
        assert_eq!(ProblemCode::Replayed.type_uri(), "urn:slipgate:problem:replayed");
    }

    #[test]
    fn challenges_come_from_the_table_for_both_presentations() {
        use Presentation::{Bearer, HttpSig};
        let signature_codes = ProblemCode::ALL.iter().filter(|c| c.status() == 401);
        for code in
            signature_codes.filter(|c| !matches!(c, ProblemCode::TokenMissing | ProblemCode::TokenInvalid))
        {
            assert_eq!(code.challenge(Bearer), Some("Signature"), "{code}");
            assert_eq!(code.challenge(HttpSig), Some("HTTPSig"), "{code}");
        }
        assert_eq!(ProblemCode::TokenMissing.challenge(Bearer), Some("Bearer"));
        assert_eq!(ProblemCode::TokenInvalid.challenge(Bearer), Some("Bearer error=\"invalid_token\""));
        assert_eq!(ProblemCode::TokenInvalid.challenge(HttpSig), Some("HTTPSig error=\"invalid_token\""));
        assert_eq!(
            ProblemCode::InsufficientScope.challenge(Bearer),
            Some("Bearer error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"")
        );
        assert_eq!(
            ProblemCode::InsufficientScope.challenge(HttpSig),
            Some("HTTPSig error=\"insufficient_scope\", scope=\"salaryslip:self salaryslip:any\"")
        );
        for code in [ProblemCode::Forbidden, ProblemCode::RateLimited, ProblemCode::Overloaded] {
            assert_eq!((code.challenge(Bearer), code.challenge(HttpSig)), (None, None), "{code}");
        }
    }

    #[test]
    fn problem_body_has_the_spec_members() {
        let p = Problem::new(ProblemCode::NotFound, "no such route", "r-1");
        let v = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(v["type"], "urn:slipgate:problem:not_found");
        assert_eq!(v["status"], 404);
        assert_eq!(v["code"], "not_found");
        assert_eq!(v["request_id"], "r-1");
        assert!(v.get("errors").is_none());
    }
}
