//! The API's configuration (SPEC §6; reference in `docs/configuration.md`).
//!
//! Layers, later ones winning: built-in defaults → the TOML file →
//! `SLIPGATE_<SECTION>__<KEY>` environment variables → command-line overrides
//! (the layering is [`ConfigLoader`], shared with the identity server).
//! Unknown keys are errors at every layer, and [`Validate::validate`] checks the
//! whole result at start so a bad file fails fast with a message naming the key.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
pub use slipgate_proto::config::{ConfigError, ConfigLoader, LogConfig, LogFormat, Validate};
use slipgate_proto::units::{ByteSize, HumanDuration, Rate};

/// The whole API configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen addresses.
    #[serde(default)]
    pub server: ServerConfig,
    /// Certificates.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Request signatures (SPEC §3.2).
    #[serde(default)]
    pub signature: SignatureConfig,
    /// The nonce store.
    #[serde(default)]
    pub replay: ReplayConfig,
    /// Bearer tokens from the identity server (SPEC §4).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Rate limits (SPEC §3.7).
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// The shared Redis (or Valkey) for `store = "redis"`.
    #[serde(default)]
    pub redis: RedisConfig,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The pay scale.
    #[serde(default)]
    pub payroll: PayrollConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The API's TLS listener (default `127.0.0.1:8443`; port 0 picks one).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The plain-HTTP admin listener for `/healthz`, `/readyz`, `/metrics`
    /// (default `127.0.0.1:9464`). Keep it on localhost or a private network.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: SocketAddr,
    /// Host names or IP addresses (no port) requests may be addressed to, in
    /// addition to the server certificate's subjectAltName names (default
    /// none; at most 256). SPEC §3.2.
    #[serde(default)]
    pub authorities: Vec<String>,
    /// Peers (addresses or CIDRs, e.g. the load balancer) whose connections
    /// must begin with a PROXY protocol v2 header naming the client (default
    /// none: the TCP peer is the client).
    #[serde(default)]
    pub proxy_protocol_from: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            admin_listen: default_admin_listen(),
            authorities: Vec::new(),
            proxy_protocol_from: Vec::new(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub key: Option<PathBuf>,
    /// PEM CA of client certificates; when set, mutual TLS is required.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// `[signature]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    /// The keys clients sign with; several at once for rotation.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Allowed clock difference either way for `created` (default `300s`).
    #[serde(default = "default_max_skew")]
    pub max_skew: HumanDuration,
    /// The Ed25519 PKCS#8 PEM key that signs responses; a fresh key per
    /// process when unset (share one file across instances behind a balancer).
    #[serde(default)]
    pub response_key_file: Option<PathBuf>,
}

impl Default for SignatureConfig {
    fn default() -> Self {
        Self { keys: Vec::new(), max_skew: default_max_skew(), response_key_file: None }
    }
}

fn default_max_skew() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

impl SignatureConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError::Value {
                key: "signature.keys",
                message: "no signing keys: add a [[signature.keys]] entry (`slipgate keys new` prints one)"
                    .into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for key in &self.keys {
            if key.id.is_empty() || key.id.len() > 128 || !seen.insert(key.id.as_str()) {
                return Err(ConfigError::Value {
                    key: "signature.keys",
                    message: format!("key id `{}` is empty, too long or given twice", key.id),
                });
            }
            let ok = match key.alg.as_str() {
                "hmac-sha256" => key.secret_file.is_some() && key.public_key_file.is_none(),
                "ecdsa-p256-sha256" | "ed25519" => key.public_key_file.is_some() && key.secret_file.is_none(),
                other => {
                    return Err(ConfigError::Value {
                        key: "signature.keys",
                        message: format!(
                            "key `{}`: unknown alg `{other}` (use hmac-sha256, ecdsa-p256-sha256 or ed25519)",
                            key.id
                        ),
                    });
                }
            };
            if !ok {
                return Err(ConfigError::Value {
                    key: "signature.keys",
                    message: format!(
                        "key `{}`: hmac-sha256 takes secret_file, the others public_key_file (exactly one)",
                        key.id
                    ),
                });
            }
        }
        let skew = self.max_skew.0;
        if skew.is_zero() || skew > std::time::Duration::from_secs(3600) {
            return Err(ConfigError::Value {
                key: "signature.max_skew",
                message: format!("{} is out of range: use 1s to 1h", self.max_skew),
            });
        }
        Ok(())
    }
}

