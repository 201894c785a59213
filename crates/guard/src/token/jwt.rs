//! `auth.mode = "jwt"`: local verification of RFC 9068 access tokens against
//! the JWKS of the identity server (SPEC §4) or of another OpenID provider
//! (`auth.jwks_url`).
//!
//! A token passes when, in this order: its JOSE `typ` is one of the accepted
//! values (`auth.jwt_typ`, by default `at+jwt` and `application/at+jwt`, so an
//! ID token or any other JWT signed by the same key cannot pass as an access
//! token: RFC 9068 §4); its signature verifies with the JWKS key its `kid`
//! names ([`slipgate_httpsig::jose::access`]: EdDSA, ECDSA or RSA, never
//! HMAC); `iss` and `aud` match; and its times hold with [`LEEWAY`] either
//! way: `exp` not passed, `nbf` (when present) reached, `iat` (required) not
//! in the future. The employee record and the scopes are read through the
//! [`ClaimMap`] (`auth.claims`, `auth.scopes`).
//!
//! The JWKS is fetched on first use, again once it is older than
//! `auth.jwks_refresh` (default [`DEFAULT_JWKS_REFRESH`]) — so a key the
//! identity server withdraws stops working within that time — and when a
//! token names an unknown `kid`, at most once per [`REFETCH_EVERY`], so a
//! flood of made-up `kid`s cannot hammer the identity server. A set that is
//! due for a refresh is never used when the refresh fails: the answer is then
//! 503 `auth_unavailable` (fail closed), with fetches at most once per
//! [`RETRY_FAILED_FETCH`]. Revocation is not seen in this mode until the token
//! expires. Time comes from the [`Clock`].
//!
//! ```
//! use slipgate_guard::token::{JwtTimes, LEEWAY};
//!
//! let times = JwtTimes { exp: 1_000, iat: 100, nbf: Some(200) };
//! assert!(times.check(500).is_ok());
//! assert!(times.check(100).is_err(), "before nbf, beyond the leeway");
//! assert!(times.check(1_000 + LEEWAY.as_secs() as i64).is_err(), "expired");
//! ```

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};
use slipgate_httpsig::jose::{Jwks, access};
use slipgate_proto::clock::Clock;
use slipgate_proto::oauth::JWKS_PATH;

use super::claims::{TokenClaims, TokenError, TokenValidator};
use super::mapping::{ClaimMap, MappingError};
use futures_util::future::BoxFuture;

/// Least time between two JWKS fetches triggered by unknown keys.
pub const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// Least time between two JWKS fetches after one failed.
pub const RETRY_FAILED_FETCH: Duration = Duration::from_secs(2);
/// The default of `auth.jwks_refresh`.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(300);
/// Clock difference tolerated on `exp`, `nbf` and `iat` (SPEC §4).
pub const LEEWAY: Duration = Duration::from_secs(60);
/// The default of `auth.jwt_typ` (RFC 9068 §2.1).
pub const DEFAULT_JWT_TYP: [&str; 2] = ["at+jwt", "application/at+jwt"];
/// Largest JWKS body read.
const MAX_JWKS: usize = 64 * 1024;

/// The claims a token passes with, and its times to check, from a verified payload:
/// `iss` must be `issuer`, `aud` (a string or an array) must contain `audience`, `iat`
/// is required, `nbf` optional, and the rest is read through `map`.
fn read_claims(
    object: &Map<String, Value>,
    issuer: &str,
    audience: &str,
    map: &ClaimMap,
) -> Result<(TokenClaims, JwtTimes), TokenError> {
    if object.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(TokenError::Invalid("issuer"));
    }
    let aud_ok = match object.get("aud") {
        Some(Value::String(one)) => one == audience,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(TokenError::Invalid("audience"));
    }
    let iat = object.get("iat").and_then(Value::as_i64).ok_or(TokenError::Invalid("no integer iat"))?;
    let nbf = match object.get("nbf") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or(TokenError::Invalid("nbf is not an integer"))?),
    };
    let claims = map.claims(object).map_err(|e| match e {
        MappingError::Confirmation => TokenError::Invalid("cnf is not an htsk confirmation"),
        _ => TokenError::Invalid("claims of the wrong shape"),
    })?;
    let times = JwtTimes { exp: claims.exp, iat, nbf };
    Ok((claims, times))
}

/// The time claims of a token, checked by [`JwtTimes::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtTimes {
    /// `exp`, unix seconds.
    pub exp: i64,
    /// `iat`, unix seconds.
    pub iat: i64,
    /// `nbf`, unix seconds, when present.
    pub nbf: Option<i64>,
}

impl JwtTimes {
    /// Whether a token with these times is valid at `now`, each with [`LEEWAY`].
    pub fn check(&self, now: i64) -> Result<(), TokenError> {
        let leeway = i64::try_from(LEEWAY.as_secs()).unwrap_or(60);
        if now >= self.exp.saturating_add(leeway) {
            return Err(TokenError::Invalid("expired"));
        }
        if self.nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(TokenError::Invalid("not yet valid (nbf)"));
        }
        if self.iat > now.saturating_add(leeway) {
            return Err(TokenError::Invalid("issued in the future (iat)"));
        }
        Ok(())
    }
}

