//! Scale-out with real processes (SPEC §7): one `slipgate idp serve`, two
//! `slipgate serve` instances sharing one Redis, and the documented HAProxy
//! configuration (`deploy/haproxy.cfg`) in front of them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use slipgate_api::devpki::DevPki;
use slipgate_client::RequestSigner;
use slipgate_httpsig::SigningKey;
use slipgate_test_support::{SEED_BODY, https_client};

const HMAC: [u8; 32] = *b"scale-out-test-hmac-secret-32byt";

/// A child process killed on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port} within 60 s");
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn slipgate(args: &[&str], config: &Path, log: &Path) -> Proc {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Proc(child)
}

fn redis(port: u16, dir: &Path) -> Proc {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server not found (scripts/test.sh installs it)");
    wait_for_port(port, "redis-server");
    Proc(child)
}

struct Cluster {
    dir: tempfile::TempDir,
    ca: PathBuf,
    idp_url: String,
    apis: [u16; 2],
    lb: u16,
    redis_port: u16,
    passwords: Vec<(String, String)>,
    idp: Option<Proc>,
    _procs: Vec<Proc>,
    redis: Option<Proc>,
}

pub(crate) fn q(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// The address HAProxy connects to the instances from: the only PROXY peer.
const LB_SOURCE: &str = "127.0.0.10";

impl Cluster {
    async fn start(user_rate: &str) -> Self {
        Self::start_with(user_rate, "introspection").await
    }

    async fn start_with(user_rate: &str, auth_mode: &str) -> Self {
        Self::start_full(user_rate, auth_mode, "1000/min").await
    }

    async fn start_full(user_rate: &str, auth_mode: &str, ip_rate: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pki = DevPki::ensure(d).unwrap();
        let db = format!("sqlite://{}", d.join("idp.db").display());
        let store = slipgate_idp::open_store(&db).await.unwrap();
        // The fixtures' records: alice's is the one SEED_BODY repeats.
        let seed = slipgate_idp::seed_dev_with(
            store.as_ref(),
            slipgate_test_support::idp::alice_record(),
            slipgate_test_support::idp::paula_record(),
        )
        .await
        .unwrap();
        drop(store);
        let passwords = seed
            .users
            .iter()
            .map(|u| (u.username.clone(), u.password.expose().to_owned()))
            .collect::<Vec<_>>();
        std::fs::write(d.join("introspection.secret"), seed.introspection_client.1.expose()).unwrap();
        std::fs::write(d.join("k.secret"), base64::engine::general_purpose::STANDARD.encode(HMAC)).unwrap();

        let idp_port = free_port();
        let idp_url = format!("https://127.0.0.1:{idp_port}");
        std::fs::write(
            d.join("idp.toml"),
            format!(
                "[idp]\nlisten = \"127.0.0.1:{idp_port}\"\nadmin_listen = \"127.0.0.1:{idp_admin}\"\n\
                 database = \"{db}\"\nissuer = \"{idp_url}\"\n\
                 [tls]\ncert = {}\nkey = {}\n",
                q(&pki.server_cert),
                q(&pki.server_key),
                idp_admin = free_port(),
            ),
        )
        .unwrap();
        let idp = slipgate(&["idp", "serve"], &d.join("idp.toml"), &d.join("idp.log"));
        let mut procs = Vec::new();
        wait_for_port(idp_port, "slipgate idp serve");

        let redis_port = free_port();
        let redis = redis(redis_port, d);
        let apis = [free_port(), free_port()];
        for (i, port) in apis.iter().enumerate() {
            let config = format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
                 proxy_protocol_from = [\"{LB_SOURCE}\"]\n\
                 [tls]\ncert = {cert}\nkey = {key}\n\
                 [[signature.keys]]\nid = \"k\"\nalg = \"hmac-sha256\"\nsecret_file = {secret}\n\
                 [replay]\nstore = \"redis\"\n\
                 [rate_limit]\nstore = \"redis\"\nuser = \"{user_rate}\"\nip = \"{ip_rate}\"\n\
                 [redis]\nurl = \"redis://127.0.0.1:{redis_port}/0\"\n\
                 [auth]\nmode = \"{auth_mode}\"\nidp_url = \"{idp_url}\"\nca = {ca}\nclient_id = \"{client}\"\nclient_secret_file = {client_secret}\n",
                admin = free_port(),
                cert = q(&pki.server_cert),
                key = q(&pki.server_key),
                secret = q(&d.join("k.secret")),
                ca = q(&pki.ca_cert),
                client = seed.introspection_client.0,
                client_secret = q(&d.join("introspection.secret")),
            );
            let file = d.join(format!("api{i}.toml"));
            std::fs::write(&file, config).unwrap();
            procs.push(slipgate(&["serve"], &file, &d.join(format!("api{i}.log"))));
        }
        for port in apis {
            wait_for_port(port, "slipgate serve");
        }

        let lb = free_port();
        let haproxy = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg"))
            .env("SLIPGATE_LB_BIND", format!("127.0.0.1:{lb}"))
            .env("SLIPGATE_API1", format!("127.0.0.1:{}", apis[0]))
            .env("SLIPGATE_API2", format!("127.0.0.1:{}", apis[1]))
            .env("SLIPGATE_LB_SOURCE", LB_SOURCE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy not found (scripts/test.sh installs it)");
        procs.push(Proc(haproxy));
        wait_for_port(lb, "haproxy");

        Self {
            ca: pki.ca_cert.clone(),
            dir,
            idp_url,
            apis,
            lb,
            redis_port,
            passwords,
            idp: Some(idp),
            _procs: procs,
            redis: Some(redis),
        }
    }

    fn client(&self) -> reqwest::Client {
        https_client(&self.ca, &[&rustls::version::TLS13], &[])
    }

    async fn token(&self) -> String {
        self.token_of("paula").await
    }

    async fn token_of(&self, user: &str) -> String {
        let password = &self.passwords.iter().find(|(u, _)| u == user).unwrap().1;
        let form = [("grant_type", "password"), ("username", user), ("password", password.as_str())];
        let r = self.client().post(format!("{}/oauth/token", self.idp_url)).form(&form).send().await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Signed headers for the seed request to `port` (the authority is signed).
    fn signed(&self, port: u16, token: &str) -> (reqwest::Url, http::HeaderMap) {
        let url = reqwest::Url::parse(&format!("https://127.0.0.1:{port}/generate/salaryslip")).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let signer = RequestSigner::new("k", SigningKey::hmac_sha256(&HMAC).unwrap());
        signer.sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
        (url, headers)
    }

    async fn send(&self, url: reqwest::Url, headers: http::HeaderMap) -> (u16, String) {
        let r = self.client().post(url).headers(headers).body(SEED_BODY).send().await.unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    }

    async fn post(&self, port: u16, token: &str) -> (u16, String) {
        let (url, headers) = self.signed(port, token);
        self.send(url, headers).await
    }

    /// The seed request for another employee than alice (01234).
    async fn post_other(&self, port: u16, token: &str) -> (u16, String) {
        let body = SEED_BODY.replace("01234", "00042");
        let url = reqwest::Url::parse(&format!("https://127.0.0.1:{port}/generate/salaryslip")).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let signer = RequestSigner::new("k", SigningKey::hmac_sha256(&HMAC).unwrap());
        signer.sign(&http::Method::POST, &url, &mut headers, body.as_bytes()).unwrap();
        let r = self.client().post(url).headers(headers).body(body).send().await.unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        (status, v["code"].as_str().unwrap_or_default().to_owned())
    }
}

#[tokio::test]
async fn two_instances_behind_haproxy_share_replay_and_quota_state() {
    let cluster = Cluster::start("4/min").await;
    let token = cluster.token().await;
    let [a, b] = cluster.apis;

    // Through the documented balancer.
    assert_eq!(cluster.post(cluster.lb, &token).await, (200, String::new()));

    // A request replayed to the other instance is refused there. The authority
    // is signed, so the replay goes to B's port with A's exact headers and a
    // Host naming A, as a balancer would forward it.
    let (url_a, headers) = cluster.signed(a, &token);
    assert_eq!(cluster.send(url_a, headers.clone()).await.0, 200);
    let to_b = reqwest::Url::parse(&format!("https://127.0.0.1:{b}/generate/salaryslip")).unwrap();
    let mut replay_headers = headers.clone();
    replay_headers.insert("host", format!("127.0.0.1:{a}").parse().unwrap());
    assert_eq!(cluster.send(to_b, replay_headers).await, (401, "replayed".to_owned()));

    // The user quota (4/min) is shared: two used above (the replay was refused
    // before the token step, so it used none), one more on each instance —
    // neither instance alone has seen four — then 429 on either.
    assert_eq!(cluster.post(a, &token).await.0, 200);
    assert_eq!(cluster.post(b, &token).await.0, 200);
    assert_eq!(cluster.post(b, &token).await, (429, "rate_limited".to_owned()));
    assert_eq!(cluster.post(a, &token).await, (429, "rate_limited".to_owned()));
    drop(cluster);
}

#[tokio::test]
async fn stopping_redis_fails_closed_and_service_recovers_when_it_returns() {
    let mut cluster = Cluster::start("1000/min").await;
    let token = cluster.token().await;
    let a = cluster.apis[0];
    assert_eq!(cluster.post(a, &token).await.0, 200);

    drop(cluster.redis.take());
    assert_eq!(cluster.post(a, &token).await, (503, "store_unavailable".to_owned()));
    assert_eq!(cluster.post(cluster.apis[1], &token).await, (503, "store_unavailable".to_owned()));

    cluster.redis = Some(redis(cluster.redis_port, cluster.dir.path()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, code) = cluster.post(a, &token).await;
        if status == 200 {
            break;
        }
        assert_eq!(code, "store_unavailable", "only the store outage may refuse");
        assert!(Instant::now() < deadline, "no recovery within 30 s of Redis returning");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SPEC §3.4/§4 through real processes: `slipgate idp serve` and `slipgate
/// serve` over TLS, introspection mode; then the identity server stops.
#[tokio::test]
async fn processes_enforce_tokens_and_scopes_and_fail_closed_without_the_identity_server() {
    let mut cluster = Cluster::start("1000/min").await;
    let a = cluster.apis[0];
    let alice = cluster.token_of("alice").await;
    let paula = cluster.token_of("paula").await;
    assert_eq!(cluster.post(a, &alice).await.0, 200);
    assert_eq!(cluster.post_other(a, &alice).await, (403, "forbidden".to_owned()));
    assert_eq!(cluster.post_other(a, &paula).await.0, 200);
    assert_eq!(cluster.post(a, "garbage").await, (401, "token_invalid".to_owned()));
    let unseen = cluster.token_of("paula").await;
    drop(cluster.idp.take());
    assert_eq!(cluster.post(a, &unseen).await, (503, "auth_unavailable".to_owned()));
}

/// The same rules in jwt mode: tokens verified locally against the JWKS.
#[tokio::test]
async fn jwt_mode_processes_verify_tokens_locally() {
    let cluster = Cluster::start_with("1000/min", "jwt").await;
    let a = cluster.apis[0];
    let alice = cluster.token_of("alice").await;
    assert_eq!(cluster.post(a, &alice).await.0, 200);
    assert_eq!(cluster.post_other(a, &alice).await, (403, "forbidden".to_owned()));
    assert_eq!(cluster.post(a, "a.b.c").await, (401, "token_invalid".to_owned()));
}

/// `GET /openapi.json` through the balancer from `source`: the status.
async fn get_from(cluster: &Cluster, source: [u8; 4]) -> u16 {
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(slipgate_test_support::client_tls(
            &cluster.ca,
            &[&rustls::version::TLS13],
            &[],
        ))
        .local_address(std::net::IpAddr::from(source))
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/openapi.json", cluster.lb);
    client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn clients_behind_haproxy_get_their_own_buckets_and_cannot_forge_proxy_headers() {
    let cluster = Cluster::start_full("120/min", "introspection", "3/min").await;
    // Two clients behind the balancer (127.0.0.2 and 127.0.0.3): the PROXY
    // header names each, so each has its own per-IP bucket (3/min, shared by
    // both instances through Redis).
    for _ in 0..3 {
        assert_eq!(get_from(&cluster, [127, 0, 0, 2]).await, 200);
    }
    assert_eq!(get_from(&cluster, [127, 0, 0, 2]).await, 429);
    assert_eq!(get_from(&cluster, [127, 0, 0, 3]).await, 200, "the other client shares the bucket");

    // A client connecting to an instance directly cannot forge a PROXY header:
    // it is not the balancer, so the header is not a TLS ClientHello and the
    // connection is closed without an answer.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut direct = tokio::net::TcpStream::connect(("127.0.0.1", cluster.apis[0])).await.unwrap();
    let forged = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (
            "192.0.2.50:4000".parse::<std::net::SocketAddr>().unwrap(),
            "127.0.0.1:443".parse::<std::net::SocketAddr>().unwrap(),
        ),
    )
    .build()
    .unwrap();
    direct.write_all(&forged).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(15), direct.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the forged connection was kept open");
    assert!(!String::from_utf8_lossy(&buf).contains("HTTP/"), "the forged connection was answered");
    // The same client without a header is served as itself.
    let url = format!("https://127.0.0.1:{}/openapi.json", cluster.apis[0]);
    assert_eq!(cluster.client().get(url).send().await.unwrap().status(), 200);
    drop(cluster);
}
