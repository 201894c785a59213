//! SPEC §3.3, the order of checks, with every step named: a request that
//! fails at step k and at every later step it can also fail gets step k's
//! code, and a request refused at step k shows no effect of the steps after
//! it (no nonce spent before step 6, no user quota spent before step 8).

use std::future::Future as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Waker};

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method};
use slipgate_test_support::{Answer, SEED_BODY, TestRouter};
use tower::ServiceExt as _;

use crate::expect_problem;

const NOT_JSON: &str = "{\"emp_id\": \"01234\",";
/// Another body that is not JSON: sent in place of the one signed (step 4).
const OTHER_NOT_JSON: &str = "[1, 2";
/// Another employee's slip with invalid fields: forbidden for alice (step 11)
/// before validation (step 12) could say what is wrong.
const OTHERS_INVALID: &str =
    r#"{"emp_id":"00042","emp_code":"?","emp_name":"<b>","emp_grade":"x","working_days":-1}"#;
/// Alice's own record with a working-day count no period has (step 12).
const INVALID: &str =
    r#"{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe","emp_grade":"7.1","working_days":-1}"#;

/// The router, and a fresh client address per request (`X-Forwarded-For`
/// from a trusted peer), so that only the step-1 probes share a quota.
struct Order {
    router: TestRouter,
    next_ip: AtomicU32,
}

/// One signed request and what is done to it after signing.
#[derive(Clone)]
struct Probe {
    headers: HeaderMap,
    body: String,
}

impl Order {
    fn fresh_ip(&self) -> String {
        let n = self.next_ip.fetch_add(1, Ordering::SeqCst);
        format!("198.51.{}.{}", n / 250, n % 250 + 1)
    }

