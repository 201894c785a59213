//! Requests presenting key-bound tokens (SPEC §3.2.1), written as the attacker:
//! the pure head check, and the signature + token layers composed as the API
//! composes them, with a memory token validator (each token maps to its claims).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use slipgate_httpsig::binding::{BOUND_REQUEST_TAG, BoundKey, Confirmation};
use slipgate_httpsig::params::Component;
use slipgate_httpsig::received::ReceivedRequest;
use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, SignParams, SigningKey, VerifyingKey, content_digest, sign_message,
};
use slipgate_proto::ProblemCode;
use slipgate_proto::clock::ManualClock;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::Rejection;
use crate::replay::{MemoryNonceStore, NonceStore as _, NonceVerdict};
use crate::token::{TokenClaims, TokenError, TokenLayer, TokenValidator};
use futures_util::future::BoxFuture;

const NOW: i64 = 1_767_225_600;
const HOST: &str = "api.example:8443";
const BODY: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":24}"#;
const HMAC_SECRET: [u8; 32] = [9; 32];

/// Tokens the identity server would call valid, and how often it was asked.
#[derive(Debug, Default)]
struct MemoryValidator {
    tokens: HashMap<String, TokenClaims>,
    asked: AtomicUsize,
}

impl TokenValidator for MemoryValidator {
    fn validate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenClaims, TokenError>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let verdict = self.tokens.get(token).cloned().ok_or(TokenError::Invalid("unknown"));
        Box::pin(std::future::ready(verdict))
    }
}

fn device() -> SigningKey {
    SigningKey::generate(Algorithm::Ed25519).unwrap().0
}

fn cnf_of(key: &SigningKey) -> Confirmation {
    BoundKey::from_signing_key(key).unwrap().confirmation()
}

fn user(sub: &str, cnf: Option<Confirmation>) -> TokenClaims {
    TokenClaims {
        sub: sub.into(),
        scope: "salaryslip:any".into(),
        emp_id: Some("00001".into()),
        exp: NOW + 900,
        client_id: Some("slipgate-cli".into()),
        cnf,
        ..TokenClaims::default()
    }
}

fn service(sub: &str) -> TokenClaims {
    TokenClaims {
        sub: sub.into(),
        scope: "salaryslip:any".into(),
        exp: NOW + 900,
        client_id: Some(sub.into()),
        ..TokenClaims::default()
    }
}

fn bound_params(nonce: &str) -> SignParams {
    SignParams::new("sig1").created(NOW).nonce(nonce).tag(BOUND_REQUEST_TAG)
}

fn covered(names: &[&str]) -> Vec<Component> {
    names.iter().map(|n| Component::field_or_derived(n)).collect()
}

