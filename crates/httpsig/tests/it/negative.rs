//! One named test per rejection reason.

use slipgate_httpsig::{
    base::{BaseError, Message, signature_base},
    digest::{DigestAlgorithm, DigestError, content_digest, verify_content_digest},
    keys::{Algorithm, KeyError, SigningKey, VerifyError, VerifyingKey},
    params::{Component, ParseError, parse_signature_headers},
    sign::{SignError, SignParams, sign_message, verify_signature},
};

const INPUT: &str = r#"sig1=("@method" "@path");created=1767225600;keyid="k1";nonce="abcdefgh""#;
const SIG: &str = "sig1=:AAAA:";

fn malformed(r: Result<impl std::fmt::Debug, ParseError>) {
    assert!(matches!(r, Err(ParseError::Malformed(_))), "expected Malformed, got {r:?}");
}

#[test]
fn rejects_when_both_signature_headers_are_missing() {
    assert_eq!(parse_signature_headers(None, None), Err(ParseError::Missing));
}

#[test]
fn rejects_signature_without_signature_input() {
    malformed(parse_signature_headers(None, Some(SIG)));
}

#[test]
fn rejects_signature_input_without_signature() {
    malformed(parse_signature_headers(Some(INPUT), None));
}

#[test]
fn rejects_label_mismatch() {
    malformed(parse_signature_headers(Some(INPUT), Some("sig2=:AAAA:")));
}

