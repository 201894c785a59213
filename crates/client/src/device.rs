//! A device key: the client's own key pair, to which the identity server binds
//! its tokens (SPEC §3.2.1, §4 and §5; draft-richer-oauth-httpsig-03 §2.2).
//!
//! The key never leaves the device: the identity server sees only its public
//! half (the `pub` parameter of the signed token request) and writes that into
//! the token's `cnf`; the API then verifies every request with it. A stolen
//! token is worth nothing without this file.
//!
//! On disk it is a PKCS#8 PEM (`PRIVATE KEY`), created 0600 from its first byte
//! in a directory created 0700, and published under its final name by a hard
//! link, so two logins racing to create it end with one key that both use.
//! A key file that group or others may read is refused rather than used.
//!
//! ```
//! use slipgate_client::DeviceKey;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("keys/default.pem");
//! let key = DeviceKey::load_or_create(&path)?;
//! let again = DeviceKey::load(&path)?;
//! assert_eq!(key.thumbprint(), again.thumbprint()); // RFC 7638, 43 chars
//! DeviceKey::remove(&path)?;
//! assert!(DeviceKey::load(&path).is_err());
//! # Ok(()) }
//! ```

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use slipgate_httpsig::binding::BoundKey;
use slipgate_httpsig::{Algorithm, SigningKey};

use crate::ClientError;

/// A PKCS#8 PEM of an Ed25519 or P-256 key is far below this.
const MAX_KEY_FILE: u64 = 16 * 1024;

/// The client's own signing key and its public form.
#[derive(Clone)]
pub struct DeviceKey {
    key: Arc<SigningKey>,
    public: BoundKey,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is never shown; the thumbprint is public.
        f.debug_struct("DeviceKey")
            .field("alg", &self.public.algorithm())
            .field("thumbprint", &self.public.thumbprint())
            .field("path", &self.path)
            .finish()
    }
}

impl DeviceKey {
    /// Wraps an Ed25519 or ECDSA P-256 key (not kept in any file).
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] for an HMAC key: a shared secret is never bound.
    pub fn from_signing_key(key: SigningKey) -> Result<Self, ClientError> {
        let public = BoundKey::from_signing_key(&key)
            .map_err(|e| ClientError::Config(format!("not usable as a device key: {e}")))?;
        Ok(Self { key: Arc::new(key), public, path: None })
    }

    /// A new Ed25519 key in memory only (tests, short-lived programs).
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the system random source fails.
    pub fn generate() -> Result<Self, ClientError> {
        let (key, _pkcs8) = SigningKey::generate(Algorithm::Ed25519)
            .map_err(|e| ClientError::Config(format!("cannot generate a device key: {e}")))?;
        Self::from_signing_key(key)
    }

    /// The key stored at `path`.
    ///
    /// # Errors
    ///
    /// [`ClientError::LoginRequired`] when there is no such file (only a login
    /// creates one); [`ClientError::Config`] when group or others may read it,
    /// or it is not a PKCS#8 Ed25519 or P-256 key.
    pub fn load(path: &Path) -> Result<Self, ClientError> {
        let shown = path.display();
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClientError::LoginRequired(format!(
                    "there is no device key at {shown}; run `slipgate login`"
                )));
            }
            Err(e) => return Err(ClientError::Config(format!("cannot read device key {shown}: {e}"))),
        };
        check_private(&file, path)?;
        let mut text = String::new();
        std::io::Read::by_ref(&mut file)
            .take(MAX_KEY_FILE + 1)
            .read_to_string(&mut text)
            .map_err(|e| ClientError::Config(format!("cannot read device key {shown}: {e}")))?;
        if text.len() as u64 > MAX_KEY_FILE {
            return Err(ClientError::Config(format!("{shown} is too large to be a device key")));
        }
        let key = [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256]
            .into_iter()
            .find_map(|alg| SigningKey::from_pem(alg, &text).ok())
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "{shown} is not a PKCS#8 Ed25519 or P-256 private key; delete it and log in again"
                ))
            })?;
        let mut device = Self::from_signing_key(key)?;
        device.path = Some(path.to_owned());
        Ok(device)
    }

    /// The key at `path`, creating a new Ed25519 key there when there is none
    /// (file 0600, missing directories 0700, both from creation).
    ///
    /// # Errors
    ///
    /// As [`DeviceKey::load`], and [`ClientError::Config`] when the file or its
    /// directory cannot be created or the directory is open to others.
    pub fn load_or_create(path: &Path) -> Result<Self, ClientError> {
        match Self::load(path) {
            Err(ClientError::LoginRequired(_)) => {}
            other => return other,
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let (_, pkcs8) = SigningKey::generate(Algorithm::Ed25519)
            .map_err(|e| ClientError::Config(format!("cannot generate a device key: {e}")))?;
        let pem = slipgate_httpsig::keys::to_pem("PRIVATE KEY", pkcs8.expose());
        write_new_private(path, pem.as_bytes())?;
        // Whoever won a race, this is now the one key of the profile.
        Self::load(path)
    }

    /// Deletes the key file at `path`; `Ok(false)` when there was none.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when it exists and cannot be removed.
    pub fn remove(path: &Path) -> Result<bool, ClientError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ClientError::Config(format!("cannot delete device key {}: {e}", path.display()))),
        }
    }

    /// The file it was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The RFC 7638 thumbprint of the public key (what `slipgate idp session
    /// list` shows for the session).
    pub fn thumbprint(&self) -> String {
        self.public.thumbprint()
    }

    /// The public key as the identity server binds it.
    pub fn public_key(&self) -> &BoundKey {
        &self.public
    }

    /// The signing key.
    pub(crate) fn signing_key(&self) -> &Arc<SigningKey> {
        &self.key
    }
}

