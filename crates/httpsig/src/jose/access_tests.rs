#![allow(clippy::unwrap_used)]
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use serde_json::{Value, json};

use super::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS with exactly `header`, signed by `sign`.
fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

struct Rsa {
    key: RsaKeyPair,
    jwk: Jwk,
}

fn rsa(kid: &str) -> Rsa {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let components = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
    let jwk = Jwk {
        kty: "RSA".into(),
        n: b64(&components.n),
        e: b64(&components.e),
        kid: Some(kid.into()),
        ..Jwk::default()
    };
    Rsa { key, jwk }
}

fn rsa_sign(
    key: &RsaKeyPair,
    padding: &'static dyn aws_lc_rs::signature::RsaEncoding,
    input: &[u8],
) -> Vec<u8> {
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(padding, &SystemRandom::new(), input, &mut sig).unwrap();
    sig
}

fn ec(
    alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
    crv: &str,
    kid: &str,
) -> (EcdsaKeyPair, Jwk) {
    let key = EcdsaKeyPair::generate(alg).unwrap();
    let point = key.public_key().as_ref().to_vec();
    let len = (point.len() - 1) / 2;
    let jwk = Jwk {
        kty: "EC".into(),
        crv: crv.into(),
        x: b64(&point[1..=len]),
        y: b64(&point[1 + len..]),
        kid: Some(kid.into()),
        ..Jwk::default()
    };
    (key, jwk)
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "typ": "at+jwt", "kid": kid})
}

fn claims() -> Value {
    json!({"sub": "alice", "scope": "payslip.self"})
}

#[test]
fn rs256_and_ps256_tokens_verify_with_the_rsa_key_their_kid_names() {
    let k = rsa("r1");
    let jwks = Jwks { keys: vec![k.jwk.clone()] };
    let rs = jws(&header("RS256", "r1"), &claims(), |i| rsa_sign(&k.key, &RSA_PKCS1_SHA256, i));
    let (h, c): (_, Value) = verify_access_token(&rs, &jwks).unwrap();
    assert_eq!((h.alg, h.kid.as_str(), c["sub"].as_str()), (JwsAlg::Rs256, "r1", Some("alice")));
    let ps = jws(&header("PS256", "r1"), &claims(), |i| rsa_sign(&k.key, &RSA_PSS_SHA256, i));
    assert_eq!(verify_access_token::<Value>(&ps, &jwks).unwrap().0.alg, JwsAlg::Ps256);
    // The PKCS#1 signature presented as PSS (and the reverse) does not verify.
    let relabelled = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header("PS256", "r1")).unwrap()),
        rs.split_once('.').unwrap().1
    );
    assert_eq!(verify_access_token::<Value>(&relabelled, &jwks).unwrap_err(), JwtError::Signature);
}

#[test]
fn es256_and_es384_tokens_verify() {
    for (alg, signing, crv) in [
        ("ES256", &ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
        ("ES384", &ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
    ] {
        let (key, jwk) = ec(signing, crv, "e1");
        let jwks = Jwks { keys: vec![jwk] };
        let rng = SystemRandom::new();
        let token = jws(&header(alg, "e1"), &claims(), |i| key.sign(&rng, i).unwrap().as_ref().to_vec());
        let (h, _): (_, Value) = verify_access_token(&token, &jwks).unwrap();
        assert_eq!(h.alg.as_str(), alg);
    }
}

#[test]
fn slipgate_eddsa_tokens_verify_too() {
    let pkcs8 = Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap();
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwks = Jwks { keys: vec![Jwk::from_key_pair(&key, "k1")] };
    let token = crate::jose::sign_jwt(&claims(), "k1", &key).unwrap();
    assert_eq!(verify_access_token::<Value>(&token, &jwks).unwrap().0.typ, "at+jwt");
}

#[test]
fn rejects_hmac_with_the_public_key_as_secret_and_alg_none() {
    // The classic confusion: HS256 keyed with the RSA key's public bytes.
    let k = rsa("r1");
    let jwks = Jwks { keys: vec![k.jwk.clone()] };
    let secret = URL_SAFE_NO_PAD.decode(&k.jwk.n).unwrap();
    let hs = jws(&header("HS256", "r1"), &claims(), |i| {
        aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret), i)
            .as_ref()
            .to_vec()
    });
    assert_eq!(verify_access_token::<Value>(&hs, &jwks).unwrap_err(), JwtError::Algorithm("HS256".into()));
    let none = jws(&header("none", "r1"), &claims(), |_| Vec::new());
    assert_eq!(verify_access_token::<Value>(&none, &jwks).unwrap_err(), JwtError::Algorithm("none".into()));
}

