//! Signed token requests and key-bound tokens (SPEC §4, draft-richer-oauth-httpsig-03 §2.2–§2.3)
//! through a real TLS server, written as the attacker: replays, stale and future `created`,
//! another key than `pub`, two tagged signatures, `keyid`, HMAC, missing coverage, a swapped
//! body, another host, refreshes by another key or unsigned, and the worked example of
//! docs/wire-protocol.md §10 byte for byte.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::Value;
use slipgate_httpsig::base::{Message, signature_base};
use slipgate_httpsig::binding::{BoundKey, TOKEN_REQUEST_TAG};
use slipgate_httpsig::digest::{DigestAlgorithm, content_digest};
use slipgate_httpsig::keys::{Algorithm, SigningKey};
use slipgate_httpsig::params::{Component, parse_signature_input};
use slipgate_httpsig::sign::{SignParams, sign_message};
use slipgate_idp::Secret;
use slipgate_proto::oauth::{Confirmation, TOKEN_PATH};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{PgDatabase, TestIdp, split};

/// A device: its own key pair, as `slipgate login` makes one.
struct Device(SigningKey);

impl Device {
    fn new(alg: Algorithm) -> Self {
        Self(SigningKey::generate(alg).unwrap().0)
    }

    fn bound(&self) -> BoundKey {
        BoundKey::from_signing_key(&self.0).unwrap()
    }
}

/// A token request as it goes on the wire: the form body and the header fields.
#[derive(Debug, Clone)]
struct Request {
    body: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        &self.headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn set(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn now(idp: &TestIdp) -> i64 {
    use slipgate_proto::clock::Clock as _;
    idp.clock.unix_seconds()
}

/// The message the client signs: `POST uri` with the body's digest (and `authorization`).
fn message(uri: &str, body: &str, authorization: Option<&str>) -> Message {
    let msg = Message::request("POST", uri)
        .unwrap()
        .with_header("content-digest", &content_digest(DigestAlgorithm::Sha256, body.as_bytes()));
    match authorization {
        Some(value) => msg.with_header("authorization", value),
        None => msg,
    }
}

/// A request signed as SPEC §4 says, by `key`, for `uri`, covering `components`.
fn signed_for(
    key: &SigningKey,
    uri: &str,
    body: &str,
    created: i64,
    nonce: &str,
    authorization: Option<&str>,
    components: &[&str],
) -> Request {
    let msg = message(uri, body, authorization);
    let components: Vec<Component> = components.iter().map(|c| Component::field_or_derived(c)).collect();
    let params =
        SignParams::new("sig1").created(created).nonce(nonce).tag(TOKEN_REQUEST_TAG).with_alg().with_pub();
    let signed = sign_message(&msg, None::<&Message>, &components, &params, key).unwrap();
    let mut headers = vec![
        ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
        ("content-digest".to_owned(), msg.header("content-digest").unwrap()),
        ("signature-input".to_owned(), signed.signature_input),
        ("signature".to_owned(), signed.signature),
    ];
    if let Some(value) = authorization {
        headers.push(("authorization".to_owned(), value.to_owned()));
    }
    Request { body: body.to_owned(), headers }
}

/// The honest client's request to `idp`, signed now with a fresh nonce.
fn signed(idp: &TestIdp, device: &Device, body: &str) -> Request {
    signed_at(idp, device, body, now(idp), &nonce())
}

fn signed_at(idp: &TestIdp, device: &Device, body: &str, created: i64, nonce: &str) -> Request {
    let components = ["@method", "@target-uri", "content-digest"];
    signed_for(&device.0, &idp.url(TOKEN_PATH), body, created, nonce, None, &components)
}

/// A `Signature` over the base that `input` (the attacker's own `Signature-Input`) defines.
fn signature_over(key: &SigningKey, msg: &Message, input: &str) -> String {
    let params = parse_signature_input(input).unwrap();
    let base = signature_base(&params, msg, None::<&Message>).unwrap();
    format!("{}=:{}:", params.label, STANDARD.encode(key.sign(&base).unwrap()))
}

async fn send(idp: &TestIdp, request: &Request) -> (StatusCode, Value) {
    let mut builder = idp.http.post(idp.url(TOKEN_PATH)).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let (status, _, body) = split(builder.send().await.unwrap()).await;
    (status, body)
}

fn password_form(idp: &TestIdp, username: &str) -> String {
    form(&[("grant_type", "password"), ("username", username), ("password", &idp.password_of(username))])
}

fn refresh_form(refresh_token: &str) -> String {
    form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
}

#[track_caller]
fn assert_error(answer: &(StatusCode, Value), error: &str) {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    assert!(answer.1.get("access_token").is_none());
}

/// The JWT's claims (the signature is the server's; the tests read what it wrote).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn cnf_of(device: &Device) -> Value {
    serde_json::to_value(device.bound().confirmation()).unwrap()
}

async fn nonces(idp: &TestIdp) -> u64 {
    idp.store.token_nonce_count().await.unwrap()
}

/// A bound login: the answer, checked to be `httpsig`.
async fn bound_login(idp: &TestIdp, device: &Device, username: &str) -> Value {
    let answer = send(idp, &signed(idp, device, &password_form(idp, username))).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert_eq!(answer.1["token_type"], "httpsig");
    answer.1
}

#[tokio::test]
async fn a_signed_password_grant_binds_the_token_the_introspection_and_the_session_to_the_key() {
    let idp = TestIdp::spawn().await;
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256] {
        let device = Device::new(alg);
        let body = bound_login(&idp, &device, "alice").await;
        assert_eq!(body["scope"], "salaryslip:self");
        assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
        // The JWT carries cnf.htsk with the raw key, base64url without padding.
        let access = body["access_token"].as_str().unwrap();
        let claims = jwt_claims(access);
        assert_eq!(claims["cnf"], cnf_of(&device), "{alg}");
        assert_eq!(claims["cnf"]["htsk"]["alg"], alg.as_str());
        let raw = URL_SAFE_NO_PAD.decode(claims["cnf"]["htsk"]["pub"].as_str().unwrap()).unwrap();
        assert_eq!(raw, device.bound().raw());
        // Introspection answers the type and the exact cnf.
        let introspected = idp.introspect(access).await;
        assert_eq!(introspected["active"], true);
        assert_eq!(introspected["token_type"], "httpsig");
        assert_eq!(introspected["cnf"], cnf_of(&device));
        let parsed: slipgate_proto::oauth::Introspection = serde_json::from_value(introspected).unwrap();
        let cnf: Confirmation = parsed.cnf.unwrap();
        assert_eq!(BoundKey::from_confirmation(&cnf).unwrap(), device.bound());
    }
    // The session list names each bound key by its RFC 7638 thumbprint.
    let sessions =
        slipgate_idp::sessions::session_list(idp.store.as_ref(), "alice", now(&idp)).await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s.key_thumbprint.as_ref().is_some_and(|t| t.len() == 43)));
    // An unsigned login still gets exactly the bearer answer, with no cnf anywhere.
    let bearer = idp.login_ok("alice").await;
    assert_eq!(bearer["token_type"], "Bearer");
    let access = bearer["access_token"].as_str().unwrap();
    assert!(jwt_claims(access).get("cnf").is_none());
    let introspected = idp.introspect(access).await;
    assert_eq!(introspected["token_type"], "Bearer");
    assert!(introspected.get("cnf").is_none());
    let sessions =
        slipgate_idp::sessions::session_list(idp.store.as_ref(), "alice", now(&idp)).await.unwrap();
    assert_eq!(sessions.iter().filter(|s| s.key_thumbprint.is_none()).count(), 1);
    idp.stop().await;
}

