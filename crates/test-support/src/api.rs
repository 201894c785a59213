//! A real API over TLS on `127.0.0.1:0` ([`TestApi`]) and the configuration
//! it runs with ([`TestConfig`]), also used in process by
//! [`TestRouter`](crate::TestRouter) and the benchmarks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use slipgate_api::config::KeyConfig;
use slipgate_api::devpki::DevPki;
use slipgate_api::{ConfigLoader, Listeners};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fixtures::{TEST_ED25519_ID, TEST_HMAC_ID, TEST_HMAC_SECRET};
use crate::{https_client, idp};

/// A running API with its own PKI and signing keys in a temporary directory.
#[derive(Debug)]
pub struct TestApi {
    /// The TLS listener.
    pub addr: SocketAddr,
    /// The admin listener.
    pub admin: SocketAddr,
    /// The CA that signed the server certificate.
    pub ca: PathBuf,
    /// The Ed25519 private key (PKCS#8 PEM) registered as `test-ed25519`.
    pub ed25519_pem: String,
    /// The identity server the API validates tokens with.
    pub idp: idp::TestIdp,
    paula: String,
    dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestApi {
    /// Starts the API in this process with `overrides` (`section.key=value`).
    pub async fn spawn(overrides: &[&str]) -> Self {
        Self::start(overrides, None).await
    }

    /// [`TestApi::spawn`] with the server reading time from `clock`.
    pub async fn spawn_with_clock(overrides: &[&str], clock: Arc<slipgate_guard::ManualClock>) -> Self {
        Self::start(overrides, Some(clock)).await
    }

    async fn start(overrides: &[&str], clock: Option<Arc<slipgate_guard::ManualClock>>) -> Self {
        let TestConfig { dir, config, idp, ca, ed25519_pem, paula } = TestConfig::new(overrides).await;
        let listeners = Listeners::bind(&config).await.unwrap();
        let addr = listeners.api.local_addr().unwrap();
        let admin = listeners.admin.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let clock: Arc<dyn slipgate_guard::Clock> = match clock {
            Some(clock) => clock,
            None => Arc::new(slipgate_guard::SystemClock),
        };
        let state = slipgate_api::AppState::with_clock(&config, clock).unwrap();
        let task = tokio::spawn(async move {
            slipgate_api::run_with_state(config, state, listeners, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self { addr, admin, ca, ed25519_pem, idp, paula, dir, shutdown: Some(tx), task: Some(task) }
    }

    /// A signer with the `test-hmac` key.
    pub fn signer(&self) -> slipgate_client::RequestSigner {
        let key = slipgate_httpsig::SigningKey::hmac_sha256(&TEST_HMAC_SECRET).unwrap();
        slipgate_client::RequestSigner::new(TEST_HMAC_ID, key)
    }

    /// `Bearer <token>` of paula (scope `salaryslip:any`).
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.paula)
    }

    /// A fresh access token of the seeded user `username` (alice or paula).
    pub async fn token_of(&self, username: &str) -> String {
        self.idp.login_ok(username).await["access_token"].as_str().unwrap().to_owned()
    }

    /// A signed `POST /generate/salaryslip` of `body` as paula, `extra`
    /// headers added before signing (they may replace the defaults).
    pub async fn post_signed(&self, body: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        self.send_signed(&self.signer(), "/generate/salaryslip", body, extra).await
    }

    /// A `POST` to `path` signed by `signer`.
    pub async fn send_signed(
        &self,
        signer: &slipgate_client::RequestSigner,
        path: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = reqwest::Url::parse(&self.url(path)).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", self.bearer().parse().unwrap());
        for (name, value) in extra {
            headers.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        signer.sign(&http::Method::POST, &url, &mut headers, body.as_bytes()).unwrap();
        self.client().post(url).headers(headers).body(body.to_owned()).send().await.unwrap()
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// `http://127.0.0.1:<admin port><path>`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// An HTTP client trusting this API's CA.
    pub fn client(&self) -> reqwest::Client {
        https_client(&self.ca, &[&rustls::version::TLS13, &rustls::version::TLS12], &[])
    }

    /// The temporary directory holding the PKI.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.idp.halt().await;
    }
}

/// A test that fails before [`TestApi::stop`] still stops its server: the
/// listener closes now, not when the runtime happens to end.
impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A complete API configuration for tests, with a running identity server,
/// the test keys and a PKI in a temporary directory; for in-process use
/// (`router(state).oneshot`, benchmarks) or [`TestApi`].
#[derive(Debug)]
pub struct TestConfig {
    /// Holds every file the configuration names.
    pub dir: tempfile::TempDir,
    /// The configuration (listeners on port 0).
    pub config: slipgate_api::Config,
    /// The identity server it validates tokens with.
    pub idp: idp::TestIdp,
    /// The CA of the API's certificate.
    pub ca: PathBuf,
    /// The `test-ed25519` private key.
    pub ed25519_pem: String,
    /// A token of paula (`salaryslip:any`).
    pub paula: String,
}

impl TestConfig {
    /// Builds it, applying `overrides` (`section.key=value`) last.
    pub async fn new(overrides: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::ensure(dir.path()).unwrap();
        let (keys, ed25519_pem) = write_test_keys(dir.path());
        let idp = idp::TestIdp::spawn().await;
        let (client_id, secret) = idp.introspection_client();
        let secret_file = dir.path().join("introspection.secret");
        std::fs::write(&secret_file, secret).unwrap();
        let paula = idp.login_ok("paula").await["access_token"].as_str().unwrap().to_owned();
        let mut base = slipgate_api::Config::default();
        base.signature.keys = keys;
        base.auth.idp_url = Some(idp.url(""));
        base.auth.ca = Some(idp.ca.clone());
        base.auth.client_id = Some(client_id);
        base.auth.client_secret_file = Some(secret_file);
        base.auth.issuer = Some(idp.issuer.clone());
        base.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        base.server.admin_listen = SocketAddr::from(([127, 0, 0, 1], 0));
        base.tls.cert = Some(pki.server_cert.clone());
        base.tls.key = Some(pki.server_key.clone());
        let mut loader = ConfigLoader::new().layer(&base).unwrap();
        for o in overrides {
            loader = loader.set_override(o).unwrap();
        }
        let config: slipgate_api::Config = loader.load().unwrap();
        Self { dir, config, idp, ca: pki.ca_cert, ed25519_pem, paula }
    }
}

/// Writes the test keys into `dir`; returns their `signature.keys` entries
/// and the Ed25519 private key PEM.
fn write_test_keys(dir: &Path) -> (Vec<KeyConfig>, String) {
    use base64::Engine as _;
    let secret = dir.join("test-hmac.secret");
    std::fs::write(&secret, base64::engine::general_purpose::STANDARD.encode(TEST_HMAC_SECRET)).unwrap();
    let (key, pkcs8) = slipgate_httpsig::SigningKey::generate(slipgate_httpsig::Algorithm::Ed25519).unwrap();
    let private_pem = slipgate_httpsig::to_pem("PRIVATE KEY", pkcs8.expose());
    let public = dir.join("test-ed25519.pub.pem");
    std::fs::write(&public, slipgate_httpsig::to_pem("PUBLIC KEY", &key.public_key_spki_der().unwrap()))
        .unwrap();
    let keys = vec![
        KeyConfig {
            id: TEST_HMAC_ID.to_owned(),
            alg: "hmac-sha256".to_owned(),
            secret_file: Some(secret),
            public_key_file: None,
        },
        KeyConfig {
            id: TEST_ED25519_ID.to_owned(),
            alg: "ed25519".to_owned(),
            secret_file: None,
            public_key_file: Some(public),
        },
    ];
    (keys, private_pem)
}
