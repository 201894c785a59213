//! Verifying the API's response signatures (SPEC §3.8), on by default.
//!
//! Every answer must carry a `Content-Digest` matching the body and an RFC
//! 9421 signature labelled `res` by one of the keys the API publishes at
//! `/.well-known/slipgate-keys`, covering `@status`, `content-digest` and —
//! binding the answer to this very request — `"signature";req;key="sig1"`.
//! A changed body, a substituted answer or a replayed one is refused with
//! [`ClientError::ResponseSignature`].

use http::HeaderMap;
use slipgate_httpsig::jose::Jwks;
use slipgate_httpsig::params::parse_signature_header_map;
use slipgate_httpsig::{
    Algorithm, Message, VerifyingKey, signature_base, verify_content_digest, verify_signature,
};
use tokio::sync::RwLock;

use crate::ClientError;

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

/// Checks response signatures against the API's published keys.
#[derive(Debug)]
pub struct ResponseVerifier {
    http: reqwest::Client,
    keys_url: reqwest::Url,
    jwks: RwLock<Option<Jwks>>,
}

fn refused(why: impl Into<String>) -> ClientError {
    ClientError::ResponseSignature(why.into())
}

impl ResponseVerifier {
    /// A verifier for the API whose slip endpoint is `slip_url`.
    pub fn new(http: reqwest::Client, slip_url: &reqwest::Url) -> Result<Self, ClientError> {
        let keys_url = slip_url
            .join("/.well-known/slipgate-keys")
            .map_err(|e| ClientError::Config(format!("cannot derive the keys URL: {e}")))?;
        Ok(Self { http, keys_url, jwks: RwLock::new(None) })
    }

    async fn keys(&self, refresh: bool) -> Result<Jwks, ClientError> {
        if !refresh && let Some(jwks) = self.jwks.read().await.clone() {
            return Ok(jwks);
        }
        let response =
            self.http.get(self.keys_url.clone()).send().await.map_err(|e| ClientError::transport(&e))?;
        if !response.status().is_success() {
            return Err(refused(format!("the API's keys answered {}", response.status())));
        }
        let jwks: Jwks = response.json().await.map_err(|_| refused("the API's keys are not a JWK set"))?;
        *self.jwks.write().await = Some(jwks.clone());
        Ok(jwks)
    }

    /// Verifies one answer to `request`.
    pub async fn verify(
        &self,
        request: &SentRequest,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ClientError> {
        let digest = headers.get("content-digest").and_then(|v| v.to_str().ok());
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
        let kid = params.keyid.as_deref().ok_or_else(|| refused("the answer's signature names no key"))?;
        let mut jwks = self.keys(false).await?;
        if jwks.find(kid).is_none() {
            jwks = self.keys(true).await?;
        }
        let raw = jwks
            .find(kid)
            .and_then(|k| k.ed25519_public_key().ok())
            .ok_or_else(|| refused("the answer is signed by a key the API does not publish"))?;
        let key =
            VerifyingKey::from_public_key(Algorithm::Ed25519, &raw).map_err(|e| refused(e.to_string()))?;
        let sent = Message::request(&request.method, request.url.as_str())
            .map_err(|e| refused(e.to_string()))?
            .with_header("signature", &request.signature);
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = http::StatusCode::from_u16(status).map_err(|e| refused(e.to_string()))?;
        parts.headers = headers.clone();
        let base = signature_base(params, &parts, Some(&sent)).map_err(|e| refused(e.to_string()))?;
        verify_signature(params, &parsed.signature, &base, &key)
            .map_err(|_| refused("the answer's signature does not verify"))
    }
}
