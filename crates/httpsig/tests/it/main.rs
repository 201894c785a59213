//! Integration tests for `slipgate-httpsig` (one binary, a module per area).

// Test helpers outside `#[test]` functions panic on purpose: a failed fixture is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binding;
mod interop;
mod key_binding_example;
mod negative;
mod props;
mod rfc9421;
mod rfc9530;
mod tagged;
mod worked_example;

use slipgate_httpsig::base::Message;

/// Parses a fixture in HTTP/1.1 text form (LF line ends) into a [`Message`] and its body.
/// Requests get the target URI `https://<host><request-target>` as in RFC 9421 B.2.
pub fn parse_http(text: &str) -> (Message, Vec<u8>) {
    let (head, body) = text.split_once("\n\n").expect("blank line after the header section");
    let mut lines = head.lines();
    let start = lines.next().expect("start line");
    let fields: Vec<(&str, &str)> =
        lines.map(|l| l.split_once(':').map(|(n, v)| (n, v.trim())).expect("field line")).collect();
    let mut msg = if let Some(status) = start.strip_prefix("HTTP/1.1 ") {
        Message::response(status[..3].parse().expect("status"))
    } else {
        let mut parts = start.split(' ');
        let method = parts.next().expect("method");
        let target = parts.next().expect("target");
        let host = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case("host")).expect("host").1;
        Message::request(method, &format!("https://{host}{target}")).expect("uri")
    };
    for (n, v) in fields {
        msg = msg.with_header(n, v);
    }
    (msg, body.as_bytes().to_vec())
}
