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
use slipgate_proto::units::{ByteSize, HumanDuration};

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
