//! Signing requests per RFC 9421 / RFC 9530 the way the API and the identity
//! server check them (docs/wire-protocol.md §6 and §10).
//!
//! Three forms:
//! - a registry key (SPEC §3.2): `keyid` and `alg`, covering [`COMPONENTS`],
//!   with a `Bearer` token;
//! - a device key presenting its bound token (SPEC §3.2.1): `tag="httpsig-oauth"`,
//!   no `keyid`, `alg` or `pub` (the key is the token's `cnf`), covering
//!   [`BOUND_COMPONENTS`], with `Authorization: HTTPSig`;
//! - a signed token request (SPEC §4, [`sign_token_request`]):
//!   `tag="httpsig-oauth-token-request"`, `alg` and `pub`, covering
//!   [`TOKEN_REQUEST_COMPONENTS`] (+ `authorization` when HTTP Basic is sent).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, TOKEN_REQUEST_TAG};
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{Algorithm, DigestAlgorithm, SignParams, SigningKey, content_digest, sign_message};
use slipgate_proto::clock::{Clock, SystemClock};
use slipgate_proto::headers as proto_headers;
use slipgate_proto::oauth::TokenType;

use crate::DeviceKey;

/// The label of request signatures (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::REQUEST_LABEL as LABEL;

/// The components the API requires of a registry key (SPEC §3.2), in the
/// order signed (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::REGISTRY_COMPONENTS as COMPONENTS;

/// The components of a request presenting a bound token (SPEC §3.2.1), in
/// the order signed (defined in [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::BOUND_COMPONENTS;

/// The components of a signed token request (SPEC §4); `authorization` is
/// added when the request carries HTTP Basic client authentication (defined in
/// [`slipgate_proto::signature`]).
pub use slipgate_proto::signature::TOKEN_REQUEST_COMPONENTS;

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

/// Signs requests with one key: a registry key or a device key.
#[derive(Debug, Clone)]
pub struct RequestSigner {
    /// The registry key id; `None` for a device key (its token names it).
    keyid: Option<String>,
    key: Arc<SigningKey>,
    clock: Arc<dyn Clock>,
    components: Vec<Component>,
}

impl RequestSigner {
    /// A signer for the registry key `keyid` covering the SPEC's components
    /// ([`COMPONENTS`]), reading the system clock; its requests carry `Bearer` tokens.
    pub fn new(keyid: impl Into<String>, key: SigningKey) -> Self {
        Self {
            keyid: Some(keyid.into()),
            key: Arc::new(key),
            clock: Arc::new(SystemClock),
            components: COMPONENTS.iter().map(|c| Component::field_or_derived(c)).collect(),
        }
    }

    /// A signer for requests presenting a token bound to `device` (SPEC
    /// §3.2.1): [`BOUND_COMPONENTS`], `tag="httpsig-oauth"`, no `keyid`, `alg`
    /// or `pub`; its requests carry `Authorization: HTTPSig`.
    pub fn bound(device: &DeviceKey) -> Self {
        Self {
            keyid: None,
            key: device.signing_key().clone(),
            clock: Arc::new(SystemClock),
            components: BOUND_COMPONENTS.iter().map(|c| Component::field_or_derived(c)).collect(),
        }
    }

    /// Whether this signer presents bound tokens (a device key).
    pub fn is_bound(&self) -> bool {
        self.keyid.is_none()
    }

