//! The identity server's configuration (SPEC §6; reference in
//! `docs/identity-server.md`).
//!
//! Layers, later ones winning: defaults → TOML file → `SLIPGATE_<SECTION>__<KEY>`
//! → overrides, through the shared [`ConfigLoader`]. Unknown keys are errors and
//! [`Validate::validate`] checks the whole result at start.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use slipgate_guard::ratelimit::{InvalidProxy, TrustedProxies};
pub use slipgate_proto::config::{ConfigError, ConfigLoader, LogConfig, LogFormat, Validate};
use slipgate_proto::units::HumanDuration;

/// The whole identity-server configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// `[idp]`.
    #[serde(default)]
    pub idp: IdpSection,
    /// `[tls]`.
    #[serde(default)]
    pub tls: TlsConfig,
    /// `[log]`.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[idp]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSection {
    /// The TLS listener (default `127.0.0.1:8444`; port 0 picks one).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `sqlite://FILE` (default `sqlite://slipgate-idp.db`) or `postgres://…`.
    #[serde(default = "default_database")]
    pub database: DatabaseUrl,
    /// A file holding the database URL (for a PostgreSQL password); wins over `database`.
    #[serde(default)]
    pub database_file: Option<PathBuf>,
    /// The `iss` of every token and the base of the metadata URLs.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// The `aud` of every access token (default `slipgate-api`).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Access-token lifetime (default `15m`).
    #[serde(default = "default_access_ttl")]
    pub access_token_ttl: HumanDuration,
    /// Refresh-token lifetime, renewed on each rotation (default `8h`).
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl: HumanDuration,
    /// Failed logins per (username, client IP) before a lockout (default 5, 1 … 100).
    #[serde(default = "default_login_max_failures")]
    pub login_max_failures: u32,
    /// Failed logins per username over all IPs within an hour, after which only
    /// IPs the user logged in from in the last 30 days may try (default 100, 1 … 1000000).
    #[serde(default = "default_login_max_failures_global")]
    pub login_max_failures_global: u32,
    /// Password checks waiting or running at once; beyond, 503 (default 64, 1 … 10000).
    #[serde(default = "default_max_pending_logins")]
    pub max_pending_logins: u32,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDRs; default none).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

impl Default for IdpSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            database: default_database(),
            database_file: None,
            issuer: default_issuer(),
            audience: default_audience(),
            access_token_ttl: default_access_ttl(),
            refresh_token_ttl: default_refresh_ttl(),
            login_max_failures: default_login_max_failures(),
            login_max_failures_global: default_login_max_failures_global(),
            max_pending_logins: default_max_pending_logins(),
            trusted_proxies: Vec::new(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8444))
}
fn default_database() -> DatabaseUrl {
    DatabaseUrl("sqlite://slipgate-idp.db".into())
}
fn default_issuer() -> String {
    "https://127.0.0.1:8444".into()
}
fn default_audience() -> String {
    "slipgate-api".into()
}
fn default_access_ttl() -> HumanDuration {
    HumanDuration(Duration::from_secs(15 * 60))
}
fn default_refresh_ttl() -> HumanDuration {
    HumanDuration(Duration::from_secs(8 * 3600))
}
fn default_login_max_failures() -> u32 {
    5
}
fn default_login_max_failures_global() -> u32 {
    100
}
fn default_max_pending_logins() -> u32 {
    64
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

/// A database URL; `Debug` hides a password in it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    /// The URL itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, for messages.
    #[must_use]
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.clone() };
        let rest = url.get(scheme_end..).unwrap_or_default();
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let authority = rest.get(..authority_end).unwrap_or_default();
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = authority.get(..at).unwrap_or_default();
                let user = userinfo.split(':').next().unwrap_or_default();
                let masked =
                    if userinfo.contains(':') { format!("{user}:[redacted]") } else { user.to_owned() };
                format!(
                    "{}{masked}{}",
                    url.get(..scheme_end).unwrap_or_default(),
                    rest.get(at..).unwrap_or_default()
                )
            }
            None => url.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl IdpConfig {
    /// The database URL, read from `database_file` when that is set.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.idp.database_file {
            Some(path) => std::fs::read_to_string(path)
                .map(|s| DatabaseUrl(s.trim().to_owned()))
                .map_err(|source| ConfigError::Read { path: path.clone(), source }),
            None => Ok(self.idp.database.clone()),
        }
    }

    /// `idp.trusted_proxies`, parsed.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, InvalidProxy> {
        TrustedProxies::parse(&self.idp.trusted_proxies)
    }

    /// The issuer without a trailing slash.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.idp.issuer.trim_end_matches('/')
    }
}