#[test]
fn evaluates_first_signature_input_member_only() {
    let input = format!(r#"{INPUT}, sig0=("@method");keyid="other""#);
    let p = parse_signature_headers(Some(&input), Some("sig0=:AA==:, sig1=:AAAA:")).unwrap();
    assert_eq!(p.params.label, "sig1");
    assert_eq!(p.signature, vec![0, 0, 0]);
}

#[test]
fn rejects_garbage_structured_fields() {
    malformed(parse_signature_headers(Some("sig1=(\"@method\""), Some(SIG)));
    malformed(parse_signature_headers(Some(INPUT), Some("sig1=:not base64!:")));
    malformed(parse_signature_headers(Some("Sig1=()"), Some(SIG)));
    malformed(parse_signature_headers(Some("sig1=\"@method\""), Some(SIG)));
    malformed(parse_signature_headers(Some(""), Some(SIG)));
}

#[test]
fn rejects_signature_that_is_not_a_byte_sequence() {
    malformed(parse_signature_headers(Some(INPUT), Some("sig1=\"AAAA\"")));
}

#[test]
fn rejects_oversized_signature_input() {
    let long = format!(r#"sig1=();keyid="{}""#, "a".repeat(slipgate_httpsig::MAX_FIELD_LEN));
    malformed(parse_signature_headers(Some(&long), Some(SIG)));
}

#[test]
fn rejects_too_many_members_or_components() {
    let members: Vec<String> = (0..40).map(|i| format!("s{i}=()")).collect();
    malformed(parse_signature_headers(Some(&members.join(", ")), Some(SIG)));
    let comps: Vec<String> = (0..40).map(|i| format!("\"x-h{i}\"")).collect();
    malformed(parse_signature_headers(Some(&format!("sig1=({})", comps.join(" "))), Some(SIG)));
}

#[test]
fn rejects_bad_nonce_form() {
    for nonce in ["short", "has space in it", "ünïcödé-nonce", &"a".repeat(129)] {
        let input = format!(r#"sig1=("@method");created=1;keyid="k";nonce="{nonce}""#);
        let r = parse_signature_headers(Some(&input), Some(SIG));
        assert!(
            matches!(r, Err(ParseError::NonceMalformed) | Err(ParseError::Malformed(_))),
            "{nonce}: {r:?}"
        );
    }
    let r = parse_signature_headers(Some(r#"sig1=();nonce="bad nonce!""#), Some(SIG));
    assert_eq!(r, Err(ParseError::NonceMalformed));
    let r = parse_signature_headers(Some(r#"sig1=();nonce=abcdefghij"#), Some(SIG));
    malformed(r); // a token, not a string
}

#[test]
fn accepts_nonce_at_length_bounds() {
    for n in [8, 128] {
        let input = format!(r#"sig1=();nonce="{}""#, "A".repeat(n));
        assert!(parse_signature_headers(Some(&input), Some(SIG)).is_ok());
    }
}

#[test]
fn rejects_unknown_component_param() {
    malformed(parse_signature_headers(Some(r#"sig1=("@method";foo)"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=("@method";tr)"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=("@method";key="a")"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=("date";req=?0)"#), Some(SIG)));
}

#[test]
fn trailer_components_parse_but_are_never_present() {
    let p = parse_signature_headers(Some(r#"sig1=("content-digest";tr)"#), Some(SIG)).unwrap();
    assert!(!p.params.covers_plain("content-digest"));
    let msg =
        Message::request("POST", "https://h/p").unwrap().with_header("content-digest", "sha-256=:AA==:");
    assert_eq!(
        signature_base(&p.params, &msg, None::<&Message>),
        Err(BaseError::ComponentMissing(r#""content-digest";tr"#.to_owned()))
    );
}

#[test]
fn rejects_unknown_derived_component_and_uppercase_field() {
    malformed(parse_signature_headers(Some(r#"sig1=("@query-param";name="a")"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=("@signature-params")"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=("Content-Type")"#), Some(SIG)));
    malformed(parse_signature_headers(Some(r#"sig1=(date)"#), Some(SIG)));
}

#[test]
fn rejects_duplicate_component() {
    malformed(parse_signature_headers(Some(r#"sig1=("date" "date")"#), Some(SIG)));
}

#[test]
fn rejects_non_integer_created() {
    malformed(parse_signature_headers(Some(r#"sig1=();created="1""#), Some(SIG)));
}

#[test]
fn reports_missing_covered_field() {
    let msg = Message::request("POST", "https://h/p").unwrap();
    let p = parse_signature_headers(Some(r#"sig1=("@method" "authorization")"#), Some(SIG)).unwrap();
    assert_eq!(
        signature_base(&p.params, &msg, None::<&Message>),
        Err(BaseError::ComponentMissing("\"authorization\"".into()))
    );
}

#[test]
fn reports_missing_dictionary_member_for_key_param() {
    let msg = Message::request("POST", "https://h/p").unwrap().with_header("x-dict", "a=1, b=2");
    let p = parse_signature_headers(Some(r#"sig1=("x-dict";key="c")"#), Some(SIG)).unwrap();
    assert!(matches!(signature_base(&p.params, &msg, None::<&Message>), Err(BaseError::ComponentMissing(_))));
}

#[test]
fn refuses_field_value_with_newline() {
    let msg = Message::request("POST", "https://h/p").unwrap().with_header("x-a", "v\n\"@method\": GET");
    let p = parse_signature_headers(Some(r#"sig1=("x-a")"#), Some(SIG)).unwrap();
    assert!(matches!(signature_base(&p.params, &msg, None::<&Message>), Err(BaseError::InvalidValue(_))));
}

#[test]
fn req_component_without_related_request_is_an_error() {
    let msg = Message::response(200);
    let p = parse_signature_headers(Some(r#"res=("@method";req)"#), Some("res=:AAAA:")).unwrap();
    assert!(matches!(
        signature_base(&p.params, &msg, None::<&Message>),
        Err(BaseError::RelatedRequestMissing(_))
    ));
}

#[test]
fn hmac_made_with_public_key_does_not_verify_as_hmac() {
    // Algorithm confusion: the attacker knows the Ed25519 public key and uses it as an HMAC secret.
    let (ed, _) = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let public = ed.public_key_spki_der().unwrap();
    let forged_key = SigningKey::hmac_sha256(&public).unwrap();
    let msg = Message::request("GET", "https://h/").unwrap();
    let comps = [Component::field_or_derived("@method")];
    let forged =
        sign_message(&msg, None::<&Message>, &comps, &SignParams::new("s").with_alg(), &forged_key).unwrap();
    let parsed = parse_signature_headers(Some(&forged.signature_input), Some(&forged.signature)).unwrap();
    let registered = ed.verifying_key();
    assert_eq!(
        verify_signature(&parsed.params, &parsed.signature, &forged.base, &registered),
        Err(VerifyError::AlgorithmMismatch(Algorithm::Ed25519))
    );
    // Without an alg parameter the key's algorithm still decides: the 32-byte tag is refused.
    let mut no_alg = parsed.params.clone();
    no_alg.alg = None;
    assert!(matches!(
        verify_signature(&no_alg, &parsed.signature, &forged.base, &registered),
        Err(VerifyError::Length { alg: Algorithm::Ed25519, expected: 64, actual: 32 })
    ));
}

#[test]
fn rejects_der_encoded_ecdsa_signature() {
    let (key, _) = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let sig = key.sign(b"base").unwrap();
    let (r, s) = sig.split_at(32);
    let int = |x: &[u8]| {
        let x = &x[x.iter().position(|b| *b != 0).unwrap_or(31)..];
        let mut v = vec![0x02];
        if x[0] & 0x80 != 0 {
            v.extend([x.len() as u8 + 1, 0]);
        } else {
            v.push(x.len() as u8);
        }
        v.extend_from_slice(x);
        v
    };
    let body = [int(r), int(s)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    assert!(matches!(key.verifying_key().verify(b"base", &der), Err(VerifyError::Length { .. })));
    key.verifying_key().verify(b"base", &sig).unwrap();
}

#[test]
fn rejects_wrong_length_signatures() {
    for alg in [Algorithm::HmacSha256, Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let (key, _) = SigningKey::generate(alg).unwrap();
        let mut sig = key.sign(b"base").unwrap();
        sig.push(0);
        assert!(
            matches!(key.verifying_key().verify(b"base", &sig), Err(VerifyError::Length { .. })),
            "{alg}"
        );
        sig.truncate(sig.len() - 2);
        assert!(
            matches!(key.verifying_key().verify(b"base", &sig), Err(VerifyError::Length { .. })),
            "{alg}"
        );
        assert!(matches!(key.verifying_key().verify(b"base", &[]), Err(VerifyError::Length { .. })), "{alg}");
    }
}

#[test]
fn rejects_tampered_hmac_tag() {
    let key = SigningKey::hmac_sha256(&[9u8; 32]).unwrap();
    let mut tag = key.sign(b"base").unwrap();
    tag[0] ^= 0x80;
    assert_eq!(key.verifying_key().verify(b"base", &tag), Err(VerifyError::Invalid(Algorithm::HmacSha256)));
}

#[test]
fn rejects_short_hmac_secret_and_unknown_algorithm() {
    assert_eq!(SigningKey::hmac_sha256(&[1u8; 16]).unwrap_err(), KeyError::SecretTooShort);
    assert_eq!(VerifyingKey::hmac_sha256(&[1u8; 31]).unwrap_err(), KeyError::SecretTooShort);
    assert!(matches!("rsa-pss-sha512".parse::<Algorithm>(), Err(KeyError::UnknownAlgorithm(_))));
    assert_eq!("ed25519".parse::<Algorithm>(), Ok(Algorithm::Ed25519));
}

#[test]
fn rejects_key_of_the_wrong_algorithm() {
    let (_, pkcs8) = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert!(matches!(
        SigningKey::from_der(Algorithm::EcdsaP256Sha256, pkcs8.expose()),
        Err(KeyError::Rejected(Algorithm::EcdsaP256Sha256))
    ));
    assert!(matches!(
        VerifyingKey::from_public_key(Algorithm::Ed25519, &[1, 2, 3]),
        Err(KeyError::Rejected(_))
    ));
    assert!(matches!(SigningKey::from_pem(Algorithm::Ed25519, "no pem here"), Err(KeyError::Pem(_))));
}

#[test]
fn debug_output_redacts_secrets() {
    let key = SigningKey::hmac_sha256(&[0x41u8; 32]).unwrap();
    let dbg = format!("{key:?} {:?} {:?}", key.verifying_key(), key.hmac_secret());
    assert!(dbg.contains("[redacted]"));
    assert!(!dbg.contains("65") && !dbg.contains("AAAA") && !dbg.contains("0x41"), "{dbg}");
}

#[test]
fn signer_rejects_bad_nonce_and_label() {
    let msg = Message::request("GET", "https://h/").unwrap();
    let key = SigningKey::hmac_sha256(&[1u8; 32]).unwrap();
    let comps = [Component::field_or_derived("@method")];
    let r = sign_message(&msg, None::<&Message>, &comps, &SignParams::new("s").nonce("bad"), &key);
    assert_eq!(r.unwrap_err(), SignError::Params(ParseError::NonceMalformed));
    let r = sign_message(&msg, None::<&Message>, &comps, &SignParams::new("Bad Label"), &key);
    assert!(matches!(r, Err(SignError::Params(ParseError::Malformed(_)))));
}

#[test]
fn digest_missing_when_header_absent() {
    assert_eq!(verify_content_digest(None, b"x"), Err(DigestError::Missing));
}

#[test]
fn digest_missing_when_only_deprecated_algorithms() {
    assert_eq!(
        verify_content_digest(Some("md5=:HUXZLQLMuI/KZ5KDcJPcOA==:"), b"x"),
        Err(DigestError::Missing)
    );
    assert_eq!(verify_content_digest(Some("sha=:AAAA:, unixsum=:AAAA:"), b"x"), Err(DigestError::Missing));
}

#[test]
fn digest_mismatch_when_body_differs() {
    let v = content_digest(DigestAlgorithm::Sha256, b"body");
    assert!(matches!(verify_content_digest(Some(&v), b"bodY"), Err(DigestError::Mismatch(_))));
}

#[test]
fn digest_mismatch_when_base64_malformed() {
    for v in ["sha-256=:not*base64:", "sha-256=:AAAA", "sha-256=:AAAA:;", "sha-256", "sha-256=:AAAA:"] {
        assert!(matches!(verify_content_digest(Some(v), b""), Err(DigestError::Mismatch(_))), "{v}");
    }
}

#[test]
fn header_map_parsing_joins_lines_and_distinguishes_missing() {
    use http::HeaderMap;
    use slipgate_httpsig::params::parse_signature_header_map;
    let mut h = HeaderMap::new();
    assert_eq!(parse_signature_header_map(&h), Err(ParseError::Missing));
    h.append("signature-input", INPUT.parse().unwrap());
    malformed(parse_signature_header_map(&h));
    h.append("signature", "other=:AA==:".parse().unwrap());
    h.append("signature", SIG.parse().unwrap());
    let p = parse_signature_header_map(&h).unwrap();
    assert_eq!(p.signature, vec![0, 0, 0]);
    h.append("signature", http::HeaderValue::from_bytes(b"x=\xff").unwrap());
    malformed(parse_signature_header_map(&h));
}
