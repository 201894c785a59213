//! Tokens of an independent OpenID provider (issue 19 item 1): panva's
//! `oidc-provider` from npm (`tests/oidc-provider/`, installed by
//! `scripts/test.sh` with `npm ci`) runs as a real Node.js process over HTTPS,
//! issuing RS256 RFC 9068 access tokens and opaque ones with its own claim and
//! scope names; a real `slipgate serve` maps them with `[auth.claims]` and
//! `[auth.scopes]`, in jwt mode (its JWKS at `auth.jwks_url`) and in
//! introspection mode (`auth.introspection_url`).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use slipgate_api::devpki::DevPki;
use slipgate_client::RequestSigner;
use slipgate_httpsig::SigningKey;
use slipgate_test_support::{SEED_BODY, https_client};

use crate::scaleout::{Proc, free_port, q, slipgate, wait_for_port};

const HMAC: [u8; 32] = *b"oidc-provider-test-hmac-secret32";

/// The API's audience in each mode: the provider's resource indicator (RFC 8707).
const JWT_AUDIENCE: &str = "https://slipgate.test/jwt";
const OPAQUE_AUDIENCE: &str = "https://slipgate.test/introspect";

/// `node_modules` of `npm ci` over `tests/oidc-provider/package-lock.json`.
fn node_modules() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLIPGATE_TEST_OIDC_NODE_MODULES") {
        return PathBuf::from(dir);
    }
    // CARGO_TARGET_TMPDIR is <target dir>/tmp; scripts/test.sh installs into <target dir>.
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("oidc-provider-node/node_modules")
}

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

/// The provider, the API in front of it and what the test needs to talk to both.
struct Setup {
    dir: tempfile::TempDir,
    ca: PathBuf,
    issuer: String,
    api: u16,
    admin: u16,
    _procs: Vec<Proc>,
}

fn start_provider(pki: &DevPki, log: &Path) -> (Proc, String) {
    let modules = node_modules();
    let install = format!(
        "scripts/test.sh installs Node.js and runs `npm ci` there; by hand: \
         cp {dir}/package*.json {target}/ && (cd {target} && npm ci)",
        dir = provider_dir().display(),
        target = modules.parent().unwrap().display(),
    );
    assert!(
        modules.join("oidc-provider/lib/index.js").is_file(),
        "the OpenID provider test needs oidc-provider in {}: {install}",
        modules.display()
    );
    // The provider's RS256 token-signing key, a 2048-bit RSA key in a 0600 PKCS#8 PEM.
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
    let signing_key = log.with_file_name("provider-signing-key.pem");
    slipgate_api::devpki::write_file(
        &signing_key,
        slipgate_httpsig::to_pem("PRIVATE KEY", der.as_ref()).as_bytes(),
        true,
    )
    .unwrap();
    let mut child = Command::new("node")
        .arg(provider_dir().join("provider.mjs"))
        .env("OIDC_PROVIDER_NODE_MODULES", &modules)
        .env("OIDC_SIGNING_KEY", &signing_key)
        .env("OIDC_CERT", &pki.server_cert)
        .env("OIDC_KEY", &pki.server_key)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `node` ({e}): the OpenID provider test needs Node.js 20+; {install}")
        });
    // The start-up line, read on a thread so that a provider that never starts fails the test
    // after the same 60 s start-up bound as `wait_for_port`, instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let proc = Proc(child);
    let line = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap_or_default();
    let started: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        panic!("oidc-provider did not start: {}", std::fs::read_to_string(log).unwrap_or_default())
    });
    (proc, started["issuer"].as_str().unwrap().to_owned())
}

