//! Attacks on silent and slow connections, connection caps, shedding per IP,
//! PROXY protocol, request smuggling heads, rate-limit headers — each played
//! through real sockets against a running `slipgate dev`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ppp::v2::{Builder, Command, Protocol, Version};
use slipgate_test_support::{SEED_BODY, client_tls};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

use super::Dev;

/// Generous upper bound for "eventually closed" (the timeouts under test are 1–2 s).
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

fn api_addr(dev: &Dev) -> SocketAddr {
    dev.url().socket_addrs(|| None).unwrap()[0]
}

async fn tcp_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

async fn tls_over(tcp: TcpStream, ca: &Path, alpn: &[&[u8]]) -> std::io::Result<TlsStream<TcpStream>> {
    let config = client_tls(ca, &[&rustls::version::TLS13], alpn);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::IpAddress(tcp.peer_addr()?.ip().into());
    tokio::time::timeout(CLOSED_WITHIN, connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::other("handshake did not finish"))?
}

async fn tls(dev: &Dev, source: [u8; 4], alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let tcp = tcp_from(source, api_addr(dev)).await;
    tls_over(tcp, Path::new(&dev.s("ca_file")), alpn).await.unwrap()
}

/// Whether the server closes `stream` (EOF or error) within [`CLOSED_WITHIN`],
/// reading (and discarding) whatever it sends meanwhile.
async fn closed<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut buf = [0u8; 4096];
    let read_until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, read_until_closed).await.is_ok()
}

/// Writes `request` and reads until the server closes (bounded).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(CLOSED_WITHIN, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

fn get(dev: &Dev, path: &str, extra: &str) -> Vec<u8> {
    let host = dev.url().authority().to_owned();
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").into_bytes()
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// `GET /openapi.json` as one HPACK block (static-table names, literal values).
fn h2_get(authority: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x87]; // :method GET, :scheme https
    block.push(0x44); // :path, literal with indexing
    block.push(13);
    block.extend_from_slice(b"/openapi.json");
    block.push(0x41); // :authority
    block.push(u8::try_from(authority.len()).unwrap());
    block.extend_from_slice(authority.as_bytes());
    frame(0x1, 0x5, 1, &block) // HEADERS, END_STREAM | END_HEADERS
}

/// Plays an HTTP/2 client that acknowledges the server's SETTINGS and PINGs and
/// pings the server itself every 300 ms; returns whether a GOAWAY came and the
/// connection then closed within [`CLOSED_WITHIN`].
async fn h2_pinging_until_closed(stream: &mut TlsStream<TcpStream>) -> (bool, bool) {
    let mut goaway = false;
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let play = async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if stream.write_all(&frame(0x6, 0, 0, &[7; 8])).await.is_err() {
                        return;
                    }
                }
                read = stream.read(&mut buf) => {
                    let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                    pending.extend_from_slice(&buf[..n]);
                    while pending.len() >= 9 {
                        let len = usize::from(pending[0]) << 16 | usize::from(pending[1]) << 8 | usize::from(pending[2]);
                        if pending.len() < 9 + len { break; }
                        let (kind, flags) = (pending[3], pending[4]);
                        let payload = pending[9..9 + len].to_vec();
                        pending.drain(..9 + len);
                        match (kind, flags & 1) {
                            (0x4, 0) => { let _ = stream.write_all(&frame(0x4, 1, 0, &[])).await; }
                            (0x6, 0) => { let _ = stream.write_all(&frame(0x6, 1, 0, &payload)).await; }
                            (0x7, _) => goaway = true,
                            _ => {}
                        }
                    }
                }
            }
        }
    };
    let closed = tokio::time::timeout(CLOSED_WITHIN, play).await.is_ok();
    (goaway, closed)
}

