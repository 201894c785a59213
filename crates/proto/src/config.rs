//! Layered configuration shared by every Slipgate binary (SPEC §6): built-in
//! defaults → a TOML file → `SLIPGATE_<SECTION>__<KEY>` environment variables →
//! command-line overrides, then strict deserialization (unknown keys are
//! errors) and a whole-config [`Validate`] check.
//!
//! ```
//! use serde::Deserialize;
//! use slipgate_proto::config::{ConfigError, ConfigLoader, Validate};
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Demo { server: Server }
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Server { listen: String }
//! impl Validate for Demo {
//!     fn validate(&self) -> Result<(), ConfigError> { Ok(()) }
//! }
//!
//! let demo: Demo = ConfigLoader::new()
//!     .env_from([("SLIPGATE_SERVER__LISTEN".to_owned(), "127.0.0.1:0".to_owned())])?
//!     .load()?;
//! assert_eq!(demo.server.listen, "127.0.0.1:0");
//! # Ok::<(), ConfigError>(())
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A whole-configuration check run after deserialization.
pub trait Validate {
    /// Checks what deserialization cannot; the error names the key and the fix.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML (file, environment or override) is malformed or has unknown keys.
    #[error("invalid configuration{origin}: {message}")]
    Invalid {
        /// Where the bad value came from, e.g. ` in api.toml`.
        origin: String,
        /// toml's message, which names the key.
        message: String,
    },
    /// An override was not `section.key=value`.
    #[error("invalid override `{0}`: expected section.key=value")]
    Override(String),
    /// A value is well-formed but unusable.
    #[error("invalid value for `{key}`: {message}")]
    Value {
        /// The dotted key.
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// `[log]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `json` or `pretty`; unset: `pretty` when stderr is a terminal, `json`
    /// otherwise (SPEC §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<LogFormat>,
}

impl LogConfig {
    /// The format to use when stderr is (or is not) a terminal.
    pub fn resolve(&self, stderr_is_terminal: bool) -> LogFormat {
        self.format.unwrap_or(if stderr_is_terminal { LogFormat::Pretty } else { LogFormat::Json })
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-friendly lines (colour only on a terminal).
    Pretty,
}

/// Builds a configuration from its layers.
#[derive(Debug, Default)]
pub struct ConfigLoader {
    table: toml::Table,
}

impl ConfigLoader {
    /// Starts from the built-in defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Layers a TOML file over what is there.
    pub fn file(mut self, path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            origin: format!(" in {}", path.display()),
            message: e.message().to_owned(),
        })?;
        merge(&mut self.table, table);
        Ok(self)
    }

    /// Layers `SLIPGATE_<SECTION>__<KEY>` variables from the process environment.
    pub fn env(self) -> Result<Self, ConfigError> {
        self.env_from(std::env::vars())
    }

