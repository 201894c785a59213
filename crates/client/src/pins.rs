//! Which response-signing keys the SDK trusts (SPEC §3.8, §5 `slipgate keys pin`).
//!
//! An answer is believed only when signed by a key of the trusted set. That
//! set is either named outright ([`ServerKeys::Fixed`], e.g. the JWKS file a
//! profile's `server_keys` names: nothing is ever fetched), or pinned on first
//! use ([`ServerKeys::Pinned`]): the first time the client needs the keys it
//! fetches `/.well-known/slipgate-keys`, and that set is kept in a
//! [`PinStore`] — a 0600 file (`slipgate` keeps one per profile in
//! `$XDG_CONFIG_HOME/slipgate/pins/<profile>.json`) or, for a store without a
//! file, the client's memory. Later, an answer signed by a key outside the
//! pinned set makes the client fetch the served set once more: when that
//! differs from the pinned one the answer is refused with
//! [`ClientError::ServerKeysChanged`], until the user re-pins
//! ([`PinStore::repin`], `slipgate keys pin`) after an announced rotation.
//!
//! A man in the middle holding a certificate the client trusts can serve its
//! own key set, but not make the client believe it once the real set is
//! pinned. The first use itself is trusted: pin over a network you trust, or
//! name the keys outright.
//!
//! ```
//! # fn main() -> Result<(), slipgate_client::ClientError> {
//! use slipgate_client::pins::PinStore;
//! use slipgate_httpsig::jose::{Jwk, Jwks};
//!
//! let dir = tempfile::tempdir().map_err(|e| slipgate_client::ClientError::Config(e.to_string()))?;
//! let store = PinStore::file(dir.path().join("pins/default.json"));
//! assert!(store.load()?.is_none(), "nothing pinned yet");
//! let keys = Jwks { keys: vec![Jwk::ed25519(&[7u8; 32], "k1").map_err(|e| slipgate_client::ClientError::Config(e.to_string()))?] };
//! store.pin(&keys, "https://127.0.0.1:8443")?;
//! assert_eq!(store.load()?, Some(keys));
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use slipgate_httpsig::jose::{Jwk, Jwks};

use crate::ClientError;

/// Largest key-set document read, from a file or the network.
pub const MAX_KEYS_DOCUMENT: usize = 64 * 1024;

/// Where the trusted response keys come from.
#[derive(Debug, Clone)]
pub enum ServerKeys {
    /// Exactly this set, never fetched; `source` names it in errors (a file path).
    Fixed {
        /// The keys.
        keys: Arc<Jwks>,
        /// Where they came from, for messages.
        source: String,
    },
    /// Trust on first use, kept in this store.
    Pinned(PinStore),
}

impl ServerKeys {
    /// The fixed set in a JWKS file (as served at `/.well-known/slipgate-keys`).
    pub fn from_file(path: &Path) -> Result<Self, ClientError> {
        let keys = read_jwks_file(path)?;
        if usable_kids(&keys).is_empty() {
            return Err(ClientError::Config(format!("{} holds no usable Ed25519 key", path.display())));
        }
        Ok(Self::Fixed { keys: Arc::new(keys), source: path.display().to_string() })
    }
}

impl Default for ServerKeys {
    /// Pinned on first use, in memory only (for this client's lifetime).
    fn default() -> Self {
        Self::Pinned(PinStore::memory())
    }
}

/// The pin file: a JWK set (so it can serve as a `server_keys` file too) plus
/// the URL it was fetched from.
#[derive(Debug, Serialize, Deserialize)]
struct PinFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_url: Option<String>,
    keys: Vec<Jwk>,
}

fn read_jwks_file(path: &Path) -> Result<Jwks, ClientError> {
    let bytes = read_bounded(path)?
        .ok_or_else(|| ClientError::Config(format!("key set file {} does not exist", path.display())))?;
    let file: PinFile = serde_json::from_slice(&bytes)
        .map_err(|e| ClientError::Config(format!("{} is not a JWK set: {e}", path.display())))?;
    Ok(Jwks { keys: file.keys })
}

fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, ClientError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_KEYS_DOCUMENT as u64 => {
            return Err(ClientError::Config(format!("{} is too large for a key set", path.display())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ClientError::Config(format!("cannot read {}: {e}", path.display()))),
    }
    std::fs::read(path)
        .map(Some)
        .map_err(|e| ClientError::Config(format!("cannot read {}: {e}", path.display())))
}

/// The usable keys of a set as `kid:x` pairs: two sets are "the same" when
/// these agree, whatever their order or other members.
fn usable_kids(keys: &Jwks) -> BTreeSet<(String, String)> {
    keys.keys
        .iter()
        .filter(|k| k.ed25519_public_key().is_ok())
        .filter_map(|k| k.kid.clone().map(|kid| (kid, k.x.clone())))
        .collect()
}