#[tokio::test]
async fn silent_slow_idle_and_smuggling_connections_are_closed_or_refused() {
    let dev = Dev::start(&["limits.header_timeout=1s", "limits.idle_timeout=2s", "limits.body_timeout=2s"]);
    let local = [127, 0, 0, 1];

    // The connections that must be timed out are all opened first and awaited together, so the
    // test waits out the longest timeout once rather than each in turn.
    // Reviewer's attack: a TLS connection that sends nothing after the handshake.
    let mut silent = tls(&dev, local, &[b"http/1.1"]).await;

    // …or one byte.
    let mut one_byte = tls(&dev, local, &[b"http/1.1"]).await;
    one_byte.write_all(b"G").await.unwrap();

    // A slow-loris head after a served request on a keep-alive connection.
    let mut keep = tls(&dev, local, &[b"http/1.1"]).await;
    keep.write_all(&get(&dev, "/openapi.json", "")).await.unwrap();
    let mut first = [0u8; 12];
    keep.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    keep.write_all(b"GET /openapi.json HTTP/1.1\r\nX-Slow: ").await.unwrap();

    // An idle keep-alive connection is closed after idle_timeout.
    let mut idle = tls(&dev, local, &[b"http/1.1"]).await;
    idle.write_all(&get(&dev, "/openapi.json", "")).await.unwrap();
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    // HTTP/2 preface and pings but no HEADERS: closed after header_timeout.
    let mut h2_no_headers = tls(&dev, local, &[b"h2"]).await;
    assert_eq!(h2_no_headers.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    h2_no_headers.write_all(H2_PREFACE).await.unwrap();
    h2_no_headers.write_all(&frame(0x4, 0, 0, &[])).await.unwrap();

    // Reviewer's attack: an idle HTTP/2 connection answering (and sending) pings.
    let mut h2 = tls(&dev, local, &[b"h2"]).await;
    h2.write_all(H2_PREFACE).await.unwrap();
    h2.write_all(&frame(0x4, 0, 0, &[])).await.unwrap();
    h2.write_all(&h2_get(dev.url().authority())).await.unwrap();

    let (silent, one_byte, keep, idle, (_, closed_h2_no_headers), (goaway, closed_h2)) = tokio::join!(
        closed(&mut silent),
        closed(&mut one_byte),
        closed(&mut keep),
        closed(&mut idle),
        h2_pinging_until_closed(&mut h2_no_headers),
        h2_pinging_until_closed(&mut h2),
    );
    assert!(silent, "a silent TLS connection was kept open");
    assert!(one_byte, "a one-byte TLS connection was kept open");
    assert!(keep, "a slow second head was kept open");
    assert!(idle, "an idle keep-alive connection was kept open");
    assert!(closed_h2_no_headers, "an HTTP/2 connection without a request was kept open");
    assert!(goaway && closed_h2, "idle HTTP/2: GOAWAY {goaway}, closed {closed_h2}");

    // HTTP/2 only by ALPN: the preface over an http/1.1 connection is no request.
    let mut sniff = tls(&dev, local, &[b"http/1.1"]).await;
    let answer = exchange(&mut sniff, H2_PREFACE).await;
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");

    // Content-Length with Transfer-Encoding: 400 bad_request, then closed.
    let mut smuggle = tls(&dev, local, &[b"http/1.1"]).await;
    let head = get(&dev, "/openapi.json", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n");
    let mut request = head.clone();
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = exchange(&mut smuggle, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("\"code\":\"bad_request\""),
        "{answer}"
    );

    // The same head smuggled behind a clean first request on one connection.
    let mut pipelined = tls(&dev, local, &[b"http/1.1"]).await;
    let mut both = get(&dev, "/openapi.json", "");
    let smuggled = get(&dev, "/openapi.json", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n");
    both.extend_from_slice(&smuggled);
    both.extend_from_slice(b"0\r\n\r\n");
    let answer = exchange(&mut pipelined, &both).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(200)]);
    assert_eq!(answer.matches("HTTP/1.1 400").count(), 1, "the smuggled head was not refused");

    // A body trickling past body_timeout: 400 bad_request.
    let (token, _) = dev.token("alice").await;
    let headers = dev.signed(&dev.signer(), &token, SEED_BODY);
    let mut slow = tls(&dev, local, &[b"http/1.1"]).await;
    let mut head = format!("POST /generate/salaryslip HTTP/1.1\r\nHost: {}\r\n", dev.url().authority());
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", SEED_BODY.len()));
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let trickle = async {
        for byte in SEED_BODY.as_bytes() {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::select! {
                read = slow.read(&mut buf) => match read {
                    Ok(n) if n > 0 => { answer.extend_from_slice(&buf[..n]); break; }
                    _ => break,
                },
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, trickle).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("bad_request"), "{answer}");

    let metrics =
        reqwest::get(format!("{}/metrics", dev.s("admin_url"))).await.unwrap().text().await.unwrap();
    for reason in ["header_timeout", "idle_timeout", "conflicting_framing"] {
        let line = format!("slipgate_connections_closed_total{{reason=\"{reason}\"}} 0");
        assert!(!metrics.contains(&line), "{reason} not counted");
    }
    let secrets = [token, dev.hmac_b64()];
    dev.stop_and_scan(&secrets);
}

#[tokio::test]
async fn one_address_flooding_slow_bodies_leaves_other_clients_served() {
    let dev = Dev::start(&[
        "limits.max_concurrency=4",
        "limits.max_concurrency_per_ip=2",
        "limits.body_timeout=20s",
    ]);
    let (token, _) = dev.token("alice").await;
    let headers = dev.signed(&dev.signer(), &token, SEED_BODY);
    let mut head = format!("POST /generate/salaryslip HTTP/1.1\r\nHost: {}\r\n", dev.url().authority());
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{{", SEED_BODY.len()));
    // Reviewer's attack: four slow bodies carrying a known keyid from one address.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = tls(&dev, [127, 0, 0, 1], &[b"http/1.1"]).await;
        s.write_all(head.as_bytes()).await.unwrap();
        held.push(s);
    }
    // Two requests hold the address's places; the other two are shed at once.
    let mut shed = 0;
    for s in &mut held {
        let mut status = [0u8; 12];
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut status)).await {
            assert_eq!(&status, b"HTTP/1.1 503");
            shed += 1;
        }
    }
    assert_eq!(shed, 2, "max_concurrency_per_ip = 2 did not hold");
    let mut same = tls(&dev, [127, 0, 0, 1], &[b"http/1.1"]).await;
    let answer = exchange(&mut same, &get(&dev, "/openapi.json", "Connection: close\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{}", &answer[..answer.len().min(300)]);
    assert!(answer.contains("\"code\":\"overloaded\"") && answer.to_lowercase().contains("retry-after: 1"));
    // An unrelated client (another address) keeps getting answers.
    for _ in 0..3 {
        let mut other = tls(&dev, [127, 0, 0, 2], &[b"http/1.1"]).await;
        let answer = exchange(&mut other, &get(&dev, "/openapi.json", "Connection: close\r\n")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(300)]);
    }
    drop(held);
    let secrets = [token, dev.hmac_b64()];
    dev.stop_and_scan(&secrets);
}

#[tokio::test]
async fn connection_caps_close_the_next_connection_at_once() {
    let dev = Dev::start(&["limits.max_connections=5", "limits.max_connections_per_ip=3"]);
    let ca = dev.s("ca_file");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tls(&dev, [127, 0, 0, 1], &[b"http/1.1"]).await);
    }
    let fourth =
        tls_over(tcp_from([127, 0, 0, 1], api_addr(&dev)).await, Path::new(&ca), &[b"http/1.1"]).await;
    assert!(fourth.is_err(), "a fourth connection from one address was accepted");
    for _ in 0..2 {
        held.push(tls(&dev, [127, 0, 0, 2], &[b"http/1.1"]).await);
    }
    let sixth =
        tls_over(tcp_from([127, 0, 0, 3], api_addr(&dev)).await, Path::new(&ca), &[b"http/1.1"]).await;
    assert!(sixth.is_err(), "a sixth connection was accepted over max_connections");
    let metrics =
        reqwest::get(format!("{}/metrics", dev.s("admin_url"))).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("slipgate_connections_closed_total{reason=\"max_connections_per_ip\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("slipgate_connections_closed_total{reason=\"max_connections\"} 1"), "{metrics}");
    // Freed places are usable again.
    held.clear();
    let mut again = None;
    for _ in 0..50 {
        if let Ok(s) =
            tls_over(tcp_from([127, 0, 0, 1], api_addr(&dev)).await, Path::new(&ca), &[b"http/1.1"]).await
        {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = again.expect("no connection accepted after the others closed");
    let answer = exchange(&mut again, &get(&dev, "/openapi.json", "Connection: close\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 200"));
    dev.stop_and_scan(&[]);
}

fn proxy_header(client: &str, server: SocketAddr) -> Vec<u8> {
    let client: SocketAddr = client.parse().unwrap();
    let server: SocketAddr = if client.is_ipv4() { server } else { "[2001:db8::1]:443".parse().unwrap() };
    Builder::with_addresses(Version::Two | Command::Proxy, Protocol::Stream, (client, server))
        .build()
        .unwrap()
}

/// One `GET /openapi.json` through a PROXY v2 header naming `client`:
/// (status, RateLimit, Retry-After).
async fn via_proxy(dev: &Dev, client: &str) -> (String, String, String) {
    let mut tcp = tcp_from([127, 0, 0, 1], api_addr(dev)).await;
    tcp.write_all(&proxy_header(client, api_addr(dev))).await.unwrap();
    let mut s = tls_over(tcp, Path::new(&dev.s("ca_file")), &[b"http/1.1"]).await.unwrap();
    let answer = exchange(&mut s, &get(dev, "/openapi.json", "Connection: close\r\n")).await;
    let field = |name: &str| {
        answer
            .lines()
            .find_map(|l| l.to_lowercase().strip_prefix(&format!("{name}: ")).map(str::to_owned))
            .unwrap_or_default()
    };
    (answer.get(9..12).unwrap_or_default().to_owned(), field("ratelimit"), field("retry-after"))
}

#[tokio::test]
async fn proxy_protocol_names_the_client_and_is_refused_from_anyone_else() {
    let dev = Dev::start(&[r#"server.proxy_protocol_from=["127.0.0.1/32"]"#, "rate_limit.ip=3/min"]);
    let ca = dev.s("ca_file");
    // The balancer's address without a header: closed.
    let bare = tls_over(tcp_from([127, 0, 0, 1], api_addr(&dev)).await, Path::new(&ca), &[b"http/1.1"]).await;
    assert!(bare.is_err(), "a connection from a PROXY peer without a header was served");
    // Garbage where the header should be: closed.
    let mut garbage = tcp_from([127, 0, 0, 1], api_addr(&dev)).await;
    garbage.write_all(b"PROXY TCP4 192.0.2.66 127.0.0.1 1 2\r\n").await.unwrap();
    assert!(closed(&mut garbage).await);
    // Another peer forging a header naming a fresh client: closed.
    let mut forged = tcp_from([127, 0, 0, 2], api_addr(&dev)).await;
    forged.write_all(&proxy_header("192.0.2.99:1234", api_addr(&dev))).await.unwrap();
    assert!(
        tls_over(forged, Path::new(&ca), &[b"http/1.1"]).await.is_err(),
        "a forged PROXY header was accepted"
    );

    // Clients named by the header get their own buckets; `t` is the time until
    // one more request (3/min → 20 s), and Retry-After equals it on the 429.
    for _ in 0..3 {
        let (status, ratelimit, _) = via_proxy(&dev, "192.0.2.10:5000").await;
        assert_eq!(status, "200");
        assert!(ratelimit.ends_with(";t=20"), "{ratelimit}");
    }
    let (status, ratelimit, retry_after) = via_proxy(&dev, "192.0.2.10:5001").await;
    assert_eq!(status, "429");
    let t = ratelimit.rsplit("t=").next().unwrap().to_owned();
    assert_eq!(retry_after, t, "Retry-After {retry_after} vs {ratelimit}");
    assert_eq!(via_proxy(&dev, "192.0.2.11:5000").await.0, "200", "another client shares the bucket");

    // IPv6 clients are keyed by their /64.
    for host in 1..=3 {
        assert_eq!(via_proxy(&dev, &format!("[2001:db8:1:2::{host}]:5000")).await.0, "200");
    }
    assert_eq!(via_proxy(&dev, "[2001:db8:1:2:ffff::9]:5000").await.0, "429", "a /64 got a second bucket");
    assert_eq!(via_proxy(&dev, "[2001:db8:1:3::1]:5000").await.0, "200");
    dev.stop_and_scan(&[]);
}
