//! `auth.mode = "introspection"`: RFC 7662 token introspection, cached.

use std::sync::Arc;
use std::time::Duration;

use slipgate_proto::clock::Clock;

use super::cache::TokenCache;
use super::claims::{TokenClaims, TokenError, TokenValidator};
use crate::signature::BoxFuture;

/// A client secret whose `Debug` is redacted.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Validates tokens by asking the identity server (RFC 7662), authenticated
/// as a registered client with HTTP Basic.
#[derive(Debug)]
pub struct Introspector {
    http: reqwest::Client,
    url: String,
    client_id: String,
    secret: ClientSecret,
    cache: TokenCache,
    cache_ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl Introspector {
    /// An introspector for `idp_url` (its `/oauth/introspect` endpoint).
    pub fn new(
        http: reqwest::Client,
        idp_url: &str,
        client_id: String,
        secret: ClientSecret,
        cache_ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TokenError> {
        Ok(Self {
            http,
            url: format!("{}/oauth/introspect", idp_url.trim_end_matches('/')),
            client_id,
            secret,
            cache: TokenCache::new(100_000)?,
            cache_ttl,
            clock,
        })
    }

    async fn ask(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.client_id, Some(&self.secret.0))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| {
                TokenError::Unavailable(format!("introspection request failed: {}", without_url(&e)))
            })?;
        if !response.status().is_success() {
            return Err(TokenError::Unavailable(format!("introspection answered {}", response.status())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| TokenError::Unavailable(format!("introspection body: {}", without_url(&e))))?;
        if body.len() > 16 * 1024 {
            return Err(TokenError::Unavailable("introspection answer too large".into()));
        }
        let parsed: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| TokenError::Unavailable("introspection answer is not JSON".into()))?;
        if parsed.get("active") != Some(&serde_json::Value::Bool(true)) {
            return Err(TokenError::Invalid("inactive"));
        }
        serde_json::from_value(parsed).map_err(|_| {
            TokenError::Unavailable("active token without sub and exp in the RFC 7662 answer".into())
        })
    }
}

/// reqwest's error text without the URL (it may carry a query; keep logs clean).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "transport error".into()
    }
}

impl TokenValidator for Introspector {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenClaims, TokenError>> {
        Box::pin(async move {
            let now = self.clock.unix_seconds();
            let key = self.cache.key_of(token);
            if let Some(verdict) = self.cache.get(&key, now) {
                return verdict;
            }
            let verdict = self.ask(token).await;
            let ttl = i64::try_from(self.cache_ttl.as_secs()).unwrap_or(i64::MAX);
            match &verdict {
                Ok(claims) if claims.exp <= now => return Err(TokenError::Invalid("expired")),
                Ok(claims) => {
                    self.cache.put(key, verdict.clone(), claims.exp.min(now.saturating_add(ttl)), now)
                }
                Err(TokenError::Invalid(_)) => {
                    self.cache.put(key, verdict.clone(), now.saturating_add(ttl), now)
                }
                // Never cache an outage: the next request asks again.
                Err(_) => {}
            }
            verdict
        })
    }
}
