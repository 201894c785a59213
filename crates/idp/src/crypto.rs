//! Password hashing (argon2id, OWASP parameters m = 19 MiB, t = 2, p = 1),
//! random tokens and secret hashing.
//!
//! Passwords are low-entropy and so get a slow, memory-hard hash. Client secrets
//! and refresh tokens are 256-bit random values made here: no dictionary can
//! reach them, so a single SHA-256 suffices and keeps introspection (called by
//! the API on every request) cheap; they are compared in constant time.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::Secret;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

fn argon2() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `password` (slow: call from a blocking thread).
pub fn hash_password(password: &Secret) -> Result<String, HashError> {
    let salt_bytes = random_bytes::<16>().map_err(|()| HashError("no randomness".into()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError(e.to_string()))?;
    let hash =
        argon2()?.hash_password(password.expose().as_bytes(), &salt).map_err(|e| HashError(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (slow: call from a blocking
/// thread). A malformed hash never matches.
#[must_use]
pub fn verify_password(hash: &str, password: &Secret) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let Ok(argon2) = argon2() else { return false };
    argon2.verify_password(password.expose().as_bytes(), &parsed).is_ok()
}

/// `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ()> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ())?;
    Ok(bytes)
}

/// `N` random bytes as base64url without padding.
pub fn random_token<const N: usize>() -> Result<String, ()> {
    random_bytes::<N>().map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// base64url SHA-256 of `value`: how secrets and refresh tokens are stored.
#[must_use]
pub fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// Constant-time equality of two byte strings (length may leak, content does not).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn password_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hash = hash_password(&Secret::new("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&hash, &Secret::new("correct horse")));
        assert!(!verify_password(&hash, &Secret::new("correct horsE")));
        assert!(!verify_password("not a hash", &Secret::new("correct horse")));
    }

    #[test]
    fn random_tokens_differ_and_have_expected_length() {
        let a = random_token::<32>().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token::<32>().unwrap());
    }

    #[test]
    fn ct_eq_compares_content() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
