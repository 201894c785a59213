//! A development PKI for `slipgate dev` and the tests: a private CA and a
//! server certificate for `localhost`, `127.0.0.1` and `::1`, signed by it.
//!
//! # Security
//! For development only. Private keys are written with mode 0600; the CA key
//! stays in the data directory so certificates can be re-issued. Never point a
//! production deployment at these files.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use slipgate_proto::clock::{Clock, SystemClock};

/// Where the development PKI lives.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// The CA certificate clients trust (`ca.pem`).
    pub ca_cert: PathBuf,
    /// The CA key (`ca-key.pem`, 0600).
    pub ca_key: PathBuf,
    /// The server certificate chain (`server.pem`).
    pub server_cert: PathBuf,
    /// The server key (`server-key.pem`, 0600).
    pub server_key: PathBuf,
}

/// Why the PKI could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Certificate generation failed.
    #[error("cannot generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl DevPki {
    /// The file names inside `dir`.
    pub fn paths(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
        }
    }

    /// Reuses the PKI in `dir` when all four files exist, else creates a new
    /// one valid from the system clock's yesterday.
    pub fn ensure(dir: &Path) -> Result<Self, PkiError> {
        Self::ensure_at(dir, &SystemClock)
    }

    /// [`Self::ensure`], dating new certificates by `clock`.
    pub fn ensure_at(dir: &Path, clock: &dyn Clock) -> Result<Self, PkiError> {
        let pki = Self::paths(dir);
        if [&pki.ca_cert, &pki.ca_key, &pki.server_cert, &pki.server_key].iter().all(|p| p.exists()) {
            return Ok(pki);
        }
        pki.generate(clock)?;
        Ok(pki)
    }

    fn generate(&self, clock: &dyn Clock) -> Result<(), PkiError> {
        let now = time::OffsetDateTime::from(clock.now());
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name = name("Slipgate development CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = now - time::Duration::days(1);
        ca.not_after = now + time::Duration::days(825);
        let ca_cert = ca.self_signed(&ca_key)?;

        let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])?;
        server.distinguished_name = name("localhost");
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.not_before = now - time::Duration::days(1);
        server.not_after = now + time::Duration::days(397);
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;

        write_file(&self.ca_key, ca_key.serialize_pem().as_bytes(), true)?;
        write_file(&self.server_key, server_key.serialize_pem().as_bytes(), true)?;
        write_file(&self.ca_cert, ca_cert.pem().as_bytes(), false)?;
        write_file(&self.server_cert, server_cert.pem().as_bytes(), false)?;
        Ok(())
    }
}

/// A client certificate for mutual TLS, signed by a fresh CA of its own in
/// `dir`: returns `(ca.pem, client.pem, client-key.pem)`.
pub fn client_pki(dir: &Path, common_name: &str) -> Result<(PathBuf, PathBuf, PathBuf), PkiError> {
    client_pki_at(dir, common_name, &SystemClock)
}

/// [`client_pki`], dating the certificates by `clock`.
pub fn client_pki_at(
    dir: &Path,
    common_name: &str,
    clock: &dyn Clock,
) -> Result<(PathBuf, PathBuf, PathBuf), PkiError> {
    let now = time::OffsetDateTime::from(clock.now());
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name = name("Slipgate client CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(825);
    let ca_cert = ca.self_signed(&ca_key)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name = name(common_name);
    client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client.not_before = now - time::Duration::days(1);
    client.not_after = now + time::Duration::days(397);
    let cert = client.signed_by(&key, &ca_cert, &ca_key)?;
    let paths = (dir.join("client-ca.pem"), dir.join("client.pem"), dir.join("client-key.pem"));
    write_file(&paths.0, ca_cert.pem().as_bytes(), false)?;
    write_file(&paths.1, cert.pem().as_bytes(), false)?;
    write_file(&paths.2, key.serialize_pem().as_bytes(), true)?;
    Ok(paths)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "Slipgate (development)");
    dn
}

/// Writes `bytes` to `path` atomically; `private` files get mode 0600 from creation.
pub fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    slipgate_proto::files::write_atomic(path, bytes, private)
        .map_err(|source| PkiError::Write { path: path.to_owned(), source })
}