/// One `[[signature.keys]]` entry: `{id, alg, secret_file}` for HMAC,
/// `{id, alg, public_key_file}` (SPKI PEM) for the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The `keyid` clients put in their signatures.
    pub id: String,
    /// `hmac-sha256`, `ecdsa-p256-sha256` or `ed25519`.
    pub alg: String,
    /// HMAC only: a file holding the base64 secret (at least 32 bytes).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// ECDSA and Ed25519: an SPKI public key in PEM.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
}

/// `[auth]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `introspection` (default) or `jwt`.
    #[serde(default)]
    pub mode: AuthMode,
    /// The identity server's base URL, `https://…`.
    #[serde(default)]
    pub idp_url: Option<String>,
    /// PEM CA that signed the identity server's certificate (system roots when unset).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Introspection: the registered client the API authenticates as.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Introspection: a file holding that client's secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Introspection: how long a verdict is cached (default `30s`; never past `exp`).
    #[serde(default = "default_cache_ttl")]
    pub cache_ttl: HumanDuration,
    /// JWT mode: the expected `iss` (default: `idp_url`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// JWT mode: the expected `aud` (default `slipgate-api`).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Bound on each call to the identity server (default `3s`).
    #[serde(default = "default_auth_timeout")]
    pub timeout: HumanDuration,
    /// JWT mode: the accepted JOSE `typ` values (default `["at+jwt",
    /// "application/at+jwt"]`; each one of those or `JWT`).
    #[serde(default = "default_jwt_typ")]
    pub jwt_typ: Vec<String>,
    /// JWT mode: the JWKS is re-read at least this often, so a withdrawn key
    /// stops working (default `5m`, from `10s` to `24h`).
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh: HumanDuration,
    /// Refuse user tokens that are not bound to the client's key (SPEC §3.2.1): a user
    /// token as `Bearer` is then 401 `token_invalid`, while service tokens (client
    /// credentials) with registry keys keep working (default `false`).
    #[serde(default)]
    pub require_bound_tokens: bool,
    /// Introspection: the RFC 7662 endpoint (default `<idp_url>/oauth/introspect`;
    /// another provider's `introspection_endpoint`).
    #[serde(default)]
    pub introspection_url: Option<String>,
    /// JWT mode: the JWK set (default `<idp_url>/.well-known/jwks.json`; another
    /// provider's `jwks_uri`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// What `/readyz` fetches to see the identity server up (default
    /// `<idp_url>/.well-known/oauth-authorization-server`; another provider's
    /// `/.well-known/openid-configuration`).
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// The claims holding the employee record (default Slipgate's names).
    #[serde(default)]
    pub claims: ClaimsConfig,
    /// The provider's scopes that grant `salaryslip:self` and `salaryslip:any`.
    #[serde(default)]
    pub scopes: ScopesConfig,
}

/// `[auth.claims]`: the claim names of the employee record (SPEC §3.4) in another
/// provider's tokens and introspection answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConfig {
    /// The employee id (default `emp_id`).
    #[serde(default = "default_claim_emp_id")]
    pub emp_id: String,
    /// The department code (default `emp_code`).
    #[serde(default = "default_claim_emp_code")]
    pub emp_code: String,
    /// The employee's name (default `name`; `emp_name` is accepted as this key's alias).
    #[serde(default = "default_claim_name", alias = "emp_name")]
    pub name: String,
    /// The pay grade (default `emp_grade`).
    #[serde(default = "default_claim_emp_grade")]
    pub emp_grade: String,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        let map = slipgate_guard::token::ClaimMap::default();
        Self { emp_id: map.emp_id, emp_code: map.emp_code, name: map.emp_name, emp_grade: map.emp_grade }
    }
}

fn default_claim_emp_id() -> String {
    ClaimsConfig::default().emp_id
}
fn default_claim_emp_code() -> String {
    ClaimsConfig::default().emp_code
}
fn default_claim_name() -> String {
    ClaimsConfig::default().name
}
fn default_claim_emp_grade() -> String {
    ClaimsConfig::default().emp_grade
}