    /// Layers `SLIPGATE_<SECTION>__<KEY>` variables from `vars`.
    pub fn env_from(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("SLIPGATE_") else { continue };
            if !rest.contains("__") {
                continue;
            }
            // `SLIPGATE_AUTH__CLAIMS__EMP_ID` is `auth.claims.emp_id`: `__` separates levels.
            let dotted = rest.to_ascii_lowercase().replace("__", ".");
            self.set(&dotted, &value, &format!(" in environment variable {name}"))?;
        }
        Ok(self)
    }

    /// Layers one `section.key=value` override (command-line flags).
    pub fn set_override(mut self, assignment: &str) -> Result<Self, ConfigError> {
        let (key, value) =
            assignment.split_once('=').ok_or_else(|| ConfigError::Override(assignment.to_owned()))?;
        self.set(key.trim(), value.trim(), &format!(" in override `{key}`"))?;
        Ok(self)
    }

    fn set(&mut self, dotted: &str, raw: &str, origin: &str) -> Result<(), ConfigError> {
        // `section.key`, or deeper for a table inside a section (`auth.claims.emp_id`).
        let mut path: Vec<&str> = dotted.split('.').collect();
        let key = path.pop().filter(|k| !k.is_empty() && !path.is_empty());
        let Some(key) = key else {
            return Err(ConfigError::Override(dotted.to_owned()));
        };
        // A value that parses as TOML (a number, an array, a quoted string) is
        // taken as such; anything else is a plain string.
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let mut table = &mut self.table;
        for name in path {
            let entry =
                table.entry(name.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(inner) = entry else {
                return Err(ConfigError::Invalid {
                    origin: origin.to_owned(),
                    message: format!("`{name}` is not a section"),
                });
            };
            table = inner;
        }
        table.insert(key.to_owned(), value);
        Ok(())
    }

    /// Layers a typed configuration value over what is there: every key it
    /// serialises replaces the one below. A program that sets keys itself
    /// (`slipgate dev`, the test fixtures) builds the config struct and layers
    /// it here instead of formatting TOML text, so no value needs escaping.
    pub fn layer<T: Serialize>(mut self, value: &T) -> Result<Self, ConfigError> {
        let toml::Value::Table(table) = toml::Value::try_from(value).map_err(|e| ConfigError::Invalid {
            origin: " in a built-in layer".to_owned(),
            message: e.to_string(),
        })?
        else {
            return Err(ConfigError::Invalid {
                origin: " in a built-in layer".to_owned(),
                message: "a layer must be a table of sections".to_owned(),
            });
        };
        merge(&mut self.table, table);
        Ok(self)
    }

    /// Removes section `name` from the layers and returns it as a loader of
    /// its own (`slipgate dev` splits its `[idp]` section off this way).
    pub fn take_section(&mut self, name: &str) -> ConfigLoader {
        let mut table = toml::Table::new();
        if let Some(toml::Value::Table(section)) = self.table.remove(name) {
            table.insert(name.to_owned(), toml::Value::Table(section));
        }
        ConfigLoader { table }
    }

    /// Deserializes and validates the layered table.
    pub fn load<T: DeserializeOwned + Validate>(self) -> Result<T, ConfigError> {
        self.load_with(|_: &mut T| {})
    }

    /// [`ConfigLoader::load`] with a last, typed layer: `last` sets fields on
    /// the deserialized value (winning over every layer below), then the whole
    /// result is validated. For values known only at run time, such as the
    /// address of a listener `slipgate dev` has just bound.
    pub fn load_with<T: DeserializeOwned + Validate>(
        self,
        last: impl FnOnce(&mut T),
    ) -> Result<T, ConfigError> {
        let mut config: T = self.table.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid {
            origin: String::new(),
            message: e.message().to_owned(),
        })?;
        last(&mut config);
        config.validate()?;
        Ok(config)
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(default)]
        server: Server,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Server {
        #[serde(default)]
        name: String,
        #[serde(default)]
        path: Option<PathBuf>,
    }

    impl Validate for Demo {
        fn validate(&self) -> Result<(), ConfigError> {
            if self.server.name.is_empty() {
                return Err(ConfigError::Value { key: "server.name", message: "must be set".into() });
            }
            Ok(())
        }
    }

    fn demo(name: &str, path: &str) -> Demo {
        Demo { server: Server { name: name.to_owned(), path: Some(PathBuf::from(path)) } }
    }

    #[test]
    fn typed_layer_keeps_quotes_and_backslashes_verbatim() {
        let tricky = r#"C:\dir "quoted" \u0041 ' = ]"#;
        let config: Demo = ConfigLoader::new().layer(&demo("n", tricky)).unwrap().load().unwrap();
        assert_eq!(config.server.path.unwrap(), PathBuf::from(tricky));
    }

    #[test]
    fn later_layers_win_over_a_typed_layer() {
        let config: Demo = ConfigLoader::new()
            .layer(&demo("typed", "/typed"))
            .unwrap()
            .set_override("server.name=flag")
            .unwrap()
            .load()
            .unwrap();
        assert_eq!(config.server.name, "flag");
        assert_eq!(config.server.path.unwrap(), PathBuf::from("/typed"), "untouched keys stay");
    }

    #[test]
    fn typed_layer_replaces_only_the_keys_it_sets() {
        let config: Demo = ConfigLoader::new()
            .set_override("server.path=\"/below\"")
            .unwrap()
            .layer(&Demo { server: Server { name: "typed".into(), path: None } })
            .unwrap()
            .load()
            .unwrap();
        assert_eq!(config.server.name, "typed");
        assert_eq!(config.server.path.unwrap(), PathBuf::from("/below"), "None serialises to no key");
    }

    #[test]
    fn last_layer_wins_and_is_validated() {
        let config: Demo = ConfigLoader::new()
            .set_override("server.name=flag")
            .unwrap()
            .load_with(|c: &mut Demo| c.server.name = "last".into())
            .unwrap();
        assert_eq!(config.server.name, "last");
        let refused = ConfigLoader::new()
            .set_override("server.name=flag")
            .unwrap()
            .load_with(|c: &mut Demo| c.server.name.clear());
        assert!(matches!(refused, Err(ConfigError::Value { key: "server.name", .. })), "{refused:?}");
    }

    #[test]
    fn typed_layer_that_is_not_a_table_is_refused() {
        let refused = ConfigLoader::new().layer(&"just a string");
        assert!(matches!(refused, Err(ConfigError::Invalid { .. })), "{refused:?}");
    }
}
