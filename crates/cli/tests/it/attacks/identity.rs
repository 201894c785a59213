//! Attacks on the identity server: its files and keys, forged tokens, sessions after a password change, client authentication.
//!
//! Replays issue 13 against real processes: `slipgate dev` (the API in
//! introspection mode in front of the identity server) and `slipgate idp
//! serve` on SQLite and PostgreSQL, administered with the `slipgate idp …`
//! commands while they run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine as _;
use serde_json::{Value, json};
use slipgate_httpsig::jose::{self, Jwk, Jwks};
use slipgate_test_support::SEED_BODY;

use super::Dev;

/// The permission bits as `stat` prints them.
fn stat(path: &Path) -> String {
    let out = Command::new("stat").args(["-c", "%a"]).arg(path).output().unwrap();
    assert!(out.status.success(), "stat {}", path.display());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `slipgate idp ARGS --database URL`, with `stdin` fed when given.
fn idp_admin(args: &[&str], database: &str, stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .arg("idp")
        .args(args)
        .args(["--database", database])
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
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "idp {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The key in a PEM file, loaded as an attacker holding it would.
fn read_key(path: &Path) -> (String, Ed25519KeyPair) {
    let pem = std::fs::read_to_string(path).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key =
        Ed25519KeyPair::from_pkcs8(&base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
    (Jwk::from_key_pair(&key, "").thumbprint().unwrap(), key)
}

/// The reviewer's token: one year of `salaryslip:any` for paula.
fn forged_claims(issuer: &str, sid: &str) -> Value {
    let now = i64::try_from(
        slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock)
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    json!({"iss": issuer, "sub": "paula", "aud": "slipgate-api", "exp": now + 365 * 86_400, "iat": now,
           "jti": "forged-jti-0001", "scope": "salaryslip:any", "client_id": "slipgate-cli",
           "emp_id": "00001", "sid": sid})
}

impl Dev {
    fn idp(&self, path: &str) -> String {
        format!("{}{path}", self.s("idp_url"))
    }

    fn introspection_client(&self) -> (String, String) {
        let c = &self.json["introspection_client"];
        (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned())
    }

    async fn post_idp(&self, path: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.client().post(self.idp(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn introspect(&self, token: &str) -> Value {
        let (id, secret) = self.introspection_client();
        let (status, body) =
            self.post_idp("/oauth/introspect", Some((&id, &secret)), &[("token", token)]).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn jwks(&self) -> Jwks {
        serde_json::from_value(
            self.client().get(self.idp("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap(),
        )
        .unwrap()
    }

    /// The API's answer to paula's (payroll) request for the seed slip with `token`.
    async fn api_with(&self, token: &str) -> (u16, String) {
        let (status, code, _) = self.send(self.signed(&self.signer(), token, SEED_BODY), SEED_BODY).await;
        (status, code)
    }

    fn database(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("data/idp.db").display())
    }
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_owned()
}

#[tokio::test]
async fn identity_files_keys_sessions_and_clients_resist_the_review_attacks() {
    let dev = Dev::start(&[]);
    let data = dev.dir.path().join("data");
    let key_file = data.join("signing-key.pem");
    let (api_id, api_secret) = dev.introspection_client();
    let mut secrets = vec![dev.password("alice"), dev.password("paula"), api_secret.clone(), dev.hmac_b64()];

    // 1. Files: the data directory 0700, the database, its WAL and SHM and the key 0600.
    let (paula, paula_refresh) = dev.token("paula").await;
    secrets.extend([paula.clone(), paula_refresh.clone()]);
    assert_eq!(dev.api_with(&paula).await, (200, String::new()), "the control request");
    assert_eq!(stat(&data), "700");
    for file in ["idp.db", "idp.db-wal", "idp.db-shm", "signing-key.pem", "dev.json"] {
        assert_eq!(stat(&data.join(file)), "600", "{file}");
    }
    // The database holds no private key (the reviewer read it out of idp.db).
    let pem = std::fs::read_to_string(&key_file).unwrap();
    secrets.push(pem.lines().nth(1).unwrap().to_owned());
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    for file in ["idp.db", "idp.db-wal"] {
        let bytes = std::fs::read(data.join(file)).unwrap();
        assert!(!bytes.windows(der.len()).any(|w| w == der.as_slice()), "{file} holds the signing key");
    }

    // 2. Forged tokens, refused by the API in introspection mode.
    let issuer = dev.s("idp_url");
    let forger =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap().as_ref())
            .unwrap();
    let (real_kid, real_key) = read_key(&key_file);
    let paula_sid = {
        let claims = dev.introspect(&paula).await;
        assert_eq!(claims["active"], true);
        let payload = paula.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
        s(&serde_json::from_slice(&raw).unwrap(), "sid")
    };
    let foreign_kid = Jwk::from_key_pair(&forger, "").thumbprint().unwrap();
    for kid in [foreign_kid.as_str(), real_kid.as_str()] {
        let forged = jose::sign_jwt(&forged_claims(&issuer, &paula_sid), kid, &forger).unwrap();
        secrets.push(forged.clone());
        assert_eq!(dev.api_with(&forged).await, (401, "token_invalid".into()), "another key, kid {kid}");
    }
    // Even the real key (taken from its file) does not help without a live session.
    let fabricated =
        jose::sign_jwt(&forged_claims(&issuer, "fabricated-session-id"), &real_kid, &real_key).unwrap();
    secrets.push(fabricated.clone());
    assert_eq!(dev.api_with(&fabricated).await, (401, "token_invalid".into()), "fabricated session");
    assert_eq!(dev.introspect(&fabricated).await, json!({"active": false}));

    // 3. A password change ends every session at once.
    let (unused, unused_refresh) = dev.token("paula").await;
    secrets.extend([unused.clone(), unused_refresh.clone()]);
    let database = dev.database();
    idp_admin(
        &["user", "passwd", "--username", "paula", "--password-stdin"],
        &database,
        Some("paula's new passphrase"),
    );
    secrets.push("paula's new passphrase".into());
    assert_eq!(dev.introspect(&unused).await, json!({"active": false}), "inactive at once");
    assert_eq!(dev.api_with(&unused).await, (401, "token_invalid".into()));
    for refresh in [&paula_refresh, &unused_refresh] {
        let (status, body) = dev
            .post_idp("/oauth/token", None, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "old refresh refused");
    }
    let login = [("grant_type", "password"), ("username", "paula"), ("password", "paula's new passphrase")];
    let (status, fresh) = dev.post_idp("/oauth/token", None, &login).await;
    assert_eq!(status, 200, "{fresh}");
    let fresh_access = s(&fresh, "access_token");
    secrets.extend([fresh_access.clone(), s(&fresh, "refresh_token")]);

    // 4. Client authentication: the three cases of the review.
    let alice_password = dev.password("alice");
    let as_api = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &alice_password),
        ("client_id", &api_id),
    ];
    let (status, body) = dev.post_idp("/oauth/token", None, &as_api).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "naming a confidential client"
    );
    let (status, confidential) = dev.post_idp("/oauth/token", Some((&api_id, &api_secret)), &as_api).await;
    assert_eq!(status, 200, "{confidential}");
    let confidential_refresh = s(&confidential, "refresh_token");
    secrets.extend([s(&confidential, "access_token"), confidential_refresh.clone()]);
    let bare = [("grant_type", "refresh_token"), ("refresh_token", confidential_refresh.as_str())];
    let (status, body) = dev.post_idp("/oauth/token", None, &bare).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "its refresh token without credentials"
    );
    let (alice, alice_refresh) = dev.token("alice").await;
    secrets.extend([alice.clone(), alice_refresh.clone()]);
    for caller in [Some("other-app"), None] {
        let mut form = vec![("token", alice_refresh.as_str())];
        let basic = match caller {
            Some(id) => {
                form.push(("client_id", id));
                None
            }
            None => Some((api_id.as_str(), api_secret.as_str())),
        };
        let (status, body) = dev.post_idp("/oauth/revoke", basic, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "revoked by {caller:?}"
        );
    }
    assert_eq!(dev.introspect(&alice).await["active"], true, "alice's session survives");

    // 5. Sessions: listed and ended by the administrator.
    let out = idp_admin(&["session", "list", "--user", "alice"], &database, None);
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.starts_with("SESSION"), "{listing}");
    assert!(
        listing.contains("KEY_THUMBPRINT") && listing.contains("slipgate-cli") && listing.contains(&api_id),
        "{listing}"
    );
    let alice_sid = {
        let payload = alice.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
        s(&serde_json::from_slice(&raw).unwrap(), "sid")
    };
    assert!(listing.contains(&alice_sid), "{listing}");
    idp_admin(&["session", "revoke", "--user", "alice", "--id", &alice_sid], &database, None);
    assert_eq!(dev.introspect(&alice).await, json!({"active": false}));
    let out = idp_admin(&["session", "revoke", "--user", "alice", "--all"], &database, None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended 1 session"), "the confidential client's");

    // 6. Key rotation: new kid, both published, old tokens still verify.
    let old_kid = jose::decode_header(&fresh_access).unwrap().kid;
    idp_admin(&["keys", "rotate"], &database, None);
    assert_eq!(stat(&key_file), "600");
    let deadline = Instant::now() + Duration::from_secs(30);
    let jwks = loop {
        let jwks = dev.jwks().await;
        if jwks.keys.len() == 2 {
            break jwks;
        }
        assert!(Instant::now() < deadline, "the running server did not pick up the new key");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(jwks.keys[1].kid.as_deref(), Some(old_kid.as_str()));
    assert_eq!(dev.api_with(&fresh_access).await, (200, String::new()), "a token of the old key");
    let (status, after) = dev.post_idp("/oauth/token", None, &login).await;
    assert_eq!(status, 200, "{after}");
    let rotated = s(&after, "access_token");
    secrets.extend([rotated.clone(), s(&after, "refresh_token")]);
    assert_eq!(jose::decode_header(&rotated).unwrap().kid.as_str(), jwks.keys[0].kid.as_deref().unwrap());
    assert_eq!(dev.api_with(&rotated).await, (200, String::new()), "a token of the new key");
    secrets.push(std::fs::read_to_string(&key_file).unwrap().lines().nth(1).unwrap().to_owned());

    // 7. Disabling ends sessions too.
    let (bob_like, bob_refresh) = dev.token("alice").await;
    secrets.extend([bob_like.clone(), bob_refresh.clone()]);
    idp_admin(&["user", "disable", "--username", "alice"], &database, None);
    assert_eq!(dev.introspect(&bob_like).await, json!({"active": false}));
    let (status, _) = dev
        .post_idp("/oauth/token", None, &[("grant_type", "refresh_token"), ("refresh_token", &bob_refresh)])
        .await;
    assert_eq!(status, 400);

    dev.stop_and_scan(&secrets);
}

/// A `slipgate idp serve` process, its stderr in a file.
struct Serve {
    child: std::process::Child,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idp_toml(dir: &Path, database: &str, key_file: Option<&Path>) -> PathBuf {
    let pki = slipgate_api::devpki::DevPki::ensure(dir).unwrap();
    let q = |p: &Path| format!("{:?}", p.display().to_string());
    let mut text = format!(
        "[idp]\nlisten = \"127.0.0.1:0\"\ndatabase = {database:?}\n[tls]\ncert = {}\nkey = {}\n[log]\nformat = \"json\"\n",
        q(&pki.server_cert),
        q(&pki.server_key)
    );
    if let Some(key) = key_file {
        text = text.replace("[tls]", &format!("signing_key_file = {}\n[tls]", q(key)));
    }
    let path = dir.join("idp.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `slipgate idp serve`; `Ok` once it logs that it listens, `Err(stderr)` when it exits.
fn serve(config: &Path) -> Result<Serve, String> {
    let log = config.with_file_name("idp.log");
    let child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .args(["idp", "serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut serve = Serve { child, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&serve.log).unwrap_or_default();
        if text.contains("slipgate identity server listening") {
            return Ok(serve);
        }
        if serve.child.try_wait().unwrap().is_some() {
            return Err(std::fs::read_to_string(&serve.log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "idp serve neither listened nor exited within 60 s");
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn idp_serve_creates_private_files_and_refuses_loose_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("idp.db");
    let config = idp_toml(dir.path(), &format!("sqlite://{}", db.display()), None);
    let server = serve(&config).unwrap();
    for file in ["idp.db", "idp.db-wal", "idp.db-shm", "signing-key.pem"] {
        assert_eq!(stat(&data.join(file)), "600", "{file}");
    }
    drop(server);
    for file in ["idp.db", "signing-key.pem"] {
        let path = data.join(file);
        Command::new("chmod").arg("644").arg(&path).status().unwrap();
        let refused = serve(&config).err().expect("a group-readable file must be refused");
        assert!(refused.contains(&format!("chmod 600 {}", path.display())), "{refused}");
        Command::new("chmod").arg("600").arg(&path).status().unwrap();
    }
    drop(serve(&config).unwrap());
}

#[test]
fn idp_serve_on_postgres_needs_a_key_file_and_creates_it_0600() {
    #[allow(clippy::disallowed_methods, reason = "test configuration: the service URL CI provides")]
    let admin = std::env::var("SLIPGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("slipgate_idp_serve_{}", std::process::id());
    let psql = |sql: &str| {
        let out =
            Command::new("psql").args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {name}"));
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("SLIPGATE_TEST_POSTGRES_URL has no database"),
    };
    let dir = tempfile::tempdir().unwrap();
    let refused = serve(&idp_toml(dir.path(), &url, None)).err().expect("no key file: refused");
    assert!(refused.contains("idp.signing_key_file"), "{refused}");
    let key = dir.path().join("keys/signing-key.pem");
    let server = serve(&idp_toml(dir.path(), &url, Some(&key))).unwrap();
    assert_eq!(stat(&key), "600");
    assert_eq!(stat(key.parent().unwrap()), "700");
    drop(server);
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
