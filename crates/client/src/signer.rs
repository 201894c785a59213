//! Signing requests per RFC 9421 / RFC 9530 the way the API checks them
//! (docs/wire-protocol.md).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{Algorithm, DigestAlgorithm, SignParams, SigningKey, content_digest, sign_message};
use slipgate_proto::clock::{Clock, SystemClock};
use slipgate_proto::headers as proto_headers;

/// The label of request signatures (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::REQUEST_LABEL as LABEL;

/// The components the API requires of a registry key (SPEC §3.2), in the
/// order signed (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::REGISTRY_COMPONENTS as COMPONENTS;

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignRequestError {
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The request could not be represented.
    #[error("invalid request: {0}")]
    Request(String),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] slipgate_httpsig::SignError),
    /// The system random source failed.
    #[error("no randomness available for the nonce")]
    Random,
}

/// Signs requests with one key.
#[derive(Debug, Clone)]
pub struct RequestSigner {
    keyid: String,
    key: Arc<SigningKey>,
    clock: Arc<dyn Clock>,
    components: Vec<Component>,
}

impl RequestSigner {
    /// A signer for `keyid` covering the SPEC's components, reading the system clock.
    pub fn new(keyid: impl Into<String>, key: SigningKey) -> Self {
        Self {
            keyid: keyid.into(),
            key: Arc::new(key),
            clock: Arc::new(SystemClock),
            components: COMPONENTS.iter().map(|c| Component::field_or_derived(c)).collect(),
        }
    }

    /// Reads time from `clock` (tests; skew correction).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock `created` is read from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The key id.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// Adds `Content-Digest`, `Signature-Input` and `Signature` to `headers`
    /// for a `method` request to `url` with `body`. `headers` must already hold
    /// `content-type` and `authorization`.
    pub fn sign(
        &self,
        method: &Method,
        url: &reqwest::Url,
        headers: &mut HeaderMap,
        body: &[u8],
    ) -> Result<(), SignRequestError> {
        let host = url.host_str().ok_or(SignRequestError::NoHost)?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let digest = content_digest(DigestAlgorithm::Sha256, body);
        headers.insert(proto_headers::CONTENT_DIGEST, header(&digest)?);
        let mut parts = http::Request::builder()
            .method(method.clone())
            .uri(format!("{}://{authority}{path_and_query}", url.scheme()))
            .body(())
            .map_err(|e| SignRequestError::Request(e.to_string()))?
            .into_parts()
            .0;
        parts.headers = headers.clone();
        let params = SignParams::new(LABEL)
            .created(self.clock.unix_seconds())
            .nonce(&nonce()?)
            .keyid(&self.keyid)
            .with_alg();
        let signed =
            sign_message(&parts, None::<&http::request::Parts>, &self.components, &params, &self.key)?;
        headers.insert(proto_headers::SIGNATURE_INPUT, header(&signed.signature_input)?);
        headers.insert(proto_headers::SIGNATURE, header(&signed.signature)?);
        Ok(())
    }
}

fn header(value: &str) -> Result<HeaderValue, SignRequestError> {
    HeaderValue::from_str(value).map_err(|e| SignRequestError::Request(e.to_string()))
}

/// 128 bits from the CSPRNG, hex-encoded: 32 chars of the SPEC's nonce alphabet.
fn nonce() -> Result<String, SignRequestError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SignRequestError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("cannot read key file {0}: {1}")]
    Read(String, std::io::Error),
    /// The content is neither a base64 HMAC secret nor a PKCS#8 Ed25519/P-256 key.
    #[error("{0} holds neither a base64 HMAC secret nor a PKCS#8 Ed25519 or P-256 private key")]
    Format(String),
}

/// Loads what `slipgate keys new` wrote: `<id>.secret` (base64 HMAC secret) or
/// `<id>.pem` (PKCS#8 Ed25519 or ECDSA P-256 private key).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| KeyFileError::Read(shown.clone(), e))?;
    if text.trim_start().starts_with("-----BEGIN") {
        return [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256]
            .into_iter()
            .find_map(|alg| SigningKey::from_pem(alg, &text).ok())
            .ok_or(KeyFileError::Format(shown));
    }
    let secret = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| KeyFileError::Format(shown.clone()))?;
    SigningKey::hmac_sha256(&secret).map_err(|_| KeyFileError::Format(shown))
}