#[tokio::test]
async fn a_replayed_signed_request_is_refused_and_thirty_concurrent_replays_get_one_token() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let request = signed(&idp, &device, &password_form(&idp, "alice"));
    assert_eq!(send(&idp, &request).await.0, StatusCode::OK);
    let replay = send(&idp, &request).await;
    assert_error(&replay, "invalid_request");
    assert!(replay.1["error_description"].as_str().unwrap().contains("nonce"), "{}", replay.1);
    // Thirty copies of one fresh request at once: exactly one token, one session.
    let request = signed(&idp, &device, &password_form(&idp, "paula"));
    let answers = futures_util::future::join_all((0..30).map(|_| send(&idp, &request))).await;
    let ok = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{answers:?}");
    // The losers: replays (400), or attempts beyond the login throttle's per-(user, IP)
    // budget of concurrent password checks (429, SPEC §4): never a second token.
    let mut replays = 0;
    for (status, body) in answers.iter().filter(|(status, _)| *status != StatusCode::OK) {
        match (*status, body["error"].as_str()) {
            (StatusCode::BAD_REQUEST, Some("invalid_request")) => replays += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some("slow_down")) => {}
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert!(replays >= 1, "{answers:?}");
    assert_eq!(nonces(&idp).await, 2);
    let sessions =
        slipgate_idp::sessions::session_list(idp.store.as_ref(), "paula", now(&idp)).await.unwrap();
    assert_eq!(sessions.len(), 1);
    idp.stop().await;
}

