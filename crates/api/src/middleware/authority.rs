//! The request must name this service (SPEC §3.2 `@authority`, §3.3 step 2),
//! on every route and before any cryptography.
//!
//! The authority is the received `Host` (HTTP/1.1) or `:authority` (HTTP/2,
//! which hyper puts in the request URI). Its host part — the port is ignored,
//! the comparison is case-insensitive — must be a name the server certificate
//! is valid for (its subjectAltName DNS names and IP addresses, a wildcard
//! matching one label; matched by `rustls-webpki`, exactly as a TLS client
//! matches it) or one of `server.authorities`. A missing or repeated `Host`,
//! an authority with user info or a bad port, and an absolute-form target
//! (`POST https://evil.example/…`) that disagrees with `Host` are all 400
//! `bad_request`.
//!
//! ```
//! use slipgate_api::middleware::authority::Authorities;
//!
//! let names = Authorities::new(None, &["api.example.com".to_owned()]).unwrap();
//! let mut headers = http::HeaderMap::new();
//! headers.insert(http::header::HOST, "API.example.com:8443".parse().unwrap());
//! assert!(names.check(&"/generate/salaryslip".parse().unwrap(), &headers).is_ok());
//! headers.insert(http::header::HOST, "evil.example".parse().unwrap());
//! assert!(names.check(&"/generate/salaryslip".parse().unwrap(), &headers).is_err());
//! ```
//!
//! # Security
//!
//! Without it, a signature made for (and sent with) `Host: evil.example` is
//! accepted: `@authority` would be whatever the client says. Not covered: a
//! name that the certificate legitimately holds but that routes elsewhere
//! (that is the certificate's scope, chosen by the operator).

use std::net::IpAddr;
use std::path::Path;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rustls_pki_types::{CertificateDer, DnsName, ServerName};
use slipgate_guard::Rejection;
use slipgate_proto::ProblemCode;

use crate::state::AppState;

/// Why the names could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// A `server.authorities` entry is not a host name or IP address.
    #[error("`{0}` is not a host name or IP address without port")]
    BadName(String),
    /// The certificate file could not be read.
    #[error("cannot read the certificate {path}: {message}")]
    Certificate {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// A configured name: compared case-insensitively (DNS) or as an address (IP).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Dns(String),
    Ip(IpAddr),
}

/// Parses one `server.authorities` entry: a DNS name (no wildcard) or an IP
/// address, without port; IPv6 with or without brackets.
///
/// # Errors
///
/// [`AuthorityError::BadName`] naming the entry.
fn parse_name(entry: &str) -> Result<Name, AuthorityError> {
    let bad = || AuthorityError::BadName(entry.chars().take(64).collect());
    let bare = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Name::Ip(ip));
    }
    if bare != entry || bare.contains('*') {
        return Err(bad());
    }
    let dns = DnsName::try_from(bare).map_err(|_| bad())?;
    Ok(Name::Dns(dns.as_ref().to_ascii_lowercase()))
}

/// Checks every `server.authorities` entry (configuration validation).
///
/// # Errors
///
/// [`AuthorityError::BadName`] for the first bad entry.
pub fn validate_names(entries: &[String]) -> Result<(), AuthorityError> {
    entries.iter().try_for_each(|e| parse_name(e).map(|_| ()))
}

/// The names this service answers to.
#[derive(Debug, Clone)]
pub struct Authorities {
    certificate: Option<CertificateDer<'static>>,
    names: Vec<Name>,
}

impl Authorities {
    /// The subjectAltName names of `certificate` (the leaf, DER) plus `configured`.
    ///
    /// # Errors
    ///
    /// [`AuthorityError::BadName`] for a bad configured entry.
    pub fn new(
        certificate: Option<CertificateDer<'static>>,
        configured: &[String],
    ) -> Result<Self, AuthorityError> {
        let names = configured.iter().map(|e| parse_name(e)).collect::<Result<_, _>>()?;
        Ok(Self { certificate, names })
    }

    /// [`Self::new`] with the first certificate of the PEM file `cert` (the leaf).
    ///
    /// # Errors
    ///
    /// [`AuthorityError::Certificate`] when the file holds no readable
    /// certificate; [`AuthorityError::BadName`] for a bad configured entry.
    pub fn from_pem_file(cert: &Path, configured: &[String]) -> Result<Self, AuthorityError> {
        use rustls_pki_types::pem::PemObject as _;
        let failed =
            |message: String| AuthorityError::Certificate { path: cert.display().to_string(), message };
        let leaf = CertificateDer::pem_file_iter(cert)
            .map_err(|e| failed(e.to_string()))?
            .next()
            .ok_or_else(|| failed("no certificate in the file".into()))?
            .map_err(|e| failed(e.to_string()))?;
        Self::new(Some(leaf), configured)
    }

