//! Response signatures (SPEC §3.8): every API response — success and problem
//! alike — carries `Content-Digest` and an RFC 9421 signature labelled `res`
//! made with the server's Ed25519 key, bound to the request's own signature
//! through `;req` components, so a client can tell a tampered or substituted
//! answer. The public keys are served as a JWKS at
//! `GET /.well-known/slipgate-keys`.

use std::path::Path;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use slipgate_guard::signature::VerifiedKey;
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, parse_tagged_signature};
use slipgate_httpsig::jose::{Jwk, Jwks};
use slipgate_httpsig::params::{
    Component, SIGNATURE, SIGNATURE_INPUT, joined_field, parse_signature_header_map,
};
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, Message, SignParams, SigningKey, content_digest, sign_message, to_pem,
};
use slipgate_proto::headers;

/// The label of response signatures (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::RESPONSE_LABEL as LABEL;

/// Why the response key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("response signing key: {0}")]
pub struct ResponseKeyError(String);

/// The server's response-signing key and its JWKS.
#[derive(Debug)]
pub struct ResponseSigner {
    key: SigningKey,
    keyid: String,
    jwks: Jwks,
}

/// What the response signature needs of the request: its method and path,
/// and — when it carried a signature — that signature's label and bytes.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    method: http::Method,
    uri: http::Uri,
    bound: Option<(String, Vec<u8>)>,
}

impl RequestSummary {
    /// Method and path of a request whose signature was verified as `verified`
    /// (or that carried none that parsed: `None`).
    pub fn new(method: http::Method, uri: http::Uri, verified: Option<&VerifiedKey>) -> Self {
        Self { method, uri, bound: verified.map(|v| (v.label.clone(), v.signature.clone())) }
    }

    /// Method and path, and — when the `Signature-Input` and `Signature`
    /// fields in `headers` parse — the evaluated signature's label and bytes,
    /// not verified (a refused request's answer is bound to what it sent). For
    /// a request presenting a key-bound token (`key_bound`, `Authorization:
    /// HTTPSig`) the evaluated signature is the one tagged `httpsig-oauth`
    /// (SPEC §3.2.1), else the first member (§3.2).
    pub fn unverified(
        method: http::Method,
        uri: http::Uri,
        headers: &http::HeaderMap,
        key_bound: bool,
    ) -> Self {
        let parsed = if key_bound {
            let field = |name| joined_field(headers, name).ok().flatten();
            parse_tagged_signature(
                field(&SIGNATURE_INPUT).as_deref(),
                field(&SIGNATURE).as_deref(),
                BOUND_REQUEST_TAG,
            )
        } else {
            parse_signature_header_map(headers)
        };
        let bound = parsed.ok().map(|p| (p.params.label, p.signature));
        Self { method, uri, bound }
    }

    /// Whether the request carried a signature the answer is bound to.
    pub fn is_bound(&self) -> bool {
        self.bound.is_some()
    }
}

/// What signs the API's responses (SPEC §3.8). [`ResponseSigner`] is the one
/// implementation the service uses; the trait lets a test put a failing
/// signer into the state, to prove an answer that cannot be signed is never
/// sent unsigned.
pub trait ResponseSigning: Send + Sync + std::fmt::Debug {
    /// Adds `Content-Digest`, `Signature-Input` and `Signature` to a response.
    ///
    /// # Errors
    ///
    /// Whatever prevented signing; the caller must not send the answer.
    fn sign(
        &self,
        request: &RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError>;

    /// The public keys, for `/.well-known/slipgate-keys`.
    fn jwks(&self) -> &Jwks;
}

impl ResponseSigning for ResponseSigner {
    fn sign(
        &self,
        request: &RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError> {
        ResponseSigner::sign(self, request, parts, body, now)
    }

    fn jwks(&self) -> &Jwks {
        ResponseSigner::jwks(self)
    }
}

impl ResponseSigner {
    /// A fresh key for this process (keys differ per instance: configure
    /// `signature.response_key_file` to share one behind a load balancer).
    pub fn generate() -> Result<Self, ResponseKeyError> {
        let (key, _) =
            SigningKey::generate(Algorithm::Ed25519).map_err(|e| ResponseKeyError(e.to_string()))?;
        Self::with_key(key)
    }

