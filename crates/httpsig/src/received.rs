//! A request as a server received it, with the scheme of the connection, so that
//! `@target-uri` and `@scheme` (RFC 9421 §2.2.2, §2.2.4) can be rebuilt.
//!
//! An origin-form request (`POST /oauth/token HTTP/1.1` with `Host:`, or HTTP/2's `:path` and
//! `:authority`) carries no scheme in [`http::request::Parts`], so a covered `@target-uri` is
//! otherwise [`crate::BaseError::ComponentMissing`]. RFC 9110 §7.1 rebuilds the target URI from
//! the scheme the connection was received on, the authority and the path and query; Slipgate's
//! servers listen on TLS only, hence [`ReceivedRequest::https`].
//!
//! ```
//! use slipgate_httpsig::base::signature_base;
//! use slipgate_httpsig::params::parse_signature_input;
//! use slipgate_httpsig::received::ReceivedRequest;
//!
//! let (parts, ()) = http::Request::post("/oauth/token")
//!     .header("host", "127.0.0.1:8444")
//!     .body(())
//!     .unwrap()
//!     .into_parts();
//! let params = parse_signature_input(r#"sig1=("@method" "@target-uri");created=1"#).unwrap();
//! let base = signature_base(&params, &ReceivedRequest::https(&parts), None::<&http::request::Parts>).unwrap();
//! assert!(base.starts_with(b"\"@method\": POST\n\"@target-uri\": https://127.0.0.1:8444/oauth/token\n"));
//! ```
//!
//! # Security
//!
//! The scheme is the connection's, never the request's: an absolute-form target that says
//! `http://` is rebuilt as `https://…`, so a signature made for a plain-HTTP URI does not verify
//! on a TLS listener. Whether the authority names this server (SPEC §3.2) and whether an
//! absolute-form target agrees with `Host` are the caller's checks.

use crate::base::HttpMessage;

/// An [`http::request::Parts`] with the scheme its connection carried.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    parts: &'a http::request::Parts,
    scheme: &'a str,
}

impl<'a> ReceivedRequest<'a> {
    /// A request received on a TLS connection.
    #[must_use]
    pub fn https(parts: &'a http::request::Parts) -> Self {
        Self { parts, scheme: "https" }
    }

    /// A request received on a connection with this scheme (lowercase, e.g. `http`).
    #[must_use]
    pub fn with_scheme(parts: &'a http::request::Parts, scheme: &'a str) -> Self {
        Self { parts, scheme }
    }

    /// The request head.
    #[must_use]
    pub fn parts(&self) -> &'a http::request::Parts {
        self.parts
    }
}

impl HttpMessage for ReceivedRequest<'_> {
    fn method(&self) -> Option<&str> {
        HttpMessage::method(self.parts)
    }
    fn path(&self) -> Option<&str> {
        HttpMessage::path(self.parts)
    }
    fn authority(&self) -> Option<&str> {
        HttpMessage::authority(self.parts)
    }
    fn scheme(&self) -> Option<&str> {
        Some(self.scheme)
    }
    fn query(&self) -> Option<&str> {
        HttpMessage::query(self.parts)
    }
    fn status(&self) -> Option<u16> {
        None
    }
    fn header_values(&self, name: &str) -> Vec<&[u8]> {
        HttpMessage::header_values(self.parts, name)
    }
}
