//! The SDK against a real API and identity server (test-support's `TestApi`).
//! Here rather than in `crates/client`, so the SDK's own dependency tree (dev
//! edges included) holds no server crate, axum or guard (SPEC §2).

use std::sync::Arc;

use slipgate_client::{Client, ClientError, Format, Generated, PinStore};
use slipgate_proto::clock::{Clock as _, ManualClock, SystemClock};
use slipgate_proto::{ProblemCode, SlipRequest};
use slipgate_test_support::TestApi;
use slipgate_test_support::mitm::{Mitm, Mode};

fn seed() -> SlipRequest {
    serde_json::from_str(slipgate_test_support::SEED_BODY).unwrap()
}

/// paula's tokens in a token file as `slipgate login` writes it.
async fn token_file(api: &TestApi, dir: &std::path::Path) -> std::path::PathBuf {
    let tokens = api.idp.login_ok("paula").await;
    let file = dir.join("tokens.json");
    let set = serde_json::json!({
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "scope": tokens["scope"],
        "username": "paula",
    });
    std::fs::write(&file, serde_json::to_vec(&set).unwrap()).unwrap();
    file
}

/// A client built the documented way, logged in as paula.
async fn client_for(api: &TestApi, dir: &std::path::Path, clock: Option<Arc<ManualClock>>) -> Client {
    let file = token_file(api, dir).await;
    let mut signer = api.signer();
    if let Some(clock) = clock {
        signer = signer.with_clock(clock);
    }
    Client::builder()
        .api_url(api.url(""))
        .ca_file(&api.ca)
        .signer(signer)
        .idp_url(api.idp.url(""))
        .token_file(file)
        .build()
        .unwrap()
}

#[tokio::test]
async fn builder_client_generates_json_and_pdf_slips() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let client = client_for(&api, dir.path(), None).await;
    let Generated::Json(slip, _) = client.generate(&seed(), Format::Json).await.unwrap() else { panic!() };
    assert_eq!(slip.employee.emp_name, "John Doe");
    let Generated::Pdf(pdf) = client.generate(&seed(), Format::Pdf).await.unwrap() else { panic!() };
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(client.clock_offset_millis(), 0, "no skew, no correction");
    api.stop().await;
}

#[tokio::test]
async fn generate_returns_field_errors_of_a_refused_request() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let client = client_for(&api, dir.path(), None).await;
    let mut request = seed();
    request.emp_grade = "99.9".into();
    request.working_days = 99;
    let err = client.generate(&request, Format::Json).await.unwrap_err();
    assert_eq!(err.code(), Some(ProblemCode::ValidationFailed));
    let ClientError::Problem { problem, .. } = err else { panic!() };
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"emp_grade"), "{fields:?}");
    api.stop().await;
}

#[tokio::test]
async fn generate_against_a_closed_port_gives_up_after_bounded_retries() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder()
        .api_url(format!("https://{closed}"))
        .ca_file(&api.ca)
        .signer(api.signer())
        .idp_url(api.idp.url(""))
        .token_file(token_file(&api, dir.path()).await)
        .retry(
            slipgate_client::RetryPolicy::default()
                .with_max_attempts(std::num::NonZeroU32::new(3).unwrap())
                .with_base_delay(std::time::Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let err = client.generate(&seed(), Format::Json).await.unwrap_err();
    assert!(matches!(err, ClientError::Refused { .. }), "{err}");
    assert!(err.to_string().contains(&format!("connection refused by {closed}")), "{err}");
    api.stop().await;
}

fn builder_via(api: &TestApi, mitm: &Mitm, tokens: std::path::PathBuf) -> slipgate_client::ClientBuilder {
    Client::builder()
        .api_url(mitm.url())
        .ca_file(&api.ca)
        .signer(api.signer())
        .idp_url(api.idp.url(""))
        .token_file(tokens)
}

/// SPEC §3.8: an answer changed in transit is refused by the SDK.
#[tokio::test]
async fn sdk_refuses_an_answer_changed_in_transit() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mitm = Mitm::in_front_of(&api).await;
    let client = builder_via(&api, &mitm, token_file(&api, dir.path()).await).build().unwrap();
    assert!(client.generate(&seed(), Format::Json).await.is_ok(), "the proxy itself must be transparent");
    mitm.set_mode(Mode::Tamper);
    let err = client.generate(&seed(), Format::Json).await.unwrap_err();
    assert!(matches!(err, ClientError::ResponseSignature(_)), "{err:?}");
    api.stop().await;
}