    /// The PKCS#8 PEM key in `path`.
    pub fn from_pem_file(path: &Path) -> Result<Self, ResponseKeyError> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| ResponseKeyError(format!("cannot read {}: {e}", path.display())))?;
        let key = SigningKey::from_pem(Algorithm::Ed25519, &pem)
            .map_err(|e| ResponseKeyError(format!("{}: {e}", path.display())))?;
        Self::with_key(key)
    }

    fn with_key(key: SigningKey) -> Result<Self, ResponseKeyError> {
        let raw = key.public_key_raw().map_err(|e| ResponseKeyError(e.to_string()))?;
        let unnamed = Jwk::ed25519(&raw, "").map_err(|e| ResponseKeyError(e.to_string()))?;
        let keyid = unnamed.thumbprint().map_err(|e| ResponseKeyError(e.to_string()))?;
        let jwk = Jwk::ed25519(&raw, &keyid).map_err(|e| ResponseKeyError(e.to_string()))?;
        Ok(Self { key, keyid, jwks: Jwks { keys: vec![jwk] } })
    }

    /// The key id (the RFC 7638 thumbprint).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The public keys, for `/.well-known/slipgate-keys`.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// The public key as SPKI PEM (for clients that pin it).
    pub fn public_pem(&self) -> Option<String> {
        self.key.public_key_spki_der().ok().map(|der| to_pem("PUBLIC KEY", &der))
    }

    /// Adds `Content-Digest`, `Signature-Input` and `Signature` to a response.
    ///
    /// The covered components are fixed (SPEC §3.8), so the field values and
    /// the signature base are written directly, byte for byte what the
    /// generic [`sign_message`] builds (a test holds them equal): no
    /// structured-field round trip on the hot path.
    pub fn sign(
        &self,
        request: &RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError> {
        use std::fmt::Write as _;
        let digest = content_digest(DigestAlgorithm::Sha256, body);
        let content_type = joined(&parts.headers, http::header::CONTENT_TYPE);
        let mut inner = String::with_capacity(192);
        inner.push_str("(\"@status\"");
        if content_type.is_some() {
            inner.push_str(" \"content-type\"");
        }
        inner.push_str(" \"content-digest\"");
        let member = request.bound.as_ref().map(|(label, signature)| (label, STANDARD.encode(signature)));
        if let Some((label, _)) = &member {
            // An sf-key (checked when the request was parsed) needs no escaping as an sf-string.
            let _ = write!(inner, " \"@method\";req \"@path\";req \"signature\";req;key=\"{label}\"");
        }
        // The key id is an RFC 7638 thumbprint: base64url, safe in an sf-string.
        let _ = write!(inner, ");created={now};keyid=\"{}\";alg=\"ed25519\"", self.keyid);

        let mut base = Vec::with_capacity(256 + inner.len());
        let _ = writeln!(Bytes(&mut base), "\"@status\": {:03}", parts.status.as_u16());
        if let Some(content_type) = &content_type {
            // A HeaderValue cannot hold CR or LF; NUL is refused here like the generic base does.
            if content_type.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                let id = "\"content-type\"".to_owned();
                return Err(slipgate_httpsig::BaseError::InvalidValue(id).into());
            }
            base.extend_from_slice(b"\"content-type\": ");
            base.extend_from_slice(content_type);
            base.push(b'\n');
        }
        let _ = writeln!(Bytes(&mut base), "\"content-digest\": {digest}");
        if let Some((label, encoded)) = &member {
            let path = request.uri.path();
            let path = if path.is_empty() { "/" } else { path };
            let _ = write!(
                Bytes(&mut base),
                "\"@method\";req: {}\n\"@path\";req: {path}\n\"signature\";req;key=\"{label}\": :{encoded}:\n",
                request.method
            );
        }
        base.extend_from_slice(b"\"@signature-params\": ");
        base.extend_from_slice(inner.as_bytes());
        let signature = self.key.sign(&base)?;
        let fields = (
            http::HeaderValue::from_str(&digest),
            http::HeaderValue::from_str(&format!("{LABEL}={inner}")),
            http::HeaderValue::from_str(&format!("{LABEL}=:{}:", STANDARD.encode(signature))),
        );
        if let (Ok(digest), Ok(input), Ok(signature)) = fields {
            parts.headers.insert(headers::CONTENT_DIGEST, digest);
            parts.headers.insert(headers::SIGNATURE_INPUT, input);
            parts.headers.insert(headers::SIGNATURE, signature);
        }
        Ok(())
    }