#[cfg(unix)]
fn check_private(file: &std::fs::File, path: &Path) -> Result<(), ClientError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file
        .metadata()
        .map_err(|e| ClientError::Config(format!("cannot read device key {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(ClientError::Config(format!(
            "device key {} is open to other users (mode {:o}); run `chmod 600 {}` or delete it and log in again",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_file: &std::fs::File, _path: &Path) -> Result<(), ClientError> {
    Ok(())
}

/// Creates `dir` and missing parents 0700; an existing `dir` open to others is refused.
#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), ClientError> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ClientError::Config(format!("cannot create {}: {e}", dir.display())))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| ClientError::Config(format!("cannot read {}: {e}", dir.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(ClientError::Config(format!(
            "the device key directory {} is open to other users (mode {:o}); run `chmod 700 {}`",
            dir.display(),
            mode & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), ClientError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ClientError::Config(format!("cannot create {}: {e}", dir.display())))
}

/// Writes `bytes` to a fresh 0600 file beside `path`, then links it to `path`
/// unless that exists (another login won the race; its key is kept).
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let failed = |e: std::io::Error| ClientError::Config(format!("cannot write {}: {e}", path.display()));
    let mut random = [0u8; 8];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| failed(std::io::Error::other("no randomness")))?;
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let name = path.file_name().map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{suffix}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(failed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn creates_the_key_0600_in_a_0700_directory_and_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slipgate/keys/default.pem");
        let created = DeviceKey::load_or_create(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("slipgate")), 0o700);
        let again = DeviceKey::load_or_create(&path).unwrap();
        assert_eq!(created.thumbprint(), again.thumbprint(), "an existing key is kept");
        assert_eq!(created.public_key().algorithm(), Algorithm::Ed25519);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn concurrent_creations_end_with_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/p.pem");
        let prints: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..16).map(|_| s.spawn(|| DeviceKey::load_or_create(&path).unwrap().thumbprint())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(prints.iter().all(|p| *p == prints[0]), "{prints:?}");
        assert_eq!(DeviceKey::load(&path).unwrap().thumbprint(), prints[0]);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_key_file_others_may_read() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/default.pem");
        DeviceKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = DeviceKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("640"), "{err}");
        assert!(DeviceKey::load_or_create(&path).is_err(), "nor replaced silently");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_key_directory_others_may_enter() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = DeviceKey::load_or_create(&keys.join("p.pem")).unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
        assert!(!keys.join("p.pem").exists());
    }

    #[test]
    fn a_missing_key_asks_for_a_login_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.pem");
        assert!(
            matches!(DeviceKey::load(&path), Err(ClientError::LoginRequired(m)) if m.contains("slipgate login"))
        );
        crate::files::write_private(&path, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap();
        assert!(matches!(DeviceKey::load(&path), Err(ClientError::Config(_))));
        crate::files::write_private(&path, &vec![b'A'; 20_000]).unwrap();
        assert!(DeviceKey::load(&path).unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn an_hmac_secret_is_never_a_device_key() {
        let key = SigningKey::hmac_sha256(&[7u8; 32]).unwrap();
        assert!(DeviceKey::from_signing_key(key).is_err());
    }

    #[test]
    fn remove_reports_whether_there_was_a_key_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/k.pem");
        let key = DeviceKey::load_or_create(&path).unwrap();
        let pem = std::fs::read_to_string(&path).unwrap();
        let body = pem.lines().nth(1).unwrap();
        assert!(!format!("{key:?}").contains(body));
        assert!(DeviceKey::remove(&path).unwrap());
        assert!(!DeviceKey::remove(&path).unwrap());
    }
}
