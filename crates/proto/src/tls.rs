//! The one rustls client configuration of every Slipgate HTTPS client: the SDK,
//! the API's identity-server client and the test helpers (SPEC §3.1, §5).
//!
//! rustls with the aws-lc-rs provider, TLS 1.3 and 1.2, trusting the PEM CA
//! file given (and nothing else), optionally presenting a client certificate
//! for mutual TLS. ALPN is the caller's: set [`rustls::ClientConfig::alpn_protocols`].
//! Enabled by the `tls` feature, so crates that make no TLS connection do not
//! build rustls through this crate.
//!
//! ```no_run
//! use std::path::Path;
//! let mut config = slipgate_proto::tls::client_config(Path::new("ca.pem"), None)?;
//! config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
//! # Ok::<(), slipgate_proto::tls::TlsError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The protocol versions a Slipgate client offers: TLS 1.3 and TLS 1.2.
pub const DEFAULT_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Why a client configuration could not be built. Messages name the file,
/// never its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file could not be read.
    #[error("cannot read CA file {}: {reason}", path.display())]
    ReadCa {
        /// The CA file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The CA file holds a certificate rustls refuses.
    #[error("bad certificate in {}: {reason}", path.display())]
    BadCa {
        /// The CA file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The client certificate chain could not be read.
    #[error("cannot read client certificate {}: {reason}", path.display())]
    ReadCert {
        /// The certificate file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The client key could not be read.
    #[error("cannot read client key {}: {reason}", path.display())]
    ReadKey {
        /// The key file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// rustls refused the certificate and key pair.
    #[error("unusable client certificate or key: {0}")]
    Identity(String),
    /// rustls refused the protocol versions.
    #[error("unusable TLS versions: {0}")]
    Versions(String),
}

/// The roots in the PEM file `ca`.
pub fn read_roots(ca: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .map_err(|e| TlsError::ReadCa { path: ca.to_owned(), reason: e.to_string() })?;
    for cert in certs {
        let cert = cert.map_err(|e| TlsError::BadCa { path: ca.to_owned(), reason: e.to_string() })?;
        roots.add(cert).map_err(|e| TlsError::BadCa { path: ca.to_owned(), reason: e.to_string() })?;
    }
    Ok(roots)
}

/// The certificate chain in the PEM file `cert` and the private key in `key`.
pub fn read_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::ReadCert { path: cert.to_owned(), reason: e.to_string() })?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::ReadKey { path: key.to_owned(), reason: e.to_string() })?;
    Ok((chain, key))
}

/// A client configuration offering TLS 1.3 and 1.2, trusting the PEM CA file
/// `ca`, presenting `identity` (certificate chain file, key file) when given.
pub fn client_config(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<rustls::ClientConfig, TlsError> {
    client_config_with_versions(ca, identity, DEFAULT_VERSIONS)
}

/// [`client_config`] offering only `versions` (tests pin one version).
pub fn client_config_with_versions(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ClientConfig, TlsError> {
    let roots = read_roots(ca)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsError::BadCa { path: ca.to_owned(), reason: e.to_string() })?;
    client_config_with_verifier(provider, verifier, identity, versions)
}

/// The same configuration with the caller's server-certificate verifier (the
/// SDK wraps webpki's or the platform's to explain a refusal): the verifier
/// alone decides which certificates are trusted; nothing else differs.
pub fn client_config_with_verifier(
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
    identity: Option<(&Path, &Path)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ClientConfig, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Versions(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let (chain, key) = read_identity(cert, key)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| TlsError::Identity(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_missing_ca_file_is_named_in_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let err = client_config(&dir.join("absent.pem"), None).unwrap_err();
        assert!(matches!(err, TlsError::ReadCa { .. }), "{err:?}");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_certificate_that_is_not_der_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let ca = write(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = client_config(&ca, None).unwrap_err();
        assert!(matches!(err, TlsError::BadCa { .. }), "{err:?}");
    }

    #[test]
    fn a_client_key_that_is_not_the_certificates_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (ca_pem, _) = self_signed("ca.test");
        let (cert_pem, _) = self_signed("client.test");
        let (_, other_key) = self_signed("other.test");
        let ca = write(dir, "ca.pem", &ca_pem);
        let cert = write(dir, "cert.pem", &cert_pem);
        let key = write(dir, "key.pem", &other_key);
        let err = client_config(&ca, Some((&cert, &key))).unwrap_err();
        assert!(matches!(err, TlsError::Identity(_)), "{err:?}");
        let missing = client_config(&ca, Some((&cert, &dir.join("nokey.pem")))).unwrap_err();
        assert!(matches!(missing, TlsError::ReadKey { .. }), "{missing:?}");
        let no_cert = client_config(&ca, Some((&dir.join("nocert.pem"), &key))).unwrap_err();
        assert!(matches!(no_cert, TlsError::ReadCert { .. }), "{no_cert:?}");
    }

    #[test]
    fn a_good_ca_and_identity_build_a_config_presenting_the_certificate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (ca_pem, _) = self_signed("ca.test");
        let (cert_pem, key_pem) = self_signed("client.test");
        let ca = write(dir, "ca.pem", &ca_pem);
        let cert = write(dir, "cert.pem", &cert_pem);
        let key = write(dir, "key.pem", &key_pem);
        assert_eq!(read_roots(&ca).unwrap().len(), 1);
        let anonymous = client_config(&ca, None).unwrap();
        assert!(!anonymous.client_auth_cert_resolver.has_certs());
        let mutual = client_config(&ca, Some((&cert, &key))).unwrap();
        assert!(mutual.client_auth_cert_resolver.has_certs());
        assert!(mutual.alpn_protocols.is_empty(), "ALPN is the caller's");
        let tls13 = client_config_with_versions(&ca, None, &[&rustls::version::TLS13]);
        assert!(tls13.is_ok());
        let none = client_config_with_versions(&ca, None, &[]).unwrap_err();
        assert!(matches!(none, TlsError::Versions(_)), "{none:?}");
    }
}