/// An origin-form request as it arrives (`Host`, no scheme), signed over the base
/// the server rebuilds (`https://…`), then changed by `tamper`.
fn request_parts(
    authorization: &str,
    key: &SigningKey,
    params: &SignParams,
    names: &[&str],
    signed_host: &str,
    tamper: impl FnOnce(&mut Parts),
) -> Parts {
    let head = |host: &str| {
        http::Request::post("/generate/salaryslip")
            .header("host", host)
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .header("content-digest", content_digest(DigestAlgorithm::Sha256, BODY.as_bytes()))
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    let as_signed = head(signed_host);
    let signed =
        sign_message(&ReceivedRequest::https(&as_signed), None::<&Parts>, &covered(names), params, key)
            .unwrap();
    let mut parts = head(HOST);
    parts.headers.insert("signature-input", signed.signature_input.parse().unwrap());
    parts.headers.insert("signature", signed.signature.parse().unwrap());
    tamper(&mut parts);
    parts
}

fn bound_parts(token: &str, key: &SigningKey, nonce: &str) -> Parts {
    request_parts(&format!("HTTPSig {token}"), key, &bound_params(nonce), &BOUND_REQUIRED, HOST, |_| {})
}

fn into_request(parts: Parts) -> Request<Body> {
    Request::from_parts(parts, Body::from(BODY))
}

struct Stack {
    validator: Arc<MemoryValidator>,
    nonces: Arc<MemoryNonceStore>,
    clock: Arc<ManualClock>,
    require_bound: bool,
}

impl Stack {
    fn new(tokens: &[(&str, TokenClaims)]) -> Self {
        let validator = MemoryValidator {
            tokens: tokens.iter().map(|(t, c)| ((*t).to_owned(), c.clone())).collect(),
            asked: AtomicUsize::new(0),
        };
        Self {
            validator: Arc::new(validator),
            nonces: Arc::new(MemoryNonceStore::new(16 << 20)),
            clock: Arc::new(ManualClock::at_unix(NOW.unsigned_abs())),
            require_bound: false,
        }
    }

    fn requiring_bound(mut self) -> Self {
        self.require_bound = true;
        self
    }

    fn stored(&self) -> usize {
        self.nonces.usage().map_or(usize::MAX, |u| u.entries)
    }

    fn asked(&self) -> usize {
        self.validator.asked.load(Ordering::SeqCst)
    }

    /// The API's order: signature layer (with bound tokens), then the token layer;
    /// the handler answers 200 and echoes what reached it.
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        let mut keys = KeyRing::new();
        keys.insert("k-hmac", VerifyingKey::hmac_sha256(&HMAC_SECRET).unwrap()).unwrap();
        let signature = SignatureLayer::new(Arc::new(keys), self.nonces.clone(), self.clock.clone())
            .with_bound_tokens(self.validator.clone());
        let service = ServiceBuilder::new()
            .layer(signature)
            .layer(TokenLayer::new(self.validator.clone()).with_require_bound(self.require_bound))
            .service_fn(|request: Request<Body>| async move {
                let claims = request.extensions().get::<TokenClaims>().cloned().unwrap();
                let verified = request.extensions().get::<VerifiedKey>().cloned().unwrap();
                let mut response = Response::new(Body::from(claims.sub));
                response.extensions_mut().insert(verified);
                Ok::<_, std::convert::Infallible>(response)
            });
        service.oneshot(request).await.unwrap()
    }
}

fn refusal(response: &Response<Body>) -> (ProblemCode, Option<String>) {
    let rejection = response.extensions().get::<Rejection>().expect("a refusal");
    // The `WWW-Authenticate` the server's renderer writes for it.
    let challenge = rejection.challenge().map(str::to_owned);
    (rejection.code, challenge)
}

fn head_code(parts: &Parts) -> Result<BoundHead, ProblemCode> {
    bound::check(&SignaturePolicy::new(), parts, NOW).map_err(|r| r.code)
}

