//! Signed token requests (SPEC §4; draft-richer-oauth-httpsig-03 §2.2–§2.3, run-time keys):
//! the client proves possession of its own key, and the token it gets is bound to that key.
//!
//! A password or refresh-token request is *signed* when it carries `Signature-Input` or
//! `Signature`; without either it is the plain RFC 6749 request it always was. A signed one
//! must have exactly one signature tagged `httpsig-oauth-token-request`, with `alg` and `pub`
//! (the raw public key, [`BoundKey::from_raw`]) and no `keyid`, parameters `created` and
//! `nonce`, and cover `"@method"`, `"@target-uri"` and `"content-digest"` as plain entries,
//! plus `"authorization"` when an `Authorization` field (HTTP Basic) is sent. `@target-uri`
//! is rebuilt as `https://<Host as received><path>`.
//!
//! The checks run in SPEC §4's order, split in two so the handler can put the credentials
//! between them: [`verify`] — `created` within ±[`MAX_SKEW_SECS`] (through the clock), the
//! `Content-Digest` over the received form body, the signature — and, once the password,
//! refresh token or code is known good, [`SignedRequest::spend_nonce`], which records
//! (thumbprint, nonce) in the store so that a replay is refused on every instance. Each
//! failure is 400 `invalid_request`; only wrong credentials (the handler's) are
//! `invalid_grant`.
//!
//! # Security
//!
//! Covered: a shared secret is never bound (`hmac-sha256` refused); nothing is written to the
//! nonce store before the signature *and* the credentials passed, so a self-made key (which
//! authenticates nobody) cannot fill it, and a wrong password does not burn the nonce; the
//! body is covered through `Content-Digest` (the very field the signature covers is checked
//! against the bytes received); each of `Host`, `Authorization`, `Content-Digest`,
//! `Signature-Input` and `Signature` appears at most once; an absolute-form target must agree
//! with `Host`.
//!
//! Not covered: the identity server does not check that `Host` names it (it has no list of
//! its own names): a request signed for another host verifies only when sent with that
//! `Host`, and it still needs the credentials and a fresh, unused nonce.

use http::request::Parts;
use slipgate_httpsig::base::signature_base;
use slipgate_httpsig::binding::{BoundKey, RawKeyError, TOKEN_REQUEST_TAG, parse_tagged_signature};
use slipgate_httpsig::digest::verify_content_digest;
use slipgate_httpsig::received::ReceivedRequest;
use slipgate_httpsig::sign::verify_signature;
use slipgate_httpsig::{ParseError, SignatureParams};
use slipgate_proto::oauth::Confirmation;

use crate::error::OAuthError;
use crate::state::IdpState;

/// How far `created` may be from the server's clock, either way (SPEC §4).
pub const MAX_SKEW_SECS: i64 = 60;

/// Fields that must not be repeated on a signed request: a second line could make the
/// checked value differ from the covered one.
const SINGLE_FIELDS: [&str; 5] = ["host", "authorization", "content-digest", "signature-input", "signature"];

/// A token request whose signature verified: the key to bind and the nonce to spend.
#[derive(Debug)]
pub(crate) struct SignedRequest {
    key: BoundKey,
    thumbprint: String,
    nonce: String,
    created: i64,
}

impl SignedRequest {
    /// The RFC 7638 thumbprint of [`Self::key`].
    pub(crate) fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The `cnf` claim of a token bound to the key the request was signed with.
    pub(crate) fn confirmation(&self) -> Confirmation {
        self.key.confirmation()
    }

    /// Records the nonce once the credentials are known good: a nonce seen before
    /// under this key (on any instance sharing the store) is 400 `invalid_request`.
    pub(crate) async fn spend_nonce(&self, state: &IdpState) -> Result<(), OAuthError> {
        let expires_at = self.created.saturating_add(MAX_SKEW_SECS);
        if state.store.spend_token_nonce(&self.thumbprint, &self.nonce, expires_at, state.now()).await? {
            Ok(())
        } else {
            tracing::warn!(key = %self.thumbprint, "signed token request replayed");
            Err(OAuthError::invalid_request("the signature's nonce was already used"))
        }
    }
}

