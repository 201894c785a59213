//! Client profiles and the flags that override them (SPEC §5).
//!
//! A profile is a small TOML file under `$XDG_CONFIG_HOME/slipgate/profiles/`
//! (default `~/.config/slipgate/profiles/`); `slipgate dev` writes `default`.
//! Tokens live beside them in `tokens/<profile>.json`, mode 0600, and the
//! API's response keys pinned on first use in `pins/<profile>.json` (0600, in
//! a 0700 directory) unless the profile names them outright (`server_keys`).
//!
//! A profile that names no registry key (`key_id`/`key_file`, or the flags
//! `--key-id`/`--key-file`) signs with its device key,
//! `keys/<profile>.pem` (0600, in a 0700 directory), which `slipgate login`
//! creates and `slipgate logout` deletes (SPEC §5).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use serde::{Deserialize, Serialize};
use slipgate_client::origin::{Service, parse_origin};

/// Where a client talks to and with which key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The API, `https://…`.
    pub api_url: Option<String>,
    /// The identity server, `https://…`.
    pub idp_url: Option<String>,
    /// PEM CA to trust for both (system roots when unset).
    pub ca_file: Option<PathBuf>,
    /// The registry signing key id (unset: the profile's device key signs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The registry signing key file (`.secret` or PKCS#8 `.pem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// A client certificate for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// Its private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_key_file: Option<PathBuf>,
    /// A JWKS file holding exactly the API's response keys to trust; when
    /// set, nothing is pinned on first use (SPEC §3.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_keys: Option<PathBuf>,
}

/// The flags every client command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// A profile name (under the config directory) or a profile file path.
    #[arg(long, value_name = "NAME|FILE", default_value = "default", global = true)]
    pub profile: String,
    /// The API URL (overrides the profile).
    #[arg(long, value_name = "URL", global = true)]
    pub api: Option<String>,
    /// The identity server URL (overrides the profile).
    #[arg(long, value_name = "URL", global = true)]
    pub idp: Option<String>,
    /// A PEM CA file to trust (overrides the profile).
    #[arg(long, value_name = "FILE", global = true)]
    pub ca: Option<PathBuf>,
    /// A registry signing key id (overrides the profile; with --key-file,
    /// instead of the profile's device key).
    #[arg(long, value_name = "ID", global = true)]
    pub key_id: Option<String>,
    /// The registry signing key file (overrides the profile).
    #[arg(long, value_name = "FILE", global = true)]
    pub key_file: Option<PathBuf>,
    /// A client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", global = true, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs --cert.
    #[arg(long, value_name = "FILE", global = true, requires = "cert")]
    pub key: Option<PathBuf>,
}

/// A profile with every field the command needs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The profile's name (or file), as given to `--profile`.
    pub profile: String,
    pub api_url: String,
    pub idp_url: String,
    pub ca_file: Option<PathBuf>,
    pub signing: Signing,
    pub token_file: PathBuf,
    pub identity: Option<(PathBuf, PathBuf)>,
    pub trust: Trust,
}

/// How a profile signs its requests.
#[derive(Debug, Clone)]
pub enum Signing {
    /// A key of the API's `signature.keys`, with `Bearer` tokens (service clients).
    Registry { key_id: String, key_file: PathBuf },
    /// The profile's own device key, with tokens bound to it (`HTTPSig`).
    Device { key_file: PathBuf },
}

/// Which response keys a profile trusts.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The profile file.
    pub profile_file: PathBuf,
    /// `server_keys` of the profile: exactly these keys.
    pub server_keys: Option<PathBuf>,
    /// Otherwise, where the first use pins them.
    pub pin_file: PathBuf,
}

impl Trust {
    /// The SDK's view of it.
    pub fn server_keys(&self) -> anyhow::Result<slipgate_client::ServerKeys> {
        Ok(match &self.server_keys {
            Some(file) => slipgate_client::ServerKeys::from_file(file)
                .with_context(|| format!("server_keys of the profile {}", self.profile_file.display()))?,
            None => slipgate_client::ServerKeys::Pinned(slipgate_client::PinStore::file(&self.pin_file)),
        })
    }
}

/// What `slipgate keys pin` needs of a profile.
#[derive(Debug, Clone)]
pub struct PinTarget {
    pub api_url: String,
    pub ca_file: Option<PathBuf>,
    pub identity: Option<(PathBuf, PathBuf)>,
    pub trust: Trust,
}

/// `$XDG_CONFIG_HOME/slipgate` or `~/.config/slipgate`.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("slipgate"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("neither XDG_CONFIG_HOME nor HOME is set"))?;
    Ok(PathBuf::from(home).join(".config").join("slipgate"))
}

fn is_path(profile: &str) -> bool {
    profile.contains('/') || profile.ends_with(".toml")
}

/// The file of profile `name` (a name or a path).
pub fn profile_path(name: &str) -> anyhow::Result<PathBuf> {
    if is_path(name) {
        return Ok(PathBuf::from(name));
    }
    Ok(config_dir()?.join("profiles").join(format!("{name}.toml")))
}

fn stem(name: &str) -> String {
    if is_path(name) {
        Path::new(name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".into())
    } else {
        name.to_owned()
    }
}

/// Where profile `name`'s device key lives.
pub fn device_key_path(name: &str) -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("keys").join(format!("{}.pem", stem(name))))
}

