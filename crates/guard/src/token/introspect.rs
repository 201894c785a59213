//! `auth.mode = "introspection"`: RFC 7662 token introspection, cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde_json::Value;
use slipgate_proto::clock::Clock;
use slipgate_proto::oauth::{INTROSPECT_PATH, TokenType};
use tokio::sync::OnceCell;

use super::cache::TokenCache;
use super::claims::{TokenClaims, TokenError, TokenValidator};
use super::mapping::{ClaimMap, MappingError};
use crate::metrics::GuardMetrics;
use futures_util::future::BoxFuture;

/// The introspection client's secret: redacted in `Debug`, zeroized on drop.
pub type ClientSecret = secrecy::SecretString;

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
    claims: ClaimMap,
    audience: Option<String>,
    clock: Arc<dyn Clock>,
    /// One question per token at a time: concurrent misses wait for the same
    /// answer (a cache expiry under load would otherwise send every waiting
    /// request to the identity server at once). Keyed like the cache.
    in_flight: Mutex<HashMap<[u8; 32], Arc<Answer>>>,
    metrics: GuardMetrics,
}

/// One introspection answer, shared by every request that waited for it.
type Answer = OnceCell<Result<TokenClaims, TokenError>>;

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
            url: format!("{}{INTROSPECT_PATH}", idp_url.trim_end_matches('/')),
            client_id,
            secret,
            cache: TokenCache::new(100_000)?,
            cache_ttl,
            claims: ClaimMap::default(),
            audience: None,
            clock,
            in_flight: Mutex::default(),
            metrics: GuardMetrics::default(),
        })
    }

    /// Counts cache hits and misses and each introspection's latency into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: GuardMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    async fn ask_counted(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let started = std::time::Instant::now();
        let answer = self.ask(token).await;
        let ok = !matches!(answer, Err(TokenError::Unavailable(_)));
        self.metrics.idp_call("introspect", started.elapsed(), ok);
        answer
    }

    /// Asks `url` instead of `idp_url`/oauth/introspect (`auth.introspection_url`:
    /// another provider's `introspection_endpoint`).
    #[must_use]
    pub fn with_url(mut self, url: String) -> Self {
        self.url = url;
        self
    }

    /// Reads the employee record and scopes with these names (`auth.claims`, `auth.scopes`).
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimMap) -> Self {
        self.claims = claims;
        self
    }

    /// Refuses an active answer whose `aud`, when the answer has one, does not
    /// contain `audience` (`auth.audience`): a provider that serves several
    /// resource servers introspects their tokens as active too.
    #[must_use]
    pub fn with_audience(mut self, audience: String) -> Self {
        self.audience = Some(audience);
        self
    }

    async fn ask(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.client_id, Some(self.secret.expose_secret()))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| {
                TokenError::Unavailable(format!("introspection request failed: {}", without_url(&e)))
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::BAD_REQUEST {
            // Some providers refuse to introspect a kind of token they issue statelessly
            // (oidc-provider's JWT access tokens): that token is not valid here. Any other
            // error (our credentials refused, a fault) is an outage: fail closed.
            let body = response.bytes().await.unwrap_or_default();
            let error = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("error").cloned());
            if error.as_ref().and_then(Value::as_str) == Some("unsupported_token_type") {
                return Err(TokenError::Invalid(
                    "the identity server does not introspect this kind of token",
                ));
            }
            return Err(TokenError::Unavailable(format!("introspection answered {status}")));
        }
        if !status.is_success() {
            return Err(TokenError::Unavailable(format!("introspection answered {status}")));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| TokenError::Unavailable(format!("introspection body: {}", without_url(&e))))?;
        if body.len() > 16 * 1024 {
            return Err(TokenError::Unavailable("introspection answer too large".into()));
        }
        parse_answer(&body, &self.claims, self.audience.as_deref())
    }
}