/// Whether `a` and `b` hold the same usable keys under the same ids.
pub fn same_keys(a: &Jwks, b: &Jwks) -> bool {
    usable_kids(a) == usable_kids(b)
}

/// The key ids of a set, for messages.
pub fn describe(keys: &Jwks) -> String {
    let kids: Vec<String> = usable_kids(keys).into_iter().map(|(kid, _)| kid).collect();
    if kids.is_empty() { "no usable key".to_owned() } else { kids.join(", ") }
}

/// Keeps the pinned key set of one profile; clones share it.
#[derive(Debug, Clone)]
pub struct PinStore {
    inner: Arc<PinInner>,
}

#[derive(Debug)]
struct PinInner {
    path: Option<PathBuf>,
    /// What is pinned, once read (or pinned) by this process.
    cached: Mutex<Option<Jwks>>,
    /// Serialises first use, so concurrent requests pin one set.
    first_use: tokio::sync::Mutex<()>,
}

impl PinStore {
    /// Pins kept in memory only: the first set this client sees is trusted
    /// for its lifetime.
    pub fn memory() -> Self {
        Self::with_path(None)
    }

    /// Pins kept in `path` (created 0600, its directory 0700, on first use).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::with_path(Some(path.into()))
    }

    fn with_path(path: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(PinInner {
                path,
                cached: Mutex::new(None),
                first_use: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The pin file, if this store has one.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    fn describe_path(&self) -> String {
        self.path().map_or_else(|| "this client's memory".to_owned(), |p| p.display().to_string())
    }

    /// The pinned set, if any.
    pub fn load(&self) -> Result<Option<Jwks>, ClientError> {
        if let Some(keys) = self.inner.cached.lock().ok().and_then(|c| c.clone()) {
            return Ok(Some(keys));
        }
        let Some(path) = self.path() else { return Ok(None) };
        if read_bounded(path)?.is_none() {
            return Ok(None);
        }
        let keys = read_jwks_file(path)?;
        if let Ok(mut cached) = self.inner.cached.lock() {
            *cached = Some(keys.clone());
        }
        Ok(Some(keys))
    }

    /// Pins `keys`, fetched from `api_url`, replacing what was pinned.
    pub fn pin(&self, keys: &Jwks, api_url: &str) -> Result<(), ClientError> {
        if let Some(path) = self.path() {
            let file = PinFile { api_url: Some(api_url.to_owned()), keys: keys.keys.clone() };
            let mut text =
                serde_json::to_vec_pretty(&file).map_err(|e| ClientError::Config(e.to_string()))?;
            text.push(b'\n');
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            crate::files::write_private(path, &text)?;
        }
        if let Ok(mut cached) = self.inner.cached.lock() {
            *cached = Some(keys.clone());
        }
        Ok(())
    }

    /// The pinned set, pinning `fetch()`'s on first use.
    pub(crate) async fn load_or_pin<F, Fut>(&self, api_url: &str, fetch: F) -> Result<Jwks, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Jwks, ClientError>>,
    {
        if let Some(keys) = self.load()? {
            return Ok(keys);
        }
        let _first = self.inner.first_use.lock().await;
        if let Some(keys) = self.load()? {
            return Ok(keys);
        }
        let keys = fetch().await?;
        if usable_kids(&keys).is_empty() {
            return Err(ClientError::ResponseSignature("the API publishes no usable response key".into()));
        }
        self.pin(&keys, api_url)?;
        tracing::info!(
            keys = %describe(&keys),
            pinned_in = %self.describe_path(),
            "pinned the API's response keys on first use"
        );
        Ok(keys)
    }

    /// Fetches the API's current key set and pins it (`slipgate keys pin`):
    /// returns what was pinned before, if anything, and what is pinned now.
    pub async fn repin(
        &self,
        http: &reqwest::Client,
        api_url: &str,
    ) -> Result<(Option<Jwks>, Jwks), ClientError> {
        let before = self.load()?;
        let url = keys_url(api_url)?;
        let keys = fetch_keys(http, &url).await?;
        if usable_kids(&keys).is_empty() {
            return Err(ClientError::ResponseSignature("the API publishes no usable response key".into()));
        }
        self.pin(&keys, api_url)?;
        Ok((before, keys))
    }

    /// The error for an answer signed outside the pinned set while the API
    /// serves `served`, different from `pinned`.
    pub(crate) fn changed(&self, api_url: &str, pinned: &Jwks, served: &Jwks) -> ClientError {
        ClientError::ServerKeysChanged(format!(
            "the API at {api_url} now serves response keys [{}], not the ones pinned in {} [{}]. \
             If the API's operators announced a key rotation, run `slipgate keys pin` (or \
             PinStore::repin) to trust the new keys; otherwise someone may be intercepting the connection",
            describe(served),
            self.describe_path(),
            describe(pinned),
        ))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), ClientError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ClientError::Config(format!("cannot create {}: {e}", dir.display())))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), ClientError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ClientError::Config(format!("cannot create {}: {e}", dir.display())))
}