    /// [`Self::sign`] through the generic RFC 9421 signer (the oracle in tests).
    #[doc(hidden)]
    pub fn sign_generic(
        &self,
        request: &RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError> {
        let digest = content_digest(DigestAlgorithm::Sha256, body);
        if let Ok(v) = http::HeaderValue::from_str(&digest) {
            parts.headers.insert(headers::CONTENT_DIGEST, v);
        }
        let target = format!("https://localhost{}", request.uri.path());
        let mut message = Message::request(request.method.as_str(), &target)?;
        let mut components = vec![Component::field_or_derived("@status")];
        if parts.headers.contains_key(http::header::CONTENT_TYPE) {
            components.push(Component::field_or_derived("content-type"));
        }
        components.push(Component::field_or_derived(headers::CONTENT_DIGEST));
        if let Some((label, signature)) = &request.bound {
            message =
                message.with_header(headers::SIGNATURE, &format!("{label}=:{}:", STANDARD.encode(signature)));
            components.push(Component::field_or_derived("@method").req());
            components.push(Component::field_or_derived("@path").req());
            components.push(Component::field_or_derived(headers::SIGNATURE).req().key(label));
        }
        let params = SignParams::new(LABEL).created(now).keyid(&self.keyid).with_alg();
        let signed = sign_message(&*parts, Some(&message), &components, &params, &self.key)?;
        if let (Ok(input), Ok(signature)) = (
            http::HeaderValue::from_str(&signed.signature_input),
            http::HeaderValue::from_str(&signed.signature),
        ) {
            parts.headers.insert(headers::SIGNATURE_INPUT, input);
            parts.headers.insert(headers::SIGNATURE, signature);
        }
        Ok(())
    }
}

/// All lines of a field as a signature covers them; `None` when absent.
fn joined(headers: &http::HeaderMap, name: http::header::HeaderName) -> Option<Vec<u8>> {
    let lines: Vec<&[u8]> = headers.get_all(name).iter().map(http::HeaderValue::as_bytes).collect();
    if lines.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    slipgate_httpsig::base::join_field_lines(&lines, &mut out);
    Some(out)
}

/// `write!` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(content_type: Option<&str>) -> http::response::Parts {
        let mut builder = http::Response::builder().status(201);
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(()).map(|r| r.into_parts().0).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fields(parts: &http::response::Parts) -> Vec<String> {
        ["content-digest", "signature-input", "signature"]
            .iter()
            .map(|n| parts.headers.get(*n).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned())
            .collect()
    }

    /// Ed25519 is deterministic, so the direct writer and the generic signer
    /// must produce the same three fields, byte for byte, in every shape.
    #[test]
    fn direct_signing_matches_the_generic_signer_byte_for_byte() {
        let signer = ResponseSigner::generate().unwrap_or_else(|e| panic!("{e}"));
        let uri: http::Uri = "/generate/salaryslip".parse().unwrap_or_else(|e| panic!("{e}"));
        let bound = RequestSummary {
            method: http::Method::POST,
            uri: uri.clone(),
            bound: Some(("sig-1.x*".to_owned(), vec![7u8; 32])),
        };
        let unbound =
            RequestSummary::new(http::Method::GET, "/".parse().unwrap_or_else(|e| panic!("{e}")), None);
        for summary in [&bound, &unbound] {
            for content_type in [Some("application/json"), Some(" application/problem+json "), None] {
                for body in [&b""[..], b"{\"a\":1}"] {
                    let (mut direct, mut generic) = (response(content_type), response(content_type));
                    signer.sign(summary, &mut direct, body, 1_767_225_600).unwrap_or_else(|e| panic!("{e}"));
                    signer
                        .sign_generic(summary, &mut generic, body, 1_767_225_600)
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(fields(&direct), fields(&generic), "{summary:?} {content_type:?}");
                    assert!(fields(&direct).iter().all(|f| f != "-"));
                }
            }
        }
    }
}
