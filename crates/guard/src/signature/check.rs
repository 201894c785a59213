//! The signature decision as pure functions (SPEC §3.3 steps 3–5), unit-tested
//! without tower: [`SignaturePolicy::check_head`] before the body is read,
//! [`SignaturePolicy::check_body`] after.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use slipgate_httpsig::base::join_field_lines;
use slipgate_httpsig::params::{ParseError, ParsedSignature, parse_signature_header_map};
use slipgate_httpsig::received::ReceivedRequest;
use slipgate_httpsig::{
    Algorithm, BaseError, DigestError, VerifyError, VerifyingKey, signature_base, verify_content_digest,
    verify_signature,
};
use slipgate_proto::ProblemCode;
use slipgate_proto::headers::{CONTENT_DIGEST, SIGNATURE, SIGNATURE_INPUT};

use super::keys::{KeyResolver, VerifiedKey};
use crate::Rejection;

/// The components every request must cover by default (SPEC §3.2): the
/// registry-key list of [`slipgate_proto::signature`], which the SDK signs.
pub use slipgate_proto::signature::REGISTRY_COMPONENTS as DEFAULT_REQUIRED;

/// The fields a request may carry at most once (SPEC §3.2 "one field, one
/// line"). Two `Content-Digest` lines would let the digest check read one and
/// the signature base join both; two `Host` lines would let the authority check
/// and `@authority` disagree. A repeat is refused before anything reads them.
pub const SINGLETON_FIELDS: [&str; 6] =
    ["host", "content-type", CONTENT_DIGEST, "authorization", SIGNATURE, SIGNATURE_INPUT];

/// Refuses a request that repeats one of [`SINGLETON_FIELDS`] (400 `bad_request`).
/// HTTP/1.1 and HTTP/2 field lines both land in the one [`http::HeaderMap`], so
/// this holds for both.
///
/// # Errors
///
/// A [`Rejection`] with [`ProblemCode::BadRequest`] naming the repeated field.
pub fn check_single_lines(headers: &http::HeaderMap) -> Result<(), Rejection> {
    for name in SINGLETON_FIELDS {
        let mut lines = headers.get_all(name).iter();
        if lines.next().is_some() && lines.next().is_some() {
            return Err(reject(
                ProblemCode::BadRequest,
                format!("the {name} field must appear at most once"),
            ));
        }
    }
    Ok(())
}

/// What the signature layer requires of a request.
#[derive(Debug, Clone)]
pub struct SignaturePolicy {
    required: Vec<String>,
    max_skew: Duration,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        Self {
            required: DEFAULT_REQUIRED.iter().map(|s| (*s).to_owned()).collect(),
            max_skew: Duration::from_secs(300),
        }
    }
}

/// A request whose signature headers passed step 3; the body is next.
#[derive(Debug)]
pub struct HeadChecked {
    parsed: ParsedSignature,
    key: Arc<VerifyingKey>,
    keyid: String,
    nonce: String,
    created: i64,
}

