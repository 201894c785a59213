//! Attacks on one field one line, plain covered components, the digest the signature covers, the authority, strict bodies, response signing.
//!
//! Played against a real `slipgate dev` over loopback: raw TLS sockets where
//! the attack needs bytes an HTTP library would not send (two `Host` lines, an
//! absolute-form target), reqwest over HTTP/1.1 and HTTP/2 otherwise.

use std::sync::atomic::{AtomicU32, Ordering};

use slipgate_httpsig::{
    Algorithm, DigestAlgorithm, Message, SignParams, SigningKey, content_digest, params::Component,
    sign_message,
};
use slipgate_test_support::{https_client, pdftotext, tls_connect};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{Dev, FIGURES, assert_clean};

static NONCE: AtomicU32 = AtomicU32::new(0);

fn now() -> i64 {
    let since = slipgate_proto::clock::Clock::now(&slipgate_proto::clock::SystemClock)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

fn nonce() -> String {
    format!("sigattack{}x{}", now(), NONCE.fetch_add(1, Ordering::Relaxed))
}

fn plain(names: &[&str]) -> Vec<Component> {
    names.iter().map(|n| Component::field_or_derived(n)).collect()
}

/// The `Signature-Input` and `Signature` values of the dev HMAC key over a
/// POST to `target` with `headers`, covering `covered`.
fn sign(dev: &Dev, target: &str, headers: &[(&str, &str)], covered: &[Component]) -> (String, String) {
    let mut msg = Message::request("POST", target).unwrap();
    for (name, value) in headers {
        msg = msg.with_header(name, value);
    }
    let key = SigningKey::hmac_sha256_base64(&dev.hmac_b64()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::HmacSha256);
    let params = SignParams::new("sig1").created(now()).nonce(&nonce()).keyid("dev-hmac").with_alg();
    let signed = sign_message(&msg, None::<&Message>, covered, &params, &key).unwrap();
    (signed.signature_input, signed.signature)
}

/// Sends `head` (request line and field lines, no final CRLF) and `body` on a
/// fresh TLS connection (HTTP/1.1); returns the status, the problem code and
/// the whole answer.
async fn raw(dev: &Dev, head: &str, body: &str) -> (u16, String, String) {
    let addr = dev.url().socket_addrs(|| None).unwrap()[0];
    let mut tls = tls_connect(addr, std::path::Path::new(&dev.s("ca_file"))).await;
    let request = format!("{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), tls.read_to_end(&mut answer));
    // A close without TLS close_notify still leaves the answer in `answer`.
    let _ = read.await.expect("the server answered within 20 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let code = text
        .split("\"code\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    (status, code, text)
}

#[tokio::test]
async fn signature_side_attacks_are_refused_with_exact_codes() {
    // alice's own record, so that a request that passes every check is 200.
    let seed_body = super::alice_body();
    let seed: &str = &seed_body;
    let dev = Dev::start(&[]);
    let (alice, alice_refresh) = dev.token("alice").await;
    let secrets =
        vec![dev.password("alice"), dev.password("paula"), dev.hmac_b64(), alice.clone(), alice_refresh];
    let port = dev.url().port().unwrap();
    let host = format!("127.0.0.1:{port}");
    let target = format!("https://{host}/generate/salaryslip");
    let bearer = format!("Bearer {alice}");
    let mut played = Vec::new();
    let mut expect = |name: &str, got: (u16, String, String), status: u16, code: &str| {
        assert_eq!((got.0, got.1.as_str()), (status, code), "{name}: {}", got.2);
        assert_clean(name, &got.2, &secrets);
        for figure in FIGURES {
            assert!(!got.2.contains(figure), "{name} answered with a salary figure");
        }
        played.push(name.to_owned());
    };

    // The reviewer's body swap: the signature covers only the sha-256 member of
    // Content-Digest, and a second line for the attacker's body comes first.
    let evil = seed.replace("\"working_days\":24", "\"working_days\":30");
    let digest = content_digest(DigestAlgorithm::Sha256, seed.as_bytes());
    let evil_digest = content_digest(DigestAlgorithm::Sha256, evil.as_bytes());
    let signed_fields = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
        ("content-digest", digest.as_str()),
    ];
    let mut member_only = plain(&["@method", "@path", "@authority", "content-type", "authorization"]);
    member_only.push(Component::field_or_derived("content-digest").key("sha-256"));
    let (input, signature) = sign(&dev, &target, &signed_fields, &member_only);
    let head = format!(
        "POST /generate/salaryslip HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: {bearer}\r\nContent-Digest: {evil_digest}\r\nContent-Digest: {digest}\r\n\
         Signature-Input: {input}\r\nSignature: {signature}"
    );
    expect(
        "prepended Content-Digest line for another body",
        raw(&dev, &head, &evil).await,
        400,
        "bad_request",
    );
    // The same signature with one Content-Digest line: a member is not the field.
    let head = format!(
        "POST /generate/salaryslip HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: {bearer}\r\nContent-Digest: {digest}\r\nSignature-Input: {input}\r\nSignature: {signature}"
    );
    expect("content-digest covered only by ;key", raw(&dev, &head, seed).await, 401, "components_missing");
    for param in ["md5", "sf", "bs"] {
        let mut covered = plain(&["@method", "@path", "@authority", "content-type", "authorization"]);
        let c = Component::field_or_derived("content-digest");
        covered.push(match param {
            "md5" => c.key("md5"),
            "sf" => c.sf(),
            _ => Component { params: vec![slipgate_httpsig::params::ComponentParam::Bs], ..c },
        });
        let md5 = "md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, ".to_owned() + &digest;
        let value = if param == "md5" { md5.as_str() } else { digest.as_str() };
        let fields = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
            ("content-digest", value),
        ];
        let (input, signature) = sign(&dev, &target, &fields, &covered);
        let head = format!(
            "POST /generate/salaryslip HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Authorization: {bearer}\r\nContent-Digest: {value}\r\nSignature-Input: {input}\r\nSignature: {signature}"
        );
        expect(
            &format!("content-digest covered as ;{param}"),
            raw(&dev, &head, seed).await,
            401,
            "components_missing",
        );
    }

    // One field, one line: each singleton repeated with the very same value,
    // over HTTP/1.1 (reqwest writes one line per value) and HTTP/2.
    let h2 = https_client(std::path::Path::new(&dev.s("ca_file")), &[&rustls::version::TLS13], &[b"h2"]);
    for name in ["content-type", "content-digest", "authorization", "signature", "signature-input"] {
        for (protocol, client) in [("HTTP/1.1", dev.client()), ("HTTP/2", h2.clone())] {
            let mut headers = dev.signed(&dev.signer(), &alice, seed);
            let value = headers.get(name).unwrap().clone();
            headers.append(name, value);
            let r = client.post(dev.url()).headers(headers).body(seed.to_owned()).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let code = serde_json::from_str::<serde_json::Value>(&text).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned();
            expect(&format!("repeated {name} over {protocol}"), (status, code, text), 400, "bad_request");
        }
    }

    // The authority: a request signed for and sent to another host.
    let evil_target = format!("https://evil.example:{port}/generate/salaryslip");
    let fields = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
        ("content-digest", digest.as_str()),
    ];
    let covered = plain(&slipgate_guard::signature::DEFAULT_REQUIRED);
    let (input, signature) = sign(&dev, &evil_target, &fields, &covered);
    let rest = format!(
        "Content-Type: application/json\r\nAuthorization: {bearer}\r\nContent-Digest: {digest}\r\n\
         Signature-Input: {input}\r\nSignature: {signature}"
    );
    let head = format!("POST /generate/salaryslip HTTP/1.1\r\nHost: evil.example:{port}\r\n{rest}");
    expect("Host evil.example signed for it", raw(&dev, &head, seed).await, 400, "bad_request");
    let head = format!("POST {evil_target} HTTP/1.1\r\nHost: {host}\r\n{rest}");
    expect("absolute-form target for another host", raw(&dev, &head, seed).await, 400, "bad_request");
    let (input, signature) = sign(&dev, &target, &fields, &covered);
    let rest = format!(
        "Content-Type: application/json\r\nAuthorization: {bearer}\r\nContent-Digest: {digest}\r\n\
         Signature-Input: {input}\r\nSignature: {signature}"
    );
    let head = format!("POST /generate/salaryslip HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\n{rest}");
    expect("two Host lines", raw(&dev, &head, seed).await, 400, "bad_request");
    let head = format!("POST /generate/salaryslip HTTP/1.1\r\n{rest}");
    expect("no Host at all", raw(&dev, &head, seed).await, 400, "bad_request");
    let head = format!("GET /openapi.json HTTP/1.1\r\nHost: evil.example:{port}");
    expect("another host on an unsigned route", raw(&dev, &head, "").await, 400, "bad_request");
    // The names in the certificate pass, whatever their case (then the signature decides).
    let head = format!("GET /openapi.json HTTP/1.1\r\nHost: LOCALHOST:{port}");
    let got = raw(&dev, &head, "").await;
    assert!(got.2.starts_with("HTTP/1.1 200"), "{}", got.2);
    let head = format!("POST /generate/salaryslip HTTP/1.1\r\nHost: {host}\r\n{rest}");
    let got = raw(&dev, &head, seed).await;
    assert!(got.2.starts_with("HTTP/1.1 200"), "the same request with the right Host: {}", got.2);

    // Strict body: null for the optional member.
    let null_period = seed.replace('}', ",\"pay_period\":null}");
    let got = dev.send(dev.signed(&dev.signer(), &alice, &null_period), &null_period).await;
    expect("pay_period null", got, 422, "validation_failed");

    // The pay scale's company reaches the served PDF.
    let mut headers = dev.signed(&dev.signer(), &alice, seed);
    headers.insert("accept", "application/pdf".parse().unwrap());
    let r = dev.client().post(dev.url()).headers(headers).body(seed.to_owned()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = pdftotext(&r.bytes().await.unwrap());
    assert!(text.contains("Slipgate Demo Technologies Pvt. Ltd."), "{text}");
    played.push("company in the PDF".into());

    assert!(played.len() >= 22, "{played:?}");
    dev.stop_and_scan(&secrets);
}