/// The claims of an RFC 7662 answer, read through `map`. Unparsable JSON or an active
/// answer without `sub` (or `client_id`) and `exp` is an outage (fail closed, 503); an
/// inactive answer, another `aud`, a `cnf` that is not an `htsk` confirmation (a key this
/// API cannot check) or a mapped employee claim that is not a string refuses the token (401).
fn parse_answer(body: &[u8], map: &ClaimMap, audience: Option<&str>) -> Result<TokenClaims, TokenError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| TokenError::Unavailable("introspection answer is not JSON".into()))?;
    let Some(object) = value.as_object() else {
        return Err(TokenError::Unavailable("introspection answer is not a JSON object".into()));
    };
    if object.get("active") != Some(&Value::Bool(true)) {
        return Err(TokenError::Invalid("inactive"));
    }
    let token_type =
        match object.get("token_type") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value::<TokenType>(v.clone()).map_err(|_| {
                TokenError::Unavailable("the RFC 7662 answer has an unknown token_type".into())
            })?),
        };
    if let Some(audience) = audience {
        let ours = match object.get("aud") {
            None | Some(Value::Null) => true,
            Some(Value::String(one)) => one == audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
            Some(_) => false,
        };
        if !ours {
            return Err(TokenError::Invalid("audience"));
        }
    }
    let mut claims = map.claims(object).map_err(|e| match e {
        MappingError::Confirmation => TokenError::Invalid("bound by a confirmation method other than htsk"),
        MappingError::EmployeeClaimType => TokenError::Invalid("a mapped employee claim is not a string"),
        MappingError::NoSubject | MappingError::NoExpiry => {
            TokenError::Unavailable("active token without sub and exp in the RFC 7662 answer".into())
        }
        other => TokenError::Unavailable(format!("the RFC 7662 answer does not parse: {other}")),
    })?;
    claims.token_type = token_type;
    Ok(claims)
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
                self.metrics.introspection_cache(true);
                return verdict;
            }
            self.metrics.introspection_cache(false);
            let cell = match self.in_flight.lock() {
                Ok(mut map) => map.entry(key).or_default().clone(),
                Err(_) => Arc::default(),
            };
            let verdict = cell.get_or_init(|| self.ask_counted(token)).await.clone();
            if let Ok(mut map) = self.in_flight.lock()
                && map.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell))
            {
                map.remove(&key);
            }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A cache miss under load asks the identity server once, not once per
    /// waiting request; every waiter gets that one answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_introspection() {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().route(
            "/oauth/introspect",
            axum::routing::post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    axum::Json(serde_json::json!({
                        "active": true, "sub": "alice", "scope": "salaryslip:self",
                        "emp_id": "01234", "exp": 4_000_000_000_i64,
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let introspector = Arc::new(
            Introspector::new(
                reqwest::Client::new(),
                &url,
                "api".into(),
                ClientSecret::from("s"),
                Duration::from_secs(30),
                Arc::new(slipgate_proto::clock::SystemClock),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let waiters: Vec<_> = (0..20)
            .map(|_| {
                let i = introspector.clone();
                tokio::spawn(async move { i.validate("the-token").await })
            })
            .collect();
        for waiter in waiters {
            let claims = waiter.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(claims.sub, "alice");
        }
        assert_eq!(asked.load(Ordering::SeqCst), 1, "one question for twenty concurrent misses");
        assert!(
            introspector.in_flight.lock().map(|m| m.is_empty()).unwrap_or(false),
            "nothing left in flight"
        );
    }
}

#[cfg(test)]
mod answer_tests {
    use super::*;
    use slipgate_proto::oauth::TokenType;

    const CNF: &str = r#"{"htsk":{"alg":"ed25519","pub":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}}"#;

    #[test]
    fn a_bound_answer_keeps_its_cnf_and_token_type() {
        let body = format!(
            r#"{{"active":true,"sub":"alice","username":"alice","scope":"salaryslip:self","exp":99,"iat":1,
               "client_id":"slipgate-cli","token_type":"httpsig","emp_id":"01234","name":"Alice Example","cnf":{CNF}}}"#
        );
        let claims =
            parse_answer(body.as_bytes(), &ClaimMap::default(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.cnf, serde_json::from_str(CNF).ok());
        assert_eq!(claims.token_type, Some(TokenType::Httpsig));
        assert_eq!(
            (claims.username.as_deref(), claims.emp_name.as_deref()),
            (Some("alice"), Some("Alice Example"))
        );
        assert!(claims.is_bound() && !claims.is_service_token());
    }

    #[test]
    fn another_confirmation_method_or_an_inactive_token_is_invalid_not_an_outage() {
        let jkt = br#"{"active":true,"sub":"alice","exp":99,"cnf":{"jkt":"abc"}}"#;
        assert_eq!(
            parse_answer(jkt, &ClaimMap::default(), None),
            Err(TokenError::Invalid("bound by a confirmation method other than htsk"))
        );
        assert_eq!(
            parse_answer(br#"{"active":false}"#, &ClaimMap::default(), None),
            Err(TokenError::Invalid("inactive"))
        );
        assert!(matches!(
            parse_answer(br#"{"active":true,"sub":"a"}"#, &ClaimMap::default(), None),
            Err(TokenError::Unavailable(_))
        ));
        assert!(matches!(
            parse_answer(b"<html>", &ClaimMap::default(), None),
            Err(TokenError::Unavailable(_))
        ));
        // An active answer with a token_type this API does not know is an outage (fail closed).
        let dpop = br#"{"active":true,"sub":"a","exp":99,"token_type":"DPoP"}"#;
        assert!(matches!(parse_answer(dpop, &ClaimMap::default(), None), Err(TokenError::Unavailable(_))));
    }

    #[test]
    fn an_answer_for_another_audience_is_invalid_and_one_without_aud_is_read() {
        let answer = |aud: &str| {
            format!(
                r#"{{"active":true,"sub":"alice","exp":99,"scope":"payslip.own","employee":"01234"{aud}}}"#
            )
        };
        let map =
            ClaimMap { emp_id: "employee".into(), scope_self: "payslip.own".into(), ..ClaimMap::default() };
        let api = Some("https://slipgate.example");
        for other in
            [r#","aud":"https://reports.example""#, r#","aud":["https://reports.example"]"#, r#","aud":1"#]
        {
            assert_eq!(
                parse_answer(answer(other).as_bytes(), &map, api),
                Err(TokenError::Invalid("audience"))
            );
        }
        for ours in ["", r#","aud":"https://slipgate.example""#, r#","aud":["x","https://slipgate.example"]"#]
        {
            let claims = parse_answer(answer(ours).as_bytes(), &map, api).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((claims.scope.as_str(), claims.emp_id.as_deref()), ("salaryslip:self", Some("01234")));
        }
        let number = br#"{"active":true,"sub":"alice","exp":99,"employee":1234}"#;
        assert_eq!(
            parse_answer(number, &map, api),
            Err(TokenError::Invalid("a mapped employee claim is not a string"))
        );
    }
}