#[tokio::test]
async fn a_replay_to_another_instance_on_the_same_database_is_refused() {
    // Two servers, each with its own connection pool on one SQLite file.
    let first = TestIdp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let second_store = slipgate_idp::open_store(&first_database_url(&first)).await.unwrap();
    let second = TestIdp::spawn_on(second_store, dir).await;
    second.clock.set_unix(u64::try_from(now(&first)).unwrap());
    // The second spawn seeded new passwords; both servers read the same users.
    let device = Device::new(Algorithm::Ed25519);
    let body = password_form(&second, "alice");
    let components = ["@method", "@target-uri", "content-digest"];
    let created = now(&first);
    let nonce = nonce();
    let to_first = signed_for(&device.0, &first.url(TOKEN_PATH), &body, created, &nonce, None, &components);
    assert_eq!(send(&first, &to_first).await.0, StatusCode::OK);
    // The same key and nonce, signed for the second server's address.
    let to_second = signed_for(&device.0, &second.url(TOKEN_PATH), &body, created, &nonce, None, &components);
    assert_error(&send(&second, &to_second).await, "invalid_request");
    second.stop().await;
    first.stop().await;
}

fn first_database_url(idp: &TestIdp) -> String {
    // TestIdp::spawn puts the database beside the key file.
    format!("sqlite://{}", idp.key_file.parent().unwrap().join("idp.db").display())
}

#[tokio::test]
async fn nonces_are_shared_by_instances_on_postgres() {
    let db = PgDatabase::create().await;
    let first = TestIdp::spawn_on(db.open().await, tempfile::tempdir().unwrap()).await;
    let device = Device::new(Algorithm::EcdsaP256Sha256);
    let request = signed(&first, &device, &password_form(&first, "alice"));
    assert_eq!(send(&first, &request).await.0, StatusCode::OK);
    assert_error(&send(&first, &request).await, "invalid_request");
    assert_eq!(nonces(&first).await, 1);
    first.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn created_more_than_sixty_seconds_old_or_ahead_is_refused_and_spends_nothing() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let body = password_form(&idp, "alice");
    for created in [now(&idp) - 61, now(&idp) + 61] {
        let answer = send(&idp, &signed_at(&idp, &device, &body, created, &nonce())).await;
        assert_error(&answer, "invalid_request");
        assert!(answer.1["error_description"].as_str().unwrap().contains("created"), "{}", answer.1);
    }
    assert_eq!(nonces(&idp).await, 0);
    // At the edge, ±60 s, it is fresh.
    for created in [now(&idp) - 60, now(&idp) + 60] {
        assert_eq!(send(&idp, &signed_at(&idp, &device, &body, created, &nonce())).await.0, StatusCode::OK);
    }
    // A request that was fresh when made goes stale on the server's clock.
    let request = signed(&idp, &device, &body);
    idp.clock.advance(Duration::from_secs(61));
    assert_error(&send(&idp, &request).await, "invalid_request");
    idp.stop().await;
}

#[tokio::test]
async fn a_signature_by_another_key_than_pub_is_refused() {
    let idp = TestIdp::spawn().await;
    let (victim, attacker) = (Device::new(Algorithm::Ed25519), Device::new(Algorithm::Ed25519));
    let request = signed(&idp, &attacker, &password_form(&idp, "alice"));
    // The attacker's signature, shown under the victim's pub.
    let pub_of = |d: &Device| format!("pub=:{}:", STANDARD.encode(d.bound().raw()));
    let input = request.header("signature-input").replace(&pub_of(&attacker), &pub_of(&victim));
    assert_ne!(input, request.header("signature-input"));
    let forged = request.clone().set("signature-input", &input);
    assert_error(&send(&idp, &forged).await, "invalid_request");
    // The signature bytes of one request under another request's parameters fail too.
    let other = signed(&idp, &victim, &password_form(&idp, "alice"));
    let mixed = other.clone().set("signature", request.header("signature"));
    assert_error(&send(&idp, &mixed).await, "invalid_request");
    assert_eq!(nonces(&idp).await, 0);
    idp.stop().await;
}

