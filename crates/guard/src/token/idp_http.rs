//! The HTTPS client the API uses to reach the identity server: rustls with
//! aws-lc-rs, TLS 1.2/1.3, verifying the server against `auth.ca` (or the
//! system roots when unset), with a hard timeout.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::claims::TokenError;

/// Builds the client. `ca`: PEM file of the CA that signed the identity
/// server's certificate.
pub fn idp_client(ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, TokenError> {
    let builder = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).https_only(true);
    let builder = match ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca)
                .map_err(|e| TokenError::Unavailable(format!("cannot read auth.ca {}: {e}", ca.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| TokenError::Unavailable(format!("bad certificate in auth.ca: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| TokenError::Unavailable(format!("bad certificate in auth.ca: {e}")))?;
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| TokenError::Unavailable(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder.tls_backend_preconfigured(config)
        }
        None => builder,
    };
    builder
        .build()
        .map_err(|e| TokenError::Unavailable(format!("cannot build the identity-server client: {e}")))
}