/// Issue 12: a man in the middle with a trusted certificate serves its own
/// key set and re-signs answers; once the real keys are pinned, it is refused
/// — by the client that pinned them and by a later one reading the pin file.
#[tokio::test]
async fn sdk_pins_the_keys_on_first_use_and_refuses_a_re_signing_man_in_the_middle() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let pins = dir.path().join("pins/default.json");
    let mitm = Mitm::in_front_of(&api).await;
    let tokens = token_file(&api, dir.path()).await;
    let client = builder_via(&api, &mitm, tokens.clone()).pin_file(&pins).build().unwrap();
    assert!(client.generate(&seed(), Format::Json).await.is_ok());
    let pinned = std::fs::read_to_string(&pins).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&pins).unwrap().permissions().mode() & 0o777, 0o600);

    mitm.set_mode(Mode::Resign);
    for client in [client, builder_via(&api, &mitm, tokens).pin_file(&pins).build().unwrap()] {
        let err = client.generate(&seed(), Format::Json).await.unwrap_err();
        assert!(matches!(err, ClientError::ServerKeysChanged(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("slipgate keys pin"), "{message}");
        assert!(message.contains(&mitm.jwks.keys[0].kid.clone().unwrap()), "names the served key: {message}");
    }
    assert_eq!(std::fs::read_to_string(&pins).unwrap(), pinned, "the pin is not replaced by the attacker's");
    api.stop().await;
}

#[tokio::test]
async fn sdk_with_named_server_keys_refuses_a_re_signing_proxy_from_the_first_answer() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let response = api.client().get(api.url("/.well-known/slipgate-keys")).send().await.unwrap();
    let real: slipgate_httpsig::jose::Jwks = response.json().await.unwrap();
    let mitm = Mitm::in_front_of(&api).await;
    mitm.set_mode(Mode::Resign);
    let client = builder_via(&api, &mitm, token_file(&api, dir.path()).await)
        .server_keys(real.clone())
        .build()
        .unwrap();
    let err = client.generate(&seed(), Format::Json).await.unwrap_err();
    assert!(matches!(err, ClientError::ResponseSignature(_)), "{err:?}");
    mitm.set_mode(Mode::Transparent);
    assert!(client.generate(&seed(), Format::Json).await.is_ok(), "the real keys still verify");
    api.stop().await;
}

#[tokio::test]
async fn repin_trusts_the_apis_new_keys_after_a_rotation() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let pins = dir.path().join("pins/p.json");
    // What was pinned before the API rotated its response key.
    let old = slipgate_httpsig::jose::Jwk::ed25519(&[9u8; 32], "retired").unwrap();
    let store = PinStore::file(&pins);
    store.pin(&slipgate_httpsig::jose::Jwks { keys: vec![old] }, &api.url("")).unwrap();
    let client = Client::builder()
        .api_url(api.url(""))
        .ca_file(&api.ca)
        .signer(api.signer())
        .idp_url(api.idp.url(""))
        .token_file(token_file(&api, dir.path()).await)
        .pin_store(store.clone())
        .build()
        .unwrap();
    let err = client.generate(&seed(), Format::Json).await.unwrap_err();
    assert!(matches!(err, ClientError::ServerKeysChanged(_)), "{err:?}");
    let (before, now) = store.repin(&api.client(), &api.url("")).await.unwrap();
    assert_eq!(before.unwrap().keys[0].kid.as_deref(), Some("retired"));
    assert_eq!(now.keys.len(), 1);
    assert!(client.generate(&seed(), Format::Json).await.is_ok(), "the shared store sees the new pin");
    api.stop().await;
}

fn real_now() -> i64 {
    SystemClock.unix_seconds()
}

