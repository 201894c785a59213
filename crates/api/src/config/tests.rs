use super::*;

fn with_tls(loader: ConfigLoader) -> ConfigLoader {
    loader
        .set_override("tls.cert=/c.pem")
        .unwrap()
        .set_override("tls.key=/k.pem")
        .unwrap()
        .set_override(r#"signature.keys=[{id="k1", alg="hmac-sha256", secret_file="/k1.secret"}]"#)
        .unwrap()
        .set_override("auth.idp_url=https://127.0.0.1:8444")
        .unwrap()
        .set_override("auth.client_id=slipgate-api")
        .unwrap()
        .set_override("auth.client_secret_file=/api.secret")
        .unwrap()
}

fn write(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn defaults_follow_the_spec() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(c.limits.max_body.0, 16 * 1024);
    assert_eq!(c.log.format, None);
    // SPEC §6: pretty on a terminal, JSON otherwise (a file, a pipe, journald).
    assert_eq!(c.log.resolve(false), LogFormat::Json);
    assert_eq!(c.log.resolve(true), LogFormat::Pretty);
}

#[test]
fn environment_overrides_the_file() {
    let f = write("[limits]\nmax_body = \"1KiB\"\nheader_timeout = \"5s\"\n");
    let c = with_tls(ConfigLoader::new().file(f.path()).unwrap())
        .env_from([("SLIPGATE_LIMITS__MAX_BODY".to_owned(), "2KiB".to_owned())])
        .unwrap()
        .load::<Config>()
        .unwrap();
    assert_eq!(c.limits.max_body.0, 2048);
    assert_eq!(c.limits.header_timeout.0.as_secs(), 5);
}

#[test]
fn overrides_win_over_environment() {
    let c = with_tls(ConfigLoader::new())
        .env_from([("SLIPGATE_SERVER__LISTEN".to_owned(), "127.0.0.1:1".to_owned())])
        .unwrap()
        .set_override("server.listen=127.0.0.1:2")
        .unwrap()
        .load::<Config>()
        .unwrap();
    assert_eq!(c.server.listen.port(), 2);
}

#[test]
fn rejects_unknown_key_in_file_naming_it() {
    let f = write("[server]\nlisten = \"127.0.0.1:8443\"\nlisen = \"x\"\n");
    let err = ConfigLoader::new().file(f.path()).unwrap().load::<Config>().unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
}

#[test]
fn rejects_unknown_section_from_environment() {
    let err = with_tls(ConfigLoader::new())
        .env_from([("SLIPGATE_NOPE__KEY".to_owned(), "1".to_owned())])
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn rejects_malformed_units_naming_the_value() {
    let err = with_tls(ConfigLoader::new())
        .set_override("limits.max_body=lots")
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("lots"), "{err}");
}

#[test]
fn requires_tls_material() {
    let err = ConfigLoader::new().load::<Config>().unwrap_err();
    assert!(err.to_string().contains("tls.cert"), "{err}");
}

#[test]
fn requires_at_least_one_signing_key() {
    let err = ConfigLoader::new()
        .set_override("tls.cert=/c.pem")
        .unwrap()
        .set_override("tls.key=/k.pem")
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("signature.keys"), "{err}");
}

#[test]
fn rejects_key_with_the_wrong_file_kind() {
    let err = with_tls(ConfigLoader::new())
        .set_override(r#"signature.keys=[{id="e", alg="ed25519", secret_file="/e.secret"}]"#)
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("public_key_file"), "{err}");
}

#[test]
fn rejects_duplicate_key_ids_and_unknown_algs() {
    let dup = r#"signature.keys=[{id="a", alg="hmac-sha256", secret_file="/a"}, {id="a", alg="hmac-sha256", secret_file="/b"}]"#;
    let err = with_tls(ConfigLoader::new()).set_override(dup).unwrap().load::<Config>().unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    let rsa = r#"signature.keys=[{id="r", alg="rsa-pss-sha512", public_key_file="/r.pem"}]"#;
    let err = with_tls(ConfigLoader::new()).set_override(rsa).unwrap().load::<Config>().unwrap_err();
    assert!(err.to_string().contains("rsa-pss-sha512"), "{err}");
}

#[test]
fn ignores_unrelated_environment_variables() {
    let c = with_tls(ConfigLoader::new())
        .env_from([("SLIPGATE_TOKEN".to_owned(), "x".to_owned()), ("HOME".to_owned(), "/".to_owned())])
        .unwrap()
        .load::<Config>();
    assert!(c.is_ok());
}

#[test]
fn requires_an_https_identity_server() {
    let err = with_tls(ConfigLoader::new())
        .set_override("auth.idp_url=http://127.0.0.1:8444")
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
}

