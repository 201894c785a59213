//! A real identity server over TLS on `127.0.0.1:0`, with a manual clock and
//! the dev users seeded, for the identity server's and the API's tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use slipgate_api::devpki::DevPki;
use slipgate_idp::{ConfigLoader, DevSeed, EmployeeRecord, IdpConfig, IdpState, Store};
use slipgate_proto::clock::{Clock, ManualClock, SystemClock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// alice's employee record in these fixtures: the one [`crate::SEED_BODY`]
/// repeats, so the suites' `salaryslip:self` requests pass the SPEC §3.4 rule
/// (`slipgate dev`'s alice is `Alice Example`).
pub fn alice_record() -> EmployeeRecord {
    EmployeeRecord::complete("01234", "ENG", "John Doe", "7.1")
}

/// paula's employee record (as in `slipgate dev`).
pub fn paula_record() -> EmployeeRecord {
    EmployeeRecord::complete("00001", "HR", "Paula Payroll", "8.1")
}

/// A running identity server.
#[derive(Debug)]
pub struct TestIdp {
    /// Its listener.
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub seed: DevSeed,
    /// The running server's state (to reload rotated keys without waiting).
    pub state: IdpState,
    /// Its signing-key file.
    pub key_file: PathBuf,
    pub http: reqwest::Client,
    /// The CA that signed its certificate.
    pub ca: PathBuf,
    /// The `iss` of its tokens.
    pub issuer: String,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestIdp {
    /// A server on a fresh SQLite file, seeded with the dev users.
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("idp.db").display());
        let store = slipgate_idp::open_store(&url).await.unwrap();
        Self::spawn_on(store, dir).await
    }

    /// A server on `store`, with its certificates and signing key in `dir`.
    pub async fn spawn_on(store: Arc<dyn Store>, dir: tempfile::TempDir) -> Self {
        let key_file = dir.path().join("signing-key.pem");
        Self::spawn_with(store, dir, &key_file, &[]).await
    }

    /// [`TestIdp::spawn_on`] with the key in `key_file` and extra
    /// `section.key=value` overrides.
    pub async fn spawn_with(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        key_file: &Path,
        overrides: &[&str],
    ) -> Self {
        let pki = DevPki::ensure(dir.path()).unwrap();
        let config = config(SocketAddr::from(([127, 0, 0, 1], 0)), key_file, &pki, overrides);
        let clock = Arc::new(ManualClock::at_unix(u64::try_from(SystemClock.unix_seconds()).unwrap()));
        let issuer = config.idp.issuer.clone();
        let seed = slipgate_idp::seed_dev_with(store.as_ref(), alice_record(), paula_record()).await.unwrap();
        let state = IdpState::new(&config, store.clone(), clock.clone()).await.unwrap();
        let (addr, shutdown, task) = serve(config, state.clone()).await;
        let http =
            crate::https_client(&pki.ca_cert, &[&rustls::version::TLS13, &rustls::version::TLS12], &[]);
        Self {
            addr,
            clock,
            store,
            seed,
            state,
            key_file: key_file.to_owned(),
            http,
            ca: pki.ca_cert.clone(),
            issuer,
            _dir: dir,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn password_of(&self, username: &str) -> String {
        self.seed.users.iter().find(|u| u.username == username).unwrap().password.expose().to_owned()
    }

    pub fn introspection_client(&self) -> (String, String) {
        (self.seed.introspection_client.0.clone(), self.seed.introspection_client.1.expose().to_owned())
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = self.http.post(self.url("/oauth/token")).form(form).send().await.unwrap();
        split(response).await
    }

    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let (status, _, body) =
            self.token(&[("grant_type", "password"), ("username", username), ("password", password)]).await;
        (status, body)
    }

    /// Logs in as `username` with its seeded password and returns the token response.
    pub async fn login_ok(&self, username: &str) -> Value {
        let (status, body) = self.login(username, &self.password_of(username)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let (id, secret) = self.introspection_client();
        let response = self
            .http
            .post(self.url("/oauth/introspect"))
            .basic_auth(id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        let (status, _, body) = split(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn revoke(&self, token: &str) -> StatusCode {
        self.http.post(self.url("/oauth/revoke")).form(&[("token", token)]).send().await.unwrap().status()
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// The server's own token-signing key and the `kid` its JWKS publishes it
    /// under: to make tokens only the identity server could make (a `typ` or
    /// times it would never issue). Read from its key file.
    pub async fn signing_key(&self) -> (String, aws_lc_rs::signature::Ed25519KeyPair) {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
        use base64::Engine as _;
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(&self.key_file).unwrap();
        let pkcs8 = der.secret_pkcs8_der().to_vec();
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap();
        let response = self.http.get(self.url("/.well-known/jwks.json")).send().await.unwrap();
        let jwks: slipgate_httpsig::jose::Jwks = response.json().await.unwrap();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.public_key().as_ref());
        let kid = jwks.keys.iter().find(|k| k.x == x).and_then(|k| k.kid.clone()).unwrap();
        (kid, key)
    }

    /// `claims` signed with the server's own key, with JOSE `typ`.
    pub async fn sign_token(&self, typ: &str, claims: &Value) -> String {
        let (kid, key) = self.signing_key().await;
        slipgate_httpsig::jose::sign_jwt_typed(claims, &kid, typ, &key).unwrap()
    }

    /// Restarts the server on the same address and certificate with a fresh
    /// database and signing key, as after a key rotation that withdrew the old
    /// key: the JWKS no longer lists it. The dev users are seeded anew (new
    /// passwords); the clock is kept.
    pub async fn restart_with_new_signing_key(&mut self) {
        self.halt().await;
        let pki = DevPki::ensure(self._dir.path()).unwrap();
        // A directory of its own, so that a key file kept beside the database is new too.
        let db_dir = self._dir.path().join(format!("rotated-{}", self.addr.port()));
        std::fs::create_dir_all(&db_dir).unwrap();
        let url = format!("sqlite://{}", db_dir.join("idp.db").display());
        let store = slipgate_idp::open_store(&url).await.unwrap();
        self.key_file = db_dir.join("signing-key.pem");
        let config = config(self.addr, &self.key_file, &pki, &[]);
        self.seed =
            slipgate_idp::seed_dev_with(store.as_ref(), alice_record(), paula_record()).await.unwrap();
        let state = IdpState::new(&config, store.clone(), self.clock.clone()).await.unwrap();
        self.store = store;
        let (addr, shutdown, task) = serve(config, state).await;
        assert_eq!(addr, self.addr, "restarted on another address");
        self.shutdown = Some(shutdown);
        self.task = Some(task);
    }

    /// Stops the server, keeping the value (to test an unreachable server).
    pub async fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// A test that fails before [`TestIdp::stop`] still stops its server.
impl Drop for TestIdp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The one test configuration of the identity server: listening on `listen`
/// with the PKI's server certificate, signing with the key in `key_file`,
/// `overrides` (`section.key=value`) last.
fn config(listen: SocketAddr, key_file: &Path, pki: &DevPki, overrides: &[&str]) -> IdpConfig {
    let mut base = IdpConfig::default();
    base.idp.listen = listen;
    base.idp.signing_key_file = Some(key_file.to_owned());
    base.tls.cert = Some(pki.server_cert.clone());
    base.tls.key = Some(pki.server_key.clone());
    let mut loader = ConfigLoader::new().layer(&base).unwrap();
    for o in overrides {
        loader = loader.set_override(o).unwrap();
    }
    loader.load().unwrap()
}

/// Binds `config`'s listener and serves `state` on it until the sender fires.
async fn serve(config: IdpConfig, state: IdpState) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = slipgate_idp::bind(&config).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        slipgate_idp::run_with_state(config, state, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx, task)
}

pub async fn split(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    (status, headers, body)
}