    /// `body` signed for `authorization` with the key `keyid` (the test HMAC secret).
    fn probe(&self, keyid: &str, authorization: &str, body: &str) -> Probe {
        let key =
            slipgate_httpsig::SigningKey::hmac_sha256(&slipgate_test_support::TEST_HMAC_SECRET).unwrap();
        let signer = slipgate_client::RequestSigner::new(keyid, key);
        let url = reqwest::Url::parse(&self.router.url(slipgate_proto::SLIP_PATH)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("authorization", authorization.parse().unwrap());
        signer.sign(&Method::POST, &url, &mut headers, body.as_bytes()).unwrap();
        Probe { headers, body: body.to_owned() }
    }

    fn signed(&self, authorization: &str, body: &str) -> Probe {
        self.probe(slipgate_test_support::TEST_HMAC_ID, authorization, body)
    }

    async fn send_from(&self, ip: &str, probe: &Probe) -> Answer {
        let mut headers = probe.headers.clone();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        self.router.send(Method::POST, slipgate_proto::SLIP_PATH, headers, probe.body.clone()).await
    }

    async fn send(&self, probe: &Probe) -> Answer {
        self.send_from(&self.fresh_ip(), probe).await
    }

    /// A client-credentials token of a new client `id` with `scopes` (its own user quota).
    async fn service_token(&self, id: &str, scopes: &[&str]) -> String {
        let idp = &self.router.config.idp;
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let secret = slipgate_idp::client_add_with_scopes(idp.store.as_ref(), id, id, &scopes).await.unwrap();
        let response = idp
            .http
            .post(idp.url("/oauth/token"))
            .basic_auth(id, Some(secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        format!("Bearer {}", body["access_token"].as_str().unwrap())
    }
}

/// The later failures a probe can carry at once: changed after signing.
fn with_accept(mut probe: Probe, accept: &str) -> Probe {
    probe.headers.insert("accept", accept.parse().unwrap());
    probe
}

fn with_body(mut probe: Probe, body: &str) -> Probe {
    probe.body = body.to_owned();
    probe
}

fn with_flipped_signature(mut probe: Probe) -> Probe {
    let value = probe.headers["signature"].to_str().unwrap().to_owned();
    // `sig1=:<base64>:` — change one base64 character inside the signature.
    let i = "sig1=:".len() + 10;
    let flipped = if &value[i..=i] == "A" { "B" } else { "A" };
    let value = format!("{}{flipped}{}", &value[..i], &value[i + 1..]);
    probe.headers.insert("signature", value.parse().unwrap());
    probe
}

const ORDER_CONFIG: [&str; 4] = [
    "rate_limit.ip=1/h",
    "rate_limit.user=2/h",
    "rate_limit.trusted_proxies=[\"127.0.0.1\"]",
    "limits.max_concurrency=1",
];

#[tokio::test]
async fn each_step_of_the_spec_order_answers_before_every_later_one() {
    spec_order(TestRouter::new(&ORDER_CONFIG).await, true).await;
}

/// The same order with nonces and rate limits in a private Redis, where steps 6–8 are one
/// round trip (a script that records the nonce, then spends the user's quota only if the
/// nonce is new and the token passed): every answer is the same.
#[tokio::test]
async fn each_step_of_the_spec_order_answers_before_every_later_one_with_redis_stores() {
    let redis = crate::redis_steps::PrivateRedis::start().await;
    let mut config = ORDER_CONFIG.to_vec();
    let url = redis.url_override();
    config.extend(["replay.store=redis", "rate_limit.store=redis", url.as_str()]);
    let router = TestRouter::new(&config).await;
    assert!(router.state.redis_steps.is_some(), "both stores in Redis run steps 6-8 in one script");
    spec_order(router, false).await;
}

/// SPEC §3.3 step by step on `router` (built over [`ORDER_CONFIG`]); `shedding`: also
/// the load-shedding probe, which needs the step-1 store in memory (it polls a request
/// once up to its body read).
async fn spec_order(router: TestRouter, shedding: bool) {
    let t = Order { router, next_ip: AtomicU32::new(0) };
    let garbage = "Bearer not-a-token";
    let alice =
        format!("Bearer {}", t.router.config.idp.login_ok("alice").await["access_token"].as_str().unwrap());
    let paula = t.router.bearer();

    // Step 1, per-IP rate limit: an address over its quota, with a request that
    // would fail steps 2, 3, 4, 5, 7 and 10 too, is 429 (with Retry-After)...
    let exhausted = t.fresh_ip();
    let spend = t.signed(garbage, SEED_BODY);
    expect_problem(t.send_from(&exhausted, &spend).await, 401, "token_invalid").await;
    let all_wrong = with_body(
        with_flipped_signature(with_accept(t.probe("no-such-key", garbage, NOT_JSON), "text/html")),
        OTHER_NOT_JSON,
    );
    let answer = t.send_from(&exhausted, &all_wrong).await;
    assert!(answer.headers.contains_key("retry-after"));
    expect_problem(answer, 429, "rate_limited").await;
    // ... and spends no nonce: the same signed request from another address
    // reaches step 7 instead of being a replay.
    let first = t.signed(garbage, SEED_BODY);
    expect_problem(t.send_from(&exhausted, &first).await, 429, "rate_limited").await;
    expect_problem(t.send(&first).await, 401, "token_invalid").await;

    // Step 2, request shape (`Accept`): 406 before the signature (3–5), the
    // token (7) and the JSON (10) are looked at; no nonce spent.
    let unacceptable = t.signed(garbage, SEED_BODY);
    let all_wrong = with_body(
        with_flipped_signature(with_accept(t.probe("no-such-key", garbage, NOT_JSON), "text/html")),
        OTHER_NOT_JSON,
    );
    expect_problem(t.send(&all_wrong).await, 406, "not_acceptable").await;
    expect_problem(t.send(&with_accept(unacceptable.clone(), "text/html")).await, 406, "not_acceptable")
        .await;
    expect_problem(t.send(&unacceptable).await, 401, "token_invalid").await;

    // Step 3, signature headers and key lookup: unknown key before the digest
    // (4), the signature (5), the token (7) and the JSON (10).
    let all_wrong =
        with_body(with_flipped_signature(t.probe("no-such-key", garbage, NOT_JSON)), OTHER_NOT_JSON);
    expect_problem(t.send(&all_wrong).await, 401, "unknown_key").await;

    // Step 4, Content-Digest: a body changed after signing, with a broken
    // signature (5), a bad token (7) and no JSON (10); no nonce spent.
    let signed = t.signed(garbage, SEED_BODY);
    let all_wrong = with_body(with_flipped_signature(signed.clone()), NOT_JSON);
    expect_problem(t.send(&all_wrong).await, 401, "digest_mismatch").await;
    expect_problem(t.send(&signed).await, 401, "token_invalid").await;

    // Step 5, signature verification, before the nonce (6), the token (7) and
    // the JSON (10): the nonce of a forged request is not spent.
    let signed = t.signed(garbage, NOT_JSON);
    expect_problem(t.send(&with_flipped_signature(signed.clone())).await, 401, "signature_invalid").await;
    expect_problem(t.send(&signed).await, 401, "token_invalid").await;

    // Step 6, nonce: the first send spent it at step 6 although step 7
    // refused it; the replay is `replayed` before the bad token (7) and the
    // JSON (10) are looked at.
    let replay = t.signed(garbage, NOT_JSON);
    expect_problem(t.send(&replay).await, 401, "token_invalid").await;
    expect_problem(t.send(&replay).await, 401, "replayed").await;
    // A replay refused at step 6 spends no user quota (step 8): two fresh
    // requests of a 2/h user still pass.
    let svc = t.service_token("order-svc-6", &["salaryslip:any"]).await;
    let once = t.signed(&svc, SEED_BODY);
    assert_eq!(t.send(&once).await.status, 200);
    expect_problem(t.send(&once).await, 401, "replayed").await;
    assert_eq!(t.send(&t.signed(&svc, SEED_BODY)).await.status, 200);
    expect_problem(t.send(&t.signed(&svc, SEED_BODY)).await, 429, "rate_limited").await;

    // Step 7, token: a bad token before the JSON (10).
    expect_problem(t.send(&t.signed(garbage, NOT_JSON)).await, 401, "token_invalid").await;

    // Steps 8 then 9: a token without a salary scope spends its user quota
    // (step 8 runs first) and is refused at step 9; once the quota is spent,
    // the per-user limit answers first, before the scope (9) and the JSON (10).
    let unscoped = t.service_token("order-unscoped-8", &[]).await;
    for _ in 0..2 {
        let answer = t.send(&t.signed(&unscoped, SEED_BODY)).await;
        let challenge = answer.headers["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        expect_problem(answer, 403, "insufficient_scope").await;
    }
    let answer = t.send(&t.signed(&unscoped, NOT_JSON)).await;
    assert!(answer.headers.contains_key("retry-after"));
    let body = expect_problem(answer, 429, "rate_limited").await;
    assert_eq!(body["violated-policies"], serde_json::json!(["user"]));

    // Step 9, scope: before the JSON (10).
    let unscoped = t.service_token("order-unscoped-9", &[]).await;
    expect_problem(t.send(&t.signed(&unscoped, NOT_JSON)).await, 403, "insufficient_scope").await;

    // Step 10, JSON parse (nothing parsed, so steps 11 and 12 cannot fail too).
    expect_problem(t.send(&t.signed(&paula, NOT_JSON)).await, 400, "invalid_json").await;

    // Step 11, the object-level rule: alice asking for another employee with
    // invalid fields is forbidden before validation (12).
    expect_problem(t.send(&t.signed(&alice, OTHERS_INVALID)).await, 403, "forbidden").await;

    // Step 12, validation.
    let body = expect_problem(t.send(&t.signed(&paula, INVALID)).await, 422, "validation_failed").await;
    assert_eq!(crate::error_fields(&body), ["working_days"]);

    // Step 13, generation: a request that passes every check gets its slip.
    let answer = t.send(&t.signed(&alice, SEED_BODY)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["employee"]["emp_id"], "01234");

    if !shedding {
        t.router.stop().await;
        return;
    }
    // Step 1 again, load shedding after the per-IP limit: while one request
    // holds the one place (`limits.max_concurrency = 1`, its body never
    // ends), a request from another address that fails every later step is
    // 503 `overloaded` with `Retry-After: 1`.
    let held = t.signed(&paula, SEED_BODY);
    let mut request = http::Request::post(slipgate_proto::SLIP_PATH)
        .header("host", slipgate_test_support::router::AUTHORITY)
        .header("x-forwarded-for", t.fresh_ip())
        .body(Body::from_stream(futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>()))
        .unwrap();
    request.headers_mut().extend(held.headers);
    request.extensions_mut().insert(axum::extract::ConnectInfo(slipgate_test_support::router::PEER));
    let mut holding = Box::pin(slipgate_api::router(t.router.state.clone()).oneshot(request));
    // One poll runs it up to the body read (every store on the way is in memory).
    assert!(holding.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    let all_wrong = with_body(
        with_flipped_signature(with_accept(t.probe("no-such-key", garbage, NOT_JSON), "text/html")),
        OTHER_NOT_JSON,
    );
    let answer = t.send(&all_wrong).await;
    assert_eq!(answer.headers["retry-after"], "1");
    expect_problem(answer, 503, "overloaded").await;
    drop(holding);
    expect_problem(t.send(&t.signed(garbage, SEED_BODY)).await, 401, "token_invalid").await;
    t.router.stop().await;
}