/// Whether the request carries a signature at all (then it must be a valid one).
pub(crate) fn is_signed(parts: &Parts) -> bool {
    parts.headers.contains_key("signature-input") || parts.headers.contains_key("signature")
}

fn bad(why: impl Into<String>) -> OAuthError {
    OAuthError::invalid_request(why)
}

fn field<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, OAuthError> {
    parts
        .headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| bad(format!("{name} is not visible ASCII"))))
        .transpose()
}

/// Verifies the signature of a signed token request over its head and received `body`, in
/// SPEC §4's order up to (not including) the credentials and the nonce.
pub(crate) fn verify(state: &IdpState, parts: &Parts, body: &[u8]) -> Result<SignedRequest, OAuthError> {
    for name in SINGLE_FIELDS {
        if parts.headers.get_all(name).iter().nth(1).is_some() {
            return Err(bad(format!("{name} is repeated")));
        }
    }
    if let (Some(target), Some(host)) = (parts.uri.authority(), field(parts, "host")?)
        && !target.as_str().eq_ignore_ascii_case(host)
    {
        return Err(bad("the request target's authority differs from Host"));
    }
    let parsed = parse_tagged_signature(
        field(parts, "signature-input")?,
        field(parts, "signature")?,
        TOKEN_REQUEST_TAG,
    )
    .map_err(|e| match e {
        ParseError::Missing => bad("the signature is missing"),
        other => bad(format!("malformed signature: {}", clip(&other.to_string()))),
    })?;
    let params = &parsed.params;
    check_params(params, parts.headers.contains_key(http::header::AUTHORIZATION))?;
    let key = BoundKey::from_signature_params(params).map_err(|e| match e {
        RawKeyError::SharedSecret => {
            bad("hmac-sha256 cannot be bound: sign with ed25519 or ecdsa-p256-sha256")
        }
        other => bad(format!("the signature's key is refused: {other}")),
    })?;
    // 1. Freshness, through the clock.
    let now = state.now();
    let created = params.created.ok_or_else(|| bad("the signature has no created parameter"))?;
    if created.abs_diff(now) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(bad(format!("the signature's created time is more than {MAX_SKEW_SECS} s from now")));
    }
    if params.expires.is_some_and(|expires| now > expires) {
        return Err(bad("the signature has expired"));
    }
    // 2. The body, through the covered Content-Digest, then the signature.
    verify_content_digest(field(parts, "content-digest")?, body)
        .map_err(|e| bad(format!("content-digest: {e}")))?;
    let base = signature_base(params, &ReceivedRequest::https(parts), None::<&Parts>)
        .map_err(|e| bad(format!("the signature base cannot be built: {}", clip(&e.to_string()))))?;
    verify_signature(params, &parsed.signature, &base, key.verifying_key())
        .map_err(|_| bad("the signature does not verify with the key in pub"))?;
    let nonce = params.nonce.clone().ok_or_else(|| bad("the signature has no nonce parameter"))?;
    let thumbprint = key.thumbprint();
    Ok(SignedRequest { key, thumbprint, nonce, created })
}

/// The parameter rules of SPEC §4 on the tagged signature.
fn check_params(params: &SignatureParams, basic: bool) -> Result<(), OAuthError> {
    if params.keyid.is_some() {
        return Err(bad("a signed token request names its key in pub, not keyid"));
    }
    if params.alg.is_none() || params.pub_key.is_none() {
        return Err(bad("a signed token request needs the alg and pub parameters"));
    }
    if params.nonce.is_none() {
        return Err(bad("the signature has no nonce parameter"));
    }
    let mut required = vec!["@method", "@target-uri", "content-digest"];
    if basic {
        required.push("authorization");
    }
    let missing = params.missing_components(&required);
    if !missing.is_empty() {
        return Err(bad(format!("the signature must cover {}", missing.join(", "))));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}
