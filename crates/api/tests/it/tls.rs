//! Transport: TLS versions, ALPN, plain HTTP on the TLS port, slow clients.

use std::time::Duration;

use slipgate_test_support::{SEED_BODY, TestApi, https_client, tls_connect};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn status_over(
    api: &TestApi,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> (u16, reqwest::Version) {
    let client = https_client(&api.ca, versions, alpn);
    let url = reqwest::Url::parse(&api.url("/generate/salaryslip")).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", api.bearer().parse().unwrap());
    api.signer().sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
    let response = client.post(url).headers(headers).body(SEED_BODY).send().await.unwrap();
    (response.status().as_u16(), response.version())
}

#[tokio::test]
async fn accepts_tls13() {
    let api = TestApi::spawn(&[]).await;
    assert_eq!(status_over(&api, &[&rustls::version::TLS13], &[]).await.0, 200);
    api.stop().await;
}

#[tokio::test]
async fn accepts_tls12() {
    let api = TestApi::spawn(&[]).await;
    assert_eq!(status_over(&api, &[&rustls::version::TLS12], &[]).await.0, 200);
    api.stop().await;
}

#[tokio::test]
async fn negotiates_http2_by_alpn() {
    let api = TestApi::spawn(&[]).await;
    let (status, version) = status_over(&api, &[&rustls::version::TLS13], &[b"h2"]).await;
    assert_eq!((status, version), (200, reqwest::Version::HTTP_2));
    api.stop().await;
}

/// A TLS 1.1 ClientHello (no supported_versions extension, legacy version
/// 0x0302) with TLS 1.0/1.1 cipher suites.
fn tls11_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x02];
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // session id
    let suites: [u16; 4] = [0xc013, 0xc014, 0x002f, 0x0035];
    hello.extend_from_slice(&u16::try_from(suites.len() * 2).unwrap().to_be_bytes());
    for s in suites {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null
    // extensions: supported_groups (secp256r1) and ec_point_formats (uncompressed)
    let ext: Vec<u8> =
        vec![0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00];
    hello.extend_from_slice(&u16::try_from(ext.len()).unwrap().to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&u32::try_from(hello.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

async fn read_until_close(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn refuses_tls11() {
    let api = TestApi::spawn(&[]).await;
    let mut tcp = TcpStream::connect(api.addr).await.unwrap();
    tcp.write_all(&tls11_client_hello()).await.unwrap();
    let answer = read_until_close(&mut tcp).await;
    // No ServerHello (a handshake record, 0x16): at most an alert (0x15), then close.
    assert_ne!(answer.first(), Some(&0x16), "server answered a TLS 1.1 hello with a handshake");
    if let Some(first) = answer.first() {
        assert_eq!(*first, 0x15, "expected a TLS alert, got {answer:02x?}");
    }
    api.stop().await;
}

#[tokio::test]
async fn plain_http_on_tls_port_gets_no_http_response() {
    let api = TestApi::spawn(&[]).await;
    let mut tcp = TcpStream::connect(api.addr).await.unwrap();
    tcp.write_all(b"POST /generate/salaryslip HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_close(&mut tcp).await;
    assert!(!answer.starts_with(b"HTTP/"), "got an HTTP answer: {}", String::from_utf8_lossy(&answer));
    api.stop().await;
}

#[tokio::test]
async fn closes_connection_sending_headers_slower_than_the_timeout() {
    let api = TestApi::spawn(&["limits.header_timeout=1s"]).await;
    let mut tls = tls_connect(api.addr, &api.ca).await;
    tls.write_all(b"POST /generate/salaryslip HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    tls.flush().await.unwrap();
    // Never finish the head. The server must hang up well before our 10 s guard.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "connection still open after 10 s with a 1 s header timeout");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    api.stop().await;
}

#[tokio::test]
async fn closes_connection_that_never_completes_the_handshake() {
    let api = TestApi::spawn(&["limits.header_timeout=1s"]).await;
    let mut tcp = TcpStream::connect(api.addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "idle TCP connection still open after 10 s with a 1 s header timeout");
    api.stop().await;
}