#[tokio::test]
async fn a_request_signed_by_the_tokens_own_key_passes_and_spends_its_nonce_under_the_thumbprint() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let response = stack.send(into_request(bound_parts("tok-a", &alice, "n0nce-0001"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let verified = response.extensions().get::<VerifiedKey>().unwrap();
    let thumbprint = BoundKey::from_signing_key(&alice).unwrap().thumbprint();
    assert_eq!(verified.thumbprint.as_deref(), Some(thumbprint.as_str()));
    assert_eq!(verified.keyid, format!("htsk:{thumbprint}"));
    assert_eq!((verified.label.as_str(), verified.alg), ("sig1", Algorithm::Ed25519));
    assert_eq!(stack.stored(), 1);
    // The nonce was recorded under (thumbprint, nonce): the same pair again is a replay.
    let recorded = stack
        .nonces
        .check_and_record(
            &bound_replay_key(&BoundKey::from_signing_key(&alice).unwrap()),
            "n0nce-0001",
            NOW,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(recorded, NonceVerdict::Replayed);
}

#[tokio::test]
async fn the_scheme_name_is_matched_case_insensitively() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    for (i, scheme) in ["httpsig", "HTTPSIG", "HttpSig"].iter().enumerate() {
        let parts = request_parts(
            &format!("{scheme} tok-a"),
            &alice,
            &bound_params(&format!("n0nce-case-{i}")),
            &BOUND_REQUIRED,
            HOST,
            |_| {},
        );
        assert_eq!(stack.send(into_request(parts)).await.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn a_stolen_token_signed_with_another_key_is_signature_invalid_and_spends_no_nonce() {
    let (alice, mallory) = (device(), device());
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let response = stack.send(into_request(bound_parts("tok-a", &mallory, "n0nce-0001"))).await;
    assert_eq!(refusal(&response), (ProblemCode::SignatureInvalid, Some("HTTPSig".into())));
    assert_eq!(stack.stored(), 0);
    // Alice's own request with that nonce still passes: the forger burned nothing.
    let own = stack.send(into_request(bound_parts("tok-a", &alice, "n0nce-0001"))).await;
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unbound_token_sent_as_httpsig_is_token_invalid_and_the_nonce_store_does_not_grow() {
    let mallory = device();
    let stack = Stack::new(&[("tok-plain", user("paula", None))]);
    // A flood of valid-looking requests with a self-made key and an unbound (or unknown) token.
    for i in 0..30 {
        let token = if i % 2 == 0 { "tok-plain" } else { "forged.jwt.token" };
        let response =
            stack.send(into_request(bound_parts(token, &mallory, &format!("n0nce-fl{i:03}")))).await;
        assert_eq!(
            refusal(&response),
            (ProblemCode::TokenInvalid, Some("HTTPSig error=\"invalid_token\"".into())),
            "{i}"
        );
    }
    assert_eq!(stack.stored(), 0, "nothing unauthenticated is recorded");
}

#[tokio::test]
async fn a_bound_token_presented_as_bearer_is_token_invalid_even_with_a_registry_signature() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let hmac = SigningKey::hmac_sha256(&HMAC_SECRET).unwrap();
    let params = SignParams::new("sig1").created(NOW).nonce("n0nce-bear").keyid("k-hmac");
    let parts = request_parts("Bearer tok-a", &hmac, &params, &DEFAULT_REQUIRED, HOST, |_| {});
    let response = stack.send(into_request(parts)).await;
    assert_eq!(
        refusal(&response),
        (ProblemCode::TokenInvalid, Some("Bearer error=\"invalid_token\"".into()))
    );
    // A token that introspection calls httpsig without a cnf is refused as Bearer too.
    let typed =
        TokenClaims { token_type: Some(slipgate_proto::oauth::TokenType::Httpsig), ..user("alice", None) };
    assert!(typed.is_bound());
}

#[tokio::test]
async fn require_bound_tokens_refuses_bearer_user_tokens_but_not_service_tokens() {
    let stack = Stack::new(&[("tok-user", user("paula", None)), ("tok-svc", service("payroll-batch"))])
        .requiring_bound();
    let hmac = SigningKey::hmac_sha256(&HMAC_SECRET).unwrap();
    let send = |token: &str, nonce: &str| {
        let params = SignParams::new("sig1").created(NOW).nonce(nonce).keyid("k-hmac");
        into_request(request_parts(
            &format!("Bearer {token}"),
            &hmac,
            &params,
            &DEFAULT_REQUIRED,
            HOST,
            |_| {},
        ))
    };
    let refused = stack.send(send("tok-user", "n0nce-user")).await;
    assert_eq!(refusal(&refused), (ProblemCode::TokenInvalid, Some("Bearer error=\"invalid_token\"".into())));
    assert_eq!(stack.send(send("tok-svc", "n0nce-svc1")).await.status(), StatusCode::OK);
    // Without the setting, the same user token works as it does today.
    let lenient = Stack::new(&[("tok-user", user("paula", None))]);
    assert_eq!(lenient.send(send("tok-user", "n0nce-user")).await.status(), StatusCode::OK);
}

#[test]
fn a_user_named_like_its_client_is_still_a_user_token() {
    let mut claims = user("slipgate-cli", None);
    assert!(!claims.is_service_token(), "emp_id makes it a user token");
    claims.emp_id = None;
    claims.username = Some("slipgate-cli".into());
    assert!(!claims.is_service_token(), "a username makes it a user token");
    assert!(service("batch").is_service_token());
    assert!(!TokenClaims { client_id: Some("other".into()), ..service("batch") }.is_service_token());
}

#[test]
fn keyid_alg_or_pub_on_a_bound_request_is_malformed() {
    let key = device();
    let with = [
        bound_params("n0nce-0001").keyid("k-hmac"),
        bound_params("n0nce-0001").with_alg(),
        bound_params("n0nce-0001").with_pub(),
    ];
    for params in with {
        let parts = request_parts("HTTPSig t", &key, &params, &BOUND_REQUIRED, HOST, |_| {});
        assert_eq!(head_code(&parts).unwrap_err(), ProblemCode::SignatureMalformed);
    }
}

#[test]
fn exactly_one_signature_may_carry_the_tag() {
    let key = device();
    let parts = bound_parts("t", &key, "n0nce-0001");
    let input = parts.headers["signature-input"].to_str().unwrap().to_owned();
    let sig = parts.headers["signature"].to_str().unwrap().to_owned();
    // A second tagged member, as an sf-string or an sf-token.
    for second in [
        input.replacen("sig1=", "sig2=", 1),
        input.replacen("sig1=", "sig2=", 1).replace("tag=\"httpsig-oauth\"", "tag=httpsig-oauth"),
    ] {
        let mut twice = parts.clone();
        twice.headers.insert("signature-input", format!("{input}, {second}").parse().unwrap());
        twice
            .headers
            .insert("signature", format!("{sig}, {}", sig.replacen("sig1=", "sig2=", 1)).parse().unwrap());
        assert_eq!(head_code(&twice).unwrap_err(), ProblemCode::SignatureMalformed, "{second}");
    }
    // No tag, or another one.
    for tag in ["", ";tag=\"httpsig-oauth-token-request\"", ";tag=\"other\""] {
        let mut retagged = parts.clone();
        let changed = input.replace(";tag=\"httpsig-oauth\"", tag);
        retagged.headers.insert("signature-input", changed.parse().unwrap());
        assert_eq!(head_code(&retagged).unwrap_err(), ProblemCode::SignatureMalformed, "{tag:?}");
    }
}

#[tokio::test]
async fn the_tagged_signature_is_evaluated_wherever_it_stands() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let mut parts = bound_parts("tok-a", &alice, "n0nce-0001");
    let input = parts.headers["signature-input"].to_str().unwrap().to_owned();
    let sig = parts.headers["signature"].to_str().unwrap().to_owned();
    // A foreign signature first (the registry rule would evaluate it).
    parts.headers.insert(
        "signature-input",
        format!("proxy=(\"@method\");created={NOW};keyid=\"edge\", {input}").parse().unwrap(),
    );
    parts.headers.insert("signature", format!("proxy=:AAAA:, {sig}").parse().unwrap());
    let response = stack.send(into_request(parts)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.extensions().get::<VerifiedKey>().unwrap().label, "sig1");
}

#[test]
fn the_required_components_must_be_covered_as_plain_entries() {
    let key = device();
    let path_not_uri = ["@method", "@path", "@authority", "authorization", "content-type", "content-digest"];
    let parts = request_parts("HTTPSig t", &key, &bound_params("n0nce-0001"), &path_not_uri, HOST, |_| {});
    assert_eq!(head_code(&parts).unwrap_err(), ProblemCode::ComponentsMissing);
    for dropped in BOUND_REQUIRED {
        let fewer: Vec<&str> = BOUND_REQUIRED.iter().copied().filter(|c| *c != dropped).collect();
        let parts = request_parts("HTTPSig t", &key, &bound_params("n0nce-0001"), &fewer, HOST, |_| {});
        assert_eq!(head_code(&parts).unwrap_err(), ProblemCode::ComponentsMissing, "{dropped}");
    }
    // `"content-digest";sf` alone does not count as covering it.
    let parts = request_parts("HTTPSig t", &key, &bound_params("n0nce-0001"), &BOUND_REQUIRED, HOST, |p| {
        let input = format!(
            "sig1=(\"@method\" \"@target-uri\" \"authorization\" \"content-type\" \"content-digest\";sf);created={NOW};nonce=\"n0nce-0001\";tag=\"httpsig-oauth\""
        );
        p.headers.insert("signature-input", input.parse().unwrap());
    });
    assert_eq!(head_code(&parts).unwrap_err(), ProblemCode::ComponentsMissing);
}

#[tokio::test]
async fn a_signature_for_another_host_does_not_verify_here() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    // Signed for https://evil.example/…, delivered with this API's Host: the rebuilt
    // @target-uri differs, so the signature is invalid (a Host naming another service
    // is refused earlier by the API's authority check, 400 bad_request).
    let parts = request_parts(
        "HTTPSig tok-a",
        &alice,
        &bound_params("n0nce-0001"),
        &BOUND_REQUIRED,
        "evil.example",
        |_| {},
    );
    let response = stack.send(into_request(parts)).await;
    assert_eq!(refusal(&response), (ProblemCode::SignatureInvalid, Some("HTTPSig".into())));
    assert_eq!(stack.stored(), 0);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_and_thirty_concurrent_copies_pass_once() {
    let alice = device();
    let stack = Arc::new(Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]));
    let parts = bound_parts("tok-a", &alice, "n0nce-race");
    let sends: Vec<_> = (0..30)
        .map(|_| {
            let (stack, parts) = (stack.clone(), parts.clone());
            tokio::spawn(async move { stack.send(into_request(parts)).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        let response = send.await.unwrap();
        if response.status() != StatusCode::OK {
            assert_eq!(refusal(&response), (ProblemCode::Replayed, Some("HTTPSig".into())));
        }
        statuses.push(response.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(stack.stored(), 1);
}

#[tokio::test]
async fn a_registry_key_named_like_the_thumbprint_shares_no_nonce_with_the_bound_key() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let thumbprint = BoundKey::from_signing_key(&alice).unwrap().thumbprint();
    for keyid in [thumbprint.clone(), format!("htsk:{thumbprint}")] {
        let seen =
            stack.nonces.check_and_record(&keyid, "n0nce-0001", NOW, std::time::Duration::from_secs(60));
        assert_eq!(seen.await.unwrap(), NonceVerdict::Fresh);
    }
    let response = stack.send(into_request(bound_parts("tok-a", &alice, "n0nce-0001"))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stale_request_is_refused_before_the_token_is_looked_up() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let stale = SignParams::new("sig1").created(NOW - 301).nonce("n0nce-0001").tag(BOUND_REQUEST_TAG);
    let parts = request_parts("HTTPSig tok-a", &alice, &stale, &BOUND_REQUIRED, HOST, |_| {});
    let response = stack.send(into_request(parts)).await;
    assert_eq!(refusal(&response), (ProblemCode::RequestExpired, Some("HTTPSig".into())));
    let malformed = bound_parts("tok-a", &alice, "n0nce-0001");
    let mut malformed = malformed;
    malformed.headers.insert("signature", "sig1=:not base64 at all:".parse().unwrap());
    let response = stack.send(into_request(malformed)).await;
    assert_eq!(refusal(&response).0, ProblemCode::SignatureMalformed);
    assert_eq!(stack.asked(), 0, "no identity-server question for a request that fails step 3");
}

#[tokio::test]
async fn a_changed_body_is_a_digest_mismatch_only_after_the_token_passed() {
    let alice = device();
    let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
    let parts = bound_parts("tok-a", &alice, "n0nce-0001");
    let response = stack.send(Request::from_parts(parts, Body::from(BODY.replace("24", "25")))).await;
    assert_eq!(refusal(&response), (ProblemCode::DigestMismatch, Some("HTTPSig".into())));
    assert_eq!((stack.asked(), stack.stored()), (1, 0));
}

#[tokio::test]
async fn httpsig_without_the_signature_layer_is_refused_by_the_token_layer() {
    let alice = device();
    let validator = Arc::new(MemoryValidator {
        tokens: [("tok-a".to_owned(), user("alice", Some(cnf_of(&alice))))].into(),
        asked: AtomicUsize::new(0),
    });
    let service =
        ServiceBuilder::new().layer(TokenLayer::new(validator)).service_fn(|_r: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        });
    let response = service.oneshot(into_request(bound_parts("tok-a", &alice, "n0nce-0001"))).await.unwrap();
    assert_eq!(
        refusal(&response),
        (ProblemCode::TokenInvalid, Some("HTTPSig error=\"invalid_token\"".into()))
    );
}

#[tokio::test]
async fn a_cnf_naming_an_unusable_key_is_token_invalid() {
    let mallory = device();
    let bad = Confirmation {
        htsk: slipgate_httpsig::binding::Htsk { alg: "hmac-sha256".into(), pub_key: "AAAA".into() },
    };
    let stack = Stack::new(&[("tok-bad", user("alice", Some(bad)))]);
    let response = stack.send(into_request(bound_parts("tok-bad", &mallory, "n0nce-0001"))).await;
    assert_eq!(refusal(&response).0, ProblemCode::TokenInvalid);
    assert_eq!(stack.stored(), 0);
}

/// docs/wire-protocol.md §10, "A request with the bound token", byte for byte.
#[tokio::test]
async fn the_documented_bound_request_verifies_in_the_guard() {
    const CNF: &str = r#"{"htsk":{"alg":"ed25519","pub":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}}"#;
    let cnf: Confirmation = serde_json::from_str(CNF).unwrap();
    let stack = Stack::new(&[("example-token", user("alice", Some(cnf)))]);
    let (parts, ()) = http::Request::post("/generate/salaryslip")
        .header("host", "127.0.0.1:8443")
        .header("content-type", "application/json")
        .header("content-digest", "sha-256=:wSUVK7pzEgVCfQmtG+rRuQs6aUnrfondbUX24Dhc0MU=:")
        .header("authorization", "HTTPSig example-token")
        .header("signature-input", r#"sig1=("@method" "@target-uri" "authorization" "content-type" "content-digest");created=1767225600;nonce="k9Jyxempel2305Nmx7Rk";tag="httpsig-oauth""#)
        .header("signature", "sig1=:uXie6AGN+V1AtAt220YaskAFGp+8matEsFcci0im01VekzuLrWJ00P3awM5n6218R+5fAv87KacbTzHulWh4CQ==:")
        .body(())
        .unwrap()
        .into_parts();
    let response = stack.send(into_request(parts)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let verified = response.extensions().get::<VerifiedKey>().unwrap();
    assert_eq!(verified.thumbprint.as_deref(), Some("poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"));
}

/// Steps 6–8 in one Redis script ([`SignatureLayer::with_redis_steps`]) against the Redis
/// at `SLIPGATE_TEST_REDIS_URL`, with key-bound requests: the signature layer, the token
/// layer and the per-user limit composed as the API composes them.
mod redis_steps {
    use std::time::Duration;

    use super::*;
    use crate::ratelimit::{MemoryRateLimitStore, PerUserLimit, RedisRateLimitStore};
    use crate::redis::RedisConnection;
    use crate::replay::{RedisNonceAndQuota, RedisNonceStore};

    #[allow(clippy::disallowed_methods, reason = "test configuration: the service URL CI provides")]
    fn redis_url() -> String {
        std::env::var("SLIPGATE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
    }

    fn steps(connection: &RedisConnection) -> RedisNonceAndQuota {
        let prefix = format!("slipgate-test:{}:", uuid::Uuid::new_v4());
        RedisNonceAndQuota::new(
            RedisNonceStore::new(connection.clone()).with_prefix(prefix.clone()),
            RedisRateLimitStore::new(connection.clone()).with_prefix(prefix),
        )
    }

    /// The script charges 1/h; the per-user layer's own store would allow 100/h, so a
    /// 429 shows the layer took the script's decision.
    async fn send(stack: &Stack, steps: &RedisNonceAndQuota, request: Request<Body>) -> Response<Body> {
        let keys = KeyRing::new();
        let token = TokenLayer::new(stack.validator.clone());
        let signature = SignatureLayer::new(Arc::new(keys), stack.nonces.clone(), stack.clock.clone())
            .with_bound_tokens(stack.validator.clone())
            .with_redis_steps(steps.clone(), "1/h".parse().unwrap(), token.clone());
        let own = Arc::new(MemoryRateLimitStore::new(100));
        let service = ServiceBuilder::new()
            .layer(signature)
            .layer(token)
            .layer(PerUserLimit::new(own, "100/h".parse().unwrap(), stack.clock.clone()))
            .service_fn(|_: Request<Body>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
            });
        service.oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn one_round_trip_keeps_the_order_of_steps_6_to_8() {
        let connection = RedisConnection::connect(&redis_url(), Duration::from_secs(2)).await.unwrap();
        let steps = steps(&connection);
        let (alice, mallory) = (device(), device());
        let stack =
            Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice)))), ("tok-m", user("mallory", None))]);
        let first = bound_parts("tok-a", &alice, "n0nce-0001");
        assert_eq!(send(&stack, &steps, into_request(first.clone())).await.status(), StatusCode::OK);
        // A replay is `replayed` and spends no quota ...
        let replay = send(&stack, &steps, into_request(first)).await;
        assert_eq!(refusal(&replay).0, ProblemCode::Replayed);
        // ... so the next fresh request is the one over the 1/h quota.
        let over = send(&stack, &steps, into_request(bound_parts("tok-a", &alice, "n0nce-0002"))).await;
        assert_eq!(refusal(&over).0, ProblemCode::RateLimited);
        // An unbound token sent as HTTPSig fails step 7, which comes before the nonce for
        // such requests (SPEC §3.2.1): no quota spent and no nonce either, so sending it
        // again is `token_invalid` again, never `replayed`.
        let unbound = bound_parts("tok-m", &mallory, "n0nce-0003");
        let refused = send(&stack, &steps, into_request(unbound.clone())).await;
        assert_eq!(refusal(&refused).0, ProblemCode::TokenInvalid);
        let again = send(&stack, &steps, into_request(unbound)).await;
        assert_eq!(refusal(&again).0, ProblemCode::TokenInvalid);
        // Alice's quota is still spent: her replay was refused before step 8 ran.
        let later = send(&stack, &steps, into_request(bound_parts("tok-a", &alice, "n0nce-0004"))).await;
        assert_eq!(refusal(&later).0, ProblemCode::RateLimited);
        // The memory nonce store of the layer was never used: the nonces are in Redis.
        assert_eq!(stack.stored(), 0);
    }

    #[tokio::test]
    async fn redis_down_is_store_unavailable() {
        let connection = RedisConnection::lazy("redis://127.0.0.1:1/0", Duration::from_millis(500)).unwrap();
        let steps = steps(&connection);
        let alice = device();
        let stack = Stack::new(&[("tok-a", user("alice", Some(cnf_of(&alice))))]);
        let response = send(&stack, &steps, into_request(bound_parts("tok-a", &alice, "n0nce-0001"))).await;
        assert_eq!(refusal(&response).0, ProblemCode::StoreUnavailable);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
