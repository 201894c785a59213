//! The attack suite: each attack of the threat model played against a running
//! `slipgate dev` process over loopback, asserting the exact status and code,
//! that no answer leaks a secret or a salary figure, and finally that the
//! server's logs (debug level, JSON) hold none of the secrets used.

// One file per area, each a test of its own that starts a `slipgate dev`,
// plays its attacks and scans what the server wrote (`Dev::stop_and_scan`).
mod binding;
mod identity;
mod login;
mod sdk;
mod signature;
mod transport;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use slipgate_client::RequestSigner;
use slipgate_httpsig::SigningKey;
use slipgate_test_support::{SEED_BODY, https_client};

/// The seed request as `slipgate dev`'s alice must send it: her record as on
/// file (SPEC §3.4), `Alice Example`, not the seed's `John Doe`.
pub(crate) fn alice_body() -> String {
    SEED_BODY.replace("John Doe", "Alice Example")
}

pub(crate) struct Dev {
    pub(crate) child: Child,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) json: serde_json::Value,
    pub(crate) log: PathBuf,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dev {
    pub(crate) fn start(extra: &[&str]) -> Self {
        Self::start_with_config(None, extra)
    }

    /// [`Dev::start`] with `slipgate dev --config FILE`, FILE holding `config` (TOML).
    pub(crate) fn start_with_config(config: Option<&str>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipgate"));
        if let Some(config) = config {
            let file = dir.path().join("dev.toml");
            std::fs::write(&file, config).unwrap();
            command.arg("dev").arg("--config").arg(file);
        } else {
            command.arg("dev");
        }
        command
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("RUST_LOG", "debug")
            .args(["--set", "server.listen=127.0.0.1:0", "--set", "server.admin_listen=127.0.0.1:0"])
            .args(["--set", "idp.listen=127.0.0.1:0", "--set", "log.format=json"]);
        for e in extra {
            command.args(["--set", e]);
        }
        let child = command
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let path = dir.path().join("data/dev.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !path.exists() {
            assert!(Instant::now() < deadline, "dev.json not written within 60 s");
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
        let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        Self { child, dir, json, log }
    }

    pub(crate) fn s(&self, key: &str) -> String {
        self.json[key].as_str().unwrap().to_owned()
    }

    pub(crate) fn password(&self, user: &str) -> String {
        let users = self.json["users"].as_array().unwrap();
        users.iter().find(|u| u["username"] == user).unwrap()["password"].as_str().unwrap().to_owned()
    }

    pub(crate) fn hmac_b64(&self) -> String {
        self.json["keys"][0]["secret_b64"].as_str().unwrap().to_owned()
    }

    pub(crate) fn client(&self) -> reqwest::Client {
        https_client(Path::new(&self.s("ca_file")), &[&rustls::version::TLS13], &[])
    }

    pub(crate) async fn token(&self, user: &str) -> (String, String) {
        let password = self.password(user);
        let form = [("grant_type", "password"), ("username", user), ("password", password.as_str())];
        let r = self
            .client()
            .post(format!("{}/oauth/token", self.s("idp_url")))
            .form(&form)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) fn signer(&self) -> RequestSigner {
        RequestSigner::new("dev-hmac", SigningKey::hmac_sha256_base64(&self.hmac_b64()).unwrap())
    }

    pub(crate) fn url(&self) -> reqwest::Url {
        reqwest::Url::parse(&format!("{}/generate/salaryslip", self.s("api_url"))).unwrap()
    }

    pub(crate) fn signed(&self, signer: &RequestSigner, token: &str, body: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        signer.sign(&http::Method::POST, &self.url(), &mut headers, body.as_bytes()).unwrap();
        headers
    }

    pub(crate) async fn send(&self, headers: http::HeaderMap, body: &str) -> (u16, String, String) {
        let r = self.client().post(self.url()).headers(headers).body(body.to_owned()).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let code = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code, text)
    }
}

impl Dev {
    /// Stops the server (SIGTERM), then asserts that neither its log nor its
    /// stdout holds any of `secrets` or a salary figure. Returns the log's JSON
    /// lines for further checks (audit lines).
    pub(crate) fn stop_and_scan(mut self, secrets: &[String]) -> Vec<serde_json::Value> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap();
        let stdout = std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap();
        assert_clean("the server log", &log, secrets);
        assert_clean("the server's stdout", &stdout, secrets);
        for figure in FIGURES {
            assert!(!log.contains(figure), "the log holds a salary figure");
        }
        log.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).collect()
    }
}

