//! Response signatures (SPEC §3.8): every API response — success and problem
//! alike — carries `Content-Digest` and an RFC 9421 signature labelled `res`
//! made with the server's Ed25519 key, bound to the request's own signature
//! through `;req` components, so a client can tell a tampered or substituted
//! answer. The public keys are served as a JWKS at
//! `GET /.well-known/slipgate-keys`.

use std::path::Path;

use slipgate_httpsig::jose::{Jwk, Jwks};
use slipgate_httpsig::params::{Component, parse_signature_input};
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, Message, SignParams, SigningKey, content_digest, sign_message, to_pem,
};

/// The label of response signatures.
pub const LABEL: &str = "res";

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

/// What the response signature needs of the request, captured before the
/// request is handed on.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    message: Message,
    label: Option<String>,
}

impl RequestSummary {
    /// Captures method, path and the evaluated signature's label (if any).
    pub fn capture(parts: &http::request::Parts) -> Self {
        let target = format!("https://localhost{}", parts.uri.path());
        let mut message =
            Message::request(parts.method.as_str(), &target).unwrap_or_else(|_| Message::response(0));
        let mut label = None;
        let input = parts.headers.get("signature-input").and_then(|v| v.to_str().ok());
        let signature =
            parts.headers.get_all("signature").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        if let (Some(input), false) = (input, signature.is_empty()) {
            let joined = signature.join(", ");
            if let Ok(params) = parse_signature_input(input)
                && slipgate_httpsig::params::parse_signature_headers(Some(input), Some(&joined)).is_ok()
            {
                label = Some(params.label);
                message = message.with_header("signature", &joined);
            }
        }
        Self { message, label }
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
    pub fn sign(
        &self,
        request: &RequestSummary,
        parts: &mut http::response::Parts,
        body: &[u8],
        now: i64,
    ) -> Result<(), slipgate_httpsig::SignError> {
        let digest = content_digest(DigestAlgorithm::Sha256, body);
        if let Ok(v) = http::HeaderValue::from_str(&digest) {
            parts.headers.insert("content-digest", v);
        }
        let mut components = vec![Component::field_or_derived("@status")];
        if parts.headers.contains_key(http::header::CONTENT_TYPE) {
            components.push(Component::field_or_derived("content-type"));
        }
        components.push(Component::field_or_derived("content-digest"));
        if let Some(label) = &request.label {
            components.push(Component::field_or_derived("@method").req());
            components.push(Component::field_or_derived("@path").req());
            components.push(Component::field_or_derived("signature").req().key(label));
        }
        let params = SignParams::new(LABEL).created(now).keyid(&self.keyid).with_alg();
        let signed = sign_message(&*parts, Some(&request.message), &components, &params, &self.key)?;
        if let (Ok(input), Ok(signature)) = (
            http::HeaderValue::from_str(&signed.signature_input),
            http::HeaderValue::from_str(&signed.signature),
        ) {
            parts.headers.insert("signature-input", input);
            parts.headers.insert("signature", signature);
        }
        Ok(())
    }
}
