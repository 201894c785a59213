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
pub use slipgate_proto::config::{ConfigError, ConfigLoader, LogConfig, LogFormat, Validate};
use slipgate_proto::forwarded::{InvalidProxy, TrustedProxies};
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
    /// Session lifetime, counted from the login: refresh tokens never outlive
    /// it, rotation does not extend it (default `8h`).
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl: HumanDuration,
    /// Failed logins per (username, client IP) before a lockout (default 5, 1 … 100).
    #[serde(default = "default_login_max_failures")]
    pub login_max_failures: u32,
    /// The token-signing key, PKCS#8 PEM, 0600, generated when missing
    /// (default `signing-key.pem` beside the SQLite file; required with PostgreSQL).
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
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
    /// Browser origins (`https://host[:port]`, exact, no `*`, at most 32) answered with CORS
    /// headers on the token and revocation endpoints: the web console's (SPEC §8). Default none.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The admin listener (plain HTTP `/healthz`, `/readyz`, `/metrics`; SPEC §3.9).
    /// Default `127.0.0.1:9465`, or port 0 when unset and `listen` has port 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
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
            signing_key_file: None,
            login_max_failures_global: default_login_max_failures_global(),
            max_pending_logins: default_max_pending_logins(),
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            admin_listen: None,
        }
    }
}

impl IdpSection {
    /// Where the admin listener binds: `admin_listen`, else `127.0.0.1:9465`,
    /// else (with `listen` on port 0, as tests and `slipgate dev` run) a free port.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listen.unwrap_or_else(|| {
            let port = if self.listen.port() == 0 { 0 } else { 9465 };
            SocketAddr::from(([127, 0, 0, 1], port))
        })
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

    /// Where the signing key lives: `idp.signing_key_file`, else
    /// `signing-key.pem` beside the SQLite file. PostgreSQL (and an in-memory
    /// SQLite) has no such place, so the key must be named.
    pub fn signing_key_path(&self) -> Result<PathBuf, ConfigError> {
        if let Some(path) = &self.idp.signing_key_file {
            return Ok(path.clone());
        }
        let url = self.database_url()?;
        sqlite_file(url.expose()).map(|db| db.with_file_name("signing-key.pem")).ok_or_else(|| {
            ConfigError::Value { key: "idp.signing_key_file", message: KEY_FILE_REQUIRED.into() }
        })
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

const KEY_FILE_REQUIRED: &str = "required unless the database is a SQLite file (then it defaults to \
     signing-key.pem beside it): name a PKCS#8 PEM file every instance reads, e.g. \
     /etc/slipgate/signing-key.pem (generated 0600 when missing)";

/// The database file of a `sqlite:` URL, unless it is in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_owned())
}

/// An exact, serialised origin as a browser sends it in `Origin` (RFC 6454):
/// `https://host[:port]`, or `http://` for localhost/127.0.0.1; lower case, no
/// path, query, user info or wildcard.
#[must_use]
pub fn is_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.[]:".contains(&b));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    let scheme_ok =
        scheme == "https" || (scheme == "http" && matches!(host, "localhost" | "127.0.0.1" | "[::1]"));
    scheme_ok && host_ok && port_ok
}

/// `key` must lie within `min..=max`; the error names the key and the range.
fn in_range<T: PartialOrd + fmt::Display>(
    key: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::Value {
            key,
            message: format!("{value} is out of range: use {min} to {max}"),
        });
    }
    Ok(())
}

/// [`in_range`] for durations, written as in the configuration.
fn duration_in_range(
    key: &'static str,
    value: HumanDuration,
    min: Duration,
    max: Duration,
) -> Result<(), ConfigError> {
    in_range(key, Shown(value.0), Shown(min), Shown(max))
}