#[test]
fn rejects_a_key_of_another_family_or_alg_than_the_header_names() {
    let k = rsa("k1");
    let (ec_key, mut ec_jwk) = ec(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", "k1");
    let rng = SystemRandom::new();
    // An ES256 token whose kid names the RSA key only.
    let es = jws(&header("ES256", "k1"), &claims(), |i| ec_key.sign(&rng, i).unwrap().as_ref().to_vec());
    let only_rsa = Jwks { keys: vec![k.jwk.clone()] };
    assert!(matches!(verify_access_token::<Value>(&es, &only_rsa), Err(JwtError::Key(_))));
    // The EC key stated for another algorithm, or for encryption.
    ec_jwk.alg = Some("ES384".into());
    assert!(matches!(
        verify_access_token::<Value>(&es, &Jwks { keys: vec![ec_jwk.clone()] }),
        Err(JwtError::Key(_))
    ));
    ec_jwk.alg = None;
    ec_jwk.use_ = Some("enc".into());
    assert!(matches!(
        verify_access_token::<Value>(&es, &Jwks { keys: vec![ec_jwk.clone()] }),
        Err(JwtError::Key(_))
    ));
    // One kid listed under two key types: the header's algorithm picks the EC one.
    ec_jwk.use_ = Some("sig".into());
    let both = Jwks { keys: vec![k.jwk, ec_jwk] };
    assert!(verify_access_token::<Value>(&es, &both).is_ok());
    // An unknown kid is reported as such (the caller re-reads the JWKS).
    let other = jws(&header("ES256", "k2"), &claims(), |i| ec_key.sign(&rng, i).unwrap().as_ref().to_vec());
    assert_eq!(verify_access_token::<Value>(&other, &both).unwrap_err(), JwtError::UnknownKey("k2".into()));
}

#[test]
fn rejects_headers_that_point_at_their_own_key_or_are_critical() {
    let k = rsa("r1");
    let jwks = Jwks { keys: vec![k.jwk.clone()] };
    let extra = [
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1", "jku": "https://evil.example/jwks"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1", "jwk": k.jwk}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1", "x5u": "https://evil.example/cert"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1", "crit": ["exp"], "exp": 1}),
        json!({"alg": "RS256", "kid": "r1"}),
        json!({"alg": "RS256", "typ": "at+jwt"}),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": ""}),
    ];
    for h in extra {
        let token = jws(&h, &claims(), |i| rsa_sign(&k.key, &RSA_PKCS1_SHA256, i));
        assert!(matches!(verify_access_token::<Value>(&token, &jwks), Err(JwtError::Header(_))), "{h}");
    }
    // Entra ID's certificate thumbprint is tolerated (the key still comes from the JWKS).
    let entra = json!({"alg": "RS256", "typ": "JWT", "kid": "r1", "x5t": "abc"});
    let token = jws(&entra, &claims(), |i| rsa_sign(&k.key, &RSA_PKCS1_SHA256, i));
    assert_eq!(verify_access_token::<Value>(&token, &jwks).unwrap().0.typ, "JWT");
    assert_eq!(decode_access_header(&token).unwrap().kid, "r1");
}

#[test]
fn rejects_tampered_claims_and_a_short_rsa_key() {
    let k = rsa("r1");
    let jwks = Jwks { keys: vec![k.jwk.clone()] };
    let token = jws(&header("RS256", "r1"), &claims(), |i| rsa_sign(&k.key, &RSA_PKCS1_SHA256, i));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64(br#"{"sub":"mallory"}"#), parts[2]);
    assert_eq!(verify_access_token::<Value>(&forged, &jwks).unwrap_err(), JwtError::Signature);
    // A 1024-bit modulus (the upper half of the real one) is refused however it signs.
    let mut short = k.jwk.clone();
    short.n = b64(&URL_SAFE_NO_PAD.decode(&k.jwk.n).unwrap()[..128]);
    assert!(verify_access_token::<Value>(&token, &Jwks { keys: vec![short] }).is_err());
}