#[test]
fn introspection_requires_client_credentials_but_jwt_does_not() {
    let base = || {
        ConfigLoader::new()
            .set_override("tls.cert=/c.pem")
            .unwrap()
            .set_override("tls.key=/k.pem")
            .unwrap()
            .set_override(r#"signature.keys=[{id="k1", alg="hmac-sha256", secret_file="/k1.secret"}]"#)
            .unwrap()
            .set_override("auth.idp_url=https://idp.example")
            .unwrap()
    };
    let err = base().load::<Config>().unwrap_err();
    assert!(err.to_string().contains("auth.client_id"), "{err}");
    let jwt = base().set_override("auth.mode=jwt").unwrap().load::<Config>().unwrap();
    assert_eq!(jwt.auth.mode, AuthMode::Jwt);
    assert_eq!(jwt.auth.audience, "slipgate-api");
}

#[test]
fn replay_max_memory_defaults_to_256_mib_and_takes_sizes() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert_eq!(c.replay.max_memory.0, 256 << 20);
    let c =
        with_tls(ConfigLoader::new()).set_override(r#"replay.max_memory="16MiB""#).unwrap().load::<Config>();
    assert_eq!(c.unwrap().replay.max_memory.0, 16 << 20);
}

#[test]
fn replay_max_memory_out_of_range_is_refused_naming_the_range() {
    for value in ["512KiB", "65GiB", "0"] {
        let err = with_tls(ConfigLoader::new())
            .set_override(&format!(r#"replay.max_memory="{value}""#))
            .unwrap()
            .load::<Config>()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("replay.max_memory") && text.contains("1MiB to 64GiB"), "{value}: {text}");
    }
}

/// The entry count was replaced by a byte budget: the old key is an error.
#[test]
fn replay_max_entries_is_no_longer_a_key() {
    let err = with_tls(ConfigLoader::new())
        .set_override("replay.max_entries=1000000")
        .unwrap()
        .load::<Config>()
        .unwrap_err();
    assert!(err.to_string().contains("max_entries"), "{err}");
}

#[test]
fn transport_keys_default_per_spec() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert_eq!(c.limits.idle_timeout.0.as_secs(), 60);
    assert_eq!(c.limits.body_timeout.0.as_secs(), 10);
    assert_eq!(
        (c.limits.max_connections, c.limits.max_connections_per_ip, c.limits.max_concurrency_per_ip),
        (10_000, 64, 32)
    );
    assert_eq!(c.rate_limit.ipv6_prefix, 64);
    assert!(c.server.proxy_protocol_from.is_empty());
}

#[test]
fn rejects_transport_keys_out_of_range_naming_the_range() {
    for (set, key, range) in [
        ("limits.idle_timeout=0s", "limits.idle_timeout", "1s to 1h"),
        ("limits.body_timeout=2h", "limits.body_timeout", "1s to 10m"),
        ("limits.max_connections=0", "limits.max_connections", "1 to 1000000"),
        ("limits.max_connections_per_ip=0", "limits.max_connections_per_ip", "1 to 1000000"),
        ("limits.max_concurrency_per_ip=0", "limits.max_concurrency_per_ip", "1 to 1000000"),
        ("rate_limit.ipv6_prefix=16", "rate_limit.ipv6_prefix", "32 to 128"),
        ("rate_limit.ipv6_prefix=129", "rate_limit.ipv6_prefix", "32 to 128"),
        (r#"server.proxy_protocol_from=["10.0.0.0/33"]"#, "server.proxy_protocol_from", "CIDR"),
    ] {
        let err = with_tls(ConfigLoader::new()).set_override(set).unwrap().load::<Config>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(range), "{set}: {text}");
    }
}

#[test]
fn jwt_typ_and_jwks_refresh_default_to_the_spec() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert_eq!(c.auth.jwt_typ, ["at+jwt", "application/at+jwt"]);
    assert_eq!(c.auth.jwks_refresh.0.as_secs(), 300);
}

#[test]
fn rejects_jwks_refresh_out_of_range_naming_the_range() {
    for bad in ["9s", "25h", "0s"] {
        let err = with_tls(ConfigLoader::new())
            .set_override(&format!("auth.jwks_refresh={bad}"))
            .unwrap()
            .load::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.jwks_refresh") && err.contains("10s to 24h"), "{bad}: {err}");
    }
    let ok = with_tls(ConfigLoader::new()).set_override("auth.jwks_refresh=10s").unwrap().load::<Config>();
    assert_eq!(ok.unwrap().auth.jwks_refresh.0.as_secs(), 10);
}

