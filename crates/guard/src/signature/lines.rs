//! One field, one line (SPEC §3.2): [`check`].

use http::HeaderName;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use slipgate_proto::ProblemCode;
use slipgate_proto::headers::{CONTENT_DIGEST, SIGNATURE, SIGNATURE_INPUT};

use crate::Rejection;

/// The fields a request may carry at most once (SPEC §3.2 "one field, one
/// line"). Two `Content-Digest` lines would let the digest check read one and
/// the signature base join both; two `Host` lines would let the authority check
/// and `@authority` disagree. A repeat is refused before anything reads them.
pub const SINGLETON_FIELDS: [&str; 6] =
    ["host", "content-type", CONTENT_DIGEST, "authorization", SIGNATURE, SIGNATURE_INPUT];

/// The `Content-Digest` field's name.
pub(crate) const CONTENT_DIGEST_NAME: HeaderName = HeaderName::from_static(CONTENT_DIGEST);

/// [`SINGLETON_FIELDS`] as header names, so that no name is parsed per request.
const SINGLETON_NAMES: [HeaderName; 6] = [
    HOST,
    CONTENT_TYPE,
    CONTENT_DIGEST_NAME,
    AUTHORIZATION,
    HeaderName::from_static(SIGNATURE),
    HeaderName::from_static(SIGNATURE_INPUT),
];

/// Refuses a request that repeats one of [`SINGLETON_FIELDS`] (400 `bad_request`).
/// HTTP/1.1 and HTTP/2 field lines both land in the one [`http::HeaderMap`], so
/// this holds for both.
///
/// # Errors
///
/// A [`Rejection`] with [`ProblemCode::BadRequest`] naming the repeated field.
pub fn check(headers: &http::HeaderMap) -> Result<(), Rejection> {
    for name in &SINGLETON_NAMES {
        let mut lines = headers.get_all(name).iter();
        if lines.next().is_some() && lines.next().is_some() {
            return Err(Rejection::new(
                ProblemCode::BadRequest,
                format!("the {name} field must appear at most once"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_checked_are_the_singleton_fields() {
        let checked = SINGLETON_NAMES;
        let names: Vec<&str> = checked.iter().map(HeaderName::as_str).collect();
        assert_eq!(names, SINGLETON_FIELDS);
    }
}
