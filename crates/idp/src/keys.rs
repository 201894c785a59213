//! The token-signing key (SPEC §4 "Files and keys"): an Ed25519 key in
//! `idp.signing_key_file` (PKCS#8 PEM, 0600), never in the database.
//!
//! - At first start the file is generated (0600 from creation). A key that an
//!   earlier version kept in the database is moved into the file and deleted
//!   from the database (its `kid` stays, so tokens it signed still verify).
//! - A key file open to group or others is refused, with the `chmod` to run.
//! - `slipgate idp keys rotate` ([`rotate`]) writes a new key to the file and
//!   records the old public key as retired in the database. Running servers
//!   re-read the file every [`RELOAD_SECS`]; the JWKS and introspection keep the
//!   retired key for `access_token_ttl` plus that reload delay and a minute of
//!   leeway, until every token it signed has expired, then drop it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = slipgate_idp::open_store("sqlite://slipgate-idp.db").await?;
//! let path = std::path::Path::new("signing-key.pem");
//! let rotation = slipgate_idp::keys::rotate(store.as_ref(), path, 1_767_225_600).await?;
//! println!("{} replaces {}", rotation.new_kid, rotation.old_kid);
//! # Ok(()) }
//! ```
//!
//! Threat (issue 13): the reviewer read the key from the 0644 database and
//! minted a one-year `salaryslip:any` token. Now the database holds no private
//! key, its files and the key file are 0600, and a user token also needs a live
//! session ([`crate::routes::introspect`]). Not covered: whoever can read the
//! key file (root, the server's user) can sign tokens; client-credentials
//! tokens have no session, so such a thief could mint one for a registered
//! client until the key is rotated.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use slipgate_httpsig::jose::{self, Jwk, Jwks, KeyLookup};

use crate::files::{self, FileError};
use crate::store::{RetiredKey, Store, StoreError};
use crate::tokens::AccessClaims;

/// How often a running server re-reads the key file and the retired keys.
pub const RELOAD_SECS: u64 = 5;
/// Clock leeway granted on top of a retired key's last token's lifetime.
const LEEWAY_SECS: i64 = 60;
/// Largest key file read.
const MAX_KEY_FILE: u64 = 16 * 1024;

/// Why the signing keys could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key file is unsafe or unreadable.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key does not parse, or a new one could not be made.
    #[error("signing key: {0}")]
    Key(String),
}

/// The outcome of [`rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that signed until now; published until its tokens expire.
    pub old_kid: String,
    /// The key that signs from now on.
    pub new_kid: String,
}

/// One Ed25519 private key as read from a file.
struct FileKey {
    kid: String,
    pair: Ed25519KeyPair,
}

impl FileKey {
    fn generate() -> Result<(Self, String), KeyError> {
        let pkcs8 = Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map_err(|_| KeyError::Key("cannot be generated".into()))?;
        let pem = slipgate_httpsig::to_pem("PRIVATE KEY", pkcs8.as_ref());
        Ok((Self::from_der(pkcs8.as_ref(), "a new key")?, pem))
    }

    fn from_der(der: &[u8], what: &str) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|_| KeyError::Key(format!("{what} is not an Ed25519 PKCS#8 private key")))?;
        let kid = Jwk::from_key_pair(&pair, "").thumbprint().map_err(|e| KeyError::Key(e.to_string()))?;
        Ok(Self { kid, pair })
    }

    /// Reads `path`, refusing a file open to group or others.
    fn read(path: &Path) -> Result<Self, KeyError> {
        files::check_private(path)?;
        let io = |source| FileError::Io { path: path.to_owned(), source };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_KEY_FILE {
            return Err(KeyError::Key(format!("{} is larger than a key file", path.display())));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let der = pem_private_key(&text).ok_or_else(|| {
            KeyError::Key(format!("{} does not hold a PEM `PRIVATE KEY` block", path.display()))
        })?;
        Self::from_der(&der, &path.display().to_string())
    }

    fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }
}