/// `[auth.scopes]`: the provider's scope names (RFC 6749 §3.3 scope tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopesConfig {
    /// Grants `salaryslip:self` (default `salaryslip:self`).
    #[serde(rename = "self", default = "default_scope_self")]
    pub self_: String,
    /// Grants `salaryslip:any` (default `salaryslip:any`).
    #[serde(default = "default_scope_any")]
    pub any: String,
}

impl Default for ScopesConfig {
    fn default() -> Self {
        Self { self_: default_scope_self(), any: default_scope_any() }
    }
}

fn default_scope_self() -> String {
    slipgate_guard::token::SCOPE_SELF.to_owned()
}
fn default_scope_any() -> String {
    slipgate_guard::token::SCOPE_ANY.to_owned()
}

impl AuthConfig {
    /// The claim and scope mapping of `[auth.claims]` and `[auth.scopes]`.
    #[must_use]
    pub fn claim_map(&self) -> slipgate_guard::token::ClaimMap {
        slipgate_guard::token::ClaimMap {
            emp_id: self.claims.emp_id.clone(),
            emp_code: self.claims.emp_code.clone(),
            emp_name: self.claims.name.clone(),
            emp_grade: self.claims.emp_grade.clone(),
            scope_self: self.scopes.self_.clone(),
            scope_any: self.scopes.any.clone(),
        }
    }

    /// `base` (the identity server's URL) joined with `path`.
    fn at_idp(&self, path: &str) -> String {
        format!("{}{path}", self.idp_url.as_deref().unwrap_or_default().trim_end_matches('/'))
    }

    /// The RFC 7662 endpoint introspection mode asks.
    #[must_use]
    pub fn introspection_endpoint(&self) -> String {
        self.introspection_url.clone().unwrap_or_else(|| self.at_idp(slipgate_proto::oauth::INTROSPECT_PATH))
    }

    /// The JWK set jwt mode reads.
    #[must_use]
    pub fn jwks_endpoint(&self) -> String {
        self.jwks_url.clone().unwrap_or_else(|| self.at_idp(slipgate_proto::oauth::JWKS_PATH))
    }

    /// What `/readyz` fetches.
    #[must_use]
    pub fn metadata_endpoint(&self) -> String {
        self.metadata_url.clone().unwrap_or_else(|| self.at_idp("/.well-known/oauth-authorization-server"))
    }
}

/// A claim name of `[auth.claims]`: 1 to 64 characters, none of them whitespace or control.
fn claim_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.chars().count()) && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A scope of `[auth.scopes]`: an RFC 6749 §3.3 scope-token of 1 to 128 characters.
fn scope_token_ok(scope: &str) -> bool {
    (1..=128).contains(&scope.len())
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Introspection,
            idp_url: None,
            ca: None,
            client_id: None,
            client_secret_file: None,
            cache_ttl: default_cache_ttl(),
            issuer: None,
            audience: default_audience(),
            timeout: default_auth_timeout(),
            jwt_typ: default_jwt_typ(),
            jwks_refresh: default_jwks_refresh(),
            require_bound_tokens: false,
            introspection_url: None,
            jwks_url: None,
            metadata_url: None,
            claims: ClaimsConfig::default(),
            scopes: ScopesConfig::default(),
        }
    }
}

fn default_jwt_typ() -> Vec<String> {
    slipgate_guard::token::DEFAULT_JWT_TYP.iter().map(|t| (*t).to_owned()).collect()
}

fn default_jwks_refresh() -> HumanDuration {
    HumanDuration(slipgate_guard::token::DEFAULT_JWKS_REFRESH)
}

/// The range of `auth.jwks_refresh`.
pub const JWKS_REFRESH_RANGE: std::ops::RangeInclusive<std::time::Duration> =
    std::time::Duration::from_secs(10)..=std::time::Duration::from_secs(24 * 3600);

fn default_cache_ttl() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

fn default_audience() -> String {
    "slipgate-api".to_owned()
}

fn default_auth_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(3))
}

/// How the API validates bearer tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// RFC 7662 introspection, cached.
    #[default]
    Introspection,
    /// Local JWT verification against the provider's JWKS.
    Jwt,
}

