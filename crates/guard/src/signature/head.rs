//! Step 3 of SPEC §3.3 for a registry key: [`check`], a pure function run
//! before the body is read (the key-bound form is [`super::bound::check`]).

use std::str::FromStr;
use std::sync::Arc;

use http::request::Parts;
use slipgate_httpsig::params::{ParseError, ParsedSignature, SignatureParams, parse_signature_header_map};
use slipgate_httpsig::{Algorithm, VerifyingKey};
use slipgate_proto::ProblemCode;

use super::keys::{KeyResolver, VerifiedKey};
use super::policy::SignaturePolicy;
use super::{freshness, lines};
use crate::Rejection;

/// A request whose signature headers passed step 3; the body is next.
#[derive(Debug)]
pub struct HeadChecked {
    parsed: ParsedSignature,
    key: Arc<VerifyingKey>,
    keyid: String,
    nonce: String,
    created: i64,
}

impl HeadChecked {
    /// The evaluated signature, for [`super::body::check`].
    pub fn parsed(&self) -> &ParsedSignature {
        &self.parsed
    }

    /// The registry key it names.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// What the request proved once [`super::body::check`] passed.
    pub fn verified(self) -> VerifiedKey {
        VerifiedKey {
            keyid: self.keyid,
            alg: self.key.algorithm(),
            label: self.parsed.params.label,
            signature: self.parsed.signature,
            nonce: self.nonce,
            created: self.created,
            thumbprint: None,
        }
    }
}

/// Step 3: no singleton field is repeated, the signature fields parse, name a
/// known key whose algorithm any `alg` matches, cover the policy's required
/// components as plain entries and are fresh at `now` (unix seconds).
///
/// # Errors
///
/// The SPEC §3.6 signature code of the first failure.
pub fn check(
    policy: &SignaturePolicy,
    parts: &Parts,
    keys: &dyn KeyResolver,
    now: i64,
) -> Result<HeadChecked, Rejection> {
    lines::check(&parts.headers)?;
    let parsed = parse_signature_header_map(&parts.headers).map_err(parse_rejection)?;
    let params = &parsed.params;
    let Some(keyid) = params.keyid.clone() else {
        return Err(Rejection::new(ProblemCode::SignatureMalformed, "the keyid parameter is required"));
    };
    let required: Vec<&str> = policy.required.iter().map(String::as_str).collect();
    let (created, nonce) = created_nonce_and_components(params, &required)?;
    let key = keys
        .resolve(&keyid)
        .ok_or_else(|| Rejection::new(ProblemCode::UnknownKey, "the keyid is not registered"))?;
    if let Some(alg) = &params.alg
        && Algorithm::from_str(alg).ok() != Some(key.algorithm())
    {
        return Err(Rejection::new(
            ProblemCode::AlgorithmMismatch,
            "the alg parameter does not match the key",
        ));
    }
    freshness::check(policy.max_skew(), created, params.expires, now)?;
    Ok(HeadChecked { parsed, key, keyid, nonce, created })
}

/// The rejection for signature fields that do not parse (SPEC §3.6).
pub(super) fn parse_rejection(error: ParseError) -> Rejection {
    match error {
        ParseError::Missing => {
            Rejection::new(ProblemCode::SignatureMissing, "send Signature and Signature-Input")
        }
        ParseError::NonceMalformed => {
            Rejection::new(ProblemCode::SignatureMalformed, "nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")
        }
        other => Rejection::new(ProblemCode::SignatureMalformed, other.to_string()),
    }
}

/// `created` and `nonce` are present and `required` are covered as plain entries.
pub(super) fn created_nonce_and_components(
    params: &SignatureParams,
    required: &[&str],
) -> Result<(i64, String), Rejection> {
    let Some(created) = params.created else {
        return Err(Rejection::new(ProblemCode::SignatureMalformed, "the created parameter is required"));
    };
    let Some(nonce) = params.nonce.clone() else {
        return Err(Rejection::new(ProblemCode::NonceMissing, "the nonce parameter is required"));
    };
    let missing = params.missing_components(required);
    if !missing.is_empty() {
        return Err(Rejection::new(
            ProblemCode::ComponentsMissing,
            format!("the signature must cover {}", missing.join(", ")),
        ));
    }
    Ok((created, nonce))
}