fn token_path(name: &str) -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("tokens").join(format!("{}.json", stem(name))))
}

/// Where profile `name`'s response keys are pinned.
pub fn pin_path(name: &str) -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("pins").join(format!("{}.json", stem(name))))
}

impl Profile {
    /// Reads a profile file; a missing default profile is empty.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("invalid profile {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read profile {}", path.display())),
        }
    }

    /// Writes the profile (0600: it names key files).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string(self)?;
        slipgate_proto::files::write_atomic(path, text.as_bytes(), true)
            .with_context(|| format!("cannot write profile {}", path.display()))
    }
}

impl ClientArgs {
    /// The API, TLS settings and key trust of the profile with the flags applied.
    pub fn resolve_pin_target(&self) -> anyhow::Result<PinTarget> {
        let path = profile_path(&self.profile)?;
        let p = Profile::load(&path)?;
        let api_url = self.api.clone().or(p.api_url.clone()).ok_or_else(|| {
            anyhow!(
                "no API URL: pass --api or set it in the profile {} (`slipgate dev` writes one)",
                path.display()
            )
        })?;
        checked_origin(&api_url, Service::Api, self.api.is_some(), "--api", "api_url", &path)?;
        Ok(PinTarget {
            api_url,
            ca_file: self.ca.clone().or(p.ca_file.clone()),
            identity: self.identity(&p)?,
            trust: self.trust(&path, &p)?,
        })
    }

    fn identity(&self, p: &Profile) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
        match (self.cert.clone().or(p.cert_file.clone()), self.key.clone().or(p.cert_key_file.clone())) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            _ => Err(anyhow!("a client certificate needs both --cert and --key")),
        }
    }

    fn trust(&self, path: &Path, p: &Profile) -> anyhow::Result<Trust> {
        // A relative server_keys path is relative to the profile file.
        let server_keys = p.server_keys.as_ref().map(|file| match path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.clone(),
        });
        Ok(Trust { profile_file: path.to_owned(), server_keys, pin_file: pin_path(&self.profile)? })
    }

    /// The profile with the flags applied; names what is missing and how to set it.
    pub fn resolve(&self) -> anyhow::Result<Resolved> {
        let path = profile_path(&self.profile)?;
        let p = Profile::load(&path)?;
        let missing = |what: &str, flag: &str| {
            anyhow!(
                "no {what}: pass {flag} or set it in the profile {} (`slipgate dev` writes one)",
                path.display()
            )
        };
        let identity = self.identity(&p)?;
        let trust = self.trust(&path, &p)?;
        let api_url = self.api.clone().or(p.api_url).ok_or_else(|| missing("API URL", "--api"))?;
        let idp_url =
            self.idp.clone().or(p.idp_url).ok_or_else(|| missing("identity server URL", "--idp"))?;
        // Before any connection: a wrong URL is named here, not as a failed request.
        checked_origin(&api_url, Service::Api, self.api.is_some(), "--api", "api_url", &path)?;
        checked_origin(&idp_url, Service::IdentityServer, self.idp.is_some(), "--idp", "idp_url", &path)?;
        Ok(Resolved {
            profile: self.profile.clone(),
            api_url,
            idp_url,
            ca_file: self.ca.clone().or(p.ca_file),
            signing: match (self.key_id.clone().or(p.key_id), self.key_file.clone().or(p.key_file)) {
                (Some(key_id), Some(key_file)) => Signing::Registry { key_id, key_file },
                (None, None) => Signing::Device { key_file: device_key_path(&self.profile)? },
                (Some(_), None) => return Err(missing("signing key file for the key id", "--key-file")),
                (None, Some(_)) => return Err(missing("signing key id for the key file", "--key-id")),
            },
            token_file: token_path(&self.profile)?,
            identity,
            trust,
        })
    }

    /// The HTTPS client for `resolved`: its CA, and its certificate for mutual TLS.
    pub fn https(resolved: &Resolved, timeout: std::time::Duration) -> anyhow::Result<reqwest::Client> {
        https_for(resolved.ca_file.as_deref(), resolved.identity.as_ref(), timeout)
    }
}

/// Checks that `url` is an `https://` origin ([`parse_origin`]); the error
/// says where the URL came from (`flag`, or `key` in the profile `path`).
fn checked_origin(
    url: &str,
    service: Service,
    from_flag: bool,
    flag: &str,
    key: &str,
    path: &Path,
) -> anyhow::Result<()> {
    match parse_origin(url, service) {
        Ok(_) => Ok(()),
        Err(e) if from_flag => Err(anyhow!("{flag}: {e}")),
        Err(e) => Err(anyhow!("{key} in the profile {}: {e}", path.display())),
    }
}

/// An HTTPS client trusting `ca` and presenting `identity` for mutual TLS.
pub fn https_for(
    ca: Option<&Path>,
    identity: Option<&(PathBuf, PathBuf)>,
    timeout: std::time::Duration,
) -> anyhow::Result<reqwest::Client> {
    Ok(match identity {
        Some((cert, key)) => slipgate_client::https_client_mtls(ca, (cert, key), timeout)?,
        None => slipgate_client::https_client(ca, timeout)?,
    })
}
