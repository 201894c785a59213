//! Selecting the one signature with the token-request or bound-request `tag` (SPEC §3.2.1, §4).

use slipgate_httpsig::{
    binding::{BOUND_REQUEST_TAG, TOKEN_REQUEST_TAG, parse_tagged_signature},
    params::{ParseError, parse_signature_headers},
};

const BOUND_INPUT: &str =
    r#"sig1=("@method" "@target-uri" "authorization");created=1;nonce="abcdefgh12";tag="httpsig-oauth""#;

#[test]
fn selects_the_one_tagged_signature_wherever_it_stands() {
    // A proxy's or another party's signature first, with a component this crate does not know.
    let input = format!(r#"proxy=("@query-param";name="x");created=1;keyid="p", {BOUND_INPUT}"#);
    let sig = "proxy=:AAAA:, sig1=:AQID:";
    let parsed = parse_tagged_signature(Some(&input), Some(sig), BOUND_REQUEST_TAG).unwrap();
    assert_eq!(parsed.params.label, "sig1");
    assert_eq!(parsed.params.tag.as_deref(), Some(BOUND_REQUEST_TAG));
    assert_eq!(parsed.signature, vec![1, 2, 3]);
    assert_eq!(Some(parsed.params.raw.as_str()), BOUND_INPUT.strip_prefix("sig1="));
    // The single-member fast path gives the same.
    let alone = parse_tagged_signature(Some(BOUND_INPUT), Some("sig1=:AQID:"), BOUND_REQUEST_TAG).unwrap();
    assert_eq!(alone, parsed);
    // The first-member parser would have evaluated (and refused) the proxy's signature.
    assert!(parse_signature_headers(Some(&input), Some(sig)).is_err());
}

#[test]
fn rejects_requests_without_the_tagged_signature() {
    let want = Err(ParseError::Malformed("no signature is tagged \"httpsig-oauth\"".into()));
    for input in [
        r#"sig1=("@method");created=1;nonce="abcdefgh12""#.to_owned(),
        BOUND_INPUT.replace("httpsig-oauth", TOKEN_REQUEST_TAG),
        BOUND_INPUT.replace("httpsig-oauth", "HTTPSIG-OAUTH"),
        format!(
            r#"a=("@method");tag="x", {}"#,
            BOUND_INPUT.replace("sig1=", "b=").replace(r#"tag="httpsig-oauth""#, r#"tag="httpsig-oauth ""#)
        ),
    ] {
        assert_eq!(
            parse_tagged_signature(Some(&input), Some("sig1=:AQID:, a=:AA==:, b=:AA==:"), BOUND_REQUEST_TAG),
            want,
            "{input}"
        );
    }
    assert_eq!(parse_tagged_signature(None, None, BOUND_REQUEST_TAG), Err(ParseError::Missing));
    assert!(matches!(
        parse_tagged_signature(Some(BOUND_INPUT), None, BOUND_REQUEST_TAG),
        Err(ParseError::Malformed(_))
    ));
    assert!(matches!(
        parse_tagged_signature(None, Some("sig1=:AQID:"), BOUND_REQUEST_TAG),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn rejects_more_than_one_tagged_signature() {
    let want = Err(ParseError::Malformed("more than one signature is tagged \"httpsig-oauth\"".into()));
    let second = BOUND_INPUT.replace("sig1=", "sig2=");
    let sigs = "sig1=:AQID:, sig2=:AQID:";
    // A second copy, as a string or disguised as a token, or on a bare item.
    for other in [
        second.clone(),
        second.replace(r#"tag="httpsig-oauth""#, "tag=httpsig-oauth"),
        r#"sig2=:AA==:;tag="httpsig-oauth""#.to_owned(),
    ] {
        let input = format!("{BOUND_INPUT}, {other}");
        assert_eq!(parse_tagged_signature(Some(&input), Some(sigs), BOUND_REQUEST_TAG), want, "{input}");
        let reordered = format!("{other}, {BOUND_INPUT}");
        assert_eq!(
            parse_tagged_signature(Some(&reordered), Some(sigs), BOUND_REQUEST_TAG),
            want,
            "{reordered}"
        );
    }
}

#[test]
fn rejects_tagged_signature_that_is_malformed_itself() {
    let token_tag = BOUND_INPUT.replace(r#"tag="httpsig-oauth""#, "tag=httpsig-oauth");
    assert_eq!(
        parse_tagged_signature(Some(&token_tag), Some("sig1=:AQID:"), BOUND_REQUEST_TAG),
        Err(ParseError::Malformed("parameter \"tag\" is not a string".into()))
    );
    let bad_nonce = BOUND_INPUT.replace("abcdefgh12", "short");
    assert_eq!(
        parse_tagged_signature(Some(&bad_nonce), Some("sig1=:AQID:"), BOUND_REQUEST_TAG),
        Err(ParseError::NonceMalformed)
    );
    // The tagged member's `Signature` is absent (only another label is signed).
    assert_eq!(
        parse_tagged_signature(Some(BOUND_INPUT), Some("other=:AQID:"), BOUND_REQUEST_TAG),
        Err(ParseError::Malformed("signature has no member labelled \"sig1\"".into()))
    );
    let bare = r#"sig1=:AA==:;tag="httpsig-oauth""#;
    assert!(matches!(
        parse_tagged_signature(Some(bare), Some("sig1=:AQID:"), BOUND_REQUEST_TAG),
        Err(ParseError::Malformed(_))
    ));
}
