//! What `/readyz` checks: every dependency this instance is configured with
//! (SPEC §3.9) — the identity server, and Redis when a store uses it.

use std::sync::Arc;

use futures_util::future::BoxFuture;

/// One dependency check.
pub trait Probe: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for the report, e.g. `identity_server`.
    fn name(&self) -> &'static str;
    /// `Ok` when the dependency answers.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The identity server answers its RFC 8414 metadata over verified TLS.
#[derive(Debug)]
pub struct IdpProbe {
    http: reqwest::Client,
    url: String,
}

impl IdpProbe {
    /// A probe of the identity server at `idp_url` (its RFC 8414 metadata).
    pub fn new(http: reqwest::Client, idp_url: &str) -> Self {
        Self::at(http, format!("{}/.well-known/oauth-authorization-server", idp_url.trim_end_matches('/')))
    }

    /// A probe fetching `url` (`auth.metadata_url`: another provider's discovery document).
    pub fn at(http: reqwest::Client, url: String) -> Self {
        Self { http, url }
    }
}

impl Probe for IdpProbe {
    fn name(&self) -> &'static str {
        "identity_server"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            match self.http.get(&self.url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("answered {}", r.status())),
                Err(e) if e.is_timeout() => Err("timed out".into()),
                Err(_) => Err("unreachable".into()),
            }
        })
    }
}

/// Redis answers `PING` within the configured timeout.
#[derive(Debug)]
pub struct RedisProbe(pub slipgate_guard::RedisConnection);

impl Probe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
}

/// Runs every probe concurrently.
pub async fn check_all(probes: &[Arc<dyn Probe>]) -> Vec<(&'static str, Result<(), String>)> {
    let checks = probes.iter().map(|p| async move { (p.name(), p.check().await) });
    futures_util::future::join_all(checks).await
}

/// The log sink takes lines: with the audit trail unwritable (a full disk)
/// this instance refuses slip requests, so it is not ready either.
#[derive(Debug)]
pub struct LogSinkProbe;

impl Probe for LogSinkProbe {
    fn name(&self) -> &'static str {
        "log_sink"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let health = slipgate_proto::logsink::health();
        let result = if health.failing() {
            Err(format!("log lines cannot be written ({} lost)", health.lines_lost()))
        } else {
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }
}
