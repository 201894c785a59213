//! Arbitrary bytes into the Signature-Input / Signature / Content-Digest parsers, and, when a
//! signature parses, into the signature base builder; the fast `Signature-Input` path is checked
//! against the general parser on every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipgate_httpsig::{
    base::{Message, signature_base},
    digest::verify_content_digest,
    params::{parse_signature_headers, parse_signature_input, parse_signature_input_general},
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input in two so the label-matching paths are reached too.
    let (input, signature) = text.split_once('\n').unwrap_or((&text, "sig1=:AAAA:"));
    let _ = verify_content_digest(Some(input), signature.as_bytes());
    // The fast path for the common form must agree with the general parser.
    assert_eq!(parse_signature_input(input), parse_signature_input_general(input));
    if let Ok(parsed) = parse_signature_headers(Some(input), Some(signature)) {
        let req = Message::request("POST", "https://example.com/p?q=1")
            .map(|m| m.with_header("content-digest", signature).with_header("x", input));
        if let Ok(req) = req {
            let resp = Message::response(200).with_header("content-digest", signature);
            let _ = signature_base(&parsed.params, &req, None::<&Message>);
            let _ = signature_base(&parsed.params, &resp, Some(&req));
        }
    }
});
