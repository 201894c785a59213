//! Arbitrary header lists through the pure signature check (SPEC §3.2 "one
//! field, one line"): it never panics, and a request that repeats one of the
//! singleton fields is always refused with `bad_request`, before anything else
//! reads the fields.
#![no_main]

use http::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use slipgate_guard::signature::{KeyRing, SINGLETON_FIELDS, SignaturePolicy, body, head};
use slipgate_httpsig::VerifyingKey;
use slipgate_proto::ProblemCode;

/// Names a line starting with a digit stands for, so repeats are found often.
const NAMES: [&str; 8] = [
    "host",
    "content-type",
    "content-digest",
    "authorization",
    "signature",
    "signature-input",
    "x-other",
    "accept",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (lines, content) = text.split_once("\n\n").unwrap_or((&text, ""));
    let Ok(request) = http::Request::post("https://api.example:8443/generate/salaryslip").body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    for line in lines.split('\n').take(64) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let name = match name.as_bytes().first() {
            Some(b) if b.is_ascii_digit() => NAMES[usize::from(b - b'0') % NAMES.len()],
            _ => name.trim(),
        };
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value.trim()))
        else {
            continue;
        };
        parts.headers.append(name, value);
    }
    let repeated = SINGLETON_FIELDS.iter().any(|f| parts.headers.get_all(*f).iter().count() > 1);
    let mut ring = KeyRing::new();
    if let Ok(key) = VerifyingKey::hmac_sha256(&[7; 32]) {
        let _ = ring.insert("k", key);
    }
    let policy = SignaturePolicy::new();
    match head::check(&policy, &parts, &ring, 1_767_225_600) {
        Err(rejection) if repeated => assert_eq!(rejection.code, ProblemCode::BadRequest),
        Ok(_) if repeated => panic!("a repeated singleton field passed the head check"),
        Ok(checked) => {
            let _ = body::check(checked.parsed(), &parts, content.as_bytes(), checked.key());
        }
        Err(_) => {}
    }
});
