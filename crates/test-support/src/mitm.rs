//! A man in the middle for the client's tests: a TLS-terminating HTTP/1.1
//! proxy in front of an API, presenting a certificate the client trusts (the
//! API's own, from the test CA), that passes traffic through or attacks the
//! answers ([`Mode`]). Switch modes between requests with [`Mitm::set_mode`];
//! [`Mitm::request_created`] lists the `created` of every signed request seen.
//! It runs on the caller's tokio runtime: a test that blocks on a child
//! process meanwhile needs a multi-threaded one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use slipgate_httpsig::jose::{Jwk, Jwks};
use slipgate_httpsig::params::Component;
use slipgate_httpsig::{Algorithm, Message, SignParams, SigningKey, content_digest, sign_message};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

/// What the proxy does to answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes everything through unchanged.
    Transparent,
    /// Changes one digit of the body of every answer to a POST (signature kept).
    Tamper,
    /// Serves its own key set at `/.well-known/slipgate-keys` and re-signs
    /// every answer with its own Ed25519 key — correctly, bound to the
    /// request's signature, with a fresh `Content-Digest` — after changing a
    /// digit of POST answers.
    Resign,
    /// Replaces `Date` with one shifted by this many seconds.
    ShiftDate(i64),
}

/// A running proxy.
#[derive(Debug)]
pub struct Mitm {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The key set it serves in [`Mode::Resign`].
    pub jwks: Jwks,
    mode: Arc<Mutex<Mode>>,
    created: Arc<Mutex<Vec<i64>>>,
}

struct Attacker {
    key: SigningKey,
    kid: String,
    jwks_body: Vec<u8>,
}

