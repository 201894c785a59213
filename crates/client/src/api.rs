//! [`Client`]: signed calls to the salary-slip API that repair what they can:
//! token renewal, clock skew, rate limits and transient failures.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use slipgate_proto::{Problem, ProblemCode, Slip, SlipRequest};

use crate::RequestSigner;
use crate::builder::ClientBuilder;
use crate::error::{ClientError, retry_after};
use crate::pins::ServerKeys;
use crate::response::{ResponseVerifier, SentRequest};
use crate::retry::{self, RetryPolicy};
use crate::skew::{DEFAULT_MAX_CORRECTION, Observed, OffsetClock, observe, server_time};
use crate::tokens::TokenManager;
use slipgate_proto::clock::Clock as _;

/// What to ask the API for: the JSON slip or the A4 PDF (the one type the API
/// negotiates too, [`slipgate_proto::Format`]).
pub use slipgate_proto::Format;

/// A generated slip.
#[derive(Debug, Clone)]
pub enum Generated {
    /// The JSON document (also parsed).
    Json(Box<Slip>, Bytes),
    /// The PDF bytes.
    Pdf(Bytes),
}

/// An HTTPS client (rustls, aws-lc-rs, TLS 1.2/1.3) trusting `ca` when given,
/// else the system roots. It offers HTTP/2 and HTTP/1.1. Its failures name
/// their cause: [`ClientError::Refused`], [`ClientError::UnknownHost`],
/// [`ClientError::TlsVerification`] (with the certificate's issuer and what
/// was trusted).
pub fn https_client(ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    https_client_with(ca, None, timeout, false)
}

/// [`https_client`] presenting a client certificate for mutual TLS:
/// `identity` is `(certificate chain PEM, private key PEM)`.
pub fn https_client_mtls(
    ca: Option<&Path>,
    identity: (&Path, &Path),
    timeout: Duration,
) -> Result<reqwest::Client, ClientError> {
    https_client_with(ca, Some(identity), timeout, false)
}

/// [`https_client`], speaking only HTTP/1.1 when `http1_only` (one request per
/// connection at a time: what a load generator counting connections wants).
pub(crate) fn https_client_with(
    ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
    timeout: Duration,
    http1_only: bool,
) -> Result<reqwest::Client, ClientError> {
    let mut config = crate::tls::client_config(ca, identity)?;
    config.alpn_protocols =
        if http1_only { vec![b"http/1.1".to_vec()] } else { vec![b"h2".to_vec(), b"http/1.1".to_vec()] };
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .https_only(true)
        .dns_resolver(crate::connect::SystemResolver)
        .tls_backend_preconfigured(config);
    let builder = if http1_only { builder.http1_only() } else { builder };
    builder.build().map_err(|e| ClientError::Config(format!("cannot build the HTTPS client: {e}")))
}

/// A signing client for the salary-slip API.
///
/// Build one with [`Client::builder`] (or [`Client::new`]); it is cheap to
/// clone, and clones share the connection pool, the tokens and the learned
/// clock offset. See [`Client::generate`] for what it repairs on its own.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    slip_url: reqwest::Url,
    signer: RequestSigner,
    clock: Arc<OffsetClock>,
    tokens: Arc<TokenManager>,
    retry: RetryPolicy,
    verifier: Option<Arc<ResponseVerifier>>,
    max_correction: Duration,
}