#[test]
fn rejects_an_empty_or_unknown_jwt_typ() {
    for bad in ["[]", r#"["at+jwt", "JOSE"]"#, r#"["id+jwt"]"#] {
        let err = with_tls(ConfigLoader::new())
            .set_override(&format!("auth.jwt_typ={bad}"))
            .unwrap()
            .load::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.jwt_typ"), "{bad}: {err}");
    }
    let ok = with_tls(ConfigLoader::new()).set_override(r#"auth.jwt_typ=["at+jwt", "JWT"]"#).unwrap();
    assert_eq!(ok.load::<Config>().unwrap().auth.jwt_typ, ["at+jwt", "JWT"]);
}

#[test]
fn require_bound_tokens_defaults_to_false_and_takes_a_boolean_from_env() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert!(!c.auth.require_bound_tokens);
    let c = with_tls(ConfigLoader::new())
        .env_from([("SLIPGATE_AUTH__REQUIRE_BOUND_TOKENS".to_owned(), "true".to_owned())])
        .unwrap()
        .load::<Config>()
        .unwrap();
    assert!(c.auth.require_bound_tokens);
    assert!(c.validate().is_ok());
    let f = write("[auth]\nrequire_bound_tokens = \"yes\"\n");
    assert!(with_tls(ConfigLoader::new().file(f.path()).unwrap()).load::<Config>().is_err());
}

#[test]
fn claim_and_scope_mapping_default_to_slipgate_names() {
    let c = with_tls(ConfigLoader::new()).load::<Config>().unwrap();
    assert_eq!(c.auth.claim_map(), slipgate_guard::token::ClaimMap::default());
    assert_eq!(c.auth.jwks_endpoint(), "https://127.0.0.1:8444/.well-known/jwks.json");
    assert_eq!(c.auth.introspection_endpoint(), "https://127.0.0.1:8444/oauth/introspect");
    assert_eq!(c.auth.metadata_endpoint(), "https://127.0.0.1:8444/.well-known/oauth-authorization-server");
}

#[test]
fn claim_and_scope_mapping_is_read_from_file_env_and_overrides() {
    let f = write(
        "[auth]\njwks_url = \"https://kc.example/realms/hr/protocol/openid-connect/certs\"\n\
         [auth.claims]\nemp_id = \"employee_number\"\nemp_name = \"display_name\"\n\
         [auth.scopes]\nself = \"payslip:own\"\n",
    );
    let c = with_tls(ConfigLoader::new().file(f.path()).unwrap())
        .env_from([("SLIPGATE_AUTH__SCOPES__ANY".to_owned(), "payslip:all".to_owned())])
        .unwrap()
        .set_override("auth.claims.emp_grade=pay_grade")
        .unwrap()
        .load::<Config>()
        .unwrap();
    let map = c.auth.claim_map();
    assert_eq!(
        (map.emp_id.as_str(), map.emp_code.as_str(), map.emp_name.as_str(), map.emp_grade.as_str()),
        ("employee_number", "emp_code", "display_name", "pay_grade")
    );
    assert_eq!((map.scope_self.as_str(), map.scope_any.as_str()), ("payslip:own", "payslip:all"));
    assert_eq!(c.auth.jwks_endpoint(), "https://kc.example/realms/hr/protocol/openid-connect/certs");
}

#[test]
fn rejects_unknown_mapping_keys_and_name_given_twice() {
    for text in [
        "[auth.claims]\nemployee = \"x\"\n",
        "[auth.scopes]\nadmin = \"x\"\n",
        "[auth.claims]\nname = \"a\"\nemp_name = \"b\"\n",
    ] {
        let f = write(text);
        let err =
            with_tls(ConfigLoader::new().file(f.path()).unwrap()).load::<Config>().unwrap_err().to_string();
        assert!(err.contains("unknown field") || err.contains("duplicate field"), "{text}: {err}");
    }
}

#[test]
fn rejects_mapping_values_out_of_range_naming_the_range() {
    let long = "c".repeat(65);
    let cases = [
        ("auth.claims.emp_id=\"\"", "auth.claims.emp_id", "1 to 64 characters"),
        (&*format!("auth.claims.emp_code={long}"), "auth.claims.emp_code", "1 to 64 characters"),
        ("auth.claims.name=\"full name\"", "auth.claims.name", "without whitespace"),
        ("auth.scopes.self=\"a b\"", "auth.scopes.self", "RFC 6749"),
        ("auth.scopes.any=\"pay\\\"slip\"", "auth.scopes.any", "RFC 6749"),
        ("auth.scopes.any=salaryslip:self", "auth.scopes.any", "must differ"),
        ("auth.jwks_url=http://kc.example/certs", "auth.jwks_url", "https://"),
        ("auth.introspection_url=https://", "auth.introspection_url", "https://"),
        ("auth.metadata_url=ftp://x", "auth.metadata_url", "https://"),
    ];
    for (set, key, range) in cases {
        let err = with_tls(ConfigLoader::new())
            .set_override(set)
            .unwrap()
            .load::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains(key) && err.contains(range), "{set}: {err}");
    }
}