/// The DER inside the first `-----BEGIN PRIVATE KEY-----` block. Hand-written
/// (a dozen lines) rather than a PEM crate: one label, strict base64.
fn pem_private_key(text: &str) -> Option<Vec<u8>> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----");
    lines.next()?;
    let mut b64 = String::new();
    for line in lines {
        if line == "-----END PRIVATE KEY-----" {
            return STANDARD.decode(&b64).ok();
        }
        if line.starts_with("-----") || line.contains(':') {
            return None;
        }
        b64.push_str(line);
    }
    None
}

/// Makes sure `path` holds the signing key: moves a key an earlier version
/// kept in the database into it (then deletes it there), or generates one
/// when there is none. The file must not be open to group or others.
pub async fn prepare(store: &dyn Store, path: &Path, now: i64) -> Result<(), KeyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        files::create_private_dir(dir)?;
    }
    files::check_private(path)?;
    let legacy = store.legacy_signing_keys().await?;
    if let Some(signing) = legacy.first() {
        // The oldest key is the one that signed (the old rule); a file that is
        // already there wins, and every key from the database stays published
        // as retired so the tokens it signed keep verifying.
        let der = STANDARD
            .decode(&signing.pkcs8_b64)
            .map_err(|_| KeyError::Key(format!("stored key {} is not base64", signing.kid)))?;
        let key = FileKey::from_der(&der, &format!("stored key {}", signing.kid))?;
        if files::write_private_new(path, slipgate_httpsig::to_pem("PRIVATE KEY", &der).as_bytes())? {
            tracing::info!(kid = %key.kid, path = %path.display(), "moved the signing key out of the database");
        }
        let current = FileKey::read(path)?;
        for record in &legacy {
            let der = STANDARD.decode(&record.pkcs8_b64).map_err(|_| KeyError::Key("stored key".into()))?;
            let old = FileKey::from_der(&der, &format!("stored key {}", record.kid))?;
            if old.kid != current.kid {
                let public_key = old.public_key();
                store.insert_retired_key(&RetiredKey { kid: old.kid, public_key, retired_at: now }).await?;
            }
        }
        store.delete_legacy_signing_keys().await?;
    } else if !path.exists() {
        let (key, pem) = FileKey::generate()?;
        if files::write_private_new(path, pem.as_bytes())? {
            tracing::info!(kid = %key.kid, path = %path.display(), "created a token-signing key");
        }
    }
    FileKey::read(path).map(drop)
}

/// Replaces the key in `path` with a new one and records the old public key
/// as retired at `now`; servers pick the new key up within [`RELOAD_SECS`].
pub async fn rotate(store: &dyn Store, path: &Path, now: i64) -> Result<Rotation, KeyError> {
    prepare(store, path, now).await?;
    let old = FileKey::read(path)?;
    let (new, pem) = FileKey::generate()?;
    // Retire first: if the write fails, an extra published public key is harmless.
    let public_key = old.public_key();
    store.insert_retired_key(&RetiredKey { kid: old.kid.clone(), public_key, retired_at: now }).await?;
    files::replace_private(path, pem.as_bytes())?;
    tracing::info!(old_kid = %old.kid, new_kid = %new.kid, "rotated the token-signing key");
    Ok(Rotation { old_kid: old.kid, new_kid: new.kid })
}

/// What signs and what verifies at one moment.
struct KeySet {
    signing: FileKey,
    /// Retired public keys: (JWK, retired at).
    retired: Vec<(Jwk, i64)>,
}

/// The signing key and the published key set; reloaded by the server.
pub struct TokenKeys {
    path: PathBuf,
    /// Seconds a retired key stays published after its retirement.
    publish_secs: i64,
    set: RwLock<Arc<KeySet>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.kid())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The keys that verify at `now`: the signing one and retired ones still published.
struct Published<'a> {
    set: &'a KeySet,
    now: i64,
    publish_secs: i64,
}

impl Published<'_> {
    fn retired(&self) -> impl Iterator<Item = &Jwk> {
        self.set
            .retired
            .iter()
            .filter(|(_, at)| at.saturating_add(self.publish_secs) > self.now)
            .map(|(j, _)| j)
    }
}

