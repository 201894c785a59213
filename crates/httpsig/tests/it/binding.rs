//! Key-bound tokens' building blocks: the `pub` parameter, raw-key import and export, RFC 7638
//! thumbprints, `cnf.htsk`, and `@target-uri` on the server side.

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use slipgate_httpsig::{
    base::{BaseError, Message, signature_base},
    binding::{BoundKey, Confirmation, Htsk, RawKeyError, TOKEN_REQUEST_TAG},
    keys::{Algorithm, KeyError, SigningKey, VerifyingKey},
    params::{
        Component, ParseError, parse_signature_headers, parse_signature_input, parse_signature_input_general,
    },
    received::ReceivedRequest,
    sign::{SignError, SignParams, sign_message, verify_signature},
};

const ED_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ed25519.key.pem");
const EC_KEY: &str = include_str!("../../../test-support/fixtures/rfc9421/test-key-ecc-p256.key.pem");
/// RFC 9421 B.1.4 `test-key-ed25519`, public key as a JWK `x`.
const B14_X: &str = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";
/// RFC 8037 A.2 public key `x`, and its RFC 7638 thumbprint from RFC 8037 A.3.
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

fn ed_key() -> SigningKey {
    SigningKey::from_pem(Algorithm::Ed25519, ED_KEY).unwrap()
}

fn ec_key() -> SigningKey {
    SigningKey::from_pem(Algorithm::EcdsaP256Sha256, EC_KEY).unwrap()
}

// ---- the `pub` and `tag` parameters ----

#[test]
fn pub_parameter_is_decoded_by_both_parsers() {
    let raw = URL_SAFE_NO_PAD.decode(B14_X).unwrap();
    let input = format!(
        r#"sig1=("@method" "@target-uri" "content-digest");created=1;nonce="abcdefgh12";tag="{TOKEN_REQUEST_TAG}";alg="ed25519";pub=:{}:"#,
        STANDARD.encode(&raw)
    );
    let fast = parse_signature_input(&input).unwrap();
    assert_eq!(fast, parse_signature_input_general(&input).unwrap());
    assert_eq!(fast.pub_key.as_deref(), Some(raw.as_slice()));
    assert_eq!(fast.tag.as_deref(), Some(TOKEN_REQUEST_TAG));
    assert_eq!(fast.keyid, None);
    // The canonical form is what is signed: here the received text itself.
    assert_eq!(Some(fast.raw.as_str()), input.strip_prefix("sig1="));
}

