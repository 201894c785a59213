//! The Slipgate identity server (SPEC §4; user guide in
//! `docs/identity-server.md`): users and registered clients in SQLite or
//! PostgreSQL, and the OAuth 2.0 endpoints over TLS — authorization (a login
//! form, code with PKCE, for the web console), token (password, refresh-token,
//! authorization-code and client-credentials grants, signed or not), introspection (RFC 7662),
//! revocation (RFC 7009), JWKS and RFC 8414 metadata.
//!
//! A binary loads an [`IdpConfig`], binds with [`bind`] and calls [`run`] with a
//! shutdown future; tests build an [`IdpState`] with a manual clock and call
//! [`run_with_state`] or drive [`router`] directly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use slipgate_idp::{ConfigLoader, IdpConfig, bind, run};
//!
//! let config: IdpConfig = ConfigLoader::new().file("idp.toml".as_ref())?.env()?.load()?;
//! let listener = bind(&config).await?;
//! run(config, listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! # Security
//! HTTPS only (TLS 1.2/1.3 through `slipgate-transport`). Passwords are
//! argon2id hashes checked on a bounded blocking pool; an unknown username
//! costs one verification against a dummy hash, like a wrong password. Failed
//! logins are throttled per username and per IP ([`throttle`]). Access tokens
//! are short-lived EdDSA JWTs; refresh tokens are random, stored hashed, rotate
//! on use, and a reused one revokes its whole session. Client secrets are
//! generated, stored as SHA-256 and compared in constant time. No password,
//! secret or token is ever logged, and secret types redact their `Debug`.
//!
//! The signing key lives in its own 0600 file, never in the database
//! ([`keys`]); the SQLite files are 0600 from creation and the server refuses
//! to start on a database or key file open to group or others ([`files`]). A
//! user token is active only while its login session is live ([`sessions`]).
//! Confidential clients authenticate on every grant, and a token is revoked
//! only by the client it was issued to.
//!
//! A password or refresh request signed with the client's own key
//! (`routes::signed`, SPEC §4) gets a token bound to that key (`cnf.htsk`,
//! `token_type: "httpsig"`); its session refreshes only with that key, and its
//! nonce is recorded in the store, after the credentials, once for all
//! instances.
//!
//! Not covered: a *bearer* token stolen before it expires is usable by the
//! thief until it is revoked (introspection mode) or expires (JWT mode); a bound
//! one also needs the client's private key at the API.

pub mod admin;
pub mod config;
mod crypto;
pub mod error;
pub mod files;
pub mod keys;
pub mod ops;
pub mod routes;
pub mod secret;
pub mod sessions;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tokens;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use http::{HeaderValue, header};
use slipgate_proto::clock::SystemClock;
use slipgate_proto::oauth;
use slipgate_transport::{ConnLimits, serve_tls, tls};
use tokio::net::TcpListener;

pub use admin::{
    AdminError, ClientSummary, DevSeed, DevUser, EmployeeRecord, Role, UserSummary, check_password,
    client_add, client_add_public, client_add_with_scopes, client_list, client_redirect_uris, client_remove,
    client_rotate_secret, client_set_redirect_uris, seed_dev, seed_dev_with, user_add, user_disable,
    user_enable, user_list, user_passwd, user_update,
};
pub use config::{ConfigError, ConfigLoader, IdpConfig, Validate};
pub use error::OAuthError;
pub use secret::Secret;
pub use state::IdpState;
pub use store::{EmployeeUpdate, PgStore, SqliteStore, Store, StoreError, open_existing_store, open_store};
pub use tokens::AccessClaims;