impl KeyLookup for Published<'_> {
    fn ed25519_key(&self, kid: &str) -> Option<[u8; 32]> {
        if kid == self.set.signing.kid {
            return self.set.signing.pair.public_key().as_ref().try_into().ok();
        }
        self.retired().find_map(|jwk| jwk.ed25519_key(kid))
    }
}

impl TokenKeys {
    /// [`prepare`]s `path` and loads it with the retired keys; a retired key
    /// is published for `access_ttl` seconds (plus the reload delay and leeway).
    pub async fn load(store: &dyn Store, path: &Path, access_ttl: i64, now: i64) -> Result<Self, KeyError> {
        prepare(store, path, now).await?;
        let signing = FileKey::read(path)?;
        let retired = retired_jwks(store).await?;
        let publish_secs =
            access_ttl.saturating_add(i64::try_from(RELOAD_SECS).unwrap_or(0)).saturating_add(LEEWAY_SECS);
        Ok(Self {
            path: path.to_owned(),
            publish_secs,
            set: RwLock::new(Arc::new(KeySet { signing, retired })),
        })
    }

    /// Re-reads the key file and the retired keys. A key that was replaced
    /// behind our back (not by [`rotate`]) is retired here, so its tokens keep
    /// verifying. Keys retired long enough ago are forgotten. On error the
    /// keys in use stay.
    pub async fn reload(&self, store: &dyn Store, now: i64) -> Result<(), KeyError> {
        let signing = FileKey::read(&self.path)?;
        let current = self.current();
        if signing.kid != current.signing.kid {
            let public_key = current.signing.public_key();
            let kid = current.signing.kid.clone();
            store.insert_retired_key(&RetiredKey { kid, public_key, retired_at: now }).await?;
            tracing::info!(kid = %signing.kid, "signing with the key now in the key file");
        }
        // Gone from the JWKS exactly when forgotten: retired_at + publish <= now.
        store.delete_retired_keys(now.saturating_sub(self.publish_secs).saturating_add(1)).await?;
        let retired = retired_jwks(store).await?;
        *self.set.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(KeySet { signing, retired });
        Ok(())
    }

    fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The signing key's id.
    #[must_use]
    pub fn kid(&self) -> String {
        self.current().signing.kid.clone()
    }

    /// The file the key lives in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public keys at `now`, as served at `/.well-known/jwks.json`: the
    /// signing key first, then retired ones still published.
    #[must_use]
    pub fn jwks(&self, now: i64) -> Jwks {
        let set = self.current();
        let published = Published { set: &set, now, publish_secs: self.publish_secs };
        let mut keys = vec![Jwk::from_key_pair(&set.signing.pair, &set.signing.kid)];
        keys.extend(published.retired().cloned());
        Jwks { keys }
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, jose::JwtError> {
        let set = self.current();
        jose::sign_jwt(claims, &set.signing.kid, &set.signing.pair)
    }

    /// Verifies a token's signature against the keys published at `now`
    /// (claims unchecked).
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, jose::JwtError> {
        let set = self.current();
        jose::verify_jwt(token, &Published { set: &set, now, publish_secs: self.publish_secs })
    }
}

async fn retired_jwks(store: &dyn Store) -> Result<Vec<(Jwk, i64)>, KeyError> {
    let mut out = Vec::new();
    for key in store.retired_keys().await? {
        let raw = URL_SAFE_NO_PAD
            .decode(&key.public_key)
            .map_err(|_| KeyError::Key(format!("retired key {} is not base64url", key.kid)))?;
        let jwk = Jwk::ed25519(&raw, &key.kid).map_err(|e| KeyError::Key(e.to_string()))?;
        out.push((jwk, key.retired_at));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_back_a_generated_pem() {
        let (key, pem) = FileKey::generate().unwrap();
        let der = pem_private_key(&pem).unwrap();
        assert_eq!(FileKey::from_der(&der, "x").unwrap().kid, key.kid);
    }

    #[test]
    fn refuses_malformed_pem() {
        for bad in [
            "",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
            "-----BEGIN PRIVATE KEY-----\nProc-Type: 4\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert!(pem_private_key(bad).is_none(), "{bad}");
        }
    }
}
