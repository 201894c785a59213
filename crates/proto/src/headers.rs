//! Header names and media types of the wire protocol (SPEC §3.2, §3.5, §3.7).
//!
//! Names are lowercase, as HTTP/2 sends them and as RFC 9421 covers them.

/// RFC 9421 signature parameters.
pub const SIGNATURE_INPUT: &str = "signature-input";
/// RFC 9421 signature values.
pub const SIGNATURE: &str = "signature";
/// RFC 9530 digest of the message content.
pub const CONTENT_DIGEST: &str = "content-digest";
/// draft-ietf-httpapi-ratelimit-headers: the policies in force.
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// draft-ietf-httpapi-ratelimit-headers: the state of the nearest policy.
pub const RATELIMIT: &str = "ratelimit";
/// The request id echoed in problem bodies and responses.
pub const REQUEST_ID: &str = "x-request-id";

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/pdf`.
pub const PDF: &str = "application/pdf";
/// RFC 9457 problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `Strict-Transport-Security` value every API response carries.
pub const HSTS_VALUE: &str = "max-age=31536000";
