//! The API's configuration (SPEC §6; reference in `docs/configuration.md`).
//!
//! Layers, later ones winning: built-in defaults → the TOML file →
//! `SLIPGATE_<SECTION>__<KEY>` environment variables → command-line overrides.
//! Unknown keys are errors at every layer, and [`Config::validate`] checks the
//! whole result at start so a bad file fails fast with a message naming the key.
//! This is the only module that reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipgate_proto::units::{ByteSize, HumanDuration};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML (file, environment or override) is malformed or has unknown keys.
    #[error("invalid configuration{origin}: {message}")]
    Invalid {
        /// Where the bad value came from, e.g. ` in api.toml`.
        origin: String,
        /// toml's message, which names the key.
        message: String,
    },
    /// An override was not `section.key=value`.
    #[error("invalid override `{0}`: expected section.key=value")]
    Override(String),
    /// A value is well-formed but unusable.
    #[error("invalid value for `{key}`: {message}")]
    Value {
        /// The dotted key.
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { listen: default_listen(), admin_listen: default_admin_listen() }
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
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body: default_max_body(),
            header_timeout: default_header_timeout(),
            request_timeout: default_request_timeout(),
        }
    }
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

/// `[log]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `json` (default) or `pretty`.
    #[serde(default)]
    pub format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Human-friendly lines.
    Pretty,
}

/// Builds a [`Config`] from its layers.
#[derive(Debug, Default)]
pub struct ConfigLoader {
    table: toml::Table,
}

impl ConfigLoader {
    /// Starts from the built-in defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Layers a TOML file over what is there.
    pub fn file(mut self, path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            origin: format!(" in {}", path.display()),
            message: e.message().to_owned(),
        })?;
        merge(&mut self.table, table);
        Ok(self)
    }

    /// Layers `SLIPGATE_<SECTION>__<KEY>` variables from the process environment.
    pub fn env(self) -> Result<Self, ConfigError> {
        self.env_from(std::env::vars())
    }

    /// Layers `SLIPGATE_<SECTION>__<KEY>` variables from `vars`.
    pub fn env_from(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("SLIPGATE_") else { continue };
            let Some((section, key)) = rest.split_once("__") else { continue };
            let dotted = format!("{}.{}", section.to_ascii_lowercase(), key.to_ascii_lowercase());
            self.set(&dotted, &value, &format!(" in environment variable {name}"))?;
        }
        Ok(self)
    }

    /// Layers one `section.key=value` override (command-line flags).
    pub fn set_override(mut self, assignment: &str) -> Result<Self, ConfigError> {
        let (key, value) =
            assignment.split_once('=').ok_or_else(|| ConfigError::Override(assignment.to_owned()))?;
        self.set(key.trim(), value.trim(), &format!(" in override `{key}`"))?;
        Ok(self)
    }

    fn set(&mut self, dotted: &str, raw: &str, origin: &str) -> Result<(), ConfigError> {
        let (section, key) =
            dotted.split_once('.').ok_or_else(|| ConfigError::Override(dotted.to_owned()))?;
        // A value that parses as TOML (a number, an array, a quoted string) is
        // taken as such; anything else is a plain string.
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let entry =
            self.table.entry(section.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = entry else {
            return Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                message: format!("`{section}` is not a section"),
            });
        };
        section_table.insert(key.to_owned(), value);
        Ok(())
    }

    /// Deserializes and validates the layered table.
    pub fn load(self) -> Result<Config, ConfigError> {
        let config: Config = self.table.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid {
            origin: String::new(),
            message: e.message().to_owned(),
        })?;
        config.validate()?;
        Ok(config)
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

impl Config {
    /// Checks the values that deserialization cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls.cert.is_none() || self.tls.key.is_none() {
            return Err(ConfigError::Value {
                key: "tls.cert",
                message: "the API serves TLS only: set tls.cert and tls.key to PEM files \
                          (`slipgate dev` generates a development pair)"
                    .into(),
            });
        }
        if self.limits.max_body.0 == 0 || self.limits.max_body.0 > 16 * 1024 * 1024 {
            return Err(ConfigError::Value {
                key: "limits.max_body",
                message: format!("{} is out of range: use 1B to 16MiB", self.limits.max_body),
            });
        }
        if self.limits.header_timeout.0.is_zero() || self.limits.request_timeout.0.is_zero() {
            return Err(ConfigError::Value {
                key: "limits.header_timeout",
                message: "timeouts must be greater than zero".into(),
            });
        }
        if self.server.listen == self.server.admin_listen && self.server.listen.port() != 0 {
            return Err(ConfigError::Value {
                key: "server.admin_listen",
                message: format!("must differ from server.listen ({})", self.server.listen),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
