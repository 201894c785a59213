//! The Slipgate salary-slip service (SPEC §3): `POST /generate/salaryslip`
//! over TLS, plus the admin listener.
//!
//! A binary loads a [`Config`], binds the two listeners and calls [`run`] with a
//! shutdown future; tests call [`router`] with an [`AppState`] and drive it with
//! `tower::ServiceExt::oneshot`, without a socket.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use slipgate_api::{ConfigLoader, Listeners, run};
//!
//! let config: slipgate_api::Config = ConfigLoader::new().file("api.toml".as_ref())?.env()?.load()?;
//! let listeners = Listeners::bind(&config).await?;
//! run(config, listeners, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! # Security
//! Every check of SPEC §3.3, in its order, in one stack built by [`router`]
//! from [`guard_stack`]: the per-IP rate limit and load shedding, the `Host`
//! and the request shape, the RFC 9421 signature with its `Content-Digest` and
//! nonce (registry keys, or key-bound `HTTPSig` tokens, SPEC §3.2.1), the
//! token, the per-user rate limit, the scope (the layers come from
//! `slipgate-guard`), then the strict parse, the object-level rule of §3.4 and
//! field validation in the handler. Every refusal is one type, [`Rejection`],
//! written out by one renderer ([`middleware::problem`]). TLS 1.2/1.3 only, connection caps and timeouts come from
//! `slipgate-transport`. Every response carries `Cache-Control: no-store`,
//! HSTS, `nosniff` and an Ed25519 response signature (§3.8); errors are RFC
//! 9457 problems that never echo tokens or salary data. Not covered here: the
//! identity server's own defences (`slipgate-idp`).

