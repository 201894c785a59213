//! Loads the `[[signature.keys]]` of the configuration into a [`KeyRing`].

use std::path::Path;

use base64::Engine as _;
use slipgate_guard::signature::KeyRing;
use slipgate_httpsig::{Algorithm, VerifyingKey};

use crate::config::KeyConfig;

/// Why a configured key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("signature key `{id}`: {message}")]
pub struct KeyLoadError {
    id: String,
    message: String,
}

fn read(id: &str, path: &Path) -> Result<String, KeyLoadError> {
    std::fs::read_to_string(path).map_err(|e| KeyLoadError {
        id: id.to_owned(),
        message: format!("cannot read {}: {e}", path.display()),
    })
}

/// Reads every key file; the configuration was validated before.
pub fn load(entries: &[KeyConfig]) -> Result<KeyRing, KeyLoadError> {
    let mut ring = KeyRing::new();
    for entry in entries {
        let err = |message: String| KeyLoadError { id: entry.id.clone(), message };
        let alg: Algorithm = entry.alg.parse().map_err(|_| err(format!("unknown alg `{}`", entry.alg)))?;
        let key = match (alg, &entry.secret_file, &entry.public_key_file) {
            (Algorithm::HmacSha256, Some(file), None) => {
                let text = read(&entry.id, file)?;
                let secret = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| err(format!("{} does not hold base64", file.display())))?;
                VerifyingKey::hmac_sha256(&secret).map_err(|e| err(e.to_string()))?
            }
            (Algorithm::EcdsaP256Sha256 | Algorithm::Ed25519, None, Some(file)) => {
                VerifyingKey::from_pem(alg, &read(&entry.id, file)?).map_err(|e| err(e.to_string()))?
            }
            _ => return Err(err("hmac-sha256 takes secret_file, the others public_key_file".into())),
        };
        ring.insert(entry.id.clone(), key).map_err(|e| err(e.to_string()))?;
    }
    Ok(ring)
}