/// A duration displayed the way a user writes one (`10s`, `15m`, `8h`, `90d`).
#[derive(Clone, Copy, PartialEq, PartialOrd)]
struct Shown(Duration);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if self.0.subsec_millis() != 0 || secs == 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        match secs {
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
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
            if self.idp.signing_key_file.is_none() && sqlite_file(db).is_none() {
                return err("idp.signing_key_file", KEY_FILE_REQUIRED);
            }
        }
        if self.idp.signing_key_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return err("idp.signing_key_file", "must name a file");
        }
        if self.idp.admin_addr() == self.idp.listen && self.idp.listen.port() != 0 {
            return err("idp.admin_listen", "must differ from idp.listen");
        }
        let issuer = self.issuer();
        if !issuer.starts_with("https://") || issuer.len() <= "https://".len() {
            return err("idp.issuer", "must be the server's https:// URL, e.g. https://idp.example:8444");
        }
        if self.idp.audience.trim().is_empty() || self.idp.audience.contains(char::is_whitespace) {
            return err("idp.audience", "must be one non-empty word, e.g. slipgate-api");
        }
        let access = self.idp.access_token_ttl;
        duration_in_range("idp.access_token_ttl", access, ACCESS_TTL_RANGE.0, ACCESS_TTL_RANGE.1)?;
        duration_in_range("idp.refresh_token_ttl", self.idp.refresh_token_ttl, access.0, REFRESH_TTL_MAX)?;
        in_range("idp.login_max_failures", self.idp.login_max_failures, 1, 100)?;
        in_range("idp.login_max_failures_global", self.idp.login_max_failures_global, 1, 1_000_000)?;
        in_range("idp.max_pending_logins", self.idp.max_pending_logins, 1, 10_000)?;
        if let Err(e) = self.trusted_proxies() {
            return Err(ConfigError::Value { key: "idp.trusted_proxies", message: e.to_string() });
        }
        if self.idp.allowed_origins.len() > 32 {
            return err("idp.allowed_origins", "list at most 32 origins");
        }
        if let Some(bad) = self.idp.allowed_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::Value {
                key: "idp.allowed_origins",
                message: format!(
                    "`{}` is not an exact origin: write scheme://host[:port] (https, or http for \
                     localhost), lower case, no path, no `*`",
                    bad.chars().take(80).collect::<String>()
                ),
            });
        }
        Ok(())
    }
}

/// `idp.access_token_ttl`: short-lived tokens, but long enough to use.
pub const ACCESS_TTL_RANGE: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(86_400));
/// Longest `idp.refresh_token_ttl` (the shortest is `access_token_ttl`).
pub const REFRESH_TTL_MAX: Duration = Duration::from_secs(90 * 86_400);

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

    fn message(result: Result<IdpConfig, ConfigError>, key: &str) -> String {
        match result {
            Err(ConfigError::Value { key: k, message }) if k == key => message,
            other => panic!("expected an error on {key}, got {other:?}"),
        }
    }

    #[test]
    fn out_of_range_values_name_the_key_and_the_range() {
        let m = message(load(&["idp.access_token_ttl=\"5s\""]), "idp.access_token_ttl");
        assert_eq!(m, "5s is out of range: use 10s to 1d");
        let m = message(load(&["idp.access_token_ttl=\"2d\""]), "idp.access_token_ttl");
        assert_eq!(m, "2d is out of range: use 10s to 1d");
        let m = message(load(&["idp.refresh_token_ttl=\"91d\""]), "idp.refresh_token_ttl");
        assert_eq!(m, "91d is out of range: use 15m to 90d");
        let m = message(load(&["idp.login_max_failures=101"]), "idp.login_max_failures");
        assert_eq!(m, "101 is out of range: use 1 to 100");
        for bound in ["idp.access_token_ttl=\"10s\"", "idp.refresh_token_ttl=\"90d\""] {
            load(&[bound]).unwrap();
        }
    }

    #[test]
    fn rejects_unknown_keys_naming_them() {
        for (key, section) in [("idp.signing_key", "idp"), ("tls.chain", "tls"), ("log.level", "log")] {
            let Err(ConfigError::Invalid { message, .. }) = load(&[&format!("{key}=\"x\"")]) else {
                panic!("{key} accepted")
            };
            let field = key.trim_start_matches(section).trim_start_matches('.');
            assert!(message.contains(&format!("unknown field `{field}`")), "{message}");
        }
    }

    #[test]
    fn rejects_a_negative_count_as_a_type_error() {
        assert!(matches!(load(&["idp.login_max_failures=-1"]), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn signing_key_defaults_beside_the_sqlite_file() {
        let config = load(&["idp.database=\"sqlite:///var/lib/slipgate/idp.db\""]).unwrap();
        assert_eq!(config.signing_key_path().unwrap(), PathBuf::from("/var/lib/slipgate/signing-key.pem"));
        let config = load(&[]).unwrap();
        assert_eq!(config.signing_key_path().unwrap(), PathBuf::from("signing-key.pem"));
        let config = load(&["idp.signing_key_file=\"/run/k.pem\""]).unwrap();
        assert_eq!(config.signing_key_path().unwrap(), PathBuf::from("/run/k.pem"));
    }

    #[test]
    fn postgres_requires_a_signing_key_file() {
        let m = message(load(&["idp.database=\"postgres://idp@db/idp\""]), "idp.signing_key_file");
        assert!(m.contains("required"), "{m}");
        let m = message(load(&["idp.database=\"sqlite::memory:\""]), "idp.signing_key_file");
        assert!(m.contains("required"), "{m}");
        let config =
            load(&["idp.database=\"postgres://idp@db/idp\"", "idp.signing_key_file=\"/k.pem\""]).unwrap();
        assert_eq!(config.signing_key_path().unwrap(), PathBuf::from("/k.pem"));
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