pub mod audit;
pub mod config;
pub mod devpki;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod readiness;
pub mod routes;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use slipgate_guard::ratelimit::{
    MemoryRateLimitStore, PerIpLimit, PerUserLimit, RateLimitStore, RateLimits, RedisRateLimitStore,
    TrustedProxies,
};
use slipgate_guard::replay::{MemoryNonceStore, NonceStore, RedisNonceAndQuota, RedisNonceStore};
use slipgate_guard::signature::{SignatureLayer, SignaturePolicy};
use slipgate_guard::token::{self, ScopeLayer, TokenLayer, TokenValidator};
use slipgate_guard::{Chain, Guarded};
use slipgate_guard::{Clock, DEFAULT_REDIS_CONNECT_TIMEOUT, RedisConnection, SystemClock};
use slipgate_payroll::{PayScale, PdfRenderer};
use slipgate_transport::{self as transport, ConnLimits, tls};
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, ConfigLoader};
pub use middleware::respond::RequestId;
use middleware::{authority, respond, response_sig, shape, shed, sign};
pub use slipgate_guard::Rejection;
pub use state::AppState;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] slipgate_transport::tls::TlsError),
    /// The identity-server client could not be built.
    #[error("cannot set up token validation: {0}")]
    Token(#[from] slipgate_guard::token::TokenError),
    /// The response-signing key could not be loaded.
    #[error(transparent)]
    ResponseKey(#[from] response_sig::ResponseKeyError),
    /// A signing key could not be loaded.
    #[error(transparent)]
    Keys(#[from] keys::KeyLoadError),
    /// The pay scale could not be loaded.
    #[error("cannot load the pay scale: {0}")]
    PayScale(#[from] slipgate_payroll::PayScaleError),
    /// The PDF fonts could not be prepared.
    #[error("cannot prepare the PDF renderer: {0}")]
    Pdf(#[from] slipgate_payroll::PdfError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The two bound listeners the service answers on.
#[derive(Debug)]
pub struct Listeners {
    /// The TLS API listener.
    pub api: TcpListener,
    /// The plain-HTTP admin listener.
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds `server.listen` and `server.admin_listen`.
    pub async fn bind(config: &Config) -> Result<Self, RunError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|source| RunError::Bind { addr, source })
        };
        Ok(Self { api: bind(config.server.listen).await?, admin: bind(config.server.admin_listen).await? })
    }
}

impl AppState {
    /// Builds the shared state from `config`, reading the system clock.
    pub fn from_config(config: &Config) -> Result<Self, RunError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds the shared state with an explicit clock (tests).
    pub fn with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, RunError> {
        let scale = match &config.payroll.pay_scale {
            Some(path) => PayScale::load(path)?,
            None => PayScale::builtin()?,
        };
        let authorities = match &config.tls.cert {
            Some(cert) => authority::Authorities::from_pem_file(cert, &config.server.authorities),
            None => authority::Authorities::new(None, &config.server.authorities),
        }
        .map_err(|e| ConfigError::Value { key: "server.authorities", message: e.to_string() })?;
        // The slip header names the employer of the scale, laid out as its `[slip]` table says.
        let pdf = PdfRenderer::new()?.with_layout(scale.slip_layout().clone());
        let transport = Arc::<slipgate_transport::TransportStats>::default();
        let guard_metrics = slipgate_guard::metrics::GuardMetrics::default();
        let stores = Stores::from_config(config, &guard_metrics)?;
        let metrics = metrics::Metrics::new(
            metrics::Sources {
                nonces: stores.nonces.clone(),
                transport: transport.clone(),
                max_concurrency: u64::from(config.limits.max_concurrency),
            },
            guard_metrics.clone(),
        );
        // One HTTPS client for the identity server: token checks and readiness share it.
        let idp_http = token::idp_client(config.auth.ca.as_deref(), config.auth.timeout.0)?;
        let mut probes: Vec<Arc<dyn readiness::Probe>> =
            vec![Arc::new(readiness::IdpProbe::at(idp_http.clone(), config.auth.metadata_endpoint()))];
        if let Some(redis) = &stores.redis {
            probes.push(Arc::new(readiness::RedisProbe(redis.clone())));
        }
        probes.push(Arc::new(readiness::LogSinkProbe));
        Ok(Self::new(state::Shared {
            console: Arc::new(routes::console::Console::new(
                config.auth.issuer.as_deref().or(config.auth.idp_url.as_deref()),
            )),
            tokens: token_validator(&config.auth, idp_http, clock.clone(), guard_metrics)?,
            probes,
            keys: Arc::new(keys::load(&config.signature.keys)?),
            nonces: stores.nonces,
            require_bound_tokens: config.auth.require_bound_tokens,
            rate_store: stores.rates,
            redis_steps: stores.steps,
            limits: RateLimits { ip: config.rate_limit.ip, user: config.rate_limit.user },
            trusted_proxies: TrustedProxies::parse(&config.rate_limit.trusted_proxies).map_err(|e| {
                ConfigError::Value { key: "rate_limit.trusted_proxies", message: e.to_string() }
            })?,
            policy: SignaturePolicy::new().with_max_skew(config.signature.max_skew.0),
            scale: Arc::new(scale),
            pdf: Arc::new(pdf),
            clock,
            response_signer: Arc::new(match &config.signature.response_key_file {
                Some(path) => response_sig::ResponseSigner::from_pem_file(path)?,
                None => response_sig::ResponseSigner::generate()?,
            }),
            authorities,
            metrics: Arc::new(metrics),
            in_flight: shed::InFlight::new(
                usize::try_from(config.limits.max_concurrency).unwrap_or(usize::MAX),
                config.limits.max_concurrency_per_ip,
            ),
            max_body: usize::try_from(config.limits.max_body.0).unwrap_or(usize::MAX),
            // The whole body within `body_timeout` (and never past `request_timeout`).
            request_timeout: config.limits.body_timeout.0.min(config.limits.request_timeout.0),
            ipv6_prefix: config.rate_limit.ipv6_prefix,
            transport,
        }))
    }
}

/// The nonce and rate-limit stores the configuration names.
struct Stores {
    nonces: Arc<dyn NonceStore>,
    rates: Arc<dyn RateLimitStore>,
    redis: Option<RedisConnection>,
    /// Both stores in Redis: steps 6–8 in one round trip.
    steps: Option<RedisNonceAndQuota>,
}

impl Stores {
    fn from_config(
        config: &Config,
        metrics: &slipgate_guard::metrics::GuardMetrics,
    ) -> Result<Self, RunError> {
        use config::StoreKind;
        let redis = match &config.redis.url {
            Some(url)
                if config.replay.store == StoreKind::Redis || config.rate_limit.store == StoreKind::Redis =>
            {
                // Lazy: the API starts (and reports not ready) while Redis is down.
                let conn = RedisConnection::lazy(url, DEFAULT_REDIS_CONNECT_TIMEOUT)
                    .map_err(|e| ConfigError::Value { key: "redis.url", message: e.to_string() })?
                    .with_timeout(config.redis.timeout.0)
                    .with_metrics(metrics.clone());
                Some(conn)
            }
            _ => None,
        };
        let redis_nonces = match (&redis, config.replay.store) {
            (Some(conn), StoreKind::Redis) => Some(RedisNonceStore::new(conn.clone())),
            _ => None,
        };
        let redis_rates = match (&redis, config.rate_limit.store) {
            (Some(conn), StoreKind::Redis) => Some(RedisRateLimitStore::new(conn.clone())),
            _ => None,
        };
        let steps = match (&redis_nonces, &redis_rates) {
            (Some(nonces), Some(rates)) => Some(RedisNonceAndQuota::new(nonces.clone(), rates.clone())),
            _ => None,
        };
        let nonces: Arc<dyn NonceStore> = match redis_nonces {
            Some(store) => Arc::new(store),
            None => Arc::new(MemoryNonceStore::new(
                usize::try_from(config.replay.max_memory.0).unwrap_or(usize::MAX),
            )),
        };
        let rates: Arc<dyn RateLimitStore> = match redis_rates {
            Some(store) => Arc::new(store),
            None => Arc::new(MemoryRateLimitStore::new(
                usize::try_from(config.rate_limit.max_keys).unwrap_or(usize::MAX),
            )),
        };
        Ok(Self { nonces, rates, redis, steps })
    }
}

/// The token validator `auth` describes.
fn token_validator(
    auth: &config::AuthConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    metrics: slipgate_guard::metrics::GuardMetrics,
) -> Result<Arc<dyn TokenValidator>, RunError> {
    let url = auth.idp_url.clone().unwrap_or_default();
    let claims = auth.claim_map();
    Ok(match auth.mode {
        config::AuthMode::Introspection => {
            let (Some(id), Some(file)) = (&auth.client_id, &auth.client_secret_file) else {
                return Err(ConfigError::Value {
                    key: "auth.client_id",
                    message: "required for introspection".into(),
                }
                .into());
            };
            let secret = std::fs::read_to_string(file).map_err(|e| ConfigError::Value {
                key: "auth.client_secret_file",
                message: format!("cannot read {}: {e}", file.display()),
            })?;
            let secret = token::ClientSecret::from(secret.trim());
            Arc::new(
                token::Introspector::new(http, &url, id.clone(), secret, auth.cache_ttl.0, clock)?
                    .with_url(auth.introspection_endpoint())
                    .with_audience(auth.audience.clone())
                    .with_claims(claims)
                    .with_metrics(metrics),
            )
        }
        config::AuthMode::Jwt => {
            let issuer = auth.issuer.clone().unwrap_or_else(|| url.trim_end_matches('/').to_owned());
            Arc::new(
                token::JwtValidator::new(http, &url, issuer, auth.audience.clone(), clock)
                    .with_typ(auth.jwt_typ.clone())
                    .with_jwks_url(auth.jwks_endpoint())
                    .with_claims(claims)
                    .with_jwks_refresh(auth.jwks_refresh.0)
                    .with_metrics(metrics),
            )
        }
    })
}

/// Every guard layer of SPEC §3.3, built once from the state: the per-IP
/// limit (step 1), which [`router`] puts around the whole API (before
/// shedding and routing), and the slip route's layers, which this value
/// applies as one [`tower::Layer`], outermost first: the request shape (step
/// 2), signature, digest and nonce (steps 3–6; for `Authorization: HTTPSig`
/// the token is validated inside between steps 3 and 4, SPEC §3.2.1), the
/// token (step 7), the per-user rate limit (step 8) and the scope (step 9).
/// The handler runs steps 10–13.
#[derive(Debug, Clone)]
pub struct GuardStack {
    /// Step 1, around everything.
    pub per_ip: PerIpLimit,
    /// Step 2 on the slip route.
    pub shape: shape::ShapeCheck,
    /// Steps 3–6.
    pub signature: SignatureLayer,
    /// Step 7.
    pub token: TokenLayer,
    /// Step 8.
    pub per_user: PerUserLimit,
    /// Step 9.
    pub scope: ScopeLayer,
}

/// The guard layers `state` configures (see [`GuardStack`]).
pub fn guard_stack(state: &AppState) -> GuardStack {
    let token = TokenLayer::new(state.tokens.clone()).with_require_bound(state.require_bound_tokens);
    let mut signature = SignatureLayer::new(state.keys.clone(), state.nonces.clone(), state.clock.clone())
        .with_policy(state.policy.clone())
        .with_body_limits(state.max_body, state.request_timeout)
        .with_bound_tokens(state.tokens.clone());
    if let Some(steps) = &state.redis_steps {
        // Both stores in Redis: the nonce and the user's quota in one round trip.
        signature = signature.with_redis_steps(steps.clone(), state.limits.user, token.clone());
    }
    GuardStack {
        per_ip: PerIpLimit::new(
            state.rate_store.clone(),
            state.limits,
            state.trusted_proxies.clone(),
            state.clock.clone(),
        )
        .with_ipv6_prefix(state.ipv6_prefix),
        shape: shape::ShapeCheck::new(state.max_body),
        signature,
        token,
        per_user: PerUserLimit::new(state.rate_store.clone(), state.limits.user, state.clock.clone()),
        scope: ScopeLayer,
    }
}

/// The slip route's guards, steps 2 → 9 (the per-IP limit is not in it).
type RouteGuards<S> = Guarded<
    Chain<shape::ShapeCheck, Chain<SignatureLayer, Chain<TokenLayer, Chain<PerUserLimit, ScopeLayer>>>>,
    S,
>;

impl<S> tower::Layer<S> for GuardStack {
    type Service = RouteGuards<S>;

    // One guard on the route, the five chained in order, not five layers:
    // each layer boxes its future and clones every service below it per
    // request (`route_layer`s would box and clone those too).
    fn layer(&self, inner: S) -> Self::Service {
        let chain = Chain(
            self.shape,
            Chain(
                self.signature.clone(),
                Chain(self.token.clone(), Chain(self.per_user.clone(), self.scope)),
            ),
        );
        Guarded::new(chain, inner)
    }
}

/// `router` with the layers every API answer passes, guarded or not:
/// problem rendering, security headers, request id, audit and metrics
/// ([`respond`]) inside response signing ([`sign`], outermost, SPEC §3.8).
pub fn with_response_layers(router: Router<AppState>, state: &AppState) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), sign::respond_and_sign))
        .with_state(state.clone())
}