/// `<api_url>/.well-known/slipgate-keys`.
pub fn keys_url(api_url: &str) -> Result<reqwest::Url, ClientError> {
    crate::origin::parse_origin(api_url, crate::origin::Service::Api)?
        .join("/.well-known/slipgate-keys")
        .map_err(|e| ClientError::Config(format!("cannot derive the keys URL from `{api_url}`: {e}")))
}

/// Fetches the key set served at `url`, bounded in size.
pub async fn fetch_keys(http: &reqwest::Client, url: &reqwest::Url) -> Result<Jwks, ClientError> {
    let refused = |why: String| ClientError::ResponseSignature(why);
    let mut response = http.get(url.clone()).send().await.map_err(|e| ClientError::transport(&e))?;
    if !response.status().is_success() {
        let status = response.status();
        let headers = response.headers().clone();
        // An error document, read (bounded) only to say what answered.
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_KEYS_DOCUMENT {
                break;
            }
        }
        let body = &body[..body.len().min(MAX_KEYS_DOCUMENT)];
        let origin = url.origin().ascii_serialization();
        let api = crate::origin::Service::Api;
        return Err(crate::origin::wrong_service(&origin, api, status.as_u16(), &headers, body)
            .unwrap_or_else(|| refused(format!("the API's keys answered {status}"))));
    }
    if response.content_length().is_some_and(|n| n > MAX_KEYS_DOCUMENT as u64) {
        return Err(refused("the API's key set is too large".into()));
    }
    let body = response.bytes().await.map_err(|e| ClientError::transport(&e))?;
    if body.len() > MAX_KEYS_DOCUMENT {
        return Err(refused("the API's key set is too large".into()));
    }
    serde_json::from_slice(&body).map_err(|_| refused("the API's keys are not a JWK set".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn set(keys: &[(&str, u8)]) -> Jwks {
        Jwks { keys: keys.iter().map(|(kid, b)| Jwk::ed25519(&[*b; 32], kid).unwrap()).collect() }
    }

    #[test]
    fn same_keys_ignores_order_but_not_ids_or_material() {
        assert!(same_keys(&set(&[("a", 1), ("b", 2)]), &set(&[("b", 2), ("a", 1)])));
        assert!(!same_keys(&set(&[("a", 1)]), &set(&[("a", 2)])));
        assert!(!same_keys(&set(&[("a", 1)]), &set(&[("c", 1)])));
        assert!(!same_keys(&set(&[("a", 1)]), &set(&[("a", 1), ("b", 2)])), "an added key is a change");
    }

    #[cfg(unix)]
    #[test]
    fn pin_file_is_0600_in_a_0700_directory_and_reads_back() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slipgate/pins/default.json");
        let store = PinStore::file(&path);
        store.pin(&set(&[("a", 1)]), "https://api.example").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("https://api.example"), "{text}");
        assert_eq!(PinStore::file(&path).load().unwrap(), Some(set(&[("a", 1)])));
        // The pin file is itself a usable server_keys file.
        let ServerKeys::Fixed { keys, .. } = ServerKeys::from_file(&path).unwrap() else { panic!() };
        assert!(same_keys(&keys, &set(&[("a", 1)])));
    }

    #[test]
    fn a_server_keys_file_without_usable_keys_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"keys":[{"kty":"RSA","kid":"r"}]}"#).unwrap();
        assert!(ServerKeys::from_file(&path).unwrap_err().to_string().contains("no usable"));
        std::fs::write(&path, "not json").unwrap();
        assert!(ServerKeys::from_file(&path).unwrap_err().to_string().contains("not a JWK set"));
        assert!(ServerKeys::from_file(&dir.path().join("missing.json")).is_err());
    }

    #[tokio::test]
    async fn first_use_pins_and_later_uses_do_not_fetch() {
        let store = PinStore::memory();
        let first = store.load_or_pin("https://a", || async { Ok(set(&[("a", 1)])) }).await.unwrap();
        assert_eq!(first, set(&[("a", 1)]));
        let later = store
            .load_or_pin("https://a", || async { Err(ClientError::Config("must not fetch".into())) })
            .await
            .unwrap();
        assert_eq!(later, first);
    }

    #[test]
    fn the_changed_error_names_slipgate_keys_pin_and_both_sets() {
        let store = PinStore::file("/tmp/pins/p.json");
        let msg = store.changed("https://api", &set(&[("old", 1)]), &set(&[("new", 2)])).to_string();
        for part in ["slipgate keys pin", "old", "new", "/tmp/pins/p.json", "https://api"] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
    }
}