#[tokio::test]
async fn two_tagged_signatures_a_keyid_an_hmac_alg_or_no_pub_are_refused() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let uri = idp.url(TOKEN_PATH);
    let body = password_form(&idp, "alice");
    let msg = message(&uri, &body, None);
    let created = now(&idp);
    let pub_param = format!("pub=:{}:", STANDARD.encode(device.bound().raw()));
    let covered = r#"("@method" "@target-uri" "content-digest")"#;
    let params = |nonce: &str, extra: &str| {
        format!(r#"{covered};created={created};nonce="{nonce}";tag="{TOKEN_REQUEST_TAG}"{extra}"#)
    };
    let send_input = |input: String, signature: String| {
        let request = Request {
            body: body.clone(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("content-digest".into(), msg.header("content-digest").unwrap()),
                ("signature-input".into(), input),
                ("signature".into(), signature),
            ],
        };
        let idp = &idp;
        async move { send(idp, &request).await }
    };
    // The honest form is accepted (so each refusal below is the one change's).
    let good = format!("sig1={}", params(&nonce(), &format!(r#";alg="ed25519";{pub_param}"#)));
    assert_eq!(send_input(good.clone(), signature_over(&device.0, &msg, &good)).await.0, StatusCode::OK);

    // Two signatures carrying the token-request tag, each valid on its own.
    let first = params(&nonce(), &format!(r#";alg="ed25519";{pub_param}"#));
    let second = params(&nonce(), &format!(r#";alg="ed25519";{pub_param}"#));
    let input = format!("sig1={first}, sig2={second}");
    let s1 = signature_over(&device.0, &msg, &format!("sig1={first}"));
    let s2 = signature_over(&device.0, &msg, &format!("sig2={second}"));
    assert_error(&send_input(input, format!("{s1}, {s2}")).await, "invalid_request");
    // The second copy's tag typed as a token still counts.
    let second = format!(
        r#"{covered};created={created};nonce="{}";tag={TOKEN_REQUEST_TAG};alg="ed25519";{pub_param}"#,
        nonce()
    );
    let input = format!("sig1={first}, sig2={second}");
    assert_error(&send_input(input, format!("{s1}, sig2=:AAAA:")).await, "invalid_request");

    // A keyid beside pub.
    let with_keyid = format!(
        r#"sig1={covered};created={created};nonce="{}";keyid="dev-ed25519";tag="{TOKEN_REQUEST_TAG}";alg="ed25519";{pub_param}"#,
        nonce()
    );
    let answer = send_input(with_keyid.clone(), signature_over(&device.0, &msg, &with_keyid)).await;
    assert_error(&answer, "invalid_request");
    assert!(answer.1["error_description"].as_str().unwrap().contains("keyid"), "{}", answer.1);

    // hmac-sha256 with a "pub" that is the shared secret, MACed correctly.
    let secret = [7u8; 32];
    let hmac = SigningKey::hmac_sha256(&secret).unwrap();
    let hmac_input = format!(
        "sig1={}",
        params(&nonce(), &format!(r#";alg="hmac-sha256";pub=:{}:"#, STANDARD.encode(secret)))
    );
    let answer = send_input(hmac_input.clone(), signature_over(&hmac, &msg, &hmac_input)).await;
    assert_error(&answer, "invalid_request");
    assert!(answer.1["error_description"].as_str().unwrap().contains("hmac"), "{}", answer.1);

    // No pub, or no alg: the key is unknown.
    for extra in [r#";alg="ed25519""#.to_owned(), format!(";{pub_param}")] {
        let input = format!("sig1={}", params(&nonce(), &extra));
        assert_error(
            &send_input(input.clone(), signature_over(&device.0, &msg, &input)).await,
            "invalid_request",
        );
    }
    // No nonce, or no created.
    for input in [
        format!(r#"sig1={covered};created={created};tag="{TOKEN_REQUEST_TAG}";alg="ed25519";{pub_param}"#),
        format!(r#"sig1={covered};nonce="{}";tag="{TOKEN_REQUEST_TAG}";alg="ed25519";{pub_param}"#, nonce()),
    ] {
        assert_error(
            &send_input(input.clone(), signature_over(&device.0, &msg, &input)).await,
            "invalid_request",
        );
    }
    // Another tag (the bound-request one), or none.
    let other_tag = format!(
        r#"sig1={covered};created={created};nonce="{}";tag="httpsig-oauth";alg="ed25519";{pub_param}"#,
        nonce()
    );
    let untagged =
        format!(r#"sig1={covered};created={created};nonce="{}";alg="ed25519";{pub_param}"#, nonce());
    for input in [other_tag, untagged] {
        assert_error(
            &send_input(input.clone(), signature_over(&device.0, &msg, &input)).await,
            "invalid_request",
        );
    }
    // Only the good request spent a nonce.
    assert_eq!(nonces(&idp).await, 1);
    idp.stop().await;
}

#[tokio::test]
async fn a_signature_that_does_not_cover_the_digest_or_covers_it_with_parameters_is_refused() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let uri = idp.url(TOKEN_PATH);
    let body = password_form(&idp, "alice");
    for components in [
        vec!["@method", "@target-uri"],
        vec!["@method", "content-digest"],
        vec!["@target-uri", "content-digest"],
    ] {
        let request = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), None, &components);
        let answer = send(&idp, &request).await;
        assert_error(&answer, "invalid_request");
        assert!(answer.1["error_description"].as_str().unwrap().contains("cover"), "{}", answer.1);
    }
    // `"content-digest";key="sha-256"` signs one member, not the field.
    let msg = message(&uri, &body, None);
    let input = format!(
        r#"sig1=("@method" "@target-uri" "content-digest";key="sha-256");created={};nonce="{}";tag="{TOKEN_REQUEST_TAG}";alg="ed25519";pub=:{}:"#,
        now(&idp),
        nonce(),
        STANDARD.encode(device.bound().raw())
    );
    let request = signed(&idp, &device, &body)
        .set("signature-input", &input)
        .set("signature", &signature_over(&device.0, &msg, &input));
    assert_error(&send(&idp, &request).await, "invalid_request");
    // A signature without a Signature-Input, or the other way round.
    let request = signed(&idp, &device, &body);
    let mut only_signature = request.clone();
    only_signature.headers.retain(|(n, _)| n != "signature-input");
    assert_error(&send(&idp, &only_signature).await, "invalid_request");
    let mut only_input = request;
    only_input.headers.retain(|(n, _)| n != "signature");
    assert_error(&send(&idp, &only_input).await, "invalid_request");
    assert_eq!(nonces(&idp).await, 0);
    idp.stop().await;
}

#[tokio::test]
async fn a_body_swapped_under_the_signature_is_refused() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    // The victim signed a request for a self-scoped token; the attacker wants paula's.
    let signed_body = password_form(&idp, "alice");
    let request = signed(&idp, &device, &signed_body);
    let swapped = password_form(&idp, "paula");
    // The body alone swapped: the digest no longer matches.
    let mut body_only = request.clone();
    body_only.body.clone_from(&swapped);
    assert_error(&send(&idp, &body_only).await, "invalid_request");
    // Body and digest swapped: the signature covers the old digest.
    let both = Request { body: swapped.clone(), ..request.clone() }
        .set("content-digest", &content_digest(DigestAlgorithm::Sha256, swapped.as_bytes()));
    assert_error(&send(&idp, &both).await, "invalid_request");
    // A second Content-Digest line matching the swapped body beside the signed one.
    let mut two_lines = Request { body: swapped.clone(), ..request.clone() };
    two_lines
        .headers
        .push(("content-digest".into(), content_digest(DigestAlgorithm::Sha256, swapped.as_bytes())));
    assert_error(&send(&idp, &two_lines).await, "invalid_request");
    // A parameter appended to the body (a repeated one is refused anyway; a new one too).
    let mut appended = request.clone();
    appended.body.push_str("&scope=salaryslip%3Aany");
    assert_error(&send(&idp, &appended).await, "invalid_request");
    assert_eq!(nonces(&idp).await, 0);
    // The request as signed still works: nothing above spent its nonce.
    assert_eq!(send(&idp, &request).await.0, StatusCode::OK);
    idp.stop().await;
}

#[tokio::test]
async fn a_signature_for_another_host_or_path_is_refused() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let body = password_form(&idp, "alice");
    let components = ["@method", "@target-uri", "content-digest"];
    let port = idp.addr.port();
    for uri in [
        "https://evil.example/oauth/token".to_owned(),
        format!("https://localhost:{port}/oauth/token"),
        format!("https://127.0.0.1:{}/oauth/token", port.wrapping_add(1)),
        format!("http://127.0.0.1:{port}/oauth/token"),
        format!("https://127.0.0.1:{port}/oauth/introspect"),
        format!("https://127.0.0.1:{port}/oauth/token?x=1"),
    ] {
        let request = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), None, &components);
        let answer = send(&idp, &request).await;
        assert_error(&answer, "invalid_request");
        assert!(answer.1["error_description"].as_str().unwrap().contains("verify"), "{uri}: {}", answer.1);
    }
    assert_eq!(nonces(&idp).await, 0);
    idp.stop().await;
}

#[tokio::test]
async fn a_wrong_password_with_a_valid_signature_is_invalid_grant_and_leaves_the_nonce_unspent() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let nonce = nonce();
    let created = now(&idp);
    let wrong = form(&[("grant_type", "password"), ("username", "alice"), ("password", "not-the-password")]);
    assert_error(&send(&idp, &signed_at(&idp, &device, &wrong, created, &nonce)).await, "invalid_grant");
    let unknown =
        form(&[("grant_type", "password"), ("username", "mallory"), ("password", "not-the-password")]);
    assert_error(&send(&idp, &signed_at(&idp, &device, &unknown, created, &nonce)).await, "invalid_grant");
    assert_eq!(nonces(&idp).await, 0, "a failed login wrote to the nonce store");
    // The same key and nonce with the right password: accepted, then spent.
    let right = signed_at(&idp, &device, &password_form(&idp, "alice"), created, &nonce);
    assert_eq!(send(&idp, &right).await.0, StatusCode::OK);
    assert_eq!(nonces(&idp).await, 1);
    let again = signed_at(&idp, &device, &password_form(&idp, "paula"), created, &nonce);
    assert_error(&send(&idp, &again).await, "invalid_request");
    idp.stop().await;
}

#[tokio::test]
async fn a_bound_refresh_must_be_signed_by_the_same_key_and_stays_bound() {
    let idp = TestIdp::spawn().await;
    let (a, b) = (Device::new(Algorithm::Ed25519), Device::new(Algorithm::Ed25519));
    let login = bound_login(&idp, &a, "alice").await;
    let refresh = login["refresh_token"].as_str().unwrap();
    // Key B holds the stolen refresh token: refused, and the token is not spent.
    assert_error(&send(&idp, &signed(&idp, &b, &refresh_form(refresh))).await, "invalid_grant");
    // B with a P-256 key: the same.
    let c = Device::new(Algorithm::EcdsaP256Sha256);
    assert_error(&send(&idp, &signed(&idp, &c, &refresh_form(refresh))).await, "invalid_grant");
    // Unsigned, as a bearer refresh token: refused, not spent.
    let (status, _, body) = idp.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_error(&(status, body), "invalid_grant");
    assert_eq!(nonces(&idp).await, 1, "only the login spent a nonce");
    // A itself refreshes: bound again to A, the session still live.
    let refreshed = send(&idp, &signed(&idp, &a, &refresh_form(refresh))).await;
    assert_eq!(refreshed.0, StatusCode::OK, "{}", refreshed.1);
    assert_eq!(refreshed.1["token_type"], "httpsig");
    let access = refreshed.1["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["cnf"], cnf_of(&a));
    assert_eq!(jwt_claims(access)["sid"], jwt_claims(login["access_token"].as_str().unwrap())["sid"]);
    let introspected = idp.introspect(access).await;
    assert_eq!((introspected["active"].as_bool(), &introspected["cnf"]), (Some(true), &cnf_of(&a)));
    // The successor is bound too: B cannot use it either.
    let next = refreshed.1["refresh_token"].as_str().unwrap();
    assert_error(&send(&idp, &signed(&idp, &b, &refresh_form(next))).await, "invalid_grant");
    assert_eq!(send(&idp, &signed(&idp, &a, &refresh_form(next))).await.0, StatusCode::OK);
    idp.stop().await;
}

#[tokio::test]
async fn a_signed_refresh_of_an_unbound_session_is_invalid_grant_and_spends_nothing() {
    let idp = TestIdp::spawn().await;
    let thief = Device::new(Algorithm::Ed25519);
    let login = idp.login_ok("alice").await;
    let refresh = login["refresh_token"].as_str().unwrap();
    let answer = send(&idp, &signed(&idp, &thief, &refresh_form(refresh))).await;
    assert_error(&answer, "invalid_grant");
    assert_eq!(nonces(&idp).await, 0);
    // The owner's unsigned refresh still works: the token was not spent.
    let (status, _, body) = idp.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    idp.stop().await;
}

#[tokio::test]
async fn a_replayed_signed_refresh_gets_no_second_token() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let login = bound_login(&idp, &device, "alice").await;
    let request = signed(&idp, &device, &refresh_form(login["refresh_token"].as_str().unwrap()));
    assert_eq!(send(&idp, &request).await.0, StatusCode::OK);
    // The replayed request presents a used refresh token: invalid_grant (and, as for any
    // reuse of a refresh token, the session ends).
    assert_error(&send(&idp, &request).await, "invalid_grant");
    idp.stop().await;
}

#[tokio::test]
async fn a_confidential_client_signs_with_authorization_covered() {
    let idp = TestIdp::spawn().await;
    let secret =
        slipgate_idp::client_add(idp.store.as_ref(), "web-app", "a confidential client").await.unwrap();
    let basic = format!("Basic {}", STANDARD.encode(format!("web-app:{}", secret.expose())));
    let device = Device::new(Algorithm::Ed25519);
    let uri = idp.url(TOKEN_PATH);
    let body = password_form(&idp, "alice");
    let all = ["@method", "@target-uri", "content-digest", "authorization"];
    let request = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), Some(&basic), &all);
    let answer = send(&idp, &request).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert_eq!(answer.1["token_type"], "httpsig");
    let access = answer.1["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["client_id"], "web-app");
    assert_eq!(jwt_claims(access)["cnf"], cnf_of(&device));
    // Basic sent but not covered: refused before the credentials are looked at.
    let three = ["@method", "@target-uri", "content-digest"];
    let uncovered = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), Some(&basic), &three);
    let refused = send(&idp, &uncovered).await;
    assert_error(&refused, "invalid_request");
    assert!(refused.1["error_description"].as_str().unwrap().contains("authorization"), "{}", refused.1);
    // Covered, then swapped for another client's credentials: the signature fails.
    let other = slipgate_idp::client_add(idp.store.as_ref(), "other-app", "another").await.unwrap();
    let other_basic = format!("Basic {}", STANDARD.encode(format!("other-app:{}", other.expose())));
    let swapped = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), Some(&basic), &all)
        .set("authorization", &other_basic);
    assert_error(&send(&idp, &swapped).await, "invalid_request");
    // The client's bound refresh: signed with Basic covered, by the same key.
    let refresh = refresh_form(answer.1["refresh_token"].as_str().unwrap());
    let refreshed =
        send(&idp, &signed_for(&device.0, &uri, &refresh, now(&idp), &nonce(), Some(&basic), &all)).await;
    assert_eq!(refreshed.0, StatusCode::OK, "{}", refreshed.1);
    assert_eq!(refreshed.1["token_type"], "httpsig");
    // A wrong client secret under a valid signature: invalid_client, nonce unspent.
    let before = nonces(&idp).await;
    let bad_basic = format!("Basic {}", STANDARD.encode("web-app:not-the-secret"));
    let bad = signed_for(&device.0, &uri, &body, now(&idp), &nonce(), Some(&bad_basic), &all);
    let answer = send(&idp, &bad).await;
    assert_eq!((answer.0, answer.1["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert_eq!(nonces(&idp).await, before);
    idp.stop().await;
}

#[tokio::test]
async fn client_credentials_cannot_be_signed_into_a_bound_token() {
    let idp = TestIdp::spawn().await;
    let (id, secret) = idp.introspection_client();
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let device = Device::new(Algorithm::Ed25519);
    let body = form(&[("grant_type", "client_credentials")]);
    let all = ["@method", "@target-uri", "content-digest", "authorization"];
    let request = signed_for(&device.0, &idp.url(TOKEN_PATH), &body, now(&idp), &nonce(), Some(&basic), &all);
    assert_error(&send(&idp, &request).await, "invalid_request");
    idp.stop().await;
}

#[tokio::test]
async fn a_token_whose_cnf_differs_from_its_sessions_key_is_inactive() {
    let idp = TestIdp::spawn().await;
    let device = Device::new(Algorithm::Ed25519);
    let login = bound_login(&idp, &device, "alice").await;
    let mut claims = jwt_claims(login["access_token"].as_str().unwrap());
    // Someone holding the signing key re-mints the token for their own key, or unbound.
    claims["cnf"] = cnf_of(&Device::new(Algorithm::Ed25519));
    let rebound = idp.sign_token("at+jwt", &claims).await;
    assert_eq!(idp.introspect(&rebound).await, serde_json::json!({"active": false}));
    claims.as_object_mut().unwrap().remove("cnf");
    let unbound = idp.sign_token("at+jwt", &claims).await;
    assert_eq!(idp.introspect(&unbound).await, serde_json::json!({"active": false}));
    // A bearer session's token re-minted with a cnf.
    let bearer = idp.login_ok("alice").await;
    let mut claims = jwt_claims(bearer["access_token"].as_str().unwrap());
    claims["cnf"] = cnf_of(&device);
    let bound = idp.sign_token("at+jwt", &claims).await;
    assert_eq!(idp.introspect(&bound).await, serde_json::json!({"active": false}));
    // The genuine bound token is active.
    assert_eq!(idp.introspect(login["access_token"].as_str().unwrap()).await["active"], true);
    idp.stop().await;
}

/// docs/wire-protocol.md §10, "The signed token request", as the identity server sees it.
mod worked_example {
    pub const HOST: &str = "127.0.0.1:8444";
    pub const FORM: &str =
        "grant_type=password&username=alice&password=example-password&scope=salaryslip%3Aself";
    pub const CREATED: u64 = 1_767_225_600;
    pub const DIGEST: &str = "sha-256=:Xd2wp5yQaY/NefJ0hr5RIsJIpWDy2NiUNszKtfz4MTo=:";
    pub const INPUT: &str = r#"sig1=("@method" "@target-uri" "content-digest");created=1767225600;nonce="b3k2pp5k7z-50gnX1b06";tag="httpsig-oauth-token-request";alg="ed25519";pub=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:"#;
    pub const SIGNATURE: &str =
        "sig1=:m6YNUeqIpJDbMkDeltALKD8IvX81LaOOvS+GFTbksDKede3kn/wBXBBUyQsvtj1jHd92KCQVJSHHj+iMygwdCw==:";
    pub const CNF: &str = r#"{"htsk":{"alg":"ed25519","pub":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}}"#;
    pub const THUMBPRINT: &str = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";
    pub const DOCS: &str = include_str!("../../../../docs/wire-protocol.md");

    /// The request's bytes, sent to `HOST` whatever port the test server is on.
    pub fn bytes() -> Vec<u8> {
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Digest: {DIGEST}\r\nSignature-Input: {INPUT}\r\nSignature: {SIGNATURE}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{FORM}",
            FORM.len()
        )
        .into_bytes()
    }
}

async fn exchange(idp: &TestIdp, bytes: &[u8]) -> (u16, Value) {
    let mut stream = slipgate_test_support::tls_connect(idp.addr, &idp.ca).await;
    stream.write_all(bytes).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn the_worked_example_of_the_docs_is_accepted_byte_for_byte_once() {
    use worked_example::*;
    // The constants are the document's own text.
    for text in [FORM, DIGEST, INPUT, SIGNATURE, CNF, THUMBPRINT, "https://127.0.0.1:8444/oauth/token"] {
        assert!(DOCS.contains(text), "docs/wire-protocol.md no longer shows {text}");
    }
    let idp = TestIdp::spawn().await;
    slipgate_idp::user_passwd(idp.store.as_ref(), "alice", &Secret::new("example-password")).await.unwrap();
    idp.clock.set_unix(CREATED);
    let (status, body) = exchange(&idp, &bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "httpsig");
    assert_eq!(body["scope"], "salaryslip:self");
    let cnf: Value = serde_json::from_str(CNF).unwrap();
    assert_eq!(jwt_claims(body["access_token"].as_str().unwrap())["cnf"], cnf);
    let sessions =
        slipgate_idp::sessions::session_list(idp.store.as_ref(), "alice", i64::try_from(CREATED).unwrap())
            .await
            .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].key_thumbprint.as_deref(), Some(THUMBPRINT));
    // The very bytes again: a replay.
    let (status, body) = exchange(&idp, &bytes()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    // Under another Host the same bytes verify nothing (the @target-uri differs).
    let elsewhere = String::from_utf8(bytes()).unwrap().replace(HOST, "127.0.0.1:9444");
    let (status, body) = exchange(&idp, elsewhere.as_bytes()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    // A minute and a second later the example is stale (freshness is checked first).
    idp.clock.set_unix(CREATED + 61);
    let (status, body) = exchange(&idp, &bytes()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("created"), "{body}");
    idp.stop().await;
}

#[tokio::test]
async fn a_signed_request_over_http2_rebuilds_the_target_uri_from_the_authority() {
    let idp = TestIdp::spawn().await;
    let h2 = slipgate_test_support::https_client(&idp.ca, &[&rustls::version::TLS13], &[b"h2"]);
    let device = Device::new(Algorithm::Ed25519);
    let send_h2 = |request: Request| {
        let mut builder = h2.post(idp.url(TOKEN_PATH)).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        async move {
            let response = builder.send().await.unwrap();
            assert_eq!(response.version(), reqwest::Version::HTTP_2);
            let (status, _, body) = split(response).await;
            (status, body)
        }
    };
    let answer = send_h2(signed(&idp, &device, &password_form(&idp, "alice"))).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert_eq!(answer.1["token_type"], "httpsig");
    // Signed for another authority: refused over HTTP/2 too.
    let components = ["@method", "@target-uri", "content-digest"];
    let body = password_form(&idp, "alice");
    let elsewhere = signed_for(
        &device.0,
        "https://evil.example/oauth/token",
        &body,
        now(&idp),
        &nonce(),
        None,
        &components,
    );
    assert_error(&send_h2(elsewhere).await, "invalid_request");
    idp.stop().await;
}
