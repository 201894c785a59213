//! Requests presenting a key-bound token, `Authorization: HTTPSig <token>`
//! (SPEC §3.2.1, draft-richer-oauth-httpsig-03 §7–§8), as pure functions.
//!
//! The order differs from a registry key's: [`check`] parses the one
//! signature tagged `httpsig-oauth` and checks its parameters, components and
//! freshness with no key lookup (there is no `keyid`); the token is validated
//! next (the layer asks the validator, then
//! [`crate::token::bound::check`] demands a `cnf.htsk`); only then are the
//! body and digest read and the signature verified with the token's key
//! ([`super::body::check`]), and only a verified request spends
//! its nonce, under [`bound_replay_key`]. So nothing reaches the nonce store
//! without a live token and its private key.

use http::request::Parts;
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, BoundKey, parse_tagged_signature};
use slipgate_httpsig::params::{ParsedSignature, SIGNATURE, SIGNATURE_INPUT, joined_field};
use slipgate_proto::ProblemCode;

use super::head::{created_nonce_and_components, parse_rejection};
use super::keys::VerifiedKey;
use super::policy::SignaturePolicy;
use super::{freshness, lines};
use crate::Rejection;

/// The components a bound request must cover (SPEC §3.2.1), each as a plain entry.
pub const BOUND_REQUIRED: [&str; 5] =
    ["@method", "@target-uri", "authorization", "content-type", "content-digest"];

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

impl BoundHead {
    /// The evaluated (tagged) signature, for [`super::body::check`].
    pub fn parsed(&self) -> &ParsedSignature {
        &self.parsed
    }

    /// What the request proved once [`super::body::check`] passed with `key`,
    /// the key of the validated token's `cnf`.
    pub fn verified(self, key: &BoundKey) -> VerifiedKey {
        let thumbprint = key.thumbprint();
        VerifiedKey {
            keyid: format!("htsk:{thumbprint}"),
            alg: key.algorithm(),
            label: self.parsed.params.label,
            signature: self.parsed.signature,
            nonce: self.nonce,
            created: self.created,
            thumbprint: Some(thumbprint),
        }
    }
}

/// Step 3 of a bound request, without a key lookup: no singleton field is
/// repeated; exactly one signature is tagged `httpsig-oauth` and it parses;
/// it has no `keyid`, `alg` or `pub` (the key is the token's); `created` and
/// a nonce are present; [`BOUND_REQUIRED`] are covered as plain entries; and
/// it is fresh at `now`.
///
/// # Errors
///
/// The SPEC §3.6 signature code of the first failure.
pub fn check(policy: &SignaturePolicy, parts: &Parts, now: i64) -> Result<BoundHead, Rejection> {
    lines::check(&parts.headers)?;
    let fields = joined_field(&parts.headers, &SIGNATURE_INPUT)
        .and_then(|input| Ok((input, joined_field(&parts.headers, &SIGNATURE)?)));
    let parsed = fields
        .and_then(|(input, sig)| parse_tagged_signature(input.as_deref(), sig.as_deref(), BOUND_REQUEST_TAG))
        .map_err(parse_rejection)?;
    let params = &parsed.params;
    for (present, name) in
        [(params.keyid.is_some(), "keyid"), (params.alg.is_some(), "alg"), (params.pub_key.is_some(), "pub")]
    {
        if present {
            return Err(Rejection::new(
                ProblemCode::SignatureMalformed,
                format!("a key-bound request must not carry the {name} parameter: the key is the token's"),
            ));
        }
    }
    let (created, nonce) = created_nonce_and_components(params, &BOUND_REQUIRED)?;
    freshness::check(policy.max_skew(), created, params.expires, now)?;
    Ok(BoundHead { parsed, nonce, created })
}
