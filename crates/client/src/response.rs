//! Verifying the API's response signatures (SPEC §3.8), on by default.
//!
//! Every answer must carry a `Content-Digest` matching the body and an RFC
//! 9421 signature by one of the trusted response keys ([`ServerKeys`]: named
//! outright, or the set the API published at `/.well-known/slipgate-keys` on
//! first use, pinned), covering `@status`, `content-digest` and — binding the
//! answer to this very request — `"signature";req;key="sig1"`. A changed
//! body, a substituted answer or a replayed one is refused with
//! [`ClientError::ResponseSignature`]; an answer signed by a key outside the
//! pinned set while the API serves another set, with
//! [`ClientError::ServerKeysChanged`].
//!
//! A verified answer's signed `created` is the server's clock, which the
//! client's skew correction may trust ([`crate::skew`]); the unsigned `Date`
//! is never used.

use crate::ClientError;
use crate::pins::{ServerKeys, fetch_keys, keys_url, same_keys};
use http::HeaderMap;
use slipgate_httpsig::jose::Jwks;
use slipgate_httpsig::params::parse_signature_header_map;
use slipgate_httpsig::{
    Algorithm, Message, VerifyingKey, signature_base, verify_content_digest, verify_signature,
};
use slipgate_proto::headers as proto_headers;

/// The request an answer must be bound to.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// `POST`.
    pub method: String,
    /// The URL it was sent to.
    pub url: reqwest::Url,
    /// Its `Signature` header value.
    pub signature: String,
    /// The label it was signed under.
    pub label: String,
}

/// What a verified answer proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAnswer {
    /// The signature's `created`: the server's clock when it answered, unix seconds.
    pub created: i64,
}

/// Checks response signatures against the trusted keys.
#[derive(Debug)]
pub struct ResponseVerifier {
    http: reqwest::Client,
    api_url: String,
    keys_url: reqwest::Url,
    trust: ServerKeys,
}

fn refused(why: impl Into<String>) -> ClientError {
    ClientError::ResponseSignature(why.into())
}

impl ResponseVerifier {
    /// A verifier for the API at `api_url` trusting `trust`.
    pub fn new(http: reqwest::Client, api_url: &str, trust: ServerKeys) -> Result<Self, ClientError> {
        let keys_url = keys_url(api_url)?;
        Ok(Self { http, api_url: api_url.to_owned(), keys_url, trust })
    }

    /// The raw public key `kid` names among the trusted keys.
    async fn trusted_key(&self, kid: &str) -> Result<[u8; 32], ClientError> {
        let usable = |keys: &Jwks| keys.find(kid).and_then(|k| k.ed25519_public_key().ok());
        match &self.trust {
            ServerKeys::Fixed { keys, source } => usable(keys).ok_or_else(|| {
                refused(format!(
                    "the answer is signed by key `{kid}`, which is not in the server key set {source}"
                ))
            }),
            ServerKeys::Pinned(store) => {
                let pinned =
                    store.load_or_pin(&self.api_url, || fetch_keys(&self.http, &self.keys_url)).await?;
                if let Some(key) = usable(&pinned) {
                    return Ok(key);
                }
                let served = fetch_keys(&self.http, &self.keys_url).await?;
                if same_keys(&served, &pinned) {
                    Err(refused("the answer is signed by a key the API does not publish"))
                } else {
                    Err(store.changed(&self.api_url, &pinned, &served))
                }
            }
        }
    }

    /// Verifies one answer to `request`.
    pub async fn verify(
        &self,
        request: &SentRequest,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<VerifiedAnswer, ClientError> {
        let digest = headers.get(proto_headers::CONTENT_DIGEST).and_then(|v| v.to_str().ok());
        verify_content_digest(digest, body).map_err(|e| refused(format!("the body does not match: {e}")))?;
        let parsed =
            parse_signature_header_map(headers).map_err(|e| refused(format!("unsigned answer: {e}")))?;
        let params = &parsed.params;
        let binding = format!("\"signature\";req;key=\"{}\"", request.label);
        let covered: Vec<String> = params.components.iter().filter_map(|c| c.to_identifier().ok()).collect();
        for needed in ["\"@status\"", "\"content-digest\"", binding.as_str()] {
            if !covered.iter().any(|c| c == needed) {
                return Err(refused(format!("the answer's signature does not cover {needed}")));
            }
        }
        let created = params.created.ok_or_else(|| refused("the answer's signature has no created"))?;
        let kid = params.keyid.as_deref().ok_or_else(|| refused("the answer's signature names no key"))?;
        let raw = self.trusted_key(kid).await?;
        let key =
            VerifyingKey::from_public_key(Algorithm::Ed25519, &raw).map_err(|e| refused(e.to_string()))?;
        let sent = Message::request(&request.method, request.url.as_str())
            .map_err(|e| refused(e.to_string()))?
            .with_header(proto_headers::SIGNATURE, &request.signature);
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = http::StatusCode::from_u16(status).map_err(|e| refused(e.to_string()))?;
        parts.headers = headers.clone();
        let base = signature_base(params, &parts, Some(&sent)).map_err(|e| refused(e.to_string()))?;
        verify_signature(params, &parsed.signature, &base, &key)
            .map_err(|_| refused("the answer's signature does not verify"))?;
        Ok(VerifiedAnswer { created })
    }
}