/// Issue 12: a proxy shifting `Date` by hours does not move the clock; the
/// correction comes from the verified signature's `created`.
#[tokio::test]
async fn clock_correction_ignores_a_shifted_date_and_learns_from_the_signed_created() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mitm = Mitm::in_front_of(&api).await;
    mitm.set_mode(Mode::ShiftDate(3 * 3600));
    let now = u64::try_from(real_now()).unwrap();
    // 200 s slow: inside the API's window, so the first request passes.
    let slow = Arc::new(ManualClock::at_unix(now - 200));
    let signer = api.signer().with_clock(slow);
    let client = builder_via(&api, &mitm, token_file(&api, dir.path()).await).signer(signer).build().unwrap();
    assert!(client.generate(&seed(), Format::Json).await.is_ok());
    let offset = client.clock_offset_millis();
    assert!((190_000..=210_000).contains(&offset), "offset {offset} ms: learned from created, not Date");
    assert!(client.generate(&seed(), Format::Json).await.is_ok());
    let created = *mitm.request_created().last().unwrap();
    assert!((created - real_now()).abs() <= 10, "signed at {created}, now {}", real_now());
    api.stop().await;
}

#[tokio::test]
async fn clock_correction_within_a_raised_bound_repairs_a_twenty_minute_skew() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mitm = Mitm::in_front_of(&api).await;
    mitm.set_mode(Mode::ShiftDate(-5 * 3600));
    let now = u64::try_from(real_now()).unwrap();
    let slow = Arc::new(ManualClock::at_unix(now - 1200));
    let client = builder_via(&api, &mitm, token_file(&api, dir.path()).await)
        .signer(api.signer().with_clock(slow.clone()))
        .max_clock_correction(std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    let result = client.generate(&seed(), Format::Json).await;
    assert!(result.is_ok(), "{:?}", result.err());
    let offset = client.clock_offset_millis();
    assert!((1_190_000..=1_210_000).contains(&offset), "offset {offset} ms");
    slow.advance(std::time::Duration::from_secs(1));
    assert!(client.generate(&seed(), Format::Json).await.is_ok(), "the learned offset is reused");
    api.stop().await;
}

#[tokio::test]
async fn clock_skew_beyond_the_bound_is_reported_not_corrected() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let now = u64::try_from(real_now()).unwrap();
    let slow = Arc::new(ManualClock::at_unix(now - 1200));
    let client = client_for(&api, dir.path(), Some(slow)).await;
    let err = client.generate(&seed(), Format::Json).await.unwrap_err();
    let ClientError::ClockSkew { offset_s, max_s } = &err else { panic!("{err:?}") };
    assert!((1190..=1210).contains(offset_s) && *max_s == 300, "{offset_s} {max_s}");
    assert!(err.to_string().contains("behind"), "{err}");
    assert_eq!(client.clock_offset_millis(), 0, "no correction beyond the bound");
    api.stop().await;
}

/// The SDK with a device key: a signed login gives a bound token, requests go
/// out as `HTTPSig`, a refused token is refreshed by the same key, and logout
/// revokes the session and deletes both files.
#[tokio::test]
async fn device_key_client_logs_in_bound_generates_refreshes_and_logs_out() {
    use slipgate_client::{Credentials, DeviceKey, IdpClient, Password, Revocation, TokenFile, TokenManager};
    use slipgate_proto::oauth::TokenType;
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (key_file, token_file) = (dir.path().join("keys/device.pem"), dir.path().join("tokens.json"));
    // The test identity server has a CA of its own; the builder's HTTP client trusts the API's.
    let idp_http =
        slipgate_client::https_client(Some(&api.idp.ca), std::time::Duration::from_secs(10)).unwrap();
    let client_with = |device: DeviceKey| {
        let idp = IdpClient::new(idp_http.clone(), &api.idp.url("")).with_device_key(device.clone());
        let tokens = TokenManager::new(idp, Some(TokenFile::new(&token_file))).unwrap();
        Client::builder()
            .api_url(api.url(""))
            .ca_file(&api.ca)
            .device_key(device)
            .tokens(Arc::new(tokens))
            .build()
            .unwrap()
    };
    let client = client_with(DeviceKey::load_or_create(&key_file).unwrap());
    let credentials =
        Credentials { username: "paula".into(), password: Password::from(api.idp.password_of("paula")) };
    let set = client.tokens().login(&credentials).await.unwrap();
    assert_eq!(set.token_type, TokenType::Httpsig);
    let thumbprint = DeviceKey::load(&key_file).unwrap().thumbprint();
    let introspected = api.idp.introspect(&set.access_token).await;
    let cnf = serde_json::to_value(DeviceKey::load(&key_file).unwrap().public_key().confirmation()).unwrap();
    assert_eq!((&introspected["token_type"], &introspected["cnf"]), (&serde_json::json!("httpsig"), &cnf));
    let Generated::Json(slip, _) = client.generate(&seed(), Format::Json).await.unwrap() else { panic!() };
    assert_eq!(slip.employee.emp_name, "John Doe");

    // A refused access token: refreshed (signed by the same key), then served.
    let mut stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    stored["access_token"] = "spoiled".into();
    std::fs::write(&token_file, serde_json::to_vec(&stored).unwrap()).unwrap();
    let reloaded = client_with(DeviceKey::load(&key_file).unwrap());
    assert!(reloaded.generate(&seed(), Format::Json).await.is_ok());
    assert_eq!(DeviceKey::load(&key_file).unwrap().thumbprint(), thumbprint, "the same key after refresh");

    let refreshed: serde_json::Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let done = reloaded.tokens().logout().await.unwrap();
    assert!(matches!(done.revocation, Revocation::Revoked), "{:?}", done.revocation);
    assert!(done.removed_tokens && done.removed_device_key);
    assert!(!key_file.exists() && !token_file.exists());
    assert_eq!(api.idp.introspect(&access).await, serde_json::json!({"active": false}));
    api.stop().await;
}