impl AuthConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let value =
            |key: &'static str, message: &str| ConfigError::Value { key, message: message.to_owned() };
        let url = self
            .idp_url
            .as_deref()
            .ok_or_else(|| value("auth.idp_url", "set the identity server's https:// URL"))?;
        if !url.starts_with("https://") {
            return Err(value("auth.idp_url", "must be an https:// URL: tokens never travel in clear text"));
        }
        if self.mode == AuthMode::Introspection
            && (self.client_id.is_none() || self.client_secret_file.is_none())
        {
            return Err(value(
                "auth.client_id",
                "introspection needs auth.client_id and auth.client_secret_file (`slipgate idp client add` creates one)",
            ));
        }
        if self.timeout.0.is_zero() {
            return Err(value("auth.timeout", "must be greater than zero"));
        }
        if !JWKS_REFRESH_RANGE.contains(&self.jwks_refresh.0) {
            return Err(value("auth.jwks_refresh", "must be from 10s to 24h"));
        }
        let known = slipgate_httpsig::jose::TYP_KNOWN;
        if self.jwt_typ.is_empty()
            || !self.jwt_typ.iter().all(|t| known.iter().any(|k| k.eq_ignore_ascii_case(t)))
        {
            return Err(value(
                "auth.jwt_typ",
                "must list one or more of \"at+jwt\", \"application/at+jwt\" and \"JWT\" (RFC 9068 access tokens are at+jwt; accepting JWT lets other tokens of the same key pass)",
            ));
        }
        self.check_mapping()
    }

    /// `auth.introspection_url`, `auth.jwks_url`, `auth.metadata_url`, `[auth.claims]`, `[auth.scopes]`.
    fn check_mapping(&self) -> Result<(), ConfigError> {
        let value = |key: &'static str, message: String| ConfigError::Value { key, message };
        for (key, url) in [
            ("auth.introspection_url", &self.introspection_url),
            ("auth.jwks_url", &self.jwks_url),
            ("auth.metadata_url", &self.metadata_url),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://")
                    && reqwest::Url::parse(url).is_ok_and(|u| u.host().is_some()))
            {
                return Err(value(key, format!("{url:?} is out of range: use an https:// URL")));
            }
        }
        for (key, name) in [
            ("auth.claims.emp_id", &self.claims.emp_id),
            ("auth.claims.emp_code", &self.claims.emp_code),
            ("auth.claims.name", &self.claims.name),
            ("auth.claims.emp_grade", &self.claims.emp_grade),
        ] {
            if !claim_name_ok(name) {
                return Err(value(
                    key,
                    format!(
                        "{name:?} is out of range: use a claim name of 1 to 64 characters without whitespace"
                    ),
                ));
            }
        }
        for (key, scope) in [("auth.scopes.self", &self.scopes.self_), ("auth.scopes.any", &self.scopes.any)]
        {
            if !scope_token_ok(scope) {
                return Err(value(
                    key,
                    format!(
                        "{scope:?} is out of range: use one scope of 1 to 128 printable ASCII characters without space, `\"` or `\\` (RFC 6749 §3.3)"
                    ),
                ));
            }
        }
        if self.scopes.self_ == self.scopes.any {
            return Err(value(
                "auth.scopes.any",
                format!(
                    "{:?} is also auth.scopes.self: the two scopes must differ, or every self token could generate any slip",
                    self.scopes.any
                ),
            ));
        }
        Ok(())
    }
}

/// `[rate_limit]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Per client address, checked before any crypto (default `600/min`).
    #[serde(default = "default_ip_rate")]
    pub ip: Rate,
    /// Per authenticated user (default `120/min`).
    #[serde(default = "default_user_rate")]
    pub user: Rate,
    /// `memory` (default) or `redis` (shared by every instance).
    #[serde(default)]
    pub store: StoreKind,
    /// Addresses (or CIDRs) of proxies whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Memory store only: most keys tracked (default 100000).
    #[serde(default = "default_max_keys")]
    pub max_keys: u32,
    /// IPv6 clients are keyed by this prefix length (default 64; 32..=128),
    /// for rate limits, concurrency and connection caps.
    #[serde(default = "default_ipv6_prefix")]
    pub ipv6_prefix: u8,
}

fn default_ipv6_prefix() -> u8 {
    64
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            ip: default_ip_rate(),
            user: default_user_rate(),
            store: StoreKind::Memory,
            trusted_proxies: Vec::new(),
            max_keys: default_max_keys(),
            ipv6_prefix: default_ipv6_prefix(),
        }
    }
}

