//! Requests presenting a key-bound token, `Authorization: HTTPSig <token>`
//! (SPEC §3.2.1, draft-richer-oauth-httpsig-03 §7–§8), as pure functions.
//!
//! The order differs from a registry key's: [`SignaturePolicy::check_bound_head`]
//! parses the one signature tagged `httpsig-oauth` and checks its parameters,
//! components and freshness with no key lookup (there is no `keyid`); the
//! token is validated next (the layer asks the validator, then
//! [`crate::token::validate_bound`] demands a `cnf.htsk`); only then are the
//! body and digest read and the signature verified with the token's key
//! ([`SignaturePolicy::check_bound_body`]), and only a verified request spends
//! its nonce, under [`bound_replay_key`]. So nothing reaches the nonce store
//! without a live token and its private key.

use http::request::Parts;
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, BoundKey, parse_tagged_signature};
use slipgate_httpsig::params::{ParseError, ParsedSignature, joined_field};
use slipgate_proto::ProblemCode;

use super::check::{SignaturePolicy, check_single_lines, reject, verify_digest_and_signature};
use super::keys::VerifiedKey;
use crate::Rejection;

/// The components a bound request must cover (SPEC §3.2.1), each as a plain entry.
pub const BOUND_REQUIRED: [&str; 5] =
    ["@method", "@target-uri", "authorization", "content-type", "content-digest"];

/// `WWW-Authenticate` on a refused bound request (SPEC §3.2.1).
pub const CHALLENGE_HTTPSIG: &str = "HTTPSig";

/// The start of every replay key of a bound request. A registry `keyid` in a
/// request is an sf-string, printable ASCII only, so it can never begin with
/// NUL: a user's key and a registry key never share a nonce namespace, however
/// the operator names registry keys.
pub const BOUND_REPLAY_PREFIX: &str = "\u{0}htsk:";

/// The replay key of a request signed by `key`: [`BOUND_REPLAY_PREFIX`] and
/// the key's RFC 7638 thumbprint (SPEC §3.2.1: the pair recorded is
/// (thumbprint, nonce)).
pub fn bound_replay_key(key: &BoundKey) -> String {
    format!("{BOUND_REPLAY_PREFIX}{}", key.thumbprint())
}

/// Whether an `Authorization` value uses the `HTTPSig` scheme (case-insensitive),
/// with or without a token after it.
pub fn is_httpsig(authorization: &str) -> bool {
    let scheme = authorization.split_once(' ').map_or(authorization, |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("httpsig")
}

/// The signature of a bound request whose head passed step 3; the token is next.
#[derive(Debug)]
pub struct BoundHead {
    parsed: ParsedSignature,
    nonce: String,
    created: i64,
}

impl BoundHead {
    /// `created`, unix seconds.
    pub fn created(&self) -> i64 {
        self.created
    }
}

impl SignaturePolicy {
    /// Step 3 of a bound request, without a key lookup: no singleton field is
    /// repeated; exactly one signature is tagged `httpsig-oauth` and it parses;
    /// it has no `keyid`, `alg` or `pub` (the key is the token's); `created` and
    /// a nonce are present; [`BOUND_REQUIRED`] are covered as plain entries; and
    /// it is fresh at `now`.
    pub fn check_bound_head(&self, parts: &Parts, now: i64) -> Result<BoundHead, Rejection> {
        check_single_lines(&parts.headers)?;
        let fields = joined_field(&parts.headers, "signature-input")
            .and_then(|input| Ok((input, joined_field(&parts.headers, "signature")?)));
        let parsed = fields
            .and_then(|(input, sig)| {
                parse_tagged_signature(input.as_deref(), sig.as_deref(), BOUND_REQUEST_TAG)
            })
            .map_err(|e| match e {
                ParseError::Missing => {
                    reject(ProblemCode::SignatureMissing, "send Signature and Signature-Input")
                }
                ParseError::NonceMalformed => {
                    reject(ProblemCode::SignatureMalformed, "nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")
                }
                other => reject(ProblemCode::SignatureMalformed, other.to_string()),
            })?;
        let params = &parsed.params;
        for (present, name) in [
            (params.keyid.is_some(), "keyid"),
            (params.alg.is_some(), "alg"),
            (params.pub_key.is_some(), "pub"),
        ] {
            if present {
                return Err(reject(
                    ProblemCode::SignatureMalformed,
                    format!(
                        "a key-bound request must not carry the {name} parameter: the key is the token's"
                    ),
                ));
            }
        }
        let Some(created) = params.created else {
            return Err(reject(ProblemCode::SignatureMalformed, "the created parameter is required"));
        };
        let Some(nonce) = params.nonce.clone() else {
            return Err(reject(ProblemCode::NonceMissing, "the nonce parameter is required"));
        };
        let missing = params.missing_components(&BOUND_REQUIRED);
        if !missing.is_empty() {
            return Err(reject(
                ProblemCode::ComponentsMissing,
                format!("the signature must cover {}", missing.join(", ")),
            ));
        }
        self.check_fresh(created, params.expires, now)?;
        Ok(BoundHead { parsed, nonce, created })
    }

    /// Steps 4–5 of a bound request: the body matches `Content-Digest` and the
    /// signature verifies with `key`, the key of the validated token's `cnf`.
    pub fn check_bound_body(
        &self,
        head: BoundHead,
        key: &BoundKey,
        parts: &Parts,
        body: &[u8],
    ) -> Result<VerifiedKey, Rejection> {
        verify_digest_and_signature(&head.parsed, parts, body, key.verifying_key())?;
        let thumbprint = key.thumbprint();
        Ok(VerifiedKey {
            keyid: format!("htsk:{thumbprint}"),
            alg: key.algorithm(),
            label: head.parsed.params.label,
            signature: head.parsed.signature,
            nonce: head.nonce,
            created: head.created,
            thumbprint: Some(thumbprint),
        })
    }
}

/// The same rejection with the `HTTPSig` challenge in place of `Signature`
/// (SPEC §3.2.1); token and other codes keep theirs.
pub fn httpsig_challenge(rejection: Rejection) -> Rejection {
    if rejection.challenge == Some("Signature") {
        rejection.with_challenge(CHALLENGE_HTTPSIG)
    } else {
        rejection
    }
}