impl Validate for IdpConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let err = |key, message: &str| Err(ConfigError::Value { key, message: message.to_owned() });
        if self.tls.cert.is_none() || self.tls.key.is_none() {
            return err(
                "tls.cert",
                "the identity server serves HTTPS only: set tls.cert and tls.key to PEM files \
                 (`slipgate dev` generates a development pair)",
            );
        }
        if self.idp.database_file.is_none() {
            let db = self.idp.database.expose();
            if !(db.starts_with("sqlite:")
                || db.starts_with("postgres://")
                || db.starts_with("postgresql://"))
            {
                return err("idp.database", "use sqlite://FILE or postgres://USER@HOST/DB");
            }
        }
        let issuer = self.issuer();
        if !issuer.starts_with("https://") || issuer.len() <= "https://".len() {
            return err("idp.issuer", "must be the server's https:// URL, e.g. https://idp.example:8444");
        }
        if self.idp.audience.trim().is_empty() || self.idp.audience.contains(char::is_whitespace) {
            return err("idp.audience", "must be one non-empty word, e.g. slipgate-api");
        }
        let access = self.idp.access_token_ttl.0;
        let refresh = self.idp.refresh_token_ttl.0;
        if access < Duration::from_secs(10) || access > Duration::from_secs(86_400) {
            return err("idp.access_token_ttl", "must lie between 10s and 1d (short-lived tokens)");
        }
        if refresh < access || refresh > Duration::from_secs(90 * 86_400) {
            return err("idp.refresh_token_ttl", "must lie between access_token_ttl and 90d");
        }
        if !(1..=100).contains(&self.idp.login_max_failures) {
            return err("idp.login_max_failures", "must lie between 1 and 100");
        }
        if !(1..=1_000_000).contains(&self.idp.login_max_failures_global) {
            return err("idp.login_max_failures_global", "must lie between 1 and 1000000");
        }
        if !(1..=10_000).contains(&self.idp.max_pending_logins) {
            return err("idp.max_pending_logins", "must lie between 1 and 10000");
        }
        if let Err(e) = self.trusted_proxies() {
            return Err(ConfigError::Value { key: "idp.trusted_proxies", message: e.to_string() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load(extra: &[&str]) -> Result<IdpConfig, ConfigError> {
        let mut loader =
            ConfigLoader::new().set_override("tls.cert=\"c.pem\"")?.set_override("tls.key=\"k.pem\"")?;
        for o in extra {
            loader = loader.set_override(o)?;
        }
        loader.load()
    }

    #[test]
    fn defaults_match_the_spec() {
        let config = load(&[]).unwrap();
        assert_eq!(config.idp.listen.to_string(), "127.0.0.1:8444");
        assert_eq!(config.idp.database.expose(), "sqlite://slipgate-idp.db");
        assert_eq!(config.issuer(), "https://127.0.0.1:8444");
        assert_eq!(config.idp.audience, "slipgate-api");
        assert_eq!(config.idp.access_token_ttl.0, Duration::from_secs(900));
        assert_eq!(config.idp.refresh_token_ttl.0, Duration::from_secs(8 * 3600));
        assert_eq!(config.idp.login_max_failures, 5);
        assert_eq!(config.idp.login_max_failures_global, 100);
        assert_eq!(config.idp.max_pending_logins, 64);
        assert!(config.idp.trusted_proxies.is_empty());
    }

    #[test]
    fn reads_environment_variables() {
        let config: IdpConfig = ConfigLoader::new()
            .env_from([
                ("SLIPGATE_IDP__ACCESS_TOKEN_TTL".to_owned(), "5m".to_owned()),
                ("SLIPGATE_TLS__CERT".to_owned(), "c.pem".to_owned()),
                ("SLIPGATE_TLS__KEY".to_owned(), "k.pem".to_owned()),
            ])
            .unwrap()
            .load()
            .unwrap();
        assert_eq!(config.idp.access_token_ttl.0, Duration::from_secs(300));
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(matches!(load(&["idp.colour=\"red\""]), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn rejects_missing_tls() {
        let result: Result<IdpConfig, _> = ConfigLoader::new().load();
        assert!(matches!(result, Err(ConfigError::Value { key: "tls.cert", .. })));
    }

    #[test]
    fn rejects_plain_http_issuer() {
        let result = load(&["idp.issuer=\"http://idp\""]);
        assert!(matches!(result, Err(ConfigError::Value { key: "idp.issuer", .. })));
    }

    #[test]
    fn rejects_refresh_shorter_than_access() {
        let result = load(&["idp.access_token_ttl=\"1h\"", "idp.refresh_token_ttl=\"30m\""]);
        assert!(matches!(result, Err(ConfigError::Value { key: "idp.refresh_token_ttl", .. })));
    }

    #[test]
    fn rejects_unknown_database_scheme() {
        let result = load(&["idp.database=\"mysql://x\""]);
        assert!(matches!(result, Err(ConfigError::Value { key: "idp.database", .. })));
    }

    #[test]
    fn rejects_zero_login_failures() {
        let result = load(&["idp.login_max_failures=0"]);
        assert!(matches!(result, Err(ConfigError::Value { key: "idp.login_max_failures", .. })));
    }

    #[test]
    fn rejects_throttle_values_out_of_range_naming_the_key() {
        for (set, key) in [
            ("idp.login_max_failures_global=0", "idp.login_max_failures_global"),
            ("idp.max_pending_logins=0", "idp.max_pending_logins"),
            ("idp.max_pending_logins=10001", "idp.max_pending_logins"),
            ("idp.trusted_proxies=[\"10.0.0.0/33\"]", "idp.trusted_proxies"),
        ] {
            match load(&[set]) {
                Err(ConfigError::Value { key: got, .. }) => assert_eq!(got, key, "{set}"),
                other => panic!("{set}: {other:?}"),
            }
        }
        let ok = load(&["idp.trusted_proxies=[\"10.0.0.0/8\", \"::1\"]"]).unwrap();
        assert!(ok.trusted_proxies().unwrap().contains("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn debug_hides_the_database_password() {
        let url = DatabaseUrl("postgres://app:s3cret@db:5432/idp".into());
        assert_eq!(url.redacted(), "postgres://app:[redacted]@db:5432/idp");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(DatabaseUrl("postgres://app@db/idp".into()).redacted(), "postgres://app@db/idp");
    }
}