/// The API's routes with every layer in SPEC §3.3 order.
///
/// Layers listed later wrap earlier ones, so the request meets them
/// outermost first: response signing (§3.8) and problem rendering
/// ([`with_response_layers`]), the per-IP rate limit then the per-IP and
/// global concurrency caps (step 1), the `Host` check and routing (step 2),
/// then on the slip route the rest of [`guard_stack`] (steps 2–9) and the
/// handler's JSON parse, object-level rule, validation and generation (steps
/// 10–13).
pub fn router(state: AppState) -> Router {
    let guards = guard_stack(&state);
    let slip = post(routes::slip::generate).route_layer(guards.clone());
    let api = Router::new()
        .route(slipgate_proto::SLIP_PATH, slip)
        .route("/openapi.json", get(routes::openapi::openapi))
        .route("/.well-known/slipgate-keys", get(routes::openapi::response_keys))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        // Shedding, then the `Host` check, after the per-IP rate limit (SPEC §3.3 steps 1, 2).
        .layer(axum::middleware::from_fn_with_state(state.clone(), authority::admission))
        .layer(guards.per_ip);
    let api = with_response_layers(api, &state);
    // The console's static files: outside the guard stack, with their own headers (SPEC §8).
    Router::new().merge(routes::console::router(state.console.clone())).merge(api)
}

