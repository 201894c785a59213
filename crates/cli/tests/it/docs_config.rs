//! The configuration reference against the code: every key the loaders know has a row
//! in the docs, and the default a row shows is the one the code uses.
//!
//! The defaults come from `Config::default()` / `IdpConfig::default()` serialised as
//! TOML (what the loader starts from). A row's default is the first `code span` of its
//! second cell; a cell starting with `—` (a key without a default, such as `tls.cert`) is
//! not compared. Durations, sizes and rates are compared by value (`5m` = `300s`).

use std::collections::BTreeMap;
use std::path::Path;

/// `(section, key)` → the default cell, from the tables of a Markdown file. A table
/// row's key cell may name several keys (`` `tls.cert`, `tls.key` ``); keys without a
/// dot belong to the section of the nearest `` ## `[section]` `` heading above.
fn documented(text: &str) -> BTreeMap<(String, String), String> {
    let mut rows = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading
                .split('`')
                .nth(1)
                .filter(|s| s.starts_with('[') && s.ends_with(']'))
                .map(|s| s.trim_matches(['[', ']']).to_owned())
                .unwrap_or_default();
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        if !line.starts_with("| `") || cells.len() < 3 {
            continue;
        }
        let default = cells[1].trim().to_owned();
        for name in cells[0].trim_start_matches('|').split('`').skip(1).step_by(2) {
            let (sec, key) = match name.split_once('.') {
                Some((s, k)) => (s.to_owned(), k.to_owned()),
                None => (section.clone(), name.to_owned()),
            };
            // `claims.emp_id` in the `[auth]` table is `auth.claims.emp_id` too.
            if name.contains('.') && !section.is_empty() {
                rows.entry((section.clone(), name.to_owned())).or_insert_with(|| default.clone());
            }
            rows.entry((sec, key)).or_insert_with(|| default.clone());
        }
    }
    rows
}

/// A default as the docs write it: strings bare, everything else as TOML.
fn shown(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Two defaults agree when equal, or when both parse as the same duration, size or rate.
fn same(doc: &str, code: &str) -> bool {
    use slipgate_proto::units::{ByteSize, HumanDuration, Rate};
    fn parsed<T: std::str::FromStr + PartialEq>(a: &str, b: &str) -> bool {
        matches!((a.parse::<T>(), b.parse::<T>()), (Ok(x), Ok(y)) if x == y)
    }
    doc == code
        || parsed::<HumanDuration>(doc, code)
        || parsed::<ByteSize>(doc, code)
        || parsed::<Rate>(doc, code)
}

/// Every `(section, key)` with its default; a nested table's keys are `key.sub`.
fn leaves(defaults: toml::Table) -> Vec<(String, String, toml::Value)> {
    let mut out = Vec::new();
    for (section, value) in defaults {
        let toml::Value::Table(keys) = value else { continue };
        let mut pending: Vec<(String, toml::Value)> = keys.into_iter().collect();
        while let Some((key, value)) = pending.pop() {
            match value {
                toml::Value::Table(sub) => {
                    pending.extend(sub.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)))
                }
                value => out.push((section.clone(), key, value)),
            }
        }
    }
    out
}

/// Checks every leaf of `defaults` against `rows`; returns what disagrees.
fn check(doc: &str, defaults: toml::Table, rows: &BTreeMap<(String, String), String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (section, key, value) in leaves(defaults) {
        // `auth.claims.emp_id` may be a row of `[auth]` or of `[auth.claims]`.
        let nested = key.rsplit_once('.').map(|(head, last)| (format!("{section}.{head}"), last.to_owned()));
        let row = rows.get(&(section.clone(), key.clone())).or_else(|| nested.and_then(|n| rows.get(&n)));
        let Some(cell) = row else {
            problems.push(format!("{doc} has no row for `{section}.{key}` (default {})", shown(&value)));
            continue;
        };
        if cell.starts_with('—') {
            continue;
        }
        let documented = cell.split('`').nth(1).unwrap_or(cell);
        if !same(documented, &shown(&value)) {
            problems.push(format!(
                "{doc}: `{section}.{key}` is documented as `{documented}`, the code's default is `{}`",
                shown(&value)
            ));
        }
    }
    problems
}

fn read(doc: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(doc)).unwrap()
}

#[test]
fn configuration_reference_lists_every_api_key_with_the_codes_default() {
    let rows = documented(&read("docs/configuration.md"));
    let defaults = toml::Table::try_from(slipgate_api::Config::default()).unwrap();
    // Guards the parse itself: the API has dozens of keys with a default.
    let count = leaves(defaults.clone()).len();
    assert!(count >= 30, "only {count} keys in the defaults");
    let problems = check("docs/configuration.md", defaults, &rows);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn identity_server_reference_lists_every_idp_key_with_the_codes_default() {
    let rows = documented(&read("docs/identity-server.md"));
    let defaults = toml::Table::try_from(slipgate_idp::IdpConfig::default()).unwrap();
    let problems = check("docs/identity-server.md", defaults, &rows);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn config_reference_check_catches_a_wrong_default_and_a_missing_row() {
    let text = "## `[limits]`\n\n| key | default | meaning |\n|---|---|---|\n\
                | `max_body` | `16KiB` | … |\n| `idle_timeout` | `1m` | … |\n| `cert` | — (required) | … |\n";
    let rows = documented(text);
    let table = |pairs: &[(&str, toml::Value)]| {
        let mut keys = toml::Table::new();
        for (k, v) in pairs {
            keys.insert((*k).to_owned(), v.clone());
        }
        let mut t = toml::Table::new();
        t.insert("limits".to_owned(), toml::Value::Table(keys));
        t
    };
    let s = |v: &str| toml::Value::String(v.to_owned());
    // 16KiB = 16384B and 1m = 60s agree; the required row is not compared.
    let ok = table(&[("max_body", s("16384B")), ("idle_timeout", s("60s")), ("cert", s("/x.pem"))]);
    assert_eq!(check("x.md", ok, &rows), Vec::<String>::new());
    let wrong = table(&[("max_body", s("32KiB"))]);
    assert_eq!(check("x.md", wrong, &rows).len(), 1);
    let missing = table(&[("max_connections", toml::Value::Integer(10))]);
    assert!(check("x.md", missing, &rows)[0].contains("no row for `limits.max_connections`"));

    // A nested table's keys: a dotted row of the section's table.
    let rows =
        documented("## `[auth]`\n\n| key | default |\n|---|---|\n| `claims.emp_id` | `emp_id` | … |\n");
    let mut claims = toml::Table::new();
    claims.insert("emp_id".to_owned(), s("emp_id"));
    let mut nested = toml::Table::new();
    nested.insert("claims".to_owned(), toml::Value::Table(claims.clone()));
    let mut defaults = toml::Table::new();
    defaults.insert("auth".to_owned(), toml::Value::Table(nested));
    assert_eq!(check("x.md", defaults.clone(), &rows), Vec::<String>::new());
    claims.insert("emp_code".to_owned(), s("emp_code"));
    let mut nested = toml::Table::new();
    nested.insert("claims".to_owned(), toml::Value::Table(claims));
    defaults.insert("auth".to_owned(), toml::Value::Table(nested));
    assert!(check("x.md", defaults, &rows)[0].contains("no row for `auth.claims.emp_code`"));
}
