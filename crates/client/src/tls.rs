//! The SDK's TLS client configuration, and saying why a server's
//! certificate was refused.
//!
//! rustls (aws-lc-rs, TLS 1.3 and 1.2) trusting the CA file given, or the
//! system's trusted roots without one. The certificate check itself is the
//! standard one (webpki with the CA file, the platform verifier otherwise);
//! [`Explained`] only adds, to a refusal, who issued the refused certificate
//! and what the client trusts, so that a user reads "issued by `CN=Other CA`,
//! not a CA in ca.pem" instead of "cannot connect" (issue 19).
//!
//! # Security
//! Nothing is accepted that the inner verifier refuses: every call is
//! delegated, and only the error is rewritten. The certificate's names are
//! public data; they are parsed only after the real check failed, and a
//! certificate that does not parse is reported without them.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::ClientError;

/// A server certificate the client refused: why, who issued it, what the
/// client trusts. Carried inside rustls' error as
/// `CertificateError::Other`, and turned into
/// [`ClientError::TlsVerification`] by the SDK.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct CertificateRejected {
    /// What the verifier said.
    pub(crate) reason: CertificateError,
    /// The certificate's issuer (RFC 4514), when it parses.
    pub(crate) issuer: Option<String>,
    /// The certificate's subject (RFC 4514), when it parses.
    pub(crate) subject: Option<String>,
    /// What the client trusts: "the CA file …" or "the system's trusted roots".
    pub(crate) trusted: String,
}

/// The issuer and subject of a DER certificate, as RFC 4514 strings.
fn names(cert: &CertificateDer<'_>) -> (Option<String>, Option<String>) {
    use x509_cert::der::Decode as _;
    match x509_cert::Certificate::from_der(cert.as_ref()) {
        Ok(cert) => {
            let tbs = cert.tbs_certificate();
            (Some(tbs.issuer().to_string()), Some(tbs.subject().to_string()))
        }
        Err(_) => (None, None),
    }
}

/// Delegates every check to `inner`, and explains its refusals.
#[derive(Debug)]
struct Explained {
    inner: Arc<dyn ServerCertVerifier>,
    trusted: String,
}

impl ServerCertVerifier for Explained {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map_err(
            |e| match e {
                rustls::Error::InvalidCertificate(reason) => {
                    let (issuer, subject) = names(end_entity);
                    let rejected =
                        CertificateRejected { reason, issuer, subject, trusted: self.trusted.clone() };
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(rejected))))
                }
                other => other,
            },
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

fn config_error(e: impl std::fmt::Display) -> ClientError {
    ClientError::Config(e.to_string())
}

/// The client configuration: trusting `ca` (else the system roots),
/// presenting `identity` (certificate chain file, key file) for mutual TLS.
/// ALPN is the caller's.
pub(crate) fn client_config(
    ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (inner, trusted): (Arc<dyn ServerCertVerifier>, String) = match ca {
        Some(ca) => {
            let roots = slipgate_proto::tls::read_roots(ca).map_err(config_error)?;
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| ClientError::Config(format!("unusable CA file {}: {e}", ca.display())))?;
            (verifier, format!("the CA file {}", ca.display()))
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| ClientError::Config(format!("cannot load the system's trusted roots: {e}")))?;
            (Arc::new(verifier), "the system's trusted roots".to_owned())
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(slipgate_proto::tls::DEFAULT_VERSIONS)
        .map_err(config_error)?
        // Not a weaker check: `Explained` delegates every decision to `inner`.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Explained { inner, trusted }));
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let (chain, key) = slipgate_proto::tls::read_identity(cert, key).map_err(config_error)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::Config(format!("unusable client certificate or key: {e}")))
        }
    }
}

/// `reason` in words (rustls prints the bare variant name for most).
pub(crate) fn describe(reason: &CertificateError) -> String {
    match reason {
        CertificateError::UnknownIssuer => "its issuer is not a trusted CA".into(),
        CertificateError::BadSignature => "it is not correctly signed by its issuer".into(),
        CertificateError::Expired => "it has expired".into(),
        CertificateError::NotValidYet => "it is not valid yet".into(),
        CertificateError::Revoked => "it has been revoked".into(),
        CertificateError::NotValidForName => "it is not valid for this host name".into(),
        CertificateError::InvalidPurpose => "it is not a TLS server certificate".into(),
        CertificateError::BadEncoding => "it is malformed".into(),
        other => other.to_string(),
    }
}

/// The refused certificate in `error`'s source chain, if that is why it failed.
pub(crate) fn rejection(error: &(dyn std::error::Error + 'static)) -> Option<CertificateRejected> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(rejected) = rejected_in(e) {
            return Some(rejected);
        }
        cause = e.source();
    }
    None
}

/// `e` itself, or inside the I/O errors wrapping it (tokio-rustls nests an
/// `io::Error` holding rustls' error in another; `io::Error::source` skips
/// the payload, so the chain alone never reaches it).
fn rejected_in(mut e: &(dyn std::error::Error + 'static)) -> Option<CertificateRejected> {
    for _ in 0..8 {
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner)))) =
            e.downcast_ref::<rustls::Error>()
        {
            return inner.downcast_ref::<CertificateRejected>().cloned();
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        e = io.get_ref()?;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_reads_the_issuer_and_subject_of_a_certificate() {
        let key = rcgen_key();
        let mut params = rcgen::CertificateParams::new(vec!["api.test".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, "Other CA");
        let cert = params.self_signed(&key).unwrap();
        let (issuer, subject) = names(cert.der());
        assert_eq!(issuer.as_deref(), Some("CN=Other CA"));
        assert_eq!(subject.as_deref(), Some("CN=Other CA"));
    }

    #[test]
    fn names_of_garbage_are_unknown() {
        assert_eq!(names(&CertificateDer::from(vec![1, 2, 3])), (None, None));
    }

    fn rcgen_key() -> rcgen::KeyPair {
        rcgen::KeyPair::generate().unwrap()
    }
}