impl Mitm {
    /// A proxy to the API at `upstream` (whose certificate `ca` signed),
    /// presenting `cert`/`key` (PEM) to its clients.
    pub async fn start(upstream: SocketAddr, ca: &Path, cert: &Path, key: &Path) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_tls(cert, key)));
        let upstream_tls = crate::client_tls(ca, &[&rustls::version::TLS13], &[b"http/1.1".as_slice()]);
        let connector = tokio_rustls::TlsConnector::from(Arc::new(upstream_tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (key, _) = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let raw = key.public_key_raw().unwrap();
        let kid = Jwk::ed25519(&raw, "").unwrap().thumbprint().unwrap();
        let jwks = Jwks { keys: vec![Jwk::ed25519(&raw, &kid).unwrap()] };
        let attacker = Arc::new(Attacker { key, kid, jwks_body: serde_json::to_vec(&jwks).unwrap() });
        let mode = Arc::new(Mutex::new(Mode::Transparent));
        let created = Arc::new(Mutex::new(Vec::new()));
        let (m, c) = (mode.clone(), created.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, connector) = (acceptor.clone(), connector.clone());
                let (mode, created, attacker) = (m.clone(), c.clone(), attacker.clone());
                tokio::spawn(async move {
                    let Ok(mut down) = acceptor.accept(tcp).await else { return };
                    let Ok(up_tcp) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let name = rustls::pki_types::ServerName::IpAddress(upstream.ip().into());
                    let Ok(mut up) = connector.connect(name, up_tcp).await else { return };
                    loop {
                        let Some(request) = read_message(&mut down).await else { return };
                        let head = Head::parse(&request);
                        if let Some(at) = head.header("signature-input").and_then(created_of) {
                            created.lock().unwrap().push(at);
                        }
                        if up.write_all(&request).await.is_err() {
                            return;
                        }
                        let Some(response) = read_message(&mut up).await else { return };
                        let mode = *mode.lock().unwrap();
                        let response = attack(mode, &head, response, &attacker);
                        if down.write_all(&response).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, jwks, mode, created }
    }

    /// In front of a [`TestApi`](crate::TestApi), with its certificate.
    pub async fn in_front_of(api: &crate::TestApi) -> Self {
        let dir = api.dir();
        Self::start(api.addr, &api.ca, &dir.join("server.pem"), &dir.join("server-key.pem")).await
    }

    /// `https://<addr>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Changes what the proxy does from the next answer on.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The `created` of every signed request passed so far.
    pub fn request_created(&self) -> Vec<i64> {
        self.created.lock().unwrap().clone()
    }
}

fn server_tls(cert: &Path, key: &Path) -> rustls::ServerConfig {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

fn created_of(signature_input: &str) -> Option<i64> {
    let rest = &signature_input[signature_input.find(";created=")? + ";created=".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// An HTTP/1.1 message head: the start line and the fields, in order.
struct Head {
    start: String,
    fields: Vec<(String, String)>,
    body_at: usize,
}

impl Head {
    fn parse(message: &[u8]) -> Self {
        let body_at = find(message, b"\r\n\r\n").unwrap() + 4;
        let text = String::from_utf8_lossy(&message[..body_at - 4]).into_owned();
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or_default().to_owned();
        let fields = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self { start, fields, body_at }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn method(&self) -> &str {
        self.start.split(' ').next().unwrap_or_default()
    }

    fn target(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    fn status(&self) -> u16 {
        self.start.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(500)
    }

    fn set(&mut self, name: &str, value: String) {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), value));
    }

    fn serialize(&self, body: &[u8]) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (n, v) in &self.fields {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

fn bump_a_digit(body: &mut [u8]) {
    if let Some(b) = body.iter_mut().find(|b| b.is_ascii_digit()) {
        *b = if *b == b'9' { b'1' } else { *b + 1 };
    }
}

fn attack(mode: Mode, request: &Head, response: Vec<u8>, attacker: &Attacker) -> Vec<u8> {
    let mut head = Head::parse(&response);
    let mut body = response[head.body_at..].to_vec();
    match mode {
        Mode::Transparent => return response,
        Mode::Tamper => {
            if request.method() == "POST" {
                bump_a_digit(&mut body);
            }
        }
        Mode::ShiftDate(seconds) => {
            let shifted = if seconds >= 0 {
                slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock)
                    + Duration::from_secs(seconds.unsigned_abs())
            } else {
                slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock)
                    - Duration::from_secs(seconds.unsigned_abs())
            };
            head.set("date", httpdate::fmt_http_date(shifted));
        }
        Mode::Resign => {
            if request.target().starts_with("/.well-known/slipgate-keys") {
                body = attacker.jwks_body.clone();
            } else if request.method() == "POST" {
                bump_a_digit(&mut body);
            }
            resign(&mut head, &body, request, attacker);
        }
    }
    head.set("content-length", body.len().to_string());
    head.serialize(&body)
}

/// Signs the answer as the API would (SPEC §3.8), with the attacker's key.
fn resign(head: &mut Head, body: &[u8], request: &Head, attacker: &Attacker) {
    head.set("content-digest", content_digest(slipgate_httpsig::DigestAlgorithm::Sha256, body));
    let mut parts = http::Response::new(()).into_parts().0;
    parts.status = http::StatusCode::from_u16(head.status()).unwrap();
    for (n, v) in &head.fields {
        if n != "signature" && n != "signature-input" {
            parts.headers.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
    }
    let mut components = vec![Component::field_or_derived("@status")];
    if parts.headers.contains_key("content-type") {
        components.push(Component::field_or_derived("content-type"));
    }
    components.push(Component::field_or_derived("content-digest"));
    let target = format!("https://localhost{}", request.target());
    let mut message = Message::request(request.method(), &target).unwrap();
    if let Some(signature) = request.header("signature") {
        let label = signature.split('=').next().unwrap_or("sig1").to_owned();
        message = message.with_header("signature", signature);
        components.push(Component::field_or_derived("@method").req());
        components.push(Component::field_or_derived("@path").req());
        components.push(Component::field_or_derived("signature").req().key(&label));
    }
    let now = i64::try_from(
        slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let params = SignParams::new("res").created(now).keyid(&attacker.kid).with_alg();
    let signed = sign_message(&parts, Some(&message), &components, &params, &attacker.key).unwrap();
    head.set("signature-input", signed.signature_input);
    head.set("signature", signed.signature);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One HTTP/1.1 message (head and a content-length body).
async fn read_message(stream: &mut (impl AsyncRead + Unpin)) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}
