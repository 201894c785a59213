//! `slipgate keys new`: request-signing keys as files (SPEC §5).
//!
//! HMAC: `DIR/<id>.secret`, base64 of 32 random bytes. Ed25519 and ECDSA
//! P-256: `DIR/<id>.pem` (PKCS#8 private key) and `DIR/<id>.pub.pem` (SPKI).
//! Private files are created with mode 0600, and existing files are never
//! overwritten.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use slipgate_api::devpki::write_file;
use slipgate_httpsig::{Algorithm, SigningKey, to_pem};

/// A key written to disk.
#[derive(Debug)]
pub struct NewKey {
    /// The key id.
    pub id: String,
    /// Its algorithm.
    pub alg: Algorithm,
    /// The secret (HMAC) or private key (others) file.
    pub private_file: PathBuf,
    /// The SPKI public key file (not for HMAC).
    pub public_file: Option<PathBuf>,
}

impl NewKey {
    /// This key as an entry of the API's `signature.keys`.
    pub fn key_config(&self) -> slipgate_api::config::KeyConfig {
        let (secret_file, public_key_file) = match &self.public_file {
            Some(public) => (None, Some(public.clone())),
            None => (Some(self.private_file.clone()), None),
        };
        slipgate_api::config::KeyConfig {
            id: self.id.clone(),
            alg: self.alg.as_str().to_owned(),
            secret_file,
            public_key_file,
        }
    }

    /// The `[[signature.keys]]` entry for the API's configuration, as TOML
    /// (serialised, so any path is quoted correctly).
    pub fn config_entry(&self) -> anyhow::Result<String> {
        #[derive(serde::Serialize)]
        struct Entry {
            signature: Keys,
        }
        #[derive(serde::Serialize)]
        struct Keys {
            keys: Vec<slipgate_api::config::KeyConfig>,
        }
        Ok(toml::to_string(&Entry { signature: Keys { keys: vec![self.key_config()] } })?)
    }

    /// The base64 HMAC secret, read back from its file.
    pub fn secret_b64(&self) -> anyhow::Result<Option<String>> {
        if self.alg != Algorithm::HmacSha256 {
            return Ok(None);
        }
        Ok(Some(std::fs::read_to_string(&self.private_file)?.trim().to_owned()))
    }
}

fn check_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if !ok {
        bail!(
            "key id `{id}` must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' and '.', not starting with '.'"
        );
    }
    Ok(())
}

fn paths(dir: &Path, id: &str, alg: Algorithm) -> (PathBuf, Option<PathBuf>) {
    match alg {
        Algorithm::HmacSha256 => (dir.join(format!("{id}.secret")), None),
        _ => (dir.join(format!("{id}.pem")), Some(dir.join(format!("{id}.pub.pem")))),
    }
}

/// Creates a new key `id` of `alg` in `dir`; refuses to overwrite.
pub fn create(alg: Algorithm, id: &str, dir: &Path) -> anyhow::Result<NewKey> {
    check_id(id)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (private_file, public_file) = paths(dir, id, alg);
    for file in std::iter::once(&private_file).chain(public_file.iter()) {
        if file.exists() {
            bail!("{} already exists; choose another --id or remove it first", file.display());
        }
    }
    let (key, secret) = SigningKey::generate(alg)?;
    match &public_file {
        None => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(secret.expose());
            write_file(&private_file, format!("{b64}\n").as_bytes(), true)?;
        }
        Some(public) => {
            write_file(&private_file, to_pem("PRIVATE KEY", secret.expose()).as_bytes(), true)?;
            write_file(public, to_pem("PUBLIC KEY", &key.public_key_spki_der()?).as_bytes(), false)?;
        }
    }
    Ok(NewKey { id: id.to_owned(), alg, private_file, public_file })
}

/// The key `id` of `alg` in `dir`, created when its files are missing.
pub fn ensure(alg: Algorithm, id: &str, dir: &Path) -> anyhow::Result<NewKey> {
    let (private_file, public_file) = paths(dir, id, alg);
    if private_file.exists() && public_file.as_ref().is_none_or(|p| p.exists()) {
        return Ok(NewKey { id: id.to_owned(), alg, private_file, public_file });
    }
    create(alg, id, dir)
}