impl Client {
    /// A client for the API at `api_url` (e.g. `https://127.0.0.1:8443`) with
    /// the default [`RetryPolicy`], trusting the response keys it sees first
    /// for its lifetime ([`ServerKeys::default`]; see [`Client::with_server_keys`]).
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        signer: RequestSigner,
        tokens: Arc<TokenManager>,
    ) -> Result<Self, ClientError> {
        let slip_url = crate::origin::parse_origin(api_url, crate::origin::Service::Api)?
            .join(slipgate_proto::SLIP_PATH)
            .map_err(|e| ClientError::Config(format!("invalid API URL `{api_url}`: {e}")))?;
        if signer.token_type() != tokens.token_type() {
            // The API refuses a bound token signed by a registry key, and an
            // unbound one presented as HTTPSig: a mismatch would fail every call.
            return Err(ClientError::Config(format!(
                "the signer presents {} tokens but the token manager obtains {} tokens: \
                 a device key needs IdpClient::with_device_key, a registry key an IdpClient without one",
                signer.token_type(),
                tokens.token_type()
            )));
        }
        let clock = Arc::new(OffsetClock::new(signer.clock().clone()));
        let signer = signer.with_clock(clock.clone());
        let origin = slip_url.origin().ascii_serialization();
        let verifier = Some(Arc::new(ResponseVerifier::new(http.clone(), &origin, ServerKeys::default())?));
        Ok(Self {
            http,
            slip_url,
            signer,
            clock,
            tokens,
            retry: RetryPolicy::default(),
            verifier,
            max_correction: DEFAULT_MAX_CORRECTION,
        })
    }

    /// Trusts these response keys: a fixed set, or a [`PinStore`](crate::pins::PinStore)
    /// that pins on first use (SPEC §3.8, §5).
    pub fn with_server_keys(mut self, trust: ServerKeys) -> Result<Self, ClientError> {
        let origin = self.slip_url.origin().ascii_serialization();
        self.verifier = Some(Arc::new(ResponseVerifier::new(self.http.clone(), &origin, trust)?));
        Ok(self)
    }

    /// The largest clock correction this client applies on its own
    /// ([`DEFAULT_MAX_CORRECTION`] by default; see [`crate::skew`]).
    pub fn with_max_clock_correction(mut self, max: Duration) -> Self {
        self.max_correction = max;
        self
    }

    /// A [`ClientBuilder`]: URL, CA, key, tokens and retry policy by name.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Stops checking the API's response signatures (SPEC §3.8). Answers are
    /// then believed even if changed in transit: only for APIs that do not
    /// sign, and never by default.
    pub fn danger_accept_unsigned_responses(mut self) -> Self {
        self.verifier = None;
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The token manager.
    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    /// The `POST /generate/salaryslip` URL.
    pub fn slip_url(&self) -> &reqwest::Url {
        &self.slip_url
    }

    /// The clock correction learned from the server so far, in milliseconds
    /// (server minus local; 0 until a skew was detected).
    pub fn clock_offset_millis(&self) -> i64 {
        self.clock.offset_millis()
    }

    /// Generates one slip.
    ///
    /// What it repairs on its own, each attempt signed afresh (new nonce):
    /// - `token_invalid`: renews the token (refresh, then the prompt) and
    ///   signs again, once per attempt;
    /// - a local clock more than 5 s off the server's, as a verified answer's
    ///   signed `created` shows (never the unsigned `Date`): warns, corrects
    ///   the signing clock within [`Client::with_max_clock_correction`] and,
    ///   when the answer was `request_expired`, signs again once; a larger
    ///   skew is [`ClientError::ClockSkew`];
    /// - `429`, `503` and transport failures: waits (`Retry-After`, else a
    ///   jittered backoff) and tries again, as the [`RetryPolicy`] allows.
    ///
    /// Every other error is returned at once.
    pub async fn generate(&self, request: &SlipRequest, format: Format) -> Result<Generated, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
        retry::run(&self.retry, tokio::time::sleep, || self.exchange(&body, format)).await
    }

    /// One attempt, with its token renewal and skew correction.
    async fn exchange(&self, body: &[u8], format: Format) -> Result<Generated, ClientError> {
        let mut token = self.tokens.access_token().await?;
        let mut renewed = false;
        let mut corrected = false;
        loop {
            let (result, created) = self.send_once(body, format, &token).await;
            let observed = created.map_or(Observed::InLine, |created| self.observe_server_time(created));
            let error = match result {
                Ok(generated) => return Ok(generated),
                Err(error) => error,
            };
            match (error.code(), observed) {
                (Some(ProblemCode::TokenInvalid), _) if !renewed => {
                    token = self.tokens.renew(&token).await?;
                    renewed = true;
                }
                (Some(ProblemCode::RequestExpired), Observed::Corrected(_)) if !corrected => {
                    corrected = true;
                }
                (Some(ProblemCode::RequestExpired), Observed::BeyondBound(offset)) => {
                    return Err(ClientError::ClockSkew {
                        offset_s: offset / 1000,
                        max_s: self.max_correction.as_secs(),
                    });
                }
                _ => return Err(error),
            }
        }
    }

    /// Learns the offset from a verified answer's `created`, within the bound.
    fn observe_server_time(&self, created: i64) -> Observed {
        let Some(server) = server_time(created) else { return Observed::InLine };
        let observed = observe(self.clock.offset_millis(), server, self.clock.now(), self.max_correction);
        match observed {
            Observed::Corrected(offset) => {
                tracing::warn!(
                    offset_s = offset / 1000,
                    "the local clock is {} s {} the API server's (from its signed answer); signing with the server's time (fix the clock, e.g. with NTP)",
                    (offset / 1000).unsigned_abs(),
                    if offset > 0 { "behind" } else { "ahead of" },
                );
                self.clock.set_offset_millis(offset);
            }
            Observed::BeyondBound(offset) => tracing::warn!(
                offset_s = offset / 1000,
                max_s = self.max_correction.as_secs(),
                "the local clock is further from the API server's than this client corrects on its own; fix the clock (e.g. with NTP)"
            ),
            Observed::InLine => {}
        }
        observed
    }

    /// One exchange; with the answer's signed `created` when it verified.
    async fn send_once(
        &self,
        body: &[u8],
        format: Format,
        token: &str,
    ) -> (Result<Generated, ClientError>, Option<i64>) {
        let (response, sent) = match self.post(body, format, token).await {
            Ok(sent) => sent,
            Err(e) => return (Err(e), None),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let retry = retry_after(&headers);
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return (Err(ClientError::transport(&e)), None),
        };
        let created = match &self.verifier {
            Some(verifier) => match verifier.verify(&sent, status.as_u16(), &headers, &bytes).await {
                Ok(verified) => Some(verified.created),
                Err(e) => {
                    let origin = self.slip_url.origin().ascii_serialization();
                    let diagnosed = crate::origin::wrong_service(
                        &origin,
                        crate::origin::Service::Api,
                        status.as_u16(),
                        &headers,
                        &bytes,
                    );
                    return (Err(diagnosed.unwrap_or(e)), None);
                }
            },
            None => None,
        };
        (parse_answer(status, retry, bytes, format), created)
    }

    async fn post(
        &self,
        body: &[u8],
        format: Format,
        token: &str,
    ) -> Result<(reqwest::Response, SentRequest), ClientError> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(slipgate_proto::headers::JSON));
        headers.insert(http::header::ACCEPT, HeaderValue::from_static(format.media_type()));
        let scheme = self.signer.token_type().scheme();
        let mut auth = HeaderValue::from_str(&format!("{scheme} {token}")).map_err(|_| {
            ClientError::InvalidResponse("the access token is not a valid header value".into())
        })?;
        auth.set_sensitive(true);
        headers.insert(http::header::AUTHORIZATION, auth);
        self.signer.sign(&Method::POST, &self.slip_url, &mut headers, body)?;
        let sent = SentRequest {
            method: Method::POST.to_string(),
            url: self.slip_url.clone(),
            signature: headers
                .get(slipgate_proto::headers::SIGNATURE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            label: crate::signer::LABEL.to_owned(),
        };
        let response = self
            .http
            .post(self.slip_url.clone())
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| ClientError::transport(&e))?;
        Ok((response, sent))
    }
}

fn parse_answer(
    status: reqwest::StatusCode,
    retry: Option<Duration>,
    bytes: Bytes,
    format: Format,
) -> Result<Generated, ClientError> {
    if !status.is_success() {
        let problem: Problem = serde_json::from_slice(&bytes)
            .map_err(|_| ClientError::InvalidResponse(format!("status {status} without a problem body")))?;
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
