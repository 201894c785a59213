//! What every request handler shares, behind one `Arc`: each middleware and
//! handler clones the state per request, so a clone is one reference count.

use std::sync::Arc;

use slipgate_guard::Clock;
use slipgate_guard::ratelimit::{RateLimitStore, RateLimits, TrustedProxies};
use slipgate_guard::replay::NonceStore;
use slipgate_guard::signature::{KeyRing, SignaturePolicy};
use slipgate_guard::token::TokenValidator;
use slipgate_payroll::{PayScale, PdfRenderer};

use crate::metrics::Metrics;

/// Shared state of the API router: a cheap handle to [`Shared`].
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// This state with another response signer (a test injects one that fails).
    #[must_use]
    pub fn with_response_signer(
        self,
        signer: Arc<dyn crate::middleware::response_sig::ResponseSigning>,
    ) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.0);
        shared.response_signer = signer;
        Self::new(shared)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The web console's static files (SPEC §8).
    pub console: Arc<crate::routes::console::Console>,
    /// The pay scale slips are computed with.
    pub scale: Arc<PayScale>,
    /// The PDF renderer, fonts parsed once.
    pub pdf: Arc<PdfRenderer>,
    /// The request-signing keys.
    pub keys: Arc<KeyRing>,
    /// Where used nonces are recorded.
    pub nonces: Arc<dyn NonceStore>,
    /// Validates bearer tokens (introspection or JWT).
    pub tokens: Arc<dyn TokenValidator>,
    /// `auth.require_bound_tokens`: user tokens must be key-bound (SPEC §3.2.1).
    pub require_bound_tokens: bool,
    /// Where GCRA state lives.
    pub rate_store: Arc<dyn RateLimitStore>,
    /// When nonces and rate limits are both in Redis: the script that records a nonce and
    /// spends the user's quota in one round trip (SPEC §3.3 steps 6–8).
    pub redis_steps: Option<slipgate_guard::replay::RedisNonceAndQuota>,
    /// The `ip` and `user` policies.
    pub limits: RateLimits,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Required components and the freshness window.
    pub policy: SignaturePolicy,
    /// Wall-clock time (freshness, slip timestamps, default pay period).
    pub clock: Arc<dyn Clock>,
    /// What `/readyz` checks.
    pub probes: Vec<Arc<dyn crate::readiness::Probe>>,
    /// Permits for load shedding (`limits.max_concurrency`, `limits.max_concurrency_per_ip`).
    pub in_flight: crate::middleware::shed::InFlight,
    /// Signs every response (SPEC §3.8).
    pub response_signer: Arc<dyn crate::middleware::response_sig::ResponseSigning>,
    /// The names requests must be addressed to (SPEC §3.2).
    pub authorities: crate::middleware::authority::Authorities,
    /// Request counters and latencies.
    pub metrics: Arc<Metrics>,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Time allowed to receive a request body (`limits.body_timeout`).
    pub request_timeout: std::time::Duration,
    /// IPv6 clients are keyed by this prefix (`rate_limit.ipv6_prefix`).
    pub ipv6_prefix: u8,
    /// The API listener's connection counters (for `/metrics`).
    pub transport: Arc<slipgate_transport::TransportStats>,
}