/// Asserts `text` (an answer or a log) holds none of `secrets`.
pub(crate) fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} leaked a secret: …{}…",
            &secret[..secret.len().min(6)]
        );
    }
}

/// The net pay and basic salary of the seed slip (grade 7.1, 24 days): salary figures.
pub(crate) const FIGURES: [&str; 2] = ["50827.80", "33080.00"];

/// `slipgate generate` of dev alice's own slip, her record exactly as on file (SPEC §3.4).
pub(crate) const GENERATE: [&str; 11] = [
    "generate",
    "--emp-id",
    "01234",
    "--emp-code",
    "ENG",
    "--emp-name",
    "Alice Example",
    "--grade",
    "7.1",
    "--working-days",
    "24",
];

#[tokio::test]
async fn attack_suite_is_refused_with_exact_codes_and_leaks_nothing() {
    let dev = Dev::start(&["limits.header_timeout=2s"]);
    let (alice, alice_refresh) = dev.token("alice").await;
    let (paula, paula_refresh) = dev.token("paula").await;
    let mut secrets = vec![
        dev.password("alice"),
        dev.password("paula"),
        dev.hmac_b64(),
        dev.json["introspection_client"]["client_secret"].as_str().unwrap().to_owned(),
        alice.clone(),
        paula.clone(),
        alice_refresh,
        paula_refresh,
    ];
    let signer = dev.signer();
    let mut played = Vec::new();
    let mut expect = |name: &str, got: (u16, String, String), status: u16, code: &str, secrets: &[String]| {
        assert_eq!((got.0, got.1.as_str()), (status, code), "{name}: {}", got.2);
        assert_clean(name, &got.2, secrets);
        for figure in FIGURES {
            assert!(!got.2.contains(figure), "{name} answered with a salary figure");
        }
        played.push(name.to_owned());
    };

    // Baseline: the legitimate request works (its slip holds figures; not checked for them).
    let alice_body = alice_body();
    let alice_body = alice_body.as_str();
    let ok = dev.send(dev.signed(&signer, &alice, alice_body), alice_body).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    assert_clean("a legitimate answer", &ok.2, &secrets);

    // Tampered body, digest left as signed.
    let tampered = alice_body.replace("\"working_days\":24", "\"working_days\":30");
    let got = dev.send(dev.signed(&signer, &alice, alice_body), &tampered).await;
    expect("tampered body", got, 401, "digest_mismatch", &secrets);

    // A bearer token swapped under a valid signature.
    let mut swapped = dev.signed(&signer, &alice, alice_body);
    swapped.insert("authorization", format!("Bearer {paula}").parse().unwrap());
    let got = dev.send(swapped, alice_body).await;
    expect("swapped bearer token", got, 401, "signature_invalid", &secrets);

    // The signature moved to another host (the signed @authority differs).
    let mut moved = dev.signed(&signer, &alice, alice_body);
    moved.insert("host", format!("localhost:{}", dev.url().port().unwrap()).parse().unwrap());
    let got = dev.send(moved, alice_body).await;
    expect("signature moved to another host", got, 401, "signature_invalid", &secrets);

    // Replay within the window.
    let once = dev.signed(&signer, &alice, alice_body);
    assert_eq!(dev.send(once.clone(), alice_body).await.0, 200);
    let got = dev.send(once, alice_body).await;
    expect("replay within the window", got, 401, "replayed", &secrets);

    // Replay after the window: a capture from 301 s ago.
    let old_clock = std::sync::Arc::new(slipgate_guard::ManualClock::at_unix(
        u64::try_from(slipgate_guard::Clock::unix_seconds(&slipgate_guard::SystemClock)).unwrap() - 301,
    ));
    let stale = dev.signed(&dev.signer().with_clock(old_clock), &alice, alice_body);
    let got = dev.send(stale, alice_body).await;
    expect("replay after the window", got, 401, "request_expired", &secrets);

    // A stolen token without the signing key.
    let thief = RequestSigner::new("dev-hmac", SigningKey::hmac_sha256(&[0x42; 32]).unwrap());
    let got = dev.send(dev.signed(&thief, &alice, alice_body), alice_body).await;
    expect("stolen token without the key", got, 401, "signature_invalid", &secrets);

    // An employee reaching for another employee's slip.
    let other = alice_body.replace("01234", "00042");
    let got = dev.send(dev.signed(&signer, &alice, &other), &other).await;
    expect("another employee's slip", got, 403, "forbidden", &secrets);

    // A revoked token.
    let (revoked, _) = dev.token("alice").await;
    secrets.push(revoked.clone());
    let r =
        dev.client().post(format!("{}/oauth/revoke", dev.s("idp_url"))).form(&[("token", revoked.as_str())]);
    assert!(r.send().await.unwrap().status().is_success());
    let got = dev.send(dev.signed(&signer, &revoked, alice_body), alice_body).await;
    expect("revoked token", got, 401, "token_invalid", &secrets);

    // Oversized and malformed inputs.
    let huge = alice_body.replace("Alice Example", &"a".repeat(20_000));
    let got = dev.send(dev.signed(&signer, &alice, &huge), &huge).await;
    expect("oversized body", got, 413, "payload_too_large", &secrets);
    let broken = "{\"emp_id\": ";
    let got = dev.send(dev.signed(&signer, &alice, broken), broken).await;
    expect("malformed JSON", got, 400, "invalid_json", &secrets);
    let smuggled = SEED_BODY.replace("}", ",\"emp_id\":\"00001\"}");
    let got = dev.send(dev.signed(&signer, &paula, &smuggled), &smuggled).await;
    expect("duplicate member smuggling", got, 422, "validation_failed", &secrets);
    // The same smuggling by an employee: her record rule sees the second emp_id first.
    let smuggled = alice_body.replace("}", ",\"emp_id\":\"00001\"}");
    let got = dev.send(dev.signed(&signer, &alice, &smuggled), &smuggled).await;
    expect("duplicate emp_id smuggled by an employee", got, 403, "forbidden", &secrets);

    // Credential stuffing on the identity server.
    let mut throttled = false;
    for guess in 0..10 {
        let form = [
            ("grant_type", "password"),
            ("username", "paula"),
            ("password", &format!("guess-{guess}") as &str),
        ];
        let r =
            dev.client().post(format!("{}/oauth/token", dev.s("idp_url"))).form(&form).send().await.unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            throttled = true;
            break;
        }
    }
    assert!(throttled, "credential stuffing was not throttled within 10 attempts");
    played.push("credential stuffing".into());

    // A slow connection is closed after the header timeout (2 s here).
    let addr = dev.url().socket_addrs(|| None).unwrap()[0];
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::io::AsyncReadExt::read_to_end(&mut slow, &mut buf),
    );
    assert!(closed.await.is_ok(), "a silent connection was kept open");
    played.push("slow connection".into());

    // A flood from one address until 50 refusals: the per-IP policy (600/min, burst 600) answers
    // 429. What it lets through is bounded by the burst plus what the bucket can refill while the
    // flood runs (10/s of the wall time measured around it), so a slow or loaded machine cannot
    // fail the check and a limiter that admits too much cannot pass it.
    let (mut limited, mut admitted) = (0u32, 0u32);
    let flood_started = Instant::now();
    while limited < 50 && admitted + limited < 2000 {
        let r = dev
            .client()
            .post(dev.url())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited += 1;
            let body = r.text().await.unwrap();
            assert!(body.contains("rate_limited"));
        } else {
            admitted += 1;
        }
    }
    let refill = (flood_started.elapsed().as_secs_f64() * 10.0).ceil() as u32;
    assert!(limited >= 50, "a 2,000-request flood from one address got only {limited} refusals");
    assert!(
        admitted <= 600 + refill + 1,
        "the per-IP limit let {admitted} through; burst 600 + refill {refill} allows at most {}",
        600 + refill + 1
    );
    played.push("flood".into());

    // Stop the server, then scan everything it wrote.
    let lines = dev.stop_and_scan(&secrets);
    let audit: Vec<&serde_json::Value> = lines.iter().filter(|v| v["target"] == "slipgate::audit").collect();
    for code in ["digest_mismatch", "replayed", "forbidden", "token_invalid", "rate_limited"] {
        assert!(
            audit.iter().any(|a| a["code"] == code && a["decision"] == "refused"),
            "no audit line for {code}"
        );
    }
    assert!(
        audit
            .iter()
            .any(|a| a["decision"] == "allowed" && a["subject"] == "alice" && a["keyid"] == "dev-hmac")
    );
    assert!(played.len() >= 14, "{played:?}");
}
