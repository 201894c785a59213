use super::*;

fn certificate(names: &[&str]) -> CertificateDer<'static> {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .unwrap_or_else(|e| panic!("{e}"));
    params.self_signed(&key).unwrap_or_else(|e| panic!("{e}")).der().clone()
}

fn dev() -> Authorities {
    Authorities::new(Some(certificate(&["localhost", "127.0.0.1", "::1"])), &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn uri(text: &str) -> http::Uri {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn hosts(values: &[&str]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for v in values {
        headers.append(http::header::HOST, http::HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")));
    }
    headers
}

fn refused(names: &Authorities, target: &str, host: &[&str]) -> bool {
    match names.check(&uri(target), &hosts(host)) {
        Err(e) => {
            assert_eq!(e.code, ProblemCode::BadRequest);
            true
        }
        Ok(()) => false,
    }
}

#[test]
fn accepts_the_certificate_names_with_any_port_and_case() {
    let names = dev();
    for host in ["localhost", "LocalHost:8443", "127.0.0.1:1", "[::1]:8443", "[::1]"] {
        assert!(!refused(&names, "/generate/salaryslip", &[host]), "{host}");
    }
}

#[test]
fn rejects_a_host_the_service_does_not_answer_to() {
    let names = dev();
    for host in ["evil.example", "evil.example:8443", "127.0.0.2", "[::2]:8443", "localhost.evil", "::1"] {
        assert!(refused(&names, "/generate/salaryslip", &[host]), "{host}");
    }
}

#[test]
fn rejects_a_missing_or_repeated_host() {
    let names = dev();
    assert!(refused(&names, "/generate/salaryslip", &[]));
    assert!(refused(&names, "/generate/salaryslip", &["localhost", "localhost"]));
    assert!(refused(&names, "/generate/salaryslip", &["evil.example", "localhost"]));
}

#[test]
fn rejects_user_info_a_bad_port_and_junk() {
    let names = dev();
    for host in ["user@localhost", "localhost:", "localhost:99999", "localhost:abc", "", "local host", "a,b"]
    {
        assert!(refused(&names, "/", &[host]), "{host:?}");
    }
}

#[test]
fn absolute_form_target_must_agree_with_host() {
    let names = dev();
    assert!(refused(&names, "https://evil.example/generate/salaryslip", &["localhost:8443"]));
    assert!(refused(&names, "https://localhost:9999/generate/salaryslip", &["localhost:8443"]));
    assert!(refused(&names, "https://localhost:8443/generate/salaryslip", &["127.0.0.1:8443"]));
    assert!(!refused(&names, "https://LOCALHOST:8443/generate/salaryslip", &["localhost:8443"]));
    assert!(!refused(&names, "https://localhost/generate/salaryslip", &["localhost:443"]));
}

#[test]
fn an_http2_authority_alone_is_checked_like_host() {
    let names = dev();
    assert!(!refused(&names, "https://127.0.0.1:8443/generate/salaryslip", &[]));
    assert!(refused(&names, "https://evil.example:8443/generate/salaryslip", &[]));
}

#[test]
fn a_wildcard_san_matches_exactly_one_label() {
    let names =
        Authorities::new(Some(certificate(&["*.example.com"])), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!refused(&names, "/", &["api.example.com:443"]));
    assert!(!refused(&names, "/", &["API.Example.COM"]));
    assert!(refused(&names, "/", &["a.b.example.com"]));
    assert!(refused(&names, "/", &["example.com"]));
}

#[test]
fn configured_authorities_are_added_to_the_certificate_names() {
    let configured = ["Api.Example.org".to_owned(), "10.0.0.7".to_owned(), "[2001:db8::1]".to_owned()];
    let names =
        Authorities::new(Some(certificate(&["localhost"])), &configured).unwrap_or_else(|e| panic!("{e}"));
    for host in ["api.example.org:8443", "10.0.0.7", "[2001:db8::1]:443", "localhost"] {
        assert!(!refused(&names, "/", &[host]), "{host}");
    }
    assert!(refused(&names, "/", &["example.org"]));
    let without_cert = Authorities::new(None, &configured).unwrap_or_else(|e| panic!("{e}"));
    assert!(refused(&without_cert, "/", &["localhost"]));
}

#[test]
fn configuration_refuses_ports_wildcards_and_urls() {
    for bad in ["api.example.org:8443", "*.example.org", "", "https://api.example.org", "[api]", "a b"] {
        assert!(validate_names(&[bad.to_owned()]).is_err(), "{bad:?}");
    }
    assert!(validate_names(&["api.example.org".to_owned(), "::1".to_owned(), "[::1]".to_owned()]).is_ok());
}
