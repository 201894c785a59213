//! Where verification keys come from: the [`KeyResolver`] trait and the
//! [`KeyRing`] built from configuration.

use std::collections::HashMap;
use std::sync::Arc;

use slipgate_httpsig::{Algorithm, VerifyingKey};

/// Looks up the verification key registered under a `keyid`.
///
/// The algorithm comes from the registry, never from the request (SPEC §3.2).
pub trait KeyResolver: Send + Sync + std::fmt::Debug + 'static {
    /// The key for `keyid`, or `None` when unknown.
    fn resolve(&self, keyid: &str) -> Option<Arc<VerifyingKey>>;
}

/// A fixed set of keys. Several may be live at once, which is how keys are
/// rotated: add the new key, move clients over, remove the old one.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    keys: HashMap<String, Arc<VerifyingKey>>,
}

/// A key id given twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate signing key id `{0}`")]
pub struct DuplicateKeyId(pub String);

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key` under `keyid`.
    pub fn insert(&mut self, keyid: impl Into<String>, key: VerifyingKey) -> Result<(), DuplicateKeyId> {
        let keyid = keyid.into();
        if self.keys.contains_key(&keyid) {
            return Err(DuplicateKeyId(keyid));
        }
        self.keys.insert(keyid, Arc::new(key));
        Ok(())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring has no keys (every request would be refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `(keyid, algorithm)` of every key, sorted by id.
    pub fn list(&self) -> Vec<(String, Algorithm)> {
        let mut out: Vec<_> = self.keys.iter().map(|(id, k)| (id.clone(), k.algorithm())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl KeyResolver for KeyRing {
    fn resolve(&self, keyid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.get(keyid).cloned()
    }
}

/// What the signature layer proved, handed to the next layers and the handler
/// as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    /// The registry key id that signed the request; for a key-bound token
    /// (SPEC §3.2.1), `htsk:` and the RFC 7638 thumbprint of the token's key.
    pub keyid: String,
    /// Its algorithm.
    pub alg: Algorithm,
    /// The label of the evaluated signature (for `;req` in response signatures).
    pub label: String,
    /// The signature bytes (for `"signature";req;key=…` in response signatures).
    pub signature: Vec<u8>,
    /// The nonce, recorded as used.
    pub nonce: String,
    /// `created`, unix seconds.
    pub created: i64,
    /// For a request presenting a key-bound token: the RFC 7638 thumbprint of
    /// the key its `cnf` names (the signature verified with it). `None` for a
    /// registry key.
    pub thumbprint: Option<String>,
}
