//! The typed layers `slipgate dev` and the test fixtures build start from
//! `Config::default()`: serialised, it must be exactly what an empty file
//! loads to, or layering it would change a default.

use slipgate_proto::config::ConfigLoader;

/// Every default of `T`, as the TOML table `layer` would merge.
fn table<T: serde::Serialize>(value: &T) -> toml::Table {
    match toml::Value::try_from(value).unwrap() {
        toml::Value::Table(table) => table,
        other => panic!("not a table: {other:?}"),
    }
}

#[test]
fn api_default_config_is_what_an_empty_file_loads_to() {
    // An empty file fails validation (no TLS files), so deserialise unvalidated.
    let loaded: slipgate_api::Config = toml::Table::new().try_into().unwrap();
    assert_eq!(table(&slipgate_api::Config::default()), table(&loaded));
}

#[test]
fn idp_default_config_is_what_an_empty_file_loads_to() {
    let loaded: slipgate_idp::IdpConfig = toml::Table::new().try_into().unwrap();
    assert_eq!(table(&slipgate_idp::IdpConfig::default()), table(&loaded));
}

#[test]
fn layering_the_default_config_changes_nothing() {
    let over = |loader: ConfigLoader| {
        loader.set_override("tls.cert=\"/c.pem\"").unwrap().set_override("tls.key=\"/k.pem\"").unwrap()
    };
    let mut base = slipgate_idp::IdpConfig::default();
    base.idp.audience = "typed".into();
    let plain: slipgate_idp::IdpConfig = over(ConfigLoader::new()).load().unwrap();
    let layered: slipgate_idp::IdpConfig =
        over(ConfigLoader::new().layer(&slipgate_idp::IdpConfig::default()).unwrap()).load().unwrap();
    assert_eq!(table(&plain), table(&layered));
    let typed: slipgate_idp::IdpConfig = over(ConfigLoader::new().layer(&base).unwrap()).load().unwrap();
    assert_eq!(typed.idp.audience, "typed");
}