fn default_ip_rate() -> Rate {
    Rate {
        quota: std::num::NonZeroU32::new(600).unwrap_or(std::num::NonZeroU32::MIN),
        per: std::time::Duration::from_secs(60),
    }
}

fn default_user_rate() -> Rate {
    Rate {
        quota: std::num::NonZeroU32::new(120).unwrap_or(std::num::NonZeroU32::MIN),
        per: std::time::Duration::from_secs(60),
    }
}

fn default_max_keys() -> u32 {
    100_000
}

/// `[redis]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:6379/0` or `rediss://…` (TLS).
    #[serde(default)]
    pub url: Option<String>,
    /// Bound on each Redis call; past it the request fails closed (default `250ms`).
    #[serde(default = "default_redis_timeout")]
    pub timeout: HumanDuration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self { url: None, timeout: default_redis_timeout() }
    }
}

fn default_redis_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_millis(250))
}

/// `[replay]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// `memory` (default, one instance) or `redis` (shared by every instance).
    #[serde(default)]
    pub store: StoreKind,
    /// Memory store only: the bytes its tables may reserve (default `256MiB`,
    /// range `1MiB` to `64GiB`; ≤ 16 bytes per live nonce). A nonce is kept until
    /// `created + max_skew`; when the budget is spent, new requests get 503
    /// `overloaded` until entries expire (a live nonce is never forgotten).
    #[serde(default = "default_max_memory")]
    pub max_memory: ByteSize,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self { store: StoreKind::Memory, max_memory: default_max_memory() }
    }
}

fn default_max_memory() -> ByteSize {
    ByteSize(256 * 1024 * 1024)
}

/// Where shared state lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In this process.
    #[default]
    Memory,
    /// In Redis, shared by every instance.
    Redis,
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest accepted request body (default `16KiB`).
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Time allowed for the TLS handshake and the request head (default `10s`).
    #[serde(default = "default_header_timeout")]
    pub header_timeout: HumanDuration,
    /// Time allowed for a whole request, body included (default `30s`).
    #[serde(default = "default_request_timeout")]
    pub request_timeout: HumanDuration,
    /// Requests served at once; more are shed with 503 `overloaded` (default 1024).
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: u32,
    /// A connection with no request in flight is closed after it (default `60s`).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// The whole request body must arrive within it (default `10s`).
    #[serde(default = "default_body_timeout")]
    pub body_timeout: HumanDuration,
    /// Open connections at most (default 10000).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Open connections per client address (default 64).
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: u32,
    /// Requests served at once per client address (default 32).
    #[serde(default = "default_max_concurrency_per_ip")]
    pub max_concurrency_per_ip: u32,
}

fn default_idle_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(60))
}

fn default_body_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(10))
}

fn default_max_connections() -> u32 {
    10_000
}

fn default_max_connections_per_ip() -> u32 {
    64
}

fn default_max_concurrency_per_ip() -> u32 {
    32
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body: default_max_body(),
            header_timeout: default_header_timeout(),
            request_timeout: default_request_timeout(),
            max_concurrency: default_max_concurrency(),
            idle_timeout: default_idle_timeout(),
            body_timeout: default_body_timeout(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            max_concurrency_per_ip: default_max_concurrency_per_ip(),
        }
    }
}

fn default_max_concurrency() -> u32 {
    1024
}

fn default_max_body() -> ByteSize {
    ByteSize(16 * 1024)
}

fn default_header_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(10))
}

fn default_request_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

