//! Packaging: `slipgate config example` prints files the real loaders accept,
//! and the systemd units in `deploy/systemd/` pass `systemd-analyze verify`
//! with the hardening docs/deployment.md promises.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn slipgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slipgate")).args(args).output().unwrap()
}

fn example(which: &[&str], dir: &Path) -> (String, PathBuf) {
    let mut args = vec!["config", "example"];
    args.extend_from_slice(which);
    let out = slipgate(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let path = dir.join(format!("{}.toml", which.first().unwrap_or(&"default")));
    std::fs::write(&path, &text).unwrap();
    (text, path)
}

/// Every `section.key` the configuration type has by default is shown in the
/// example under its `[section]`, set or commented out (`# key =`).
fn assert_documents_every_key(text: &str, defaults: toml::Table) {
    let mut shown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            section = name.trim_start_matches('[').to_owned();
            continue;
        }
        if let Some((key, _)) = line.split_once(" = ") {
            shown.entry(section.clone()).or_default().push(key.trim().to_owned());
        }
    }
    for (name, value) in defaults {
        let toml::Value::Table(keys) = value else { continue };
        for key in keys.keys() {
            let in_section = shown.get(&name).is_some_and(|k| k.contains(key));
            let as_array = shown.contains_key(&format!("{name}.{key}"));
            assert!(in_section || as_array, "the example does not show `{name}.{key}`:\n{text}");
        }
    }
}

#[test]
fn config_example_api_loads_with_the_real_loader_and_shows_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let (text, path) = example(&["api"], dir.path());
    let config: slipgate_api::Config = slipgate_api::ConfigLoader::new().file(&path).unwrap().load().unwrap();
    assert_eq!(config.tls.cert.as_deref(), Some(Path::new("/etc/slipgate/tls/api.pem")));
    assert_eq!(config.signature.keys.len(), 1);
    assert_eq!(config.auth.client_id.as_deref(), Some("slipgate-api"));
    assert_eq!(config.limits.max_concurrency, 1024);
    let defaults = toml::Table::try_from(slipgate_api::Config::default()).unwrap();
    assert_documents_every_key(&text, defaults);
    assert!(text.contains("# Units: durations"), "annotated: {text}");
    // `slipgate config example` alone is the API's.
    let (plain, _) = example(&[], dir.path());
    assert_eq!(plain, text);
}

#[test]
fn config_example_idp_loads_with_the_real_loader_and_shows_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let (text, path) = example(&["idp"], dir.path());
    let config: slipgate_idp::IdpConfig =
        slipgate_idp::ConfigLoader::new().file(&path).unwrap().load().unwrap();
    assert_eq!(config.idp.issuer, "https://idp.internal:8444");
    assert_eq!(config.tls.key.as_deref(), Some(Path::new("/etc/slipgate/tls/idp-key.pem")));
    assert_eq!(config.idp.database.expose(), "sqlite:///var/lib/slipgate-idp/idp.db");
    let defaults = toml::Table::try_from(slipgate_idp::IdpConfig::default()).unwrap();
    assert_documents_every_key(&text, defaults);
    assert!(text.contains("never create a database"), "{text}");
}

#[test]
fn config_example_refuses_an_unknown_kind() {
    let out = slipgate(&["config", "example", "redis"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'redis'") && err.contains("[possible values: api, idp]"), "{err}");
    assert!(out.stdout.is_empty());
}

fn unit_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd").join(name)
}

/// `Key=value` lines of a unit, in order.
fn directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn systemd_analyze(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new("systemd-analyze").args(args).output().unwrap_or_else(|e| {
        panic!("systemd-analyze is required ({e}); scripts/test.sh installs it: apt-get install -y systemd")
    })
}

#[test]
fn systemd_units_verify_and_are_hardened() {
    let dir = tempfile::tempdir().unwrap();
    for (unit, subcommand) in [("slipgate-api.service", "serve"), ("slipgate-idp.service", "idp serve")] {
        let text = std::fs::read_to_string(unit_path(unit)).unwrap();
        let d = directives(&text);
        let value = |key: &str| -> Vec<&str> {
            d.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
        };
        for (key, expect) in [
            ("DynamicUser", "yes"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("StateDirectoryMode", "0700"),
            ("UMask", "0077"),
            ("CapabilityBoundingSet", ""),
            ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
            ("MemoryDenyWriteExecute", "yes"),
        ] {
            assert_eq!(value(key), [expect], "{unit}: {key}");
        }
        assert_eq!(value("SystemCallFilter"), ["@system-service", "~@privileged @resources"], "{unit}");
        let exec = value("ExecStart");
        let config = format!("/etc/slipgate/{}.toml", if unit.contains("api") { "api" } else { "idp" });
        assert_eq!(
            exec,
            [format!("/usr/local/bin/slipgate {subcommand} --config {config}").as_str()],
            "{unit}"
        );
        // The subcommand and flag the unit runs exist in this binary.
        let mut help: Vec<&str> = subcommand.split(' ').collect();
        help.push("--help");
        let out = slipgate(&help);
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("--config <FILE>"));

        // systemd checks the unit against this binary (it must exist and be executable).
        let local = dir.path().join(unit);
        std::fs::write(&local, text.replace("/usr/local/bin/slipgate", env!("CARGO_BIN_EXE_slipgate")))
            .unwrap();
        let out = systemd_analyze(&["verify".as_ref(), local.as_os_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "{unit}: verify said:\n{stderr}");
        let out = systemd_analyze(&["security".as_ref(), "--offline=yes".as_ref(), local.as_os_str()]);
        let report = String::from_utf8_lossy(&out.stdout);
        let score: f32 = report
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("{unit}: no exposure level in:\n{report}"))
            .parse()
            .unwrap();
        assert!(score <= 2.0, "{unit}: exposure {score} (\"OK\" is at most 2.0):\n{report}");
    }

    // The check itself is real: a misspelt value is reported.
    let broken = dir.path().join("broken.service");
    let text = std::fs::read_to_string(unit_path("slipgate-api.service")).unwrap();
    let text = text.replace("/usr/local/bin/slipgate", env!("CARGO_BIN_EXE_slipgate"));
    std::fs::write(&broken, text.replace("ProtectSystem=strict", "ProtectSystem=sometimes")).unwrap();
    let out = systemd_analyze(&["verify".as_ref(), broken.as_os_str()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("sometimes"));
}