/// A registry-key signer and a device-key token manager (or the reverse) would
/// fail every request: the client refuses to be built so.
#[tokio::test]
async fn a_client_mixing_a_registry_key_and_bound_tokens_is_refused() {
    use slipgate_client::{DeviceKey, IdpClient, TokenManager};
    let api = TestApi::spawn(&[]).await;
    let http = slipgate_client::https_client(Some(&api.ca), std::time::Duration::from_secs(5)).unwrap();
    let bound =
        IdpClient::new(http.clone(), &api.idp.url("")).with_device_key(DeviceKey::generate().unwrap());
    let tokens = Arc::new(TokenManager::new(bound, None).unwrap());
    let err = Client::new(http.clone(), &api.url(""), api.signer(), tokens).unwrap_err().to_string();
    assert!(err.contains("with_device_key"), "{err}");
    let device = DeviceKey::generate().unwrap();
    let unbound = Arc::new(TokenManager::new(IdpClient::new(http.clone(), &api.idp.url("")), None).unwrap());
    let err =
        Client::new(http, &api.url(""), slipgate_client::RequestSigner::bound(&device), unbound).unwrap_err();
    assert!(err.to_string().contains("httpsig"), "{err}");
    api.stop().await;
}

/// Thirty requests refused at once (an access token expiring under load) renew
/// together: exactly one refresh grant is made, every caller gets the same new
/// token, and the session survives. Before renewals were serialised, each
/// caller spent the same rotating refresh token and the identity server took
/// the reuse for theft and revoked the session (found by the 15-minute soak).
#[tokio::test]
async fn thirty_concurrent_renewals_share_one_refresh_and_keep_the_session() {
    use slipgate_client::{Credentials, DeviceKey, IdpClient, Password, TokenFile, TokenManager};
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let idp_http =
        slipgate_client::https_client(Some(&api.idp.ca), std::time::Duration::from_secs(10)).unwrap();
    let device = DeviceKey::load_or_create(&dir.path().join("keys/device.pem")).unwrap();
    let idp = IdpClient::new(idp_http, &api.idp.url("")).with_device_key(device);
    let tokens =
        Arc::new(TokenManager::new(idp, Some(TokenFile::new(dir.path().join("tokens.json")))).unwrap());
    let credentials =
        Credentials { username: "paula".into(), password: Password::from(api.idp.password_of("paula")) };
    let first = tokens.login(&credentials).await.unwrap();

    let renewals: Vec<_> = (0..30)
        .map(|_| {
            let (tokens, rejected) = (tokens.clone(), first.access_token.clone());
            tokio::spawn(async move { tokens.renew(&rejected).await })
        })
        .collect();
    let mut renewed = Vec::new();
    for renewal in renewals {
        renewed.push(renewal.await.unwrap().unwrap());
    }
    assert!(renewed.iter().all(|t| *t == renewed[0]), "every caller got the one renewed token");
    assert_ne!(renewed[0], first.access_token);
    let introspected = api.idp.introspect(&renewed[0]).await;
    assert_eq!(introspected["active"], true, "the session survived: {introspected}");
    // The renewed refresh token is the live one: one more refresh works.
    let again = tokens.renew(&renewed[0]).await.unwrap();
    assert_eq!(api.idp.introspect(&again).await["active"], true);
    api.stop().await;
}
