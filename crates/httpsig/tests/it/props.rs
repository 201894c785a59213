//! Property tests: sign → parse → base → verify round trips, and parsers never panic.

use proptest::prelude::*;
use slipgate_httpsig::{
    base::{Message, signature_base},
    digest::verify_content_digest,
    keys::{Algorithm, SigningKey},
    params::{Component, parse_signature_headers},
    sign::{SignParams, sign_message, verify_signature},
};

const DERIVED: [&str; 7] =
    ["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"];

fn keys() -> Vec<SigningKey> {
    [Algorithm::HmacSha256, Algorithm::EcdsaP256Sha256, Algorithm::Ed25519]
        .into_iter()
        .map(|a| SigningKey::generate(a).expect("generate").0)
        .collect()
}

prop_compose! {
    fn fields()(names in proptest::collection::btree_set("x-[a-z0-9]{1,8}", 0..6),
                values in proptest::collection::vec("[ -~]{0,40}", 6)) -> Vec<(String, String)> {
        names.into_iter().zip(values).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn signed_messages_parse_rebuild_and_verify(
        derived in proptest::sample::subsequence(DERIVED.to_vec(), 0..=DERIVED.len()),
        fields in fields(),
        with_query in any::<bool>(),
        label in "[a-z][a-z0-9_.*-]{0,10}",
        created in proptest::option::of(0i64..=999_999_999_999_999),
        expires in proptest::option::of(0i64..=999_999_999_999_999),
        nonce in proptest::option::of("[A-Za-z0-9._~+/=-]{8,128}"),
        keyid in proptest::option::of("[ -~]{0,64}"),
        tag in proptest::option::of("[ -~]{0,16}"),
        with_alg in any::<bool>(),
        with_pub in any::<bool>(),
        key_index in 0usize..3,
    ) {
        let uri = if with_query { "https://Example.COM:443/a/b?x=1&y" } else { "http://h:8080/" };
        let mut msg = Message::request("POST", uri).unwrap();
        let mut components: Vec<Component> = derived.iter().map(|d| Component::field_or_derived(d)).collect();
        for (name, value) in &fields {
            msg = msg.with_header(name, value);
            components.push(Component::field_or_derived(name));
        }
        let mut params = SignParams::new(&label);
        params.created = created;
        params.expires = expires;
        params.nonce = nonce;
        params.keyid = keyid;
        params.tag = tag;
        params.include_alg = with_alg;
        let keys = keys();
        let key = &keys[key_index];
        // HMAC has no public form (a test in `binding` checks the refusal).
        params.include_pub = with_pub && key.algorithm() != Algorithm::HmacSha256;
        let signed = sign_message(&msg, None::<&Message>, &components, &params, key).unwrap();
        let parsed = parse_signature_headers(Some(&signed.signature_input), Some(&signed.signature)).unwrap();
        prop_assert_eq!(&parsed.params, &signed.params);
        prop_assert_eq!(&parsed.params.components, &components);
        prop_assert_eq!(parsed.params.created, created);
        prop_assert_eq!(parsed.params.pub_key.is_some(), params.include_pub);
        if params.include_pub {
            prop_assert_eq!(parsed.params.pub_key.clone(), Some(key.public_key_raw().unwrap()));
        }
        let base = signature_base(&parsed.params, &msg, None::<&Message>).unwrap();
        prop_assert_eq!(&base, &signed.base);
        verify_signature(&parsed.params, &parsed.signature, &base, &key.verifying_key()).unwrap();
        // Any change to a covered value breaks verification.
        if let Some((name, value)) = fields.first() {
            let changed = Message::request("POST", uri).unwrap().with_header(name, &format!("{value}!"));
            let mut changed = changed;
            for (n, v) in fields.iter().skip(1) { changed = changed.with_header(n, v); }
            let other = signature_base(&parsed.params, &changed, None::<&Message>).unwrap();
            prop_assert!(verify_signature(&parsed.params, &parsed.signature, &other, &key.verifying_key()).is_err());
        }
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(a in any::<String>(), b in any::<String>()) {
        let _ = parse_signature_headers(Some(&a), Some(&b));
        let _ = verify_content_digest(Some(&a), b.as_bytes());
    }

    #[test]
    fn parsers_never_panic_on_structured_looking_input(
        a in r#"[a-z0-9=();:"@*,.? /+-]{0,200}"#,
        b in r#"[a-z0-9=();:"@*,.? /+-]{0,200}"#,
    ) {
        let msg = Message::request("GET", "https://h/p?q").unwrap().with_header("x", &b);
        if let Ok(p) = parse_signature_headers(Some(&a), Some(&b)) {
            let _ = signature_base(&p.params, &msg, Some(&msg));
        }
        let _ = verify_content_digest(Some(&a), b.as_bytes());
    }
}

/// What the structured-field library serializes for the first member's inner
/// list and for each of its items (the reference the direct writers match).
fn sfv_reference(input: &str) -> Option<(String, Vec<String>)> {
    use sfv::{ListEntry, Parser, SerializeValue};
    let dict = Parser::parse_dictionary(input.as_bytes()).ok()?;
    let (_, ListEntry::InnerList(inner)) = dict.first()? else { return None };
    let raw = vec![ListEntry::InnerList(inner.clone())].serialize_value().ok()?;
    let items = inner.items.iter().map(|i| i.serialize_value().ok()).collect::<Option<Vec<_>>>()?;
    Some((raw, items))
}

prop_compose! {
    fn component_text()(
        name in proptest::sample::select(vec!["\"@method\"", "\"@path\"", "\"content-digest\"", "\"x-a\"", "\"signature\"", "\"@status\""]),
        params in proptest::collection::vec(
            proptest::sample::select(vec![";req", ";sf", ";bs", ";tr", ";key=\"sig1\"", ";key=\"a\\\"b\\\\c\"", ";key=\"x y\""]), 0..3),
    ) -> String {
        format!("{name}{}", params.concat())
    }
}

prop_compose! {
    fn param_text()(
        key in proptest::sample::select(vec!["created", "expires", "nonce", "keyid", "alg", "tag", "pub", "ext", "x*y"]),
        value in proptest::sample::select(vec![
            "=1767225600", "=-0", "=007", "=\"k\\\"1\\\\\"", "=\"abcdefgh12\"", "=tok/en:1", "=?0", "=?1", "", "=1.50", "=-0.0", "=:AAEC:", "=\"\"",
            "=\"httpsig-oauth-token-request\"", "=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:", "=:AAE:", "=::",
        ]),
    ) -> String {
        format!(";{key}{value}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The direct serializers (`raw` and the component identifiers) write
    /// exactly what the structured-field library writes.
    #[test]
    fn direct_serialization_matches_the_structured_field_library(
        components in proptest::collection::vec(component_text(), 0..6),
        params in proptest::collection::vec(param_text(), 0..6),
        spaces in proptest::sample::select(vec![" ", "  "]),
    ) {
        let input = format!("sig1=({}){}", components.join(spaces), params.concat());
        let ours = slipgate_httpsig::params::parse_signature_input(&input);
        if let Ok(ours) = ours {
            let (raw, items) = sfv_reference(&input).expect("the library parses what we accept");
            prop_assert_eq!(&ours.raw, &raw, "{}", input);
            let ids: Vec<String> = ours.components.iter().map(|c| c.to_identifier().unwrap()).collect();
            prop_assert_eq!(ids, items, "{}", input);
        }
    }

    /// The fast path gives exactly the general parser's answer, error included.
    #[test]
    fn fast_signature_input_parsing_agrees_with_the_general_parser(
        components in proptest::collection::vec(component_text(), 0..6),
        params in proptest::collection::vec(param_text(), 0..6),
        label in "[a-z*][a-z0-9_.*-]{0,4}|[A-Z ]x",
        tail in proptest::sample::select(vec!["", " ", ", b=(\"@method\")", ",", ";", "x"]),
        noise in r#"[a-z0-9=();:"@*,.? /+\\-]{0,60}"#,
    ) {
        use slipgate_httpsig::params::{parse_signature_input, parse_signature_input_general};
        let input = format!("{label}=({}){}{tail}", components.join(" "), params.concat());
        prop_assert_eq!(parse_signature_input(&input), parse_signature_input_general(&input), "{}", input);
        prop_assert_eq!(parse_signature_input(&noise), parse_signature_input_general(&noise), "{}", noise);
        let signature = format!("{label}=:{}:", noise.replace([':', ','], ""));
        let both = format!("{label}=(\"@method\");created=1");
        let fast = parse_signature_headers(Some(&both), Some(&signature));
        let general = parse_signature_input_general(&both).and_then(|params| {
            use sfv::{BareItem, ListEntry, Parser};
            let dict = Parser::parse_dictionary(signature.as_bytes()).map_err(|e| slipgate_httpsig::params::ParseError::Malformed(e.to_owned()))?;
            match dict.get(&params.label) {
                Some(ListEntry::Item(i)) if i.params.is_empty() => match &i.bare_item {
                    BareItem::ByteSeq(b) => Ok(b.clone()),
                    _ => Err(slipgate_httpsig::params::ParseError::Malformed("x".into())),
                },
                _ => Err(slipgate_httpsig::params::ParseError::Malformed("x".into())),
            }
        });
        prop_assert_eq!(fast.map(|p| p.signature).ok(), general.ok(), "{}", signature);
    }
}

prop_compose! {
    /// Parameters of the signed token request and of bound requests (SPEC §3.2.1, §4), each
    /// with values of the right and of the wrong type.
    fn binding_param_text()(
        key in proptest::sample::select(vec!["created", "nonce", "tag", "alg", "pub", "keyid"]),
        value in proptest::sample::select(vec![
            "=1767225600", "=\"q4Kj2dVbX8mNcP1a\"", "=\"httpsig-oauth-token-request\"", "=\"httpsig-oauth\"",
            "=\"ed25519\"", "=:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=:", "=:AAE:", "=::", "=?1", "=tok",
        ]),
    ) -> String {
        format!(";{key}{value}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The fast path agrees with the general parser on the key-binding parameters (`tag`,
    /// `pub`, `alg` without `keyid`), typed right or wrong, repeated or not.
    #[test]
    fn fast_path_agrees_with_the_general_parser_on_binding_parameters(
        components in proptest::sample::subsequence(
            vec!["\"@method\"", "\"@target-uri\"", "\"authorization\"", "\"content-type\"", "\"content-digest\""], 0..=5),
        params in proptest::collection::vec(binding_param_text(), 0..7),
        tail in proptest::sample::select(vec!["", "", "", ", sig2=(\"@method\");tag=\"httpsig-oauth\"", " "]),
    ) {
        use slipgate_httpsig::params::{parse_signature_input, parse_signature_input_general};
        let input = format!("sig1=({}){}{tail}", components.join(" "), params.concat());
        let fast = parse_signature_input(&input);
        prop_assert_eq!(&fast, &parse_signature_input_general(&input), "{}", input);
        if let Ok(p) = &fast {
            let (raw, _) = sfv_reference(&input).expect("the library parses what we accept");
            prop_assert_eq!(&p.raw, &raw, "{}", input);
        }
        // One member: the tagged selection (fast or general inside) answers as the general
        // parser does, filtered by the tag.
        if !tail.contains("sig2") {
            for tag in ["httpsig-oauth", "httpsig-oauth-token-request"] {
                let tagged = slipgate_httpsig::binding::parse_tagged_signature(Some(&input), Some("sig1=:AAAA:"), tag);
                let want = parse_signature_input_general(&input).ok().filter(|p| p.tag.as_deref() == Some(tag));
                prop_assert_eq!(tagged.ok().map(|t| t.params), want, "{}", input);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Raw-key and `cnf.htsk` import, and the tagged selection, never panic, and an accepted raw
    /// key is exactly what was given.
    #[test]
    fn binding_imports_never_panic_on_arbitrary_input(
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
        text in any::<String>(),
        input in r#"[a-z0-9=();:"@*,.? /+-]{0,200}"#,
    ) {
        use slipgate_httpsig::binding::{BoundKey, Htsk, parse_tagged_signature};
        for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256, Algorithm::HmacSha256] {
            if let Ok(k) = BoundKey::from_raw(alg, &bytes) {
                prop_assert_eq!(k.raw(), bytes.as_slice());
                prop_assert_eq!(k.thumbprint().len(), 43);
            }
        }
        let _ = BoundKey::from_htsk(&Htsk { alg: "ed25519".into(), pub_key: text.clone() });
        let _ = parse_tagged_signature(Some(&input), Some(&text), "httpsig-oauth");
        let _ = parse_tagged_signature(Some(&text), Some(&input), "httpsig-oauth");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The `Content-Digest` fast path (`sha-256=:…:` exactly) answers as the general parser does:
    /// right and wrong digests, non-canonical base64, whitespace, parameters, other members.
    #[test]
    fn content_digest_fast_path_agrees_with_the_general_parser(
        body in proptest::collection::vec(any::<u8>(), 0..64),
        right in any::<bool>(),
        other in proptest::collection::vec(any::<u8>(), 32),
        cut in 0usize..4,
        edit in proptest::option::of((0usize..44, "[A-Za-z0-9+/= ]")),
        prefix in proptest::sample::select(vec!["sha-256=:", "sha-256=:", "sha-256=:", " sha-256=:", "SHA-256=:", "sha-512=:", "x, sha-256=:"]),
        suffix in proptest::sample::select(vec![":", ":", ":", ": ", ":;a=1", ":, sha-512=:AA==:", ":, md5=:AA==:"]),
    ) {
        use base64::Engine as _;
        use slipgate_httpsig::digest::verify_content_digest_general;
        let bytes = if right { aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body).as_ref().to_vec() } else { other };
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        if let Some((at, with)) = edit {
            encoded.replace_range(at..=at, &with);
        }
        encoded.truncate(encoded.len() - cut.min(encoded.len()));
        let value = format!("{prefix}{encoded}{suffix}");
        prop_assert_eq!(
            verify_content_digest(Some(&value), &body),
            verify_content_digest_general(Some(&value), &body),
            "{}", value
        );
    }
}
