//! Key-bound tokens (issue 15, SPEC §3.2.1, §4, §5) against real `slipgate dev` processes: a
//! token bound to device A is worth nothing to whoever holds it without A's key — not with
//! another key, not as `Bearer`, not for a refresh — forged tokens never reach the nonce store,
//! `auth.require_bound_tokens` shuts the bearer door for users but not for service clients,
//! a revoked session's bound token stops at once, and `slipgate login` → `generate` → `logout`
//! does all of it through the binary with a 0600 key file that logout deletes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use slipgate_client::{ClientError, Credentials, DeviceKey, IdpClient, Password, RequestSigner, TokenSet};
use slipgate_proto::oauth::TokenType;
use slipgate_test_support::SEED_BODY;

use super::{Dev, FIGURES, GENERATE, alice_body, assert_clean};

/// Rate limits high enough for the concurrent rounds below.
const NO_LIMITS: [&str; 2] = ["rate_limit.user=100000/min", "rate_limit.ip=100000/min"];

/// An answer: status, problem code, `WWW-Authenticate`, body.
type Answer = (u16, String, String, String);

impl Dev {
    fn idp_client(&self, device: Option<&DeviceKey>) -> IdpClient {
        let idp = IdpClient::new(self.client(), &self.s("idp_url"));
        match device {
            Some(key) => idp.with_device_key(key.clone()),
            None => idp,
        }
    }

    /// `user`'s tokens from a signed password grant by `device`.
    async fn bound_login(&self, user: &str, device: &DeviceKey) -> TokenSet {
        let credentials =
            Credentials { username: user.to_owned(), password: Password::from(self.password(user)) };
        let set = self.idp_client(Some(device)).password(&credentials).await.unwrap();
        assert_eq!(set.token_type, TokenType::Httpsig, "a signed token request gives a bound token");
        set
    }