/// `[payroll]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayrollConfig {
    /// A pay-scale TOML file; the built-in scale when absent.
    pub pay_scale: Option<PathBuf>,
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.tls.cert.is_none() || self.tls.key.is_none() {
            return Err(ConfigError::Value {
                key: "tls.cert",
                message: "the API serves TLS only: set tls.cert and tls.key to PEM files \
                          (`slipgate dev` generates a development pair)"
                    .into(),
            });
        }
        self.signature.check()?;
        self.auth.check()?;
        let uses_redis = self.replay.store == StoreKind::Redis || self.rate_limit.store == StoreKind::Redis;
        if uses_redis && self.redis.url.is_none() {
            return Err(ConfigError::Value {
                key: "redis.url",
                message: "a store is `redis`: set redis.url (redis://host:6379/0)".into(),
            });
        }
        if let Err(e) = slipgate_guard::ratelimit::TrustedProxies::parse(&self.rate_limit.trusted_proxies) {
            return Err(ConfigError::Value { key: "rate_limit.trusted_proxies", message: e.to_string() });
        }
        if self.rate_limit.max_keys == 0 || self.redis.timeout.0.is_zero() {
            return Err(ConfigError::Value {
                key: "rate_limit.max_keys",
                message: "rate_limit.max_keys and redis.timeout must be greater than zero".into(),
            });
        }
        if !(1 << 20..=64 << 30).contains(&self.replay.max_memory.0) {
            return Err(ConfigError::Value {
                key: "replay.max_memory",
                message: format!("{} is out of range: use 1MiB to 64GiB", self.replay.max_memory),
            });
        }
        if self.limits.max_body.0 == 0 || self.limits.max_body.0 > 16 * 1024 * 1024 {
            return Err(ConfigError::Value {
                key: "limits.max_body",
                message: format!("{} is out of range: use 1B to 16MiB", self.limits.max_body),
            });
        }
        if self.limits.max_concurrency == 0 {
            return Err(ConfigError::Value {
                key: "limits.max_concurrency",
                message: "must be at least 1".into(),
            });
        }
        if self.limits.header_timeout.0.is_zero() || self.limits.request_timeout.0.is_zero() {
            return Err(ConfigError::Value {
                key: "limits.header_timeout",
                message: "timeouts must be greater than zero".into(),
            });
        }
        if self.server.authorities.len() > 256 {
            return Err(ConfigError::Value {
                key: "server.authorities",
                message: format!("{} entries is out of range: use 0 to 256", self.server.authorities.len()),
            });
        }
        if let Err(e) = crate::middleware::authority::validate_names(&self.server.authorities) {
            return Err(ConfigError::Value { key: "server.authorities", message: e.to_string() });
        }
        self.check_transport()?;
        if self.server.listen == self.server.admin_listen && self.server.listen.port() != 0 {
            return Err(ConfigError::Value {
                key: "server.admin_listen",
                message: format!("must differ from server.listen ({})", self.server.listen),
            });
        }
        Ok(())
    }
}

impl Config {
    /// The transport keys (SPEC §6), each against its documented range.
    fn check_transport(&self) -> Result<(), ConfigError> {
        use std::time::Duration;
        let secs = Duration::from_secs;
        let durations = [
            ("limits.idle_timeout", self.limits.idle_timeout.0, secs(1), secs(3600), "1s to 1h"),
            ("limits.body_timeout", self.limits.body_timeout.0, secs(1), secs(600), "1s to 10m"),
        ];
        for (key, value, min, max, range) in durations {
            if value < min || value > max {
                return Err(ConfigError::Value {
                    key,
                    message: format!("{value:?} is out of range: use {range}"),
                });
            }
        }
        let counts = [
            ("limits.max_connections", self.limits.max_connections, 1_000_000),
            ("limits.max_connections_per_ip", self.limits.max_connections_per_ip, 1_000_000),
            ("limits.max_concurrency_per_ip", self.limits.max_concurrency_per_ip, 1_000_000),
        ];
        for (key, value, max) in counts {
            if value == 0 || value > max {
                return Err(ConfigError::Value {
                    key,
                    message: format!("{value} is out of range: use 1 to {max}"),
                });
            }
        }
        if !(32..=128).contains(&self.rate_limit.ipv6_prefix) {
            return Err(ConfigError::Value {
                key: "rate_limit.ipv6_prefix",
                message: format!("{} is out of range: use 32 to 128", self.rate_limit.ipv6_prefix),
            });
        }
        self.proxy_protocol_from()?;
        Ok(())
    }

    /// `server.proxy_protocol_from`, parsed.
    pub fn proxy_protocol_from(&self) -> Result<Vec<slipgate_proto::net::IpRange>, ConfigError> {
        self.server
            .proxy_protocol_from
            .iter()
            .map(|entry| {
                entry.parse().map_err(|e: slipgate_proto::net::InvalidRange| ConfigError::Value {
                    key: "server.proxy_protocol_from",
                    message: e.to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