pub(crate) fn reject(code: ProblemCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> Rejection {
    Rejection::new(code, detail)
}

impl SignaturePolicy {
    /// The defaults: SPEC §3.2's components and a 300 s skew.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `max_skew` of clock difference either way (default 300 s).
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// Requires these components in addition to nothing (replaces the list).
    pub fn with_required(mut self, components: &[&str]) -> Self {
        self.required = components.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The freshness window.
    pub fn max_skew(&self) -> Duration {
        self.max_skew
    }

    /// How long the store must still remember a nonce signed at `created`
    /// and seen at `now` (unix seconds): until `created + max_skew` (SPEC
    /// §3.2), the last second at which its signature is still fresh, so
    /// `created + max_skew + 1 − now` seconds (at least 1).
    pub fn nonce_ttl(&self, created: i64, now: i64) -> Duration {
        let skew = i64::try_from(self.max_skew.as_secs()).unwrap_or(i64::MAX);
        let last_fresh = created.saturating_add(skew);
        let secs = last_fresh.saturating_add(1).saturating_sub(now).max(1);
        Duration::from_secs(secs.unsigned_abs())
    }

    /// Step 3: no singleton field is repeated, the signature fields parse,
    /// name a known key, cover the required components as plain entries and
    /// are fresh at `now` (unix seconds).
    pub fn check_head(
        &self,
        parts: &Parts,
        keys: &dyn KeyResolver,
        now: i64,
    ) -> Result<HeadChecked, Rejection> {
        check_single_lines(&parts.headers)?;
        let parsed = parse_signature_header_map(&parts.headers).map_err(|e| match e {
            ParseError::Missing => {
                reject(ProblemCode::SignatureMissing, "send Signature and Signature-Input")
            }
            ParseError::NonceMalformed => {
                reject(ProblemCode::SignatureMalformed, "nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")
            }
            other => reject(ProblemCode::SignatureMalformed, other.to_string()),
        })?;
        let params = &parsed.params;
        let Some(created) = params.created else {
            return Err(reject(ProblemCode::SignatureMalformed, "the created parameter is required"));
        };
        let Some(keyid) = params.keyid.clone() else {
            return Err(reject(ProblemCode::SignatureMalformed, "the keyid parameter is required"));
        };
        let Some(nonce) = params.nonce.clone() else {
            return Err(reject(ProblemCode::NonceMissing, "the nonce parameter is required"));
        };
        let required: Vec<&str> = self.required.iter().map(String::as_str).collect();
        let missing = params.missing_components(&required);
        if !missing.is_empty() {
            return Err(reject(
                ProblemCode::ComponentsMissing,
                format!("the signature must cover {}", missing.join(", ")),
            ));
        }
        let key = keys
            .resolve(&keyid)
            .ok_or_else(|| reject(ProblemCode::UnknownKey, "the keyid is not registered"))?;
        if let Some(alg) = &params.alg
            && Algorithm::from_str(alg).ok() != Some(key.algorithm())
        {
            return Err(reject(ProblemCode::AlgorithmMismatch, "the alg parameter does not match the key"));
        }
        self.check_fresh(created, params.expires, now)?;
        Ok(HeadChecked { parsed, key, keyid, nonce, created })
    }

    /// Freshness (SPEC §3.2): `|now − created| ≤ max_skew`, and `now ≤ expires` when present.
    pub(crate) fn check_fresh(&self, created: i64, expires: Option<i64>, now: i64) -> Result<(), Rejection> {
        let skew = i64::try_from(self.max_skew.as_secs()).unwrap_or(i64::MAX);
        if created.abs_diff(now) > skew.unsigned_abs() {
            return Err(reject(
                ProblemCode::RequestExpired,
                format!("created is more than {skew} s away from the server clock"),
            ));
        }
        if let Some(expires) = expires
            && now > expires
        {
            return Err(reject(ProblemCode::RequestExpired, "the signature has expired"));
        }
        Ok(())
    }

    /// Steps 4–5: the body matches `Content-Digest`, and the signature over
    /// the rebuilt base verifies (in constant time for HMAC).
    pub fn check_body(
        &self,
        head: HeadChecked,
        parts: &Parts,
        body: &[u8],
    ) -> Result<VerifiedKey, Rejection> {
        verify_digest_and_signature(&head.parsed, parts, body, &head.key)?;
        let params = &head.parsed.params;
        Ok(VerifiedKey {
            keyid: head.keyid,
            alg: head.key.algorithm(),
            label: params.label.clone(),
            signature: head.parsed.signature,
            nonce: head.nonce,
            created: head.created,
            thumbprint: None,
        })
    }
}

/// Steps 4–5 for either kind of key: the body matches the very `Content-Digest`
/// field the signature covers, and the signature over the base rebuilt from the
/// request as received on the TLS listener (`@target-uri` is
/// `https://<authority><path>`) verifies with `key`.
pub(crate) fn verify_digest_and_signature(
    parsed: &ParsedSignature,
    parts: &Parts,
    body: &[u8],
    key: &VerifyingKey,
) -> Result<(), Rejection> {
    // The value the signature base covers for `"content-digest"`, built the
    // same way (lines trimmed and joined; the head check allowed one line).
    let lines: Vec<&[u8]> = parts
        .headers
        .get_all(slipgate_proto::headers::CONTENT_DIGEST)
        .iter()
        .map(http::HeaderValue::as_bytes)
        .collect();
    let mut covered = Vec::new();
    join_field_lines(&lines, &mut covered);
    let digest = match (lines.is_empty(), std::str::from_utf8(&covered)) {
        (true, _) => None,
        (false, Ok(v)) => Some(v),
        (false, Err(_)) => {
            return Err(reject(ProblemCode::DigestMismatch, "Content-Digest is not ASCII"));
        }
    };
    verify_content_digest(digest, body).map_err(|e| match e {
        DigestError::Missing => {
            reject(ProblemCode::DigestMissing, "send Content-Digest with a sha-256 or sha-512 member")
        }
        _ => reject(ProblemCode::DigestMismatch, "Content-Digest does not match the body"),
    })?;
    let params = &parsed.params;
    let base =
        signature_base(params, &ReceivedRequest::https(parts), None::<&Parts>).map_err(|e| match e {
            BaseError::ComponentMissing(id) => reject(
                ProblemCode::ComponentsMissing,
                format!("covered component {id} is absent from the request"),
            ),
            other => reject(ProblemCode::SignatureMalformed, other.to_string()),
        })?;
    verify_signature(params, &parsed.signature, &base, key).map_err(|e| match e {
        VerifyError::AlgorithmMismatch(_) => {
            reject(ProblemCode::AlgorithmMismatch, "the alg parameter does not match the key")
        }
        _ => reject(ProblemCode::SignatureInvalid, "the signature does not verify"),
    })
}