/// Whether `typ` is one of `accepted` (media types compare case-insensitively).
fn typ_accepted(accepted: &[String], typ: &str) -> bool {
    accepted.iter().any(|a| a.eq_ignore_ascii_case(typ))
}

#[derive(Debug, Default)]
struct KeySet {
    jwks: Option<Jwks>,
    fetched_at: i64,
    /// Bumped on every successful fetch, so waiters see that one happened.
    generation: u64,
    failed_at: Option<i64>,
}

/// Validates access tokens locally.
#[derive(Debug)]
pub struct JwtValidator {
    http: reqwest::Client,
    jwks_url: String,
    issuer: String,
    audience: String,
    typ: Vec<String>,
    claims: ClaimMap,
    refresh_every: i64,
    keys: RwLock<KeySet>,
    fetch: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
    metrics: crate::metrics::GuardMetrics,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl JwtValidator {
    /// A validator trusting the JWKS at `idp_url`/.well-known/jwks.json, with
    /// the default `typ` list and refresh interval.
    pub fn new(
        http: reqwest::Client,
        idp_url: &str,
        issuer: String,
        audience: String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            jwks_url: format!("{}{JWKS_PATH}", idp_url.trim_end_matches('/')),
            issuer,
            audience,
            typ: DEFAULT_JWT_TYP.iter().map(|t| (*t).to_owned()).collect(),
            claims: ClaimMap::default(),
            refresh_every: secs(DEFAULT_JWKS_REFRESH),
            keys: RwLock::new(KeySet::default()),
            fetch: tokio::sync::Mutex::new(()),
            clock,
            metrics: crate::metrics::GuardMetrics::default(),
        }
    }

    /// Counts each JWKS fetch's latency and failures into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::GuardMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Accepts exactly these JOSE `typ` values (`auth.jwt_typ`; the API's
    /// configuration checks them).
    #[must_use]
    pub fn with_typ(mut self, typ: Vec<String>) -> Self {
        self.typ = typ;
        self
    }

    /// Reads the JWKS from `url` instead of `idp_url`/.well-known/jwks.json
    /// (`auth.jwks_url`: another provider's `jwks_uri`).
    #[must_use]
    pub fn with_jwks_url(mut self, url: String) -> Self {
        self.jwks_url = url;
        self
    }