    /// `body` presenting `token` as `HTTPSig`, signed by `device`.
    fn bound(&self, device: &DeviceKey, token: &str, body: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("HTTPSig {token}").parse().unwrap());
        RequestSigner::bound(device)
            .sign(&http::Method::POST, &self.url(), &mut headers, body.as_bytes())
            .unwrap();
        headers
    }

    fn sqlite(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("data/idp.db").display())
    }

    /// `slipgate ARGS` with this dev's profile directory, `stdin` fed when given.
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .args(args)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("RUST_LOG", "warn")
            .env_remove("SLIPGATE_IDP__DATABASE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            writeln!(input, "{text}").unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `slipgate idp ARGS --database <dev's SQLite>`, which must succeed.
    fn idp_admin(&self, args: &[&str]) -> String {
        let database = self.sqlite();
        let mut all: Vec<&str> = vec!["idp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database", &database]);
        let out = self.cli(&all, None);
        assert!(out.status.success(), "idp {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// The memory nonce store's `slipgate_nonce_store_entries` gauge (admin `/metrics`).
    async fn nonce_entries(&self) -> u64 {
        let metrics =
            reqwest::get(format!("{}/metrics", self.s("admin_url"))).await.unwrap().text().await.unwrap();
        metrics
            .lines()
            .find(|l| l.starts_with("slipgate_nonce_store_entries"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as u64)
            .unwrap_or_else(|| panic!("no slipgate_nonce_store_entries in /metrics:\n{metrics}"))
    }
}

/// Sends `body` with `headers`; the answer with its challenge.
async fn send(client: &reqwest::Client, url: &reqwest::Url, headers: http::HeaderMap, body: &str) -> Answer {
    let r = client.post(url.clone()).headers(headers).body(body.to_owned()).send().await.unwrap();
    let status = r.status().as_u16();
    let challenge =
        r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = r.text().await.unwrap();
    let code = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, code, challenge, text)
}

/// Sends every `(headers, body)` at once, each on its own task.
async fn send_all(dev: &Dev, requests: Vec<(http::HeaderMap, String)>) -> Vec<Answer> {
    let mut tasks = tokio::task::JoinSet::new();
    for (headers, body) in requests {
        let (client, url) = (dev.client(), dev.url());
        tasks.spawn(async move { send(&client, &url, headers, &body).await });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.unwrap());
    }
    answers
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A JWT payload member.
fn claim(token: &str, name: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims[name].clone()
}

/// An access token the attacker made: alice's claims, `salaryslip:any`, bound to the attacker's
/// own key, with the identity server's `kid` but signed by a key the attacker made up.
fn forged_token(dev: &Dev, real: &str, attacker: &DeviceKey) -> String {
    let header = URL_SAFE_NO_PAD.decode(real.split('.').next().unwrap()).unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(real.split('.').nth(1).unwrap()).unwrap()).unwrap();
    claims["scope"] = "salaryslip:any".into();
    claims["exp"] = (claims["exp"].as_i64().unwrap() + 365 * 86_400).into();
    claims["cnf"] = serde_json::to_value(attacker.public_key().confirmation()).unwrap();
    claims["iss"] = dev.s("idp_url").into();
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let jwt_key = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let signature = jwt_key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// Asserts the status and code, and that the answer leaks no secret (nor, refused, a figure).
fn expect(what: &str, got: &Answer, status: u16, code: &str, secrets: &[String]) {
    assert_eq!((got.0, got.1.as_str()), (status, code), "{what}: {}", got.3);
    assert_clean(what, &got.3, secrets);
    if status != 200 {
        for figure in FIGURES {
            assert!(!got.3.contains(figure), "{what} answered with a salary figure");
        }
    }
}

fn secrets_of(sets: &[&TokenSet]) -> Vec<String> {
    let mut secrets = Vec::new();
    for set in sets {
        secrets.push(set.access_token.clone());
        secrets.extend(set.refresh_token.clone());
    }
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_token_is_worth_nothing_without_its_device_key() {
    let dev = Dev::start(&NO_LIMITS);
    let body = alice_body();
    let (a, b) = (DeviceKey::generate().unwrap(), DeviceKey::generate().unwrap());
    let alice = dev.bound_login("alice", &a).await;
    assert_eq!(
        claim(&alice.access_token, "cnf"),
        serde_json::to_value(a.public_key().confirmation()).unwrap()
    );
    let (paula, paula_refresh) = dev.token("paula").await;
    let mut secrets = secrets_of(&[&alice]);
    secrets.extend([
        dev.password("alice"),
        dev.password("paula"),
        dev.hmac_b64(),
        paula.clone(),
        paula_refresh,
    ]);
    let (client, url) = (dev.client(), dev.url());

    // The right key: 200.
    let ok = send(&client, &url, dev.bound(&a, &alice.access_token, &body), &body).await;
    expect("bound token with its key", &ok, 200, "", &secrets);

    // Stolen and used with device B's key: a valid signature by another key.
    let stolen = send(&client, &url, dev.bound(&b, &alice.access_token, &body), &body).await;
    expect("bound token with another device's key", &stolen, 401, "signature_invalid", &secrets);
    assert!(stolen.2.starts_with("HTTPSig"), "challenge: {}", stolen.2);

    // Stolen and used as Bearer, signed with a registry key the thief holds (dev-hmac).
    let bearer = send(&client, &url, dev.signed(&dev.signer(), &alice.access_token, &body), &body).await;
    expect("bound token as Bearer", &bearer, 401, "token_invalid", &secrets);

    // ~30 copies of one legitimate request at once: exactly one is served.
    let once = dev.bound(&a, &alice.access_token, &body);
    let answers = send_all(&dev, (0..30).map(|_| (once.clone(), body.clone())).collect()).await;
    let served = answers.iter().filter(|r| r.0 == 200).count();
    let replayed = answers.iter().filter(|r| (r.0, r.1.as_str()) == (401, "replayed")).count();
    assert_eq!((served, replayed), (1, 29), "{:?}", answers.iter().map(|r| (r.0, &r.1)).collect::<Vec<_>>());

    // A refresh by another key, or unsigned: invalid_grant, and the token is not spent.
    let refresh = alice.refresh_token.clone().unwrap();
    for (who, idp) in [("device B", dev.idp_client(Some(&b))), ("no key", dev.idp_client(None))] {
        match idp.refresh(&refresh, "alice").await {
            Err(ClientError::Grant { error, .. }) => assert_eq!(error, "invalid_grant", "refresh by {who}"),
            other => panic!("refresh by {who}: {other:?}"),
        }
    }
    let renewed = dev.idp_client(Some(&a)).refresh(&refresh, "alice").await.unwrap();
    secrets.extend(secrets_of(&[&renewed]));
    assert_eq!(renewed.token_type, TokenType::Httpsig);
    let ok = send(&client, &url, dev.bound(&a, &renewed.access_token, &body), &body).await;
    expect("refreshed token with its key", &ok, 200, "", &secrets);
    let stolen = send(&client, &url, dev.bound(&b, &renewed.access_token, &body), &body).await;
    expect("refreshed token with another key", &stolen, 401, "signature_invalid", &secrets);

    // Forgeries with a self-made key never reach the nonce store: ~30 at once of three kinds —
    // a token the attacker signed (bound to their key), paula's real but unbound token, garbage.
    let mallory = DeviceKey::generate().unwrap();
    let forged = forged_token(&dev, &alice.access_token, &mallory);
    let before = dev.nonce_entries().await;
    assert!(before >= 3, "the served requests' nonces are held: {before}");
    let any_body = SEED_BODY.to_owned();
    let mut forgeries = Vec::new();
    for i in 0..30 {
        let token = match i % 3 {
            0 => forged.as_str(),
            1 => paula.as_str(),
            _ => "not-a-token",
        };
        forgeries.push((dev.bound(&mallory, token, &any_body), any_body.clone()));
    }
    for answer in send_all(&dev, forgeries).await {
        expect("a forged or unbound token with a self-made key", &answer, 401, "token_invalid", &secrets);
        assert!(
            answer.2.starts_with("HTTPSig") && answer.2.contains("invalid_token"),
            "challenge: {}",
            answer.2
        );
    }
    assert_eq!(dev.nonce_entries().await, before, "a forged request wrote to the nonce store");

    dev.stop_and_scan(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_bound_tokens_refuses_bearer_user_tokens_but_serves_service_clients() {
    let dev = Dev::start_with_config(Some("[auth]\nrequire_bound_tokens = true\n"), &NO_LIMITS);
    let body = alice_body();
    let (client, url) = (dev.client(), dev.url());
    let (alice, alice_refresh) = dev.token("alice").await;
    let device = DeviceKey::generate().unwrap();
    let bound = dev.bound_login("alice", &device).await;
    let mut secrets = secrets_of(&[&bound]);
    secrets.extend([dev.password("alice"), dev.hmac_b64(), alice.clone(), alice_refresh]);

    // alice's unbound token with a registry key: refused for a user.
    let got = send(&client, &url, dev.signed(&dev.signer(), &alice, &body), &body).await;
    assert_eq!((got.0, got.1.as_str()), (401, "token_invalid"), "{}", got.3);
    // Bound: served.
    let got = send(&client, &url, dev.bound(&device, &bound.access_token, &body), &body).await;
    assert_eq!(got.0, 200, "{}", got.3);

    // A service client (client credentials, HTTP Basic) signing with a registry key: served.
    let secret_file = dev.dir.path().join("batch.secret");
    dev.idp_admin(&[
        "client",
        "add",
        "--client-id",
        "payroll-batch",
        "--scope",
        "salaryslip:any",
        "--secret-file",
        secret_file.to_str().unwrap(),
    ]);
    let secret = std::fs::read_to_string(&secret_file).unwrap().trim().to_owned();
    assert_eq!(mode(&secret_file), 0o600);
    let answer = client
        .post(format!("{}/oauth/token", dev.s("idp_url")))
        .basic_auth("payroll-batch", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let service: serde_json::Value = answer.json().await.unwrap();
    let service = service["access_token"].as_str().unwrap().to_owned();
    secrets.extend([secret, service.clone()]);
    let got = send(&client, &url, dev.signed(&dev.signer(), &service, SEED_BODY), SEED_BODY).await;
    assert_eq!(got.0, 200, "service client with a registry key: {}", got.3);
    // The same unbound service token presented as HTTPSig is not a bound token.
    let got = send(&client, &url, dev.bound(&device, &service, SEED_BODY), SEED_BODY).await;
    assert_eq!((got.0, got.1.as_str()), (401, "token_invalid"), "{}", got.3);

    dev.stop_and_scan(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_stops_its_bound_token_at_once() {
    // Introspection mode (dev's default) without the verdict cache: "at once" is then the next
    // request; with a cache, within `auth.cache_ttl`.
    let mut sets: Vec<&str> = NO_LIMITS.to_vec();
    sets.push("auth.cache_ttl=0s");
    let dev = Dev::start(&sets);
    let body = alice_body();
    let (client, url) = (dev.client(), dev.url());
    let (laptop, phone) = (DeviceKey::generate().unwrap(), DeviceKey::generate().unwrap());
    let on_laptop = dev.bound_login("alice", &laptop).await;
    let on_phone = dev.bound_login("alice", &phone).await;
    let mut secrets = secrets_of(&[&on_laptop, &on_phone]);
    secrets.push(dev.password("alice"));
    for (key, set) in [(&laptop, &on_laptop), (&phone, &on_phone)] {
        let got = send(&client, &url, dev.bound(key, &set.access_token, &body), &body).await;
        assert_eq!(got.0, 200, "{}", got.3);
    }
    let listing = dev.idp_admin(&["session", "list", "--user", "alice"]);
    assert!(listing.contains(&laptop.thumbprint()) && listing.contains(&phone.thumbprint()), "{listing}");

    let sid = claim(&on_laptop.access_token, "sid");
    dev.idp_admin(&["session", "revoke", "--user", "alice", "--id", sid.as_str().unwrap()]);
    let got = send(&client, &url, dev.bound(&laptop, &on_laptop.access_token, &body), &body).await;
    assert_eq!((got.0, got.1.as_str()), (401, "token_invalid"), "the revoked session's token: {}", got.3);
    match dev.idp_client(Some(&laptop)).refresh(on_laptop.refresh_token.as_deref().unwrap(), "alice").await {
        Err(ClientError::Grant { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("refresh of a revoked session: {other:?}"),
    }
    // The other session (the phone) lives on.
    let got = send(&client, &url, dev.bound(&phone, &on_phone.access_token, &body), &body).await;
    assert_eq!(got.0, 200, "{}", got.3);
    let listing = dev.idp_admin(&["session", "list", "--user", "alice"]);
    assert!(!listing.contains(&laptop.thumbprint()) && listing.contains(&phone.thumbprint()), "{listing}");

    dev.stop_and_scan(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_generate_logout_through_the_cli_with_a_0600_device_key() {
    // No verdict cache, so that the logout's revocation shows on the very next request.
    let mut sets: Vec<&str> = NO_LIMITS.to_vec();
    sets.push("auth.cache_ttl=0s");
    let dev = Dev::start(&sets);
    let config = dev.dir.path().join("config/slipgate");
    let key_file = config.join("keys/default.pem");
    let token_file = config.join("tokens/default.json");
    let profile = std::fs::read_to_string(config.join("profiles/default.toml")).unwrap();
    assert!(
        !profile.contains("key_id") && !profile.contains("key_file"),
        "dev's profile names no key: {profile}"
    );
    let mut secrets = vec![dev.password("alice"), dev.password("paula"), dev.hmac_b64()];

    let out = dev.cli(&["login", "--username", "alice", "--password-stdin"], Some(&dev.password("alice")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!((mode(&key_file), mode(key_file.parent().unwrap())), (0o600, 0o700));
    assert_eq!(mode(&token_file), 0o600);
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_eq!(stored["token_type"], "httpsig", "{}", stored["token_type"]);
    // The thief's copy of both files, taken before the logout.
    let copied_key = DeviceKey::load(&key_file).unwrap();
    let copied_token = stored["access_token"].as_str().unwrap().to_owned();
    secrets.extend([copied_token.clone(), stored["refresh_token"].as_str().unwrap().to_owned()]);
    secrets.push(std::fs::read_to_string(&key_file).unwrap().lines().nth(1).unwrap().to_owned());
    assert!(
        text(&out.stderr).contains(&copied_key.thumbprint()),
        "login names the key: {}",
        text(&out.stderr)
    );
    let listing = dev.idp_admin(&["session", "list", "--user", "alice"]);
    assert!(listing.contains(&copied_key.thumbprint()), "the session shows the key: {listing}");

    let out = dev.cli(&GENERATE, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let slip: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(slip["employee"]["emp_id"], "01234");

    let out = dev.cli(&["logout"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("session is revoked"), "{}", text(&out.stderr));
    assert!(!key_file.exists() && !token_file.exists(), "logout deletes the device key and the tokens");
    let (client, url) = (dev.client(), dev.url());
    let body = alice_body();
    let got = send(&client, &url, dev.bound(&copied_key, &copied_token, &body), &body).await;
    assert_eq!((got.0, got.1.as_str()), (401, "token_invalid"), "a copy after logout: {}", got.3);
    let out = dev.cli(&GENERATE, None);
    assert!(!out.status.success() && text(&out.stderr).contains("slipgate login"), "{}", text(&out.stderr));
    let out = dev.cli(&["logout"], None);
    assert!(out.status.success() && text(&out.stderr).contains("not logged in"), "{}", text(&out.stderr));

    // A registry key named by flags keeps the Bearer behaviour: no device key is made.
    let hmac: PathBuf = dev.dir.path().join("data/dev-hmac.secret");
    let registry = ["--key-id", "dev-hmac", "--key-file", hmac.to_str().unwrap()];
    let mut login = vec!["login", "--username", "paula", "--password-stdin"];
    login.extend_from_slice(&registry);
    let out = dev.cli(&login, Some(&dev.password("paula")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!key_file.exists(), "a registry-key login makes no device key");
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_eq!(stored["token_type"], "Bearer");
    secrets.extend([
        stored["access_token"].as_str().unwrap().to_owned(),
        stored["refresh_token"].as_str().unwrap().to_owned(),
    ]);
    let mut generate = GENERATE.to_vec();
    generate.extend_from_slice(&registry);
    let out = dev.cli(&generate, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Without the flags the profile signs with a device key, which this Bearer token is not bound to.
    let out = dev.cli(&GENERATE, None);
    assert!(!out.status.success() && text(&out.stderr).contains("slipgate login"), "{}", text(&out.stderr));
    let mut logout = vec!["logout"];
    logout.extend_from_slice(&registry);
    let out = dev.cli(&logout, None);
    assert!(
        out.status.success() && text(&out.stderr).contains("session is revoked"),
        "{}",
        text(&out.stderr)
    );
    assert!(hmac.exists(), "logout never deletes a registry key");

    dev.stop_and_scan(&secrets);
}