    /// The kind of token its requests carry: `Bearer` for a registry key,
    /// `httpsig` for a device key.
    pub fn token_type(&self) -> TokenType {
        if self.is_bound() { TokenType::Httpsig } else { TokenType::Bearer }
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

    /// The registry key id; empty for a device key, whose requests name no key.
    pub fn keyid(&self) -> &str {
        self.keyid.as_deref().unwrap_or_default()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// Adds `Content-Digest`, `Signature-Input` and `Signature` to `headers`
    /// for a `method` request to `url` with `body`. `headers` must already hold
    /// `content-type` and `authorization` (with the scheme of [`Self::token_type`]).
    pub fn sign(
        &self,
        method: &Method,
        url: &reqwest::Url,
        headers: &mut HeaderMap,
        body: &[u8],
    ) -> Result<(), SignRequestError> {
        let params = SignParams::new(LABEL).created(self.clock.unix_seconds()).nonce(&nonce()?);
        let params = match &self.keyid {
            Some(keyid) => params.keyid(keyid).with_alg(),
            None => params.tag(BOUND_REQUEST_TAG),
        };
        sign_into(method, url, headers, body, &self.components, &params, &self.key)
    }
}

/// Signs a token request to the identity server with `device` (SPEC §4,
/// draft-richer-oauth-httpsig-03 §2.3): `Content-Digest` over the form `body`,
/// [`TOKEN_REQUEST_COMPONENTS`] plus `authorization` when `headers` hold one
/// (HTTP Basic), `created` from `clock`, a fresh `nonce`,
/// `tag="httpsig-oauth-token-request"`, `alg` and `pub`, no `keyid`.
pub fn sign_token_request(
    device: &DeviceKey,
    clock: &dyn Clock,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
    body: &[u8],
) -> Result<(), SignRequestError> {
    let mut components: Vec<Component> =
        TOKEN_REQUEST_COMPONENTS.iter().map(|c| Component::field_or_derived(c)).collect();
    if headers.contains_key(http::header::AUTHORIZATION) {
        components.push(Component::field_or_derived("authorization"));
    }
    let params = SignParams::new(LABEL)
        .created(clock.unix_seconds())
        .nonce(&nonce()?)
        .tag(TOKEN_REQUEST_TAG)
        .with_alg()
        .with_pub();
    sign_into(&Method::POST, url, headers, body, &components, &params, device.signing_key())
}

/// Adds the digest and the signature over `components` to `headers`.
fn sign_into(
    method: &Method,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
    body: &[u8],
    components: &[Component],
    params: &SignParams,
    key: &SigningKey,
) -> Result<(), SignRequestError> {
    let host = url.host_str().ok_or(SignRequestError::NoHost)?;
    // `Url` already lowercases the host and drops a default port, as the
    // server's `@authority` and `@target-uri` do (RFC 9421 §2.2.1, §2.2.2).
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
    let signed = sign_message(&parts, None::<&http::request::Parts>, components, params, key)?;
    headers.insert(proto_headers::SIGNATURE_INPUT, header(&signed.signature_input)?);
    let mut signature = header(&signed.signature)?;
    signature.set_sensitive(true);
    headers.insert(proto_headers::SIGNATURE, signature);
    Ok(())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use slipgate_httpsig::binding::{BoundKey, parse_tagged_signature};
    use slipgate_httpsig::received::ReceivedRequest;
    use slipgate_httpsig::{signature_base, verify_content_digest, verify_signature};
    use slipgate_proto::clock::ManualClock;

    const CREATED: u64 = 1_767_225_600;

    /// The request as a server receives it: origin form, `Host`, the signed headers.
    fn received(path: &str, host: &str, headers: &HeaderMap) -> http::request::Parts {
        let (mut parts, ()) = http::Request::post(path).header("host", host).body(()).unwrap().into_parts();
        for (name, value) in headers {
            parts.headers.append(name, value.clone());
        }
        parts
    }

    /// What the server does: the tagged signature, the digest, the base rebuilt
    /// from the received request, verified with `key`.
    fn verify_as_server(parts: &http::request::Parts, body: &[u8], tag: &str, key: &BoundKey) -> bool {
        let field = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
        let parsed = parse_tagged_signature(field("signature-input"), field("signature"), tag).unwrap();
        verify_content_digest(field("content-digest"), body).unwrap();
        let base = signature_base(&parsed.params, &ReceivedRequest::https(parts), None::<&Message>).unwrap();
        verify_signature(&parsed.params, &parsed.signature, &base, key.verifying_key()).is_ok()
    }
    use slipgate_httpsig::Message;

    fn bound_request(device: &DeviceKey, url: &str) -> HeaderMap {
        let signer = RequestSigner::bound(device).with_clock(Arc::new(ManualClock::at_unix(CREATED)));
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", "HTTPSig example-token".parse().unwrap());
        signer.sign(&Method::POST, &reqwest::Url::parse(url).unwrap(), &mut headers, b"{}").unwrap();
        headers
    }

    #[test]
    fn bound_signer_writes_the_spec_form_without_keyid_alg_or_pub() {
        let device = DeviceKey::generate().unwrap();
        let headers = bound_request(&device, "https://127.0.0.1:8443/generate/salaryslip");
        let input = headers["signature-input"].to_str().unwrap();
        let nonce = input.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(
            input,
            format!(
                r#"sig1=("@method" "@target-uri" "authorization" "content-type" "content-digest");created={CREATED};nonce="{nonce}";tag="httpsig-oauth""#
            )
        );
        assert_eq!(nonce.len(), 32);
        let parts = received("/generate/salaryslip", "127.0.0.1:8443", &headers);
        assert!(verify_as_server(&parts, b"{}", BOUND_REQUEST_TAG, device.public_key()));
        // The token's cnf names the key the API verifies with.
        let from_cnf = BoundKey::from_confirmation(&device.public_key().confirmation()).unwrap();
        assert!(verify_as_server(&parts, b"{}", BOUND_REQUEST_TAG, &from_cnf));
    }

    #[test]
    fn a_bound_request_does_not_verify_under_another_device_or_host() {
        let (a, b) = (DeviceKey::generate().unwrap(), DeviceKey::generate().unwrap());
        let headers = bound_request(&a, "https://127.0.0.1:8443/generate/salaryslip");
        let parts = received("/generate/salaryslip", "127.0.0.1:8443", &headers);
        assert!(!verify_as_server(&parts, b"{}", BOUND_REQUEST_TAG, b.public_key()));
        let elsewhere = received("/generate/salaryslip", "api.example.com", &headers);
        assert!(!verify_as_server(&elsewhere, b"{}", BOUND_REQUEST_TAG, a.public_key()));
    }

    #[test]
    fn target_uri_drops_the_default_port_and_lowercases_the_host_as_the_server_does() {
        let device = DeviceKey::generate().unwrap();
        let headers = bound_request(&device, "https://API.Example.COM:443/generate/salaryslip");
        let parts = received("/generate/salaryslip", "api.example.com", &headers);
        assert!(verify_as_server(&parts, b"{}", BOUND_REQUEST_TAG, device.public_key()));
    }

    #[test]
    fn token_request_shows_its_key_in_pub_and_the_server_imports_the_same_key() {
        let device = DeviceKey::generate().unwrap();
        let body = b"grant_type=password&username=alice&password=x&client_id=slipgate-cli";
        let url = reqwest::Url::parse("https://127.0.0.1:8444/oauth/token").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        sign_token_request(&device, &ManualClock::at_unix(CREATED), &url, &mut headers, body).unwrap();
        let input = headers["signature-input"].to_str().unwrap();
        let nonce = input.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
        let pub_b64 = base64::engine::general_purpose::STANDARD.encode(device.public_key().raw());
        assert_eq!(
            input,
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest");created={CREATED};nonce="{nonce}";tag="httpsig-oauth-token-request";alg="ed25519";pub=:{pub_b64}:"#
            )
        );
        let parts = received("/oauth/token", "127.0.0.1:8444", &headers);
        let field = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
        let parsed =
            parse_tagged_signature(field("signature-input"), field("signature"), TOKEN_REQUEST_TAG).unwrap();
        let shown = BoundKey::from_signature_params(&parsed.params).unwrap();
        assert_eq!(&shown, device.public_key());
        assert!(verify_as_server(&parts, body, TOKEN_REQUEST_TAG, &shown));
        // A changed form (another user) under the same signature fails the digest.
        assert!(
            verify_content_digest(field("content-digest"), b"grant_type=password&username=paula").is_err()
        );
    }

    #[test]
    fn token_request_with_http_basic_covers_authorization() {
        let device = DeviceKey::generate().unwrap();
        let url = reqwest::Url::parse("https://127.0.0.1:8444/oauth/token").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        headers.insert("authorization", "Basic Y2xpZW50OnNlY3JldA==".parse().unwrap());
        sign_token_request(&device, &ManualClock::at_unix(CREATED), &url, &mut headers, b"a=b").unwrap();
        let input = headers["signature-input"].to_str().unwrap();
        assert!(
            input.starts_with(r#"sig1=("@method" "@target-uri" "content-digest" "authorization");"#),
            "{input}"
        );
        let mut parts = received("/oauth/token", "127.0.0.1:8444", &headers);
        assert!(verify_as_server(&parts, b"a=b", TOKEN_REQUEST_TAG, device.public_key()));
        // Other client credentials under the same signature do not verify.
        parts.headers.insert("authorization", "Basic b3RoZXI6c2VjcmV0".parse().unwrap());
        assert!(!verify_as_server(&parts, b"a=b", TOKEN_REQUEST_TAG, device.public_key()));
    }

    #[test]
    fn registry_signer_is_unchanged_and_presents_bearer_tokens() {
        let signer = RequestSigner::new("dev-hmac", SigningKey::hmac_sha256(&[1u8; 32]).unwrap())
            .with_clock(Arc::new(ManualClock::at_unix(CREATED)));
        assert_eq!(
            (signer.token_type(), signer.is_bound(), signer.keyid()),
            (TokenType::Bearer, false, "dev-hmac")
        );
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", "Bearer t".parse().unwrap());
        let url = reqwest::Url::parse("https://127.0.0.1:8443/generate/salaryslip").unwrap();
        signer.sign(&Method::POST, &url, &mut headers, b"{}").unwrap();
        let input = headers["signature-input"].to_str().unwrap();
        assert!(input.starts_with(r#"sig1=("@method" "@path" "@authority" "content-type" "content-digest" "authorization");created=1767225600;nonce=""#), "{input}");
        assert!(input.ends_with(r#";keyid="dev-hmac";alg="hmac-sha256""#), "{input}");
        let device = DeviceKey::generate().unwrap();
        assert_eq!(RequestSigner::bound(&device).token_type(), TokenType::Httpsig);
    }
}