    /// Reads the employee record and scopes with these names (`auth.claims`, `auth.scopes`).
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimMap) -> Self {
        self.claims = claims;
        self
    }

    /// Re-reads the JWKS once the cached one is `every` old (`auth.jwks_refresh`).
    #[must_use]
    pub fn with_jwks_refresh(mut self, every: Duration) -> Self {
        self.refresh_every = secs(every).max(1);
        self
    }

    fn snapshot(&self) -> Option<(Jwks, i64, u64)> {
        let keys = self.keys.read().ok()?;
        keys.jwks.clone().map(|j| (j, keys.fetched_at, keys.generation))
    }

    /// The key set to check a token naming `kid` against.
    async fn key_set(&self, kid: &str) -> Result<Jwks, TokenError> {
        let now = self.clock.unix_seconds();
        let seen = match self.snapshot() {
            Some((jwks, at, generation)) => {
                let age = now - at;
                if age < self.refresh_every && (jwks.find(kid).is_some() || age < secs(REFETCH_EVERY)) {
                    return Ok(jwks);
                }
                Some(generation)
            }
            None => None,
        };
        self.fetch_after(seen, now).await
    }

    /// Fetches the JWKS unless another task did since generation `seen`.
    async fn fetch_after(&self, seen: Option<u64>, now: i64) -> Result<Jwks, TokenError> {
        let _single_flight = self.fetch.lock().await;
        if let Some((jwks, _, generation)) = self.snapshot()
            && Some(generation) != seen
        {
            return Ok(jwks);
        }
        let failed_at = self.keys.read().ok().and_then(|k| k.failed_at);
        if failed_at.is_some_and(|at| now - at < secs(RETRY_FAILED_FETCH) && now >= at) {
            return Err(TokenError::Unavailable("the JWKS fetch failed just now".into()));
        }
        let started = std::time::Instant::now();
        let downloaded = self.download().await;
        self.metrics.idp_call("jwks", started.elapsed(), downloaded.is_ok());
        match downloaded {
            Ok(jwks) => {
                if let Ok(mut keys) = self.keys.write() {
                    keys.jwks = Some(jwks.clone());
                    keys.fetched_at = now;
                    keys.generation = keys.generation.wrapping_add(1);
                    keys.failed_at = None;
                }
                Ok(jwks)
            }
            Err(e) => {
                if let Ok(mut keys) = self.keys.write() {
                    keys.failed_at = Some(now);
                }
                Err(e)
            }
        }
    }

    async fn download(&self) -> Result<Jwks, TokenError> {
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .map_err(|_| TokenError::Unavailable("cannot fetch the JWKS".into()))?;
        if !response.status().is_success() {
            return Err(TokenError::Unavailable(format!("JWKS answered {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > MAX_JWKS as u64) {
            return Err(TokenError::Unavailable("JWKS too large".into()));
        }
        let body =
            response.bytes().await.map_err(|_| TokenError::Unavailable("cannot read the JWKS".into()))?;
        if body.len() > MAX_JWKS {
            return Err(TokenError::Unavailable("JWKS too large".into()));
        }
        serde_json::from_slice(&body).map_err(|_| TokenError::Unavailable("JWKS is not a JWK set".into()))
    }

    fn check(&self, token: &str, jwks: &Jwks) -> Result<(TokenClaims, JwtTimes), TokenError> {
        let (_, object): (_, Map<String, Value>) = access::verify_access_token(token, jwks)
            .map_err(|_| TokenError::Invalid("signature, key or header"))?;
        read_claims(&object, &self.issuer, &self.audience, &self.claims)
    }
}

impl TokenValidator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenClaims, TokenError>> {
        Box::pin(async move {
            let header = access::decode_access_header(token).map_err(|_| TokenError::Invalid("malformed"))?;
            if !typ_accepted(&self.typ, &header.typ) {
                return Err(TokenError::Invalid("typ is not an access token's"));
            }
            let jwks = self.key_set(&header.kid).await?;
            let (claims, times) = self.check(token, &jwks)?;
            times.check(self.clock.unix_seconds())?;
            Ok(claims)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: i64 = 1_000_000;

    fn times(exp: i64, iat: i64, nbf: Option<i64>) -> JwtTimes {
        JwtTimes { exp, iat, nbf }
    }

    #[test]
    fn accepts_expiry_within_the_leeway_and_refuses_it_at_the_leeway() {
        assert!(times(NOW - 59, NOW - 900, None).check(NOW).is_ok());
        assert_eq!(times(NOW - 60, NOW - 900, None).check(NOW), Err(TokenError::Invalid("expired")));
    }

    #[test]
    fn refuses_nbf_beyond_the_leeway() {
        assert!(times(NOW + 900, NOW, Some(NOW + 60)).check(NOW).is_ok());
        assert!(times(NOW + 900, NOW, Some(NOW + 61)).check(NOW).is_err());
    }

    #[test]
    fn refuses_iat_in_the_future_beyond_the_leeway() {
        assert!(times(NOW + 900, NOW + 60, None).check(NOW).is_ok());
        assert_eq!(
            times(NOW + 900, NOW + 120, None).check(NOW),
            Err(TokenError::Invalid("issued in the future (iat)"))
        );
    }

    #[test]
    fn typ_is_matched_case_insensitively_against_the_accepted_list() {
        let accepted: Vec<String> = DEFAULT_JWT_TYP.iter().map(|t| (*t).to_owned()).collect();
        assert!(typ_accepted(&accepted, "at+jwt"));
        assert!(typ_accepted(&accepted, "Application/AT+JWT"));
        assert!(!typ_accepted(&accepted, "JWT"));
        assert!(!typ_accepted(&accepted, "jwt"));
    }

    fn read(json: &str) -> Result<(TokenClaims, JwtTimes), TokenError> {
        let value: Value = serde_json::from_str(json).unwrap();
        read_claims(value.as_object().unwrap(), "i", "a", &ClaimMap::default())
    }

    #[test]
    fn the_cnf_claim_is_read_and_other_confirmations_refused() {
        let bound =
            r#"{"iss":"i","aud":"a","sub":"s","exp":1,"iat":0,"cnf":{"htsk":{"alg":"ed25519","pub":"x"}}}"#;
        let (claims, _) = read(bound).unwrap();
        assert_eq!(claims.cnf.map(|c| c.htsk.alg), Some("ed25519".to_owned()));
        let jkt = r#"{"iss":"i","aud":"a","sub":"s","exp":1,"iat":0,"cnf":{"jkt":"x"}}"#;
        assert!(read(jkt).is_err());
        let (plain, _) = read(r#"{"iss":"i","aud":"a","sub":"s","exp":1,"iat":0}"#).unwrap();
        assert!(!plain.is_bound());
    }

    #[test]
    fn claims_without_iat_or_of_another_issuer_or_audience_are_refused() {
        assert!(read(r#"{"iss":"i","aud":"a","sub":"s","exp":1}"#).is_err());
        let (_, times) = read(r#"{"iss":"i","aud":["a","b"],"sub":"s","exp":1,"iat":0,"nbf":0}"#).unwrap();
        assert!(times.nbf == Some(0) && times.iat == 0);
        assert_eq!(
            read(r#"{"iss":"j","aud":"a","sub":"s","exp":1,"iat":0}"#).unwrap_err(),
            TokenError::Invalid("issuer")
        );
        assert_eq!(
            read(r#"{"iss":"i","aud":["b"],"sub":"s","exp":1,"iat":0}"#).unwrap_err(),
            TokenError::Invalid("audience")
        );
        assert!(read(r#"{"iss":"i","aud":"a","sub":"s","exp":1,"iat":0,"nbf":"0"}"#).is_err());
    }
}