/// The admin listener's routes.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::admin::healthz))
        .route("/readyz", get(routes::admin::readyz))
        .route("/metrics", get(routes::admin::metrics))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), respond::respond))
        .with_state(state)
}

/// Runs the API and admin listeners until `shutdown` resolves, then drains.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let state = AppState::from_config(&config)?;
    run_with_state(config, state, listeners, shutdown).await
}

/// [`run`] with prepared state (tests inject a clock this way).
pub async fn run_with_state(
    config: Config,
    state: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    config::Validate::validate(&config)?;
    let (cert, key) = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => (cert, key),
        _ => {
            return Err(ConfigError::Value {
                key: "tls.cert",
                message: "tls.cert and tls.key are required".into(),
            }
            .into());
        }
    };
    let tls = tls::server_config_with_client_ca(cert, key, config.tls.client_ca.as_deref())?;
    let limits = ConnLimits {
        header_timeout: config.limits.header_timeout.0,
        idle_timeout: config.limits.idle_timeout.0,
        max_connections: usize::try_from(config.limits.max_connections).unwrap_or(usize::MAX),
        max_connections_per_ip: usize::try_from(config.limits.max_connections_per_ip).unwrap_or(usize::MAX),
        ipv6_prefix: config.rate_limit.ipv6_prefix,
        proxy_protocol_from: config.proxy_protocol_from()?,
        stats: state.transport.clone(),
    };
    // The admin listener: no PROXY protocol, its own counters.
    let admin_limits =
        ConnLimits { proxy_protocol_from: Vec::new(), stats: Arc::default(), ..limits.clone() };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    tracing::info!(
        api = %listeners.api.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        admin = %listeners.admin.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        "slipgate api listening"
    );
    let admin = tokio::spawn(transport::serve_plain(
        listeners.admin,
        admin_router(state.clone()),
        admin_limits,
        stopped(stop_rx.clone()),
    ));
    let api = transport::serve_tls(listeners.api, tls, router(state), limits, stopped(stop_rx));
    let trigger = async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };
    tokio::join!(api, trigger);
    let _ = admin.await;
    Ok(())
}