impl Setup {
    /// The provider and a `slipgate serve` in `mode` mapping its claims and scopes.
    fn start(mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pki = DevPki::ensure(d).unwrap();
        let (provider, issuer) = start_provider(&pki, &d.join("provider.log"));
        std::fs::write(d.join("k.secret"), base64::engine::general_purpose::STANDARD.encode(HMAC)).unwrap();
        std::fs::write(d.join("introspection.secret"), secret("slipgate-api")).unwrap();
        let (api, admin) = (free_port(), free_port());
        let audience = if mode == "jwt" { JWT_AUDIENCE } else { OPAQUE_AUDIENCE };
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:{api}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
             [tls]\ncert = {cert}\nkey = {key}\n\
             [[signature.keys]]\nid = \"k\"\nalg = \"hmac-sha256\"\nsecret_file = {hmac}\n\
             [auth]\nmode = \"{mode}\"\nidp_url = \"{issuer}\"\nca = {ca}\naudience = \"{audience}\"\n\
             jwks_url = \"{issuer}/jwks\"\nintrospection_url = \"{issuer}/token/introspection\"\n\
             metadata_url = \"{issuer}/.well-known/openid-configuration\"\n\
             client_id = \"slipgate-api\"\nclient_secret_file = {client_secret}\n\
             [auth.claims]\nemp_id = \"employee_number\"\nemp_code = \"department\"\n\
             emp_name = \"display_name\"\nemp_grade = \"pay_grade\"\n\
             [auth.scopes]\nself = \"payslip:own\"\nany = \"payslip:all\"\n",
            cert = q(&pki.server_cert),
            key = q(&pki.server_key),
            hmac = q(&d.join("k.secret")),
            ca = q(&pki.ca_cert),
            client_secret = q(&d.join("introspection.secret")),
        );
        std::fs::write(d.join("api.toml"), config).unwrap();
        let serve = slipgate(&["serve"], &d.join("api.toml"), &d.join("api.log"));
        wait_for_port(api, "slipgate serve");
        Self { ca: pki.ca_cert, issuer, api, admin, dir, _procs: vec![provider, serve] }
    }

    fn client(&self) -> reqwest::Client {
        https_client(&self.ca, &[&rustls::version::TLS13], &[])
    }

    /// A client-credentials token of `client` for `resource`, asking for `scope` when given.
    async fn token(&self, client: &str, resource: &str, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        form.extend(scope.map(|s| ("scope", s)));
        let r = self
            .client()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(secret(client)))
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("token request of {client}: {e}\n{}", self.logs()));
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(status.is_success(), "the provider refused {client}'s token: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// RFC 7009 revocation at the provider, by the client the token was issued to.
    async fn revoke(&self, client: &str, token: &str) {
        let r = self
            .client()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth(client, Some(secret(client)))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "revocation answered {}", r.status());
    }

    /// POSTs `body` signed with the registry key and `token` as `Bearer`: (status, code, body).
    async fn post(&self, token: &str, body: &str) -> (u16, String, serde_json::Value) {
        let url =
            reqwest::Url::parse(&format!("https://127.0.0.1:{}/generate/salaryslip", self.api)).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let signer = RequestSigner::new("k", SigningKey::hmac_sha256(&HMAC).unwrap());
        signer.sign(&http::Method::POST, &url, &mut headers, body.as_bytes()).unwrap();
        let r = self.client().post(url).headers(headers).body(body.to_owned()).send().await.unwrap();
        let status = r.status().as_u16();
        let json: serde_json::Value = r.json().await.unwrap_or_default();
        (status, json["code"].as_str().unwrap_or_default().to_owned(), json)
    }

    async fn expect(&self, case: &str, token: &str, body: &str, status: u16, code: &str) {
        let (got, got_code, answer) = self.post(token, body).await;
        assert_eq!((got, got_code.as_str()), (status, code), "{case}: {answer}\n{}", self.logs());
    }

    async fn readyz(&self) -> u16 {
        let r = reqwest::get(format!("http://127.0.0.1:{}/readyz", self.admin)).await.unwrap();
        r.status().as_u16()
    }

    fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("api.log:\n{}\nprovider.log:\n{}", read("api.log"), read("provider.log"))
    }
}

/// The test clients' secrets, as `provider.mjs` registers them.
fn secret(client: &str) -> String {
    format!("{client}-secret-{}", "x".repeat(24))
}

