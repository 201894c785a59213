//! `auth.mode = "jwt"`: local verification of the identity server's EdDSA
//! access tokens against its JWKS.
//!
//! Checks the signature, `iss`, `aud` and `exp`. The JWKS is fetched on first
//! use and again when a token names an unknown `kid` — at most once per
//! [`REFETCH_EVERY`], so a flood of made-up `kid`s cannot hammer the identity
//! server. Revocation is not seen in this mode until the token expires.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use slipgate_httpsig::jose::{self, Jwks, JwtError};
use slipgate_proto::clock::Clock;

use super::claims::{TokenClaims, TokenError, TokenValidator};
use crate::signature::BoxFuture;

/// Least time between two JWKS fetches triggered by unknown keys.
pub const REFETCH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
struct JwtClaims {
    iss: String,
    aud: Audience,
    #[serde(flatten)]
    claims: TokenClaims,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(all) => all.iter().any(|a| a == aud),
        }
    }
}

#[derive(Debug, Default)]
struct KeySet {
    jwks: Option<Jwks>,
    fetched_at: Option<i64>,
}

/// Validates access tokens locally.
#[derive(Debug)]
pub struct JwtValidator {
    http: reqwest::Client,
    jwks_url: String,
    issuer: String,
    audience: String,
    keys: RwLock<KeySet>,
    fetch: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
}

impl JwtValidator {
    /// A validator trusting the JWKS at `idp_url`/.well-known/jwks.json.
    pub fn new(
        http: reqwest::Client,
        idp_url: &str,
        issuer: String,
        audience: String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            jwks_url: format!("{}/.well-known/jwks.json", idp_url.trim_end_matches('/')),
            issuer,
            audience,
            keys: RwLock::new(KeySet::default()),
            fetch: tokio::sync::Mutex::new(()),
            clock,
        }
    }

    fn cached(&self) -> Option<Jwks> {
        self.keys.read().ok().and_then(|k| k.jwks.clone())
    }

    /// Fetches the JWKS unless another task just did, or one was fetched less
    /// than [`REFETCH_EVERY`] ago (when `have` is set).
    async fn refresh(&self, have: bool) -> Result<Option<Jwks>, TokenError> {
        let _guard = self.fetch.lock().await;
        let now = self.clock.unix_seconds();
        let recent = self
            .keys
            .read()
            .ok()
            .and_then(|k| k.fetched_at)
            .is_some_and(|at| now - at < i64::try_from(REFETCH_EVERY.as_secs()).unwrap_or(30));
        if have && recent {
            return Ok(self.cached());
        }
        if !have && let Some(jwks) = self.cached() {
            return Ok(Some(jwks));
        }
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .map_err(|_| TokenError::Unavailable("cannot fetch the JWKS".into()))?;
        if !response.status().is_success() {
            return Err(TokenError::Unavailable(format!("JWKS answered {}", response.status())));
        }
        let body =
            response.bytes().await.map_err(|_| TokenError::Unavailable("cannot read the JWKS".into()))?;
        if body.len() > 64 * 1024 {
            return Err(TokenError::Unavailable("JWKS too large".into()));
        }
        let jwks: Jwks = serde_json::from_slice(&body)
            .map_err(|_| TokenError::Unavailable("JWKS is not a JWK set".into()))?;
        if let Ok(mut keys) = self.keys.write() {
            keys.jwks = Some(jwks.clone());
            keys.fetched_at = Some(now);
        }
        Ok(Some(jwks))
    }

    fn check(&self, token: &str, jwks: &Jwks) -> Result<TokenClaims, JwtError> {
        let claims: JwtClaims = jose::verify_jwt(token, jwks)?;
        if claims.iss != self.issuer || !claims.aud.contains(&self.audience) {
            return Err(JwtError::Claims("issuer or audience".into()));
        }
        Ok(claims.claims)
    }
}

impl TokenValidator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenClaims, TokenError>> {
        Box::pin(async move {
            let jwks = match self.cached() {
                Some(jwks) => jwks,
                None => self.refresh(false).await?.unwrap_or_default(),
            };
            let claims = match self.check(token, &jwks) {
                Ok(claims) => claims,
                Err(JwtError::UnknownKey(_)) => {
                    let jwks = self.refresh(true).await?.unwrap_or_default();
                    self.check(token, &jwks)
                        .map_err(|_| TokenError::Invalid("signature, issuer or audience"))?
                }
                Err(_) => return Err(TokenError::Invalid("signature, issuer or audience")),
            };
            if claims.exp <= self.clock.unix_seconds() {
                return Err(TokenError::Invalid("expired"));
            }
            Ok(claims)
        })
    }
}