/// Bound on the TLS handshake and each request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the identity server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The database could not be opened or migrated.
    #[error("identity store: {0}")]
    Store(#[from] StoreError),
    /// The signing key could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// Password hashing failed at start.
    #[error(transparent)]
    Hash(#[from] crypto::HashError),
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The identity server's routes.
pub fn router(state: IdpState) -> Router {
    Router::new()
        .route(
            oauth::AUTHORIZE_PATH,
            get(routes::authorize::authorize_form).post(routes::authorize::authorize_submit),
        )
        .route(oauth::TOKEN_PATH, post(routes::token::token))
        .route(oauth::INTROSPECT_PATH, post(routes::introspect::introspect))
        .route(oauth::REVOKE_PATH, post(routes::revoke::revoke))
        .route(oauth::JWKS_PATH, get(routes::wellknown::jwks))
        .route(oauth::METADATA_PATH, get(routes::wellknown::metadata))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), routes::authorize::cors))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(slipgate_proto::headers::HSTS_VALUE),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Binds `idp.listen`.
pub async fn bind(config: &IdpConfig) -> Result<TcpListener, RunError> {
    let addr = config.idp.listen;
    TcpListener::bind(addr).await.map_err(|source| RunError::Bind { addr, source })
}

/// Binds the admin listener, `idp.admin_listen` ([`config::IdpSection::admin_addr`]).
pub async fn bind_admin(config: &IdpConfig) -> Result<TcpListener, RunError> {
    let addr = config.idp.admin_addr();
    TcpListener::bind(addr).await.map_err(|source| RunError::Bind { addr, source })
}

/// Opens the store, runs its migrations, and serves until `shutdown` resolves
/// (without the admin listener: [`run_with_admin`] adds it).
pub async fn run(
    config: IdpConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_with_admin(config, listener, None, shutdown).await
}

/// [`run`], also serving the admin listener `admin` (`/healthz`, `/readyz`,
/// `/metrics`, [`ops`]) when given.
pub async fn run_with_admin(
    config: IdpConfig,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    config.validate()?;
    let url = config.database_url()?;
    let store = open_store(url.expose()).await?;
    let state = IdpState::new(&config, store, Arc::new(SystemClock)).await?;
    serve(config, state, listener, admin, shutdown).await
}

/// [`run`] with prepared state (tests inject a store and a clock this way).
pub async fn run_with_state(
    config: IdpConfig,
    state: IdpState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    serve(config, state, listener, None, shutdown).await
}

async fn serve(
    config: IdpConfig,
    state: IdpState,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    config.validate()?;
    let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) else {
        return Err(ConfigError::Value {
            key: "tls.cert",
            message: "tls.cert and tls.key are required".into(),
        }
        .into());
    };
    let tls = tls::server_config(cert, key)?;
    if let Err(error) =
        state.store.purge_expired(state.clock.unix_seconds(), routes::revoke::PURGE_GRACE_SECS).await
    {
        tracing::warn!(%error, "purging expired tokens failed");
    }
    let addr = |l: &TcpListener| l.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string());
    tracing::info!(
        listen = %addr(&listener),
        admin = admin.as_ref().map(addr),
        kid = %state.keys.kid(),
        "slipgate identity server listening"
    );
    let reloader = tokio::spawn(reload_keys(state.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let limits = ConnLimits { header_timeout: HEADER_TIMEOUT, ..ConnLimits::default() };
    let admin = admin.map(|admin| {
        tokio::spawn(slipgate_transport::serve_plain(
            admin,
            ops::admin_router(state.clone()),
            limits.clone(),
            stopped(stop_rx.clone()),
        ))
    });
    let tls_limits = ConnLimits { stats: state.metrics.transport(), ..limits };
    let trigger = async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };
    tokio::join!(serve_tls(listener, tls, router(state), tls_limits, stopped(stop_rx)), trigger);
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    reloader.abort();
    Ok(())
}

/// Re-reads the key file every [`keys::RELOAD_SECS`], so `slipgate idp keys
/// rotate` takes effect on running servers.
async fn reload_keys(state: IdpState) {
    let mut tick = tokio::time::interval(Duration::from_secs(keys::RELOAD_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(error) = state.reload_keys().await {
            tracing::error!(%error, "cannot reload the signing key; still signing with the one loaded");
        }
    }
}