/// Another employee's slip request (alice is 01234 on record at the provider).
fn other_employee() -> String {
    SEED_BODY.replace("01234", "00042")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_mode_accepts_an_independent_providers_rs256_tokens_through_the_claim_mapping() {
    let s = Setup::start("jwt");
    assert_eq!(s.readyz().await, 200, "auth.metadata_url names the provider's discovery document");
    let alice = s.token("alice-app", JWT_AUDIENCE, Some("payslip:own")).await;
    let (status, _, slip) = s.post(&alice, SEED_BODY).await;
    assert_eq!(status, 200, "{slip}\n{}", s.logs());
    assert_eq!(slip["employee"]["emp_id"], "01234");
    assert_eq!(slip["employee"]["emp_name"], "John Doe");
    // paula's token has no `scope`, only an Okta-style `scp` array with payslip:all.
    let paula = s.token("paula-app", JWT_AUDIENCE, None).await;
    let (status, _, slip) = s.post(&paula, &other_employee()).await;
    assert_eq!(status, 200, "{slip}");
    assert_eq!(slip["employee"]["emp_id"], "00042");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_mode_refuses_the_providers_tokens_for_another_audience_typ_time_or_employee() {
    let s = Setup::start("jwt");
    let reports = s.token("alice-app", "https://reports.test/jwt", Some("payslip:own")).await;
    s.expect("a token for another resource server", &reports, SEED_BODY, 401, "token_invalid").await;
    let typ = s.token("typ-app", JWT_AUDIENCE, Some("payslip:own")).await;
    s.expect("typ JWT, not at+jwt", &typ, SEED_BODY, 401, "token_invalid").await;
    let expired = s.token("expired-app", JWT_AUDIENCE, Some("payslip:own")).await;
    s.expect("expired 50 minutes ago", &expired, SEED_BODY, 401, "token_invalid").await;
    let alice = s.token("alice-app", JWT_AUDIENCE, Some("payslip:own")).await;
    s.expect("self scope, another employee", &alice, &other_employee(), 403, "forbidden").await;
    let nograde = s.token("nograde-app", JWT_AUDIENCE, Some("payslip:own")).await;
    s.expect("the mapped pay_grade claim missing", &nograde, SEED_BODY, 403, "forbidden").await;
    let literal = s.token("literal-app", JWT_AUDIENCE, Some("salaryslip:self")).await;
    s.expect("our scope name, not the mapped one", &literal, SEED_BODY, 403, "insufficient_scope").await;
    // alice's signed claims with the employee number swapped: the RS256 signature breaks.
    let mut parts: Vec<String> = alice.split('.').map(str::to_owned).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(b64.decode(&parts[1]).unwrap()).unwrap().replace("01234", "00042");
    parts[1] = b64.encode(claims);
    s.expect("claims altered", &parts.join("."), &other_employee(), 401, "token_invalid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_mode_accepts_an_independent_providers_opaque_tokens_through_the_claim_mapping() {
    let s = Setup::start("introspection");
    assert_eq!(s.readyz().await, 200);
    let alice = s.token("alice-app", OPAQUE_AUDIENCE, Some("payslip:own")).await;
    assert!(!alice.contains('.'), "an opaque token, only introspection can read it");
    let (status, _, slip) = s.post(&alice, SEED_BODY).await;
    assert_eq!(status, 200, "{slip}\n{}", s.logs());
    assert_eq!(slip["employee"]["emp_grade"], "7.1");
    // The introspection answer has no `sub` (client credentials): the subject is the client.
    let paula = s.token("paula-app", OPAQUE_AUDIENCE, None).await;
    let (status, _, slip) = s.post(&paula, &other_employee()).await;
    assert_eq!(status, 200, "{slip}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_mode_refuses_the_providers_tokens_for_another_audience_revoked_or_employee() {
    let s = Setup::start("introspection");
    let reports = s.token("alice-app", "https://reports.test/introspect", Some("payslip:own")).await;
    s.expect("active, but for another resource server", &reports, SEED_BODY, 401, "token_invalid").await;
    let revoked = s.token("alice-app", OPAQUE_AUDIENCE, Some("payslip:own")).await;
    s.revoke("alice-app", &revoked).await;
    s.expect("revoked at the provider", &revoked, SEED_BODY, 401, "token_invalid").await;
    let jwt = s.token("alice-app", JWT_AUDIENCE, Some("payslip:own")).await;
    s.expect("a JWT the provider will not introspect", &jwt, SEED_BODY, 401, "token_invalid").await;
    let alice = s.token("alice-app", OPAQUE_AUDIENCE, Some("payslip:own")).await;
    s.expect("self scope, another employee", &alice, &other_employee(), 403, "forbidden").await;
    let nograde = s.token("nograde-app", OPAQUE_AUDIENCE, Some("payslip:own")).await;
    s.expect("the mapped pay_grade claim missing", &nograde, SEED_BODY, 403, "forbidden").await;
    let literal = s.token("literal-app", OPAQUE_AUDIENCE, Some("salaryslip:self")).await;
    s.expect("our scope name, not the mapped one", &literal, SEED_BODY, 403, "insufficient_scope").await;
    s.expect("made up", "not-a-token-of-this-provider", SEED_BODY, 401, "token_invalid").await;
}