    /// Whether `host` (no port; IPv6 in brackets or not) names this service.
    pub fn allows_host(&self, host: &str) -> bool {
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let server_name = match bare.parse::<IpAddr>() {
            Ok(ip) => {
                if self.names.contains(&Name::Ip(ip)) {
                    return true;
                }
                ServerName::IpAddress(ip.into())
            }
            // Brackets only ever enclose an IPv6 address.
            Err(_) if bare != host => return false,
            Err(_) => {
                let lower = bare.to_ascii_lowercase();
                if self.names.iter().any(|n| matches!(n, Name::Dns(d) if *d == lower)) {
                    return true;
                }
                match DnsName::try_from(lower) {
                    Ok(dns) => ServerName::DnsName(dns),
                    Err(_) => return false,
                }
            }
        };
        let Some(der) = &self.certificate else { return false };
        webpki::EndEntityCert::try_from(der)
            .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&server_name).is_ok())
    }

    /// SPEC §3.2: exactly one `Host` or an `:authority`, agreeing when both
    /// are present, whose host part names this service.
    ///
    /// # Errors
    ///
    /// An [`Rejection`] with [`ProblemCode::BadRequest`] saying which rule failed.
    pub fn check(&self, uri: &http::Uri, headers: &http::HeaderMap) -> Result<(), Rejection> {
        let bad = |detail: &'static str| Rejection::new(ProblemCode::BadRequest, detail);
        let mut lines = headers.get_all(http::header::HOST).iter();
        let host = lines.next();
        if lines.next().is_some() {
            return Err(bad("the host field must appear at most once"));
        }
        let host = host
            .map(|h| h.to_str().map_err(|_| bad("the host field is not visible ascii")))
            .transpose()?
            .map(|h| parse_authority(h).ok_or_else(|| bad("the host field is not a host and optional port")))
            .transpose()?;
        let target = uri.authority().map(|a| {
            parse_authority(a.as_str()).ok_or_else(|| bad("the request target names no valid host"))
        });
        let target = target.transpose()?;
        let scheme = uri.scheme_str();
        let named = match (target, host) {
            (Some(target), Some(host)) => {
                if !target.agrees_with(&host, scheme) {
                    return Err(bad("the absolute request target disagrees with the host field"));
                }
                target
            }
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return Err(bad("the request names no host (send Host or :authority)")),
        };
        if !self.allows_host(&named.host) {
            return Err(bad("the request names a host this service does not answer to"));
        }
        Ok(())
    }
}

/// The host (lowercase) and port of an authority.
#[derive(Debug)]
struct HostPort {
    host: String,
    port: Option<u16>,
}

impl HostPort {
    /// Same host, and same port once the scheme's default is filled in.
    fn agrees_with(&self, other: &HostPort, scheme: Option<&str>) -> bool {
        let default = match scheme.map(str::to_ascii_lowercase).as_deref() {
            Some("http") => Some(80),
            Some("https") | None => Some(443),
            _ => None,
        };
        self.host == other.host && self.port.or(default) == other.port.or(default)
    }
}

/// `host[:port]` with no user info and a valid port, else `None`.
fn parse_authority(text: &str) -> Option<HostPort> {
    if text.is_empty() || text.contains('@') {
        return None;
    }
    let authority: http::uri::Authority = text.parse().ok()?;
    let host = authority.host();
    // What follows the host is nothing or `:<port>`, the port a u16 in
    // decimal (the http crate drops a port it cannot read instead of failing).
    let port = match text.get(host.len()..)? {
        "" => None,
        rest => {
            let digits = rest.strip_prefix(':')?;
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse::<u16>().ok()?)
        }
    };
    if host.is_empty() || !text.starts_with(host) {
        return None;
    }
    Some(HostPort { host: host.to_ascii_lowercase(), port })
}

/// Middleware, SPEC §3.3 steps 1 and 2 after the per-IP rate limit: a
/// concurrency permit ([`super::shed::permit`]), then [`Authorities::check`]
/// with the state's names. One middleware rather than two: each layer of the
/// router costs every request a boxed service clone and two boxed futures.
pub async fn admission(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(_permit) = super::shed::permit(&state.in_flight, &request) else {
        return super::shed::at_capacity();
    };
    match state.authorities.check(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests;
