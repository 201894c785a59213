//! [`Client`]: signed calls to the salary-slip API with automatic token renewal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use slipgate_proto::{Problem, ProblemCode, Slip, SlipRequest};

use crate::RequestSigner;
use crate::error::{ClientError, retry_after};
use crate::tokens::TokenManager;

/// What to ask the API for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The JSON slip.
    Json,
    /// The A4 PDF slip.
    Pdf,
}

/// A generated slip.
#[derive(Debug, Clone)]
pub enum Generated {
    /// The JSON document (also parsed).
    Json(Box<Slip>, Bytes),
    /// The PDF bytes.
    Pdf(Bytes),
}

/// An HTTPS client (rustls, aws-lc-rs, TLS 1.2/1.3) trusting `ca` when given,
/// else the system roots.
pub fn https_client(ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    let builder = reqwest::Client::builder().timeout(timeout).https_only(true);
    let builder = match ca {
        None => builder,
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca)
                .map_err(|e| ClientError::Config(format!("cannot read CA file {}: {e}", ca.display())))?;
            for cert in certs {
                let cert = cert
                    .map_err(|e| ClientError::Config(format!("bad certificate in {}: {e}", ca.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Config(format!("bad certificate in {}: {e}", ca.display())))?;
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| ClientError::Config(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            builder.tls_backend_preconfigured(config)
        }
    };
    builder.build().map_err(|e| ClientError::Config(format!("cannot build the HTTPS client: {e}")))
}

/// A signing client for the salary-slip API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    slip_url: reqwest::Url,
    signer: RequestSigner,
    tokens: Arc<TokenManager>,
}

impl Client {
    /// A client for the API at `api_url` (e.g. `https://127.0.0.1:8443`).
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        signer: RequestSigner,
        tokens: Arc<TokenManager>,
    ) -> Result<Self, ClientError> {
        let slip_url = reqwest::Url::parse(api_url)
            .and_then(|u| u.join(slipgate_proto::SLIP_PATH))
            .map_err(|e| ClientError::Config(format!("invalid API URL `{api_url}`: {e}")))?;
        Ok(Self { http, slip_url, signer, tokens })
    }

    /// The token manager.
    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    /// Generates one slip. A `token_invalid` answer renews the token (refresh,
    /// then the prompt) and retries once, re-signed with a fresh nonce.
    pub async fn generate(&self, request: &SlipRequest, format: Format) -> Result<Generated, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
        let mut token = self.tokens.access_token().await?;
        let mut renewed = false;
        loop {
            match self.send_once(&body, format, &token).await {
                Err(e) if e.code() == Some(ProblemCode::TokenInvalid) && !renewed => {
                    token = self.tokens.renew(&token).await?;
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, body: &[u8], format: Format, token: &str) -> Result<Generated, ClientError> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(slipgate_proto::headers::JSON));
        let accept = match format {
            Format::Json => slipgate_proto::headers::JSON,
            Format::Pdf => slipgate_proto::headers::PDF,
        };
        headers.insert(http::header::ACCEPT, HeaderValue::from_static(accept));
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ClientError::InvalidResponse("the access token is not a valid header value".into())
        })?;
        auth.set_sensitive(true);
        headers.insert(http::header::AUTHORIZATION, auth);
        self.signer.sign(&Method::POST, &self.slip_url, &mut headers, body)?;
        let response = self
            .http
            .post(self.slip_url.clone())
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| ClientError::transport(&e))?;
        let status = response.status();
        let retry = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| ClientError::transport(&e))?;
        if !status.is_success() {
            let problem: Problem = serde_json::from_slice(&bytes).map_err(|_| {
                ClientError::InvalidResponse(format!("status {status} without a problem body"))
            })?;
            return Err(ClientError::Problem {
                status: status.as_u16(),
                problem: Box::new(problem),
                retry_after: retry,
            });
        }
        match format {
            Format::Json => {
                let slip: Slip = serde_json::from_slice(&bytes)
                    .map_err(|e| ClientError::InvalidResponse(format!("not a slip document: {e}")))?;
                Ok(Generated::Json(Box::new(slip), bytes))
            }
            Format::Pdf if bytes.starts_with(b"%PDF-") => Ok(Generated::Pdf(bytes)),
            Format::Pdf => Err(ClientError::InvalidResponse("the answer is not a PDF".into())),
        }
    }
}
