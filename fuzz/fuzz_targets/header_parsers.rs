//! Arbitrary bytes into the Signature-Input / Signature / Content-Digest parsers, and, when a
//! signature parses, into the signature base builder; the fast `Signature-Input` and
//! `Content-Digest` paths are checked against the general parser on every input (the digest's
//! also with the input as a `sha-256` member's base64), also with the input spliced in as the value of
//! the key-binding parameters `tag` and `pub` (SPEC §3.2.1, §4); the raw keys that parse go
//! through the raw-key import.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipgate_httpsig::{
    base::{Message, signature_base},
    binding::{BOUND_REQUEST_TAG, BoundKey, Htsk, TOKEN_REQUEST_TAG, parse_tagged_signature},
    digest::{verify_content_digest, verify_content_digest_general},
    params::{parse_signature_headers, parse_signature_input, parse_signature_input_general},
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input in two so the label-matching paths are reached too.
    let (input, signature) = text.split_once('\n').unwrap_or((&text, "sig1=:AAAA:"));
    assert_eq!(
        verify_content_digest(Some(input), signature.as_bytes()),
        verify_content_digest_general(Some(input), signature.as_bytes())
    );
    let member = format!("sha-256=:{input}:");
    assert_eq!(
        verify_content_digest(Some(&member), signature.as_bytes()),
        verify_content_digest_general(Some(&member), signature.as_bytes())
    );
    // The fast path for the common form must agree with the general parser.
    assert_eq!(parse_signature_input(input), parse_signature_input_general(input));
    let head =
        r#"sig1=("@method" "@target-uri" "content-digest");created=1767225600;nonce="q4Kj2dVbX8mNcP1a""#;
    for spliced in [
        format!(r#"{head};tag="httpsig-oauth-token-request";alg="ed25519";pub={input}"#),
        format!(r#"{head};tag="httpsig-oauth-token-request";alg="ecdsa-p256-sha256";pub=:{input}:"#),
        format!(r#"{head};tag={input};alg="ed25519""#),
        format!(r#"{head};tag="{input}""#),
    ] {
        let fast = parse_signature_input(&spliced);
        assert_eq!(fast, parse_signature_input_general(&spliced));
        if let Ok(params) = fast {
            let _ = BoundKey::from_signature_params(&params);
        }
    }
    let _ = BoundKey::from_htsk(&Htsk { alg: "ed25519".into(), pub_key: input.to_owned() });
    for tag in [BOUND_REQUEST_TAG, TOKEN_REQUEST_TAG] {
        if let Ok(p) = parse_tagged_signature(Some(input), Some(signature), tag) {
            // What was selected carries the tag.
            assert_eq!(p.params.tag.as_deref(), Some(tag));
        }
    }
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
