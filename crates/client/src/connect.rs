//! Naming why a request got no answer: refused, unknown host, TLS
//! verification, or another transport failure (issue 19).
//!
//! reqwest reports all of these as "error sending request"; the cause is in
//! its source chain. The SDK resolves names itself ([`SystemResolver`], the
//! system's resolver as reqwest's default uses it) so that a failed lookup is
//! a typed [`UnknownHost`] in that chain rather than an I/O error
//! indistinguishable from a failed connect.

use std::error::Error as StdError;
use std::net::SocketAddr;

use crate::ClientError;

/// The system resolver (`getaddrinfo` on a blocking thread), with typed failures.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SystemResolver;

/// A host name the resolver could not resolve.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve `{host}`")]
pub(crate) struct UnknownHost {
    host: String,
    #[source]
    source: std::io::Error,
}

impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let looked_up: std::io::Result<Vec<SocketAddr>> =
                tokio::net::lookup_host((host.as_str(), 0)).await.map(Iterator::collect);
            match looked_up {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(source) => Err(Box::new(UnknownHost { host, source }) as Box<dyn StdError + Send + Sync>),
            }
        })
    }
}

/// The causes of `e`, outermost first, each once: an error type that both
/// prints its source and returns it from `source()` would otherwise repeat it.
pub(crate) fn causes(e: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !part.is_empty() && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// `host:port` of `url`, as a user typed it.
fn authority(url: Option<&reqwest::Url>) -> String {
    match url {
        Some(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_string(),
        },
        None => "the server".to_owned(),
    }
}

fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<T>() {
            return Some(found);
        }
        cause = c.source();
    }
    None
}

fn io_kind(e: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    find::<std::io::Error>(e).map(std::io::Error::kind)
}

/// The typed error for a request that got no (complete) answer.
pub(crate) fn classify(error: &reqwest::Error) -> ClientError {
    let addr = authority(error.url());
    let e: &(dyn StdError + 'static) = error;
    if let Some(unknown) = find::<UnknownHost>(e) {
        return ClientError::UnknownHost { host: unknown.host.clone(), detail: unknown.source.to_string() };
    }
    if let Some(rejected) = crate::tls::rejection(e) {
        return ClientError::TlsVerification {
            addr,
            reason: crate::tls::describe(&rejected.reason),
            issuer: rejected.issuer,
            subject: rejected.subject,
            trusted: rejected.trusted,
        };
    }
    if error.is_connect() && io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
        return ClientError::Refused { addr };
    }
    let kind = if error.is_timeout() {
        "timed out waiting for"
    } else if error.is_connect() {
        "cannot connect to"
    } else {
        "the exchange failed with"
    };
    let why = causes(e);
    // Holds no secrets: tokens travel in headers and bodies, never in URLs or causes.
    ClientError::Transport(if why.is_empty() {
        format!("{kind} {addr}")
    } else {
        format!("{kind} {addr}: {why}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:1: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Repeats);

    #[test]
    fn causes_are_listed_once_each() {
        let e = Outer(Repeats(std::io::Error::from(std::io::ErrorKind::AddrInUse)));
        let text = causes(&e);
        assert_eq!(text.matches("address in use").count(), 1, "{text}");
        assert!(text.starts_with("cannot listen on 127.0.0.1:1"), "{text}");
    }

    #[test]
    fn authority_names_the_port_a_url_implies() {
        let url = reqwest::Url::parse("https://api.example").ok();
        assert_eq!(authority(url.as_ref()), "api.example:443");
    }
}
