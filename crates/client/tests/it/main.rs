//! The SDK against a real API and identity server (test-support's `TestApi`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use slipgate_client::{Client, ClientError, Format, Generated};
use slipgate_proto::clock::{Clock as _, ManualClock, SystemClock};
use slipgate_proto::{ProblemCode, SlipRequest};
use slipgate_test_support::TestApi;

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
async fn generate_corrects_a_skewed_clock_from_the_date_header_and_keeps_the_offset() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let now = u64::try_from(SystemClock.unix_seconds()).unwrap();
    // Twenty minutes slow: far outside the API's ±300 s window.
    let slow = Arc::new(ManualClock::at_unix(now - 1200));
    let client = client_for(&api, dir.path(), Some(slow.clone())).await;
    let result = client.generate(&seed(), Format::Json).await;
    assert!(result.is_ok(), "{:?}", result.err());
    let offset = client.clock_offset_millis();
    assert!((1_195_000..=1_205_000).contains(&offset), "offset {offset} ms");
    slow.advance(std::time::Duration::from_secs(1));
    assert!(client.generate(&seed(), Format::Json).await.is_ok(), "the learned offset is reused");
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
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
    api.stop().await;
}

/// A TLS-terminating proxy between the client and the API that, when
/// `tamper` is set, changes one digit in the body of every answer to a POST
/// (HTTP/1.1, content-length framing), keeping its length.
async fn proxy(api: &TestApi, tamper: bool) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = api.dir();
    let server =
        slipgate_transport::tls::server_config(&dir.join("server.pem"), &dir.join("server-key.pem")).unwrap();
    let mut server = (*server).clone();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let upstream_tls =
        slipgate_test_support::client_tls(&api.ca, &[&rustls::version::TLS13], &[b"http/1.1".as_slice()]);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(upstream_tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream_addr = api.addr;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, connector) = (acceptor.clone(), connector.clone());
            tokio::spawn(async move {
                let Ok(mut down) = acceptor.accept(tcp).await else { return };
                let up_tcp = tokio::net::TcpStream::connect(upstream_addr).await.unwrap();
                let name = rustls::pki_types::ServerName::IpAddress(upstream_addr.ip().into());
                let mut up = connector.connect(name, up_tcp).await.unwrap();
                loop {
                    let Some(request) = read_message(&mut down).await else { return };
                    let is_post = request.starts_with(b"POST");
                    up.write_all(&request).await.unwrap();
                    let Some(mut response) = read_message(&mut up).await else { return };
                    if tamper && is_post {
                        let body_at = find(&response, b"\r\n\r\n").unwrap() + 4;
                        if let Some(i) = response[body_at..].iter().position(u8::is_ascii_digit) {
                            let b = &mut response[body_at + i];
                            *b = if *b == b'9' { b'1' } else { *b + 1 };
                        }
                    }
                    if down.write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// One HTTP/1.1 message (head and a content-length body).
    async fn read_message(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Option<Vec<u8>> {
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
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(buf)
    }
    addr
}

async fn client_via(api: &TestApi, dir: &std::path::Path, proxy: std::net::SocketAddr) -> Client {
    Client::builder()
        .api_url(format!("https://{proxy}"))
        .ca_file(&api.ca)
        .signer(api.signer())
        .idp_url(api.idp.url(""))
        .token_file(token_file(api, dir).await)
        .http1_only()
        .build()
        .unwrap()
}

/// SPEC §3.8: an answer changed in transit is refused by the SDK.
#[tokio::test]
async fn sdk_refuses_an_answer_changed_in_transit() {
    let api = TestApi::spawn(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let honest = client_via(&api, dir.path(), proxy(&api, false).await).await;
    assert!(honest.generate(&seed(), Format::Json).await.is_ok(), "the proxy itself must be transparent");
    let tampered = client_via(&api, dir.path(), proxy(&api, true).await).await;
    let err = tampered.generate(&seed(), Format::Json).await.unwrap_err();
    assert!(matches!(err, ClientError::ResponseSignature(_)), "{err:?}");
    api.stop().await;
}