#[test]
fn rejects_pub_parameter_that_is_not_a_byte_sequence() {
    for value in [r#""JrQLj5P""#, "1", "?1", "tok"] {
        let input = format!(r#"sig1=("@method");created=1;pub={value}"#);
        let want = Err(ParseError::Malformed("parameter \"pub\" is not a byte sequence".into()));
        assert_eq!(parse_signature_input(&input), want, "{input}");
        assert_eq!(parse_signature_input_general(&input), want, "{input}");
    }
}

#[test]
fn pub_parameter_without_padding_is_signed_in_canonical_form() {
    // sfv accepts unpadded base64; `raw` (what the base ends with) is re-serialized with padding,
    // so a signer must send the canonical form for its signature to verify.
    let p = parse_signature_input(r#"sig1=("@method");pub=:AAE:"#).unwrap();
    assert_eq!(p.pub_key.as_deref(), Some(&[0u8, 1][..]));
    assert_eq!(p.raw, r#"("@method");pub=:AAE=:"#);
}

#[test]
fn signer_emits_tag_alg_and_pub_without_keyid() {
    for key in [ed_key(), ec_key()] {
        let msg = Message::request("POST", "https://127.0.0.1:8444/oauth/token").unwrap();
        let params = SignParams::new("sig1")
            .created(5)
            .nonce("abcdefgh12")
            .tag(TOKEN_REQUEST_TAG)
            .with_alg()
            .with_pub();
        let c = [Component::field_or_derived("@method"), Component::field_or_derived("@target-uri")];
        let signed = sign_message(&msg, None::<&Message>, &c, &params, &key).unwrap();
        let raw = key.public_key_raw().unwrap();
        assert_eq!(
            signed.signature_input,
            format!(
                r#"sig1=("@method" "@target-uri");created=5;nonce="abcdefgh12";tag="httpsig-oauth-token-request";alg="{}";pub=:{}:"#,
                key.algorithm(),
                STANDARD.encode(&raw)
            )
        );
        assert!(!signed.signature_input.contains("keyid"));
        let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).unwrap();
        let bound = BoundKey::from_signature_params(&parsed.params).unwrap();
        assert_eq!(bound.raw(), raw.as_slice());
        let base = signature_base(&parsed.params, &msg, None::<&Message>).unwrap();
        verify_signature(&parsed.params, &parsed.signature, &base, bound.verifying_key()).unwrap();
    }
}

#[test]
fn signer_refuses_pub_for_hmac_key() {
    let key = SigningKey::hmac_sha256(&[7u8; 32]).unwrap();
    let msg = Message::request("GET", "https://h/").unwrap();
    let r = sign_message(
        &msg,
        None::<&Message>,
        &[Component::field_or_derived("@method")],
        &SignParams::new("sig1").with_pub(),
        &key,
    );
    assert_eq!(r.unwrap_err(), SignError::Key(KeyError::Unsupported(Algorithm::HmacSha256)));
}

#[test]
fn token_request_key_needs_alg_and_pub() {
    let raw = STANDARD.encode(URL_SAFE_NO_PAD.decode(B14_X).unwrap());
    let no_alg = parse_signature_input(&format!(r#"sig1=("@method");pub=:{raw}:"#)).unwrap();
    assert_eq!(BoundKey::from_signature_params(&no_alg), Err(RawKeyError::MissingParameter("alg")));
    let no_pub = parse_signature_input(r#"sig1=("@method");alg="ed25519""#).unwrap();
    assert_eq!(BoundKey::from_signature_params(&no_pub), Err(RawKeyError::MissingParameter("pub")));
    let hmac = parse_signature_input(&format!(r#"sig1=("@method");alg="hmac-sha256";pub=:{raw}:"#)).unwrap();
    assert_eq!(BoundKey::from_signature_params(&hmac), Err(RawKeyError::SharedSecret));
    let other =
        parse_signature_input(&format!(r#"sig1=("@method");alg="rsa-pss-sha512";pub=:{raw}:"#)).unwrap();
    assert_eq!(
        BoundKey::from_signature_params(&other),
        Err(RawKeyError::UnknownAlgorithm("rsa-pss-sha512".into()))
    );
    // A P-256 `alg` with an Ed25519 key's bytes: refused by length, not tried.
    let mixed =
        parse_signature_input(&format!(r#"sig1=("@method");alg="ecdsa-p256-sha256";pub=:{raw}:"#)).unwrap();
    assert_eq!(
        BoundKey::from_signature_params(&mixed),
        Err(RawKeyError::Length { alg: Algorithm::EcdsaP256Sha256, expected: 65, actual: 32 })
    );
}

// ---- @target-uri ----

fn parts(builder: http::request::Builder) -> http::request::Parts {
    builder.body(()).unwrap().into_parts().0
}

#[test]
fn target_uri_of_an_origin_form_request_is_rebuilt_with_https() {
    let p = parse_signature_input(r#"sig1=("@target-uri" "@scheme" "@authority");created=1"#).unwrap();
    let received = parts(http::Request::post("/oauth/token?x=1").header("host", "127.0.0.1:8444"));
    let base = signature_base(&p, &ReceivedRequest::https(&received), None::<&Message>).unwrap();
    let want = "\"@target-uri\": https://127.0.0.1:8444/oauth/token?x=1\n\"@scheme\": https\n\"@authority\": 127.0.0.1:8444\n";
    assert!(String::from_utf8(base.clone()).unwrap().starts_with(want), "{}", String::from_utf8_lossy(&base));
    // The client's side of the same request builds the same base.
    let sent = Message::request("POST", "https://127.0.0.1:8444/oauth/token?x=1").unwrap();
    assert_eq!(signature_base(&p, &sent, None::<&Message>).unwrap(), base);
}

#[test]
fn target_uri_without_the_connection_scheme_is_missing() {
    // What the wrapper is for: bare `Parts` of an origin-form request have no scheme.
    let p = parse_signature_input(r#"sig1=("@target-uri");created=1"#).unwrap();
    let received = parts(http::Request::post("/oauth/token").header("host", "h"));
    assert_eq!(
        signature_base(&p, &received, None::<&Message>),
        Err(BaseError::ComponentMissing("\"@target-uri\"".into()))
    );
    let no_host = parts(http::Request::post("/oauth/token"));
    assert_eq!(
        signature_base(&p, &ReceivedRequest::https(&no_host), None::<&Message>),
        Err(BaseError::ComponentMissing("\"@target-uri\"".into()))
    );
}

#[test]
fn target_uri_normalizes_authority_and_empty_path() {
    let p = parse_signature_input(r#"sig1=("@target-uri");created=1"#).unwrap();
    let received = parts(http::Request::get("https://API.Example:443").header("host", "API.Example:443"));
    let base = signature_base(&p, &ReceivedRequest::https(&received), None::<&Message>).unwrap();
    assert!(
        base.starts_with(b"\"@target-uri\": https://api.example/\n"),
        "{}",
        String::from_utf8_lossy(&base)
    );
}

#[test]
fn signature_for_a_plain_http_target_uri_does_not_verify_on_tls() {
    let key = ed_key();
    let sent = Message::request("POST", "http://127.0.0.1:8444/oauth/token").unwrap();
    let c = [Component::field_or_derived("@target-uri")];
    let signed =
        sign_message(&sent, None::<&Message>, &c, &SignParams::new("sig1").created(1), &key).unwrap();
    // The attacker sends it absolute-form with the http scheme over the TLS connection.
    let received =
        parts(http::Request::post("http://127.0.0.1:8444/oauth/token").header("host", "127.0.0.1:8444"));
    let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).unwrap();
    let base = signature_base(&parsed.params, &ReceivedRequest::https(&received), None::<&Message>).unwrap();
    assert!(base.starts_with(b"\"@target-uri\": https://"));
    assert!(verify_signature(&parsed.params, &parsed.signature, &base, &key.verifying_key()).is_err());
}

// ---- raw keys ----

#[test]
fn exports_raw_public_keys_of_the_rfc9421_test_keys() {
    let ed = BoundKey::from_signing_key(&ed_key()).unwrap();
    assert_eq!(URL_SAFE_NO_PAD.encode(ed.raw()), B14_X);
    let ec = BoundKey::from_signing_key(&ec_key()).unwrap();
    assert_eq!(ec.raw().len(), 65);
    assert_eq!(
        STANDARD.encode(ec.raw()),
        // RFC 9421 B.1.3 test-key-ecc-p256's SPKI minus its 26-byte header.
        "BKiFWGVSwqz2Rxh4z9ewk1tP/g/S38NBJI6he8QeBYrwMc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0="
    );
    assert_eq!(
        BoundKey::from_signing_key(&SigningKey::hmac_sha256(&[1; 32]).unwrap()),
        Err(RawKeyError::SharedSecret)
    );
}

#[test]
fn imported_raw_keys_verify_their_signatures() {
    for key in [ed_key(), ec_key(), SigningKey::generate(Algorithm::Ed25519).unwrap().0] {
        let imported = BoundKey::from_raw(key.algorithm(), &key.public_key_raw().unwrap()).unwrap();
        let sig = key.sign(b"base").unwrap();
        imported.verifying_key().verify(b"base", &sig).unwrap();
        assert!(imported.verifying_key().verify(b"other", &sig).is_err());
        // Another key of the same kind does not verify it.
        let other = SigningKey::generate(key.algorithm()).unwrap().0;
        let other = BoundKey::from_signing_key(&other).unwrap();
        assert!(other.verifying_key().verify(b"base", &sig).is_err());
    }
}

#[test]
fn rejects_raw_keys_of_the_wrong_length() {
    let ed = ed_key().public_key_raw().unwrap();
    let ec = ec_key().public_key_raw().unwrap();
    let spki_ed = ed_key().public_key_spki_der().unwrap();
    let cases: [(Algorithm, Vec<u8>, usize); 7] = [
        (Algorithm::Ed25519, ed[..31].to_vec(), 31),
        (Algorithm::Ed25519, [ed.as_slice(), &[0]].concat(), 33),
        (Algorithm::Ed25519, spki_ed.clone(), spki_ed.len()),
        (Algorithm::Ed25519, Vec::new(), 0),
        (Algorithm::EcdsaP256Sha256, ec[..64].to_vec(), 64),
        (Algorithm::EcdsaP256Sha256, ec_key().public_key_spki_der().unwrap(), 91),
        (Algorithm::EcdsaP256Sha256, ed.clone(), 32),
    ];
    for (alg, bytes, actual) in cases {
        let expected = if alg == Algorithm::Ed25519 { 32 } else { 65 };
        assert_eq!(BoundKey::from_raw(alg, &bytes), Err(RawKeyError::Length { alg, expected, actual }));
    }
}

#[test]
fn rejects_compressed_and_hybrid_p256_points() {
    let ec = ec_key().public_key_raw().unwrap();
    // 33-byte compressed form: wrong length (aws-lc itself would accept it).
    let y_odd = ec[64] & 1;
    let compressed = [&[0x02 | y_odd][..], &ec[1..33]].concat();
    assert!(VerifyingKey::from_public_key(Algorithm::EcdsaP256Sha256, &compressed).is_ok());
    assert_eq!(
        BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &compressed),
        Err(RawKeyError::Length { alg: Algorithm::EcdsaP256Sha256, expected: 65, actual: 33 })
    );
    for prefix in [0x00, 0x02, 0x03, 0x06, 0x07] {
        let mut bytes = ec.clone();
        bytes[0] = prefix;
        assert_eq!(
            BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &bytes),
            Err(RawKeyError::NotUncompressed(prefix))
        );
    }
}

#[test]
fn rejects_p256_points_off_the_curve() {
    let ec = ec_key().public_key_raw().unwrap();
    let mut off = ec.clone();
    off[64] ^= 1; // y + 1 or y - 1: not on the curve
    assert_eq!(
        BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &off),
        Err(RawKeyError::InvalidPoint(Algorithm::EcdsaP256Sha256))
    );
    let mut zero = vec![0u8; 65];
    zero[0] = 4;
    assert_eq!(
        BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &zero),
        Err(RawKeyError::InvalidPoint(Algorithm::EcdsaP256Sha256))
    );
    // Coordinates of 0xff…: not below p.
    let big = [&[4u8][..], &[0xff; 64]].concat();
    assert_eq!(
        BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &big),
        Err(RawKeyError::InvalidPoint(Algorithm::EcdsaP256Sha256))
    );
}

#[test]
fn rejects_hmac_for_raw_import() {
    assert_eq!(BoundKey::from_raw(Algorithm::HmacSha256, &[7u8; 32]), Err(RawKeyError::SharedSecret));
}

fn hex32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    v.try_into().unwrap()
}

/// The canonical encodings of the eight points of small order (RFC 8032 encoding, hex).
const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000", // identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
    "0000000000000000000000000000000000000000000000000000000000000000", // order 4
    "0000000000000000000000000000000000000000000000000000000000000080", // order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
];

/// Whether some signature (R, S = 0), with R a small-order point, verifies under `public`
/// for one of 64 messages: possible without any private key exactly when `public` has small
/// order (then R' = [S]B − [k]A = −[k]A is itself a small-order point).
fn forgeable(public: &[u8; 32]) -> bool {
    let Ok(key) = VerifyingKey::from_public_key(Algorithm::Ed25519, public) else { return false };
    (0u8..64).any(|m| {
        SMALL_ORDER.iter().any(|r| {
            let sig = [hex32(r).as_slice(), &[0u8; 32]].concat();
            key.verify(&[m], &sig).is_ok()
        })
    })
}

#[test]
fn rejects_small_order_ed25519_keys_under_which_anyone_can_sign() {
    for hex in SMALL_ORDER {
        let public = hex32(hex);
        // The attack: aws-lc accepts such a key and a forged signature under it.
        assert!(forgeable(&public), "{hex} should be forgeable, i.e. of small order");
        assert_eq!(BoundKey::from_raw(Algorithm::Ed25519, &public), Err(RawKeyError::SmallOrder), "{hex}");
    }
    // A real key cannot be forged this way, and is accepted.
    let real: [u8; 32] = ed_key().public_key_raw().unwrap().try_into().unwrap();
    assert!(!forgeable(&real));
    assert!(BoundKey::from_raw(Algorithm::Ed25519, &real).is_ok());
}

#[test]
fn rejects_non_canonical_ed25519_encodings() {
    // y >= p: p itself (0 again), p + 1 (the identity again), 2^255 - 1; with either sign bit.
    for hex in [
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ] {
        assert_eq!(
            BoundKey::from_raw(Algorithm::Ed25519, &hex32(hex)),
            Err(RawKeyError::InvalidPoint(Algorithm::Ed25519)),
            "{hex}"
        );
    }
    // "Negative zero" (x = 0 with the sign bit set) of the identity and of the order-2 point.
    for hex in [
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ] {
        assert_eq!(
            BoundKey::from_raw(Algorithm::Ed25519, &hex32(hex)),
            Err(RawKeyError::SmallOrder),
            "{hex}"
        );
    }
}

// ---- thumbprints ----

#[test]
fn ed25519_thumbprint_matches_rfc8037_a3_byte_for_byte() {
    let key = BoundKey::from_raw(Algorithm::Ed25519, &URL_SAFE_NO_PAD.decode(RFC8037_X).unwrap()).unwrap();
    assert_eq!(key.thumbprint_input(), format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{RFC8037_X}"}}"#));
    assert_eq!(key.thumbprint(), RFC8037_THUMBPRINT);
}

#[test]
fn ed25519_thumbprint_agrees_with_the_jwk_thumbprint() {
    let raw = ed_key().public_key_raw().unwrap();
    let jwk = slipgate_httpsig::jose::Jwk::ed25519(&raw, "k").unwrap();
    assert_eq!(BoundKey::from_raw(Algorithm::Ed25519, &raw).unwrap().thumbprint(), jwk.thumbprint().unwrap());
}

#[test]
fn p256_thumbprint_covers_x_and_y_in_lexicographic_order() {
    // The P-256 key of RFC 9449's examples, whose `cnf.jkt` there is 0ZcOCORZNYy-…
    let x = URL_SAFE_NO_PAD.decode("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs").unwrap();
    let y = URL_SAFE_NO_PAD.decode("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA").unwrap();
    let raw = [&[4u8][..], &x, &y].concat();
    let key = BoundKey::from_raw(Algorithm::EcdsaP256Sha256, &raw).unwrap();
    assert_eq!(
        key.thumbprint_input(),
        r#"{"crv":"P-256","kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#
    );
    assert_eq!(key.thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
}

#[test]
fn thumbprints_differ_between_keys_and_are_43_chars() {
    let a = BoundKey::from_signing_key(&ed_key()).unwrap();
    let b = BoundKey::from_signing_key(&ec_key()).unwrap();
    assert_ne!(a.thumbprint(), b.thumbprint());
    for t in [a.thumbprint(), b.thumbprint()] {
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}

// ---- cnf.htsk ----

#[test]
fn cnf_htsk_has_the_draft_json_form() {
    let key = BoundKey::from_signing_key(&ed_key()).unwrap();
    let json = serde_json::to_string(&key.confirmation()).unwrap();
    assert_eq!(json, format!(r#"{{"htsk":{{"alg":"ed25519","pub":"{B14_X}"}}}}"#));
    let back: Confirmation = serde_json::from_str(&json).unwrap();
    assert_eq!(BoundKey::from_confirmation(&back).unwrap(), key);
    let ec = BoundKey::from_signing_key(&ec_key()).unwrap();
    let json = serde_json::to_value(ec.htsk()).unwrap();
    assert_eq!(json["alg"], "ecdsa-p256-sha256");
    assert_eq!(URL_SAFE_NO_PAD.decode(json["pub"].as_str().unwrap()).unwrap(), ec.raw());
}

#[test]
fn rejects_htsk_with_padding_standard_alphabet_or_trailing_bits() {
    let raw = ed_key().public_key_raw().unwrap();
    let bad = [
        format!("{B14_X}="),                                      // padded
        STANDARD.encode(&raw),                                    // standard alphabet with padding
        "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bt".to_owned(), // non-zero trailing bits
        format!(" {B14_X}"),
    ];
    for public_key in bad {
        let htsk = Htsk { alg: "ed25519".into(), pub_key: public_key.clone() };
        assert_eq!(BoundKey::from_htsk(&htsk), Err(RawKeyError::Encoding), "{public_key}");
    }
}

#[test]
fn rejects_htsk_with_hmac_unknown_alg_or_extra_members() {
    let hmac = Htsk { alg: "hmac-sha256".into(), pub_key: URL_SAFE_NO_PAD.encode([7u8; 32]) };
    assert_eq!(BoundKey::from_htsk(&hmac), Err(RawKeyError::SharedSecret));
    let unknown = Htsk { alg: "EdDSA".into(), pub_key: B14_X.into() };
    assert_eq!(BoundKey::from_htsk(&unknown), Err(RawKeyError::UnknownAlgorithm("EdDSA".into())));
    for json in [
        format!(r#"{{"htsk":{{"alg":"ed25519","pub":"{B14_X}","kid":"x"}}}}"#),
        format!(r#"{{"htsk":{{"alg":"ed25519","pub":"{B14_X}"}},"jkt":"x"}}"#),
        r#"{"htsk":{"alg":"ed25519"}}"#.to_owned(),
        r#"{"jkt":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"}"#.to_owned(),
    ] {
        assert!(serde_json::from_str::<Confirmation>(&json).is_err(), "{json}");
    }
}
