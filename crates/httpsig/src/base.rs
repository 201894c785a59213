//! The RFC 9421 §2.5 signature base, built from a message through the [`HttpMessage`] trait.
//!
//! Field values are trimmed and multiple field lines joined with `", "`; `;key` re-serializes one
//! dictionary member, `;sf` re-serializes a known structured field, `;bs` wraps each line as a
//! byte sequence, `;req` takes the component from the related request. The last line is
//! `"@signature-params": <raw>` taken from the received `Signature-Input`, so parameter order is
//! signed as sent (SPEC §3.2).
//!
//! ```
//! use slipgate_httpsig::base::{signature_base, Message};
//! use slipgate_httpsig::params::parse_signature_input;
//!
//! let msg = Message::request("GET", "https://example.com/a?b=c").unwrap();
//! let params = parse_signature_input(r#"s=("@method" "@query");keyid="k""#).unwrap();
//! let base = signature_base(&params, &msg, None::<&Message>).unwrap();
//! assert_eq!(base, b"\"@method\": GET\n\"@query\": ?b=c\n\"@signature-params\": (\"@method\" \"@query\");keyid=\"k\"");
//! ```
//!
//! # Security
//!
//! A value containing CR, LF or NUL is refused, so nothing can inject a line into the base. A
//! covered field the message lacks is an error ([`BaseError::ComponentMissing`], SPEC
//! `components_missing`), never an empty line.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sfv::{ListEntry, Parser, SerializeValue};

use crate::params::{Component, ComponentParam, ParseError, SignatureParams};

/// Why a signature base could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseError {
    /// A covered component is absent from the message (the serialized identifier is given).
    #[error("covered component {0} is missing from the message")]
    ComponentMissing(String),
    /// A component has `;req` but no related request was supplied.
    #[error("covered component {0} needs the related request")]
    RelatedRequestMissing(String),
    /// A value contains CR, LF or NUL, or is not a valid structured field for `;key` / `;sf`.
    #[error("covered component {0} has an invalid value")]
    InvalidValue(String),
    /// `;sf` on a field whose structured type is not known here, or another unsupported form.
    #[error("covered component {0} is not supported")]
    Unsupported(String),
}

/// Read access to the parts of an HTTP message that a signature can cover.
///
/// Request methods return `None` on a response and vice versa. Implemented for [`Message`],
/// [`http::request::Parts`] and [`http::response::Parts`].
pub trait HttpMessage {
    /// The request method, e.g. `POST`.
    fn method(&self) -> Option<&str>;
    /// The absolute path of the target URI, e.g. `/generate/salaryslip`.
    fn path(&self) -> Option<&str>;
    /// The authority (host and optional port) of the target URI.
    fn authority(&self) -> Option<&str>;
    /// The target URI scheme, e.g. `https`.
    fn scheme(&self) -> Option<&str>;
    /// The query, without the leading `?`; `None` when there is none.
    fn query(&self) -> Option<&str>;
    /// The response status code.
    fn status(&self) -> Option<u16>;
    /// All field lines with this (lowercase) name, in order; empty when absent.
    fn header_values(&self, name: &str) -> Vec<&[u8]>;
}

/// Builds the signature base for `params` over `msg`.
///
/// `related_request` is the request a response answers, needed for `;req` components.
///
/// # Errors
///
/// See [`BaseError`].
pub fn signature_base<M: HttpMessage + ?Sized, R: HttpMessage + ?Sized>(
    params: &SignatureParams,
    msg: &M,
    related_request: Option<&R>,
) -> Result<Vec<u8>, BaseError> {
    let mut out = Vec::with_capacity(256 + params.raw.len());
    let mut id = String::with_capacity(48);
    for c in &params.components {
        id.clear();
        c.write_identifier(&mut id).map_err(|_| BaseError::InvalidValue(format!("{:?}", c.name)))?;
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b": ");
        let start = out.len();
        if c.has_req() {
            let req = related_request.ok_or_else(|| BaseError::RelatedRequestMissing(id.clone()))?;
            write_value(c, &id, req, &mut out)?;
        } else {
            write_value(c, &id, msg, &mut out)?;
        }
        if out.get(start..).unwrap_or_default().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(BaseError::InvalidValue(id));
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"\"@signature-params\": ");
    out.extend_from_slice(params.raw.as_bytes());
    Ok(out)
}

/// Appends the component's value to `out`: the common components directly,
/// the rest through [`component_value`].
fn write_value<M: HttpMessage + ?Sized>(
    c: &Component,
    id: &str,
    m: &M,
    out: &mut Vec<u8>,
) -> Result<(), BaseError> {
    let missing = || BaseError::ComponentMissing(id.to_owned());
    match c.name.as_str() {
        "@method" => out.extend_from_slice(m.method().ok_or_else(missing)?.as_bytes()),
        "@path" => out.extend_from_slice(path(m).ok_or_else(missing)?.as_bytes()),
        "@authority" => {
            let a = m.authority().ok_or_else(missing)?;
            let default = match m.scheme() {
                Some(s) if s.eq_ignore_ascii_case("https") => Some(":443"),
                Some(s) if s.eq_ignore_ascii_case("http") => Some(":80"),
                _ => None,
            };
            let a = default.and_then(|port| a.strip_suffix(port)).unwrap_or(a);
            out.extend(a.bytes().map(|b| b.to_ascii_lowercase()));
        }
        name if !c.is_derived() && c.params.is_empty() => {
            let lines = m.header_values(name);
            if lines.is_empty() {
                return Err(missing());
            }
            join_field_lines(&lines, out);
        }
        _ => out.extend_from_slice(&component_value(c, id, m)?),
    }
    Ok(())
}

fn component_value<M: HttpMessage + ?Sized>(c: &Component, id: &str, m: &M) -> Result<Vec<u8>, BaseError> {
    let missing = || BaseError::ComponentMissing(id.to_owned());
    let s = |v: Option<&str>| v.map(|v| v.as_bytes().to_vec()).ok_or_else(missing);
    match c.name.as_str() {
        "@method" => s(m.method()),
        "@authority" => authority(m).map(String::into_bytes).ok_or_else(missing),
        "@scheme" => s(m.scheme()).map(|v| v.to_ascii_lowercase()),
        "@path" => Ok(path(m).ok_or_else(missing)?.as_bytes().to_vec()),
        "@query" => {
            m.method().ok_or_else(missing)?;
            Ok(format!("?{}", m.query().unwrap_or("")).into_bytes())
        }
        "@request-target" => Ok(request_target(m).ok_or_else(missing)?.into_bytes()),
        "@target-uri" => {
            let scheme = m.scheme().ok_or_else(missing)?.to_ascii_lowercase();
            let auth = authority(m).ok_or_else(missing)?;
            let target = request_target(m).ok_or_else(missing)?;
            Ok(format!("{scheme}://{auth}{target}").into_bytes())
        }
        "@status" => m.status().map(|s| format!("{s:03}").into_bytes()).ok_or_else(missing),
        name if c.is_derived() => Err(BaseError::Unsupported(format!("{name:?}"))),
        name => field_value(c, id, &m.header_values(name)),
    }
}

fn path<M: HttpMessage + ?Sized>(m: &M) -> Option<&str> {
    m.method()?;
    Some(m.path().filter(|p| !p.is_empty()).unwrap_or("/"))
}

fn request_target<M: HttpMessage + ?Sized>(m: &M) -> Option<String> {
    let p = path(m)?;
    Some(match m.query() {
        Some(q) => format!("{p}?{q}"),
        None => p.to_owned(),
    })
}

/// RFC 9110 §4.2.3 normalization: lowercase, default port for the scheme removed.
fn authority<M: HttpMessage + ?Sized>(m: &M) -> Option<String> {
    let a = m.authority()?.to_ascii_lowercase();
    let default = match m.scheme().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => ":443",
        Some("http") => ":80",
        _ => return Some(a),
    };
    Some(a.strip_suffix(default).map(str::to_owned).unwrap_or(a))
}

/// Appends a field's lines to `out` as RFC 9421 §2.1 covers them: each trimmed
/// of surrounding spaces and tabs, joined with `", "`.
pub fn join_field_lines(lines: &[&[u8]], out: &mut Vec<u8>) {
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(trim(line));
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

fn field_value(c: &Component, id: &str, lines: &[&[u8]]) -> Result<Vec<u8>, BaseError> {
    // `lines` are header fields; trailers are never available here.
    if lines.is_empty() || c.params.contains(&ComponentParam::Tr) {
        return Err(BaseError::ComponentMissing(id.to_owned()));
    }
    if c.params.contains(&ComponentParam::Bs) {
        let parts: Vec<String> = lines.iter().map(|l| format!(":{}:", STANDARD.encode(trim(l)))).collect();
        return Ok(parts.join(", ").into_bytes());
    }
    let mut joined = Vec::new();
    join_field_lines(lines, &mut joined);
    let key = c.params.iter().find_map(|p| match p {
        ComponentParam::Key(k) => Some(k.as_str()),
        _ => None,
    });
    let invalid = || BaseError::InvalidValue(id.to_owned());
    if let Some(key) = key {
        let dict = Parser::parse_dictionary(&joined).map_err(|_| invalid())?;
        let member = dict.get(key).ok_or_else(|| BaseError::ComponentMissing(id.to_owned()))?;
        let text = match member {
            ListEntry::Item(item) => item.serialize_value(),
            ListEntry::InnerList(_) => vec![member.clone()].serialize_value(),
        };
        return text.map(String::into_bytes).map_err(|_| invalid());
    }
    if c.params.contains(&ComponentParam::Sf) {
        let text = match structured_type(&c.name) {
            Some(StructuredType::Dictionary) => {
                Parser::parse_dictionary(&joined).and_then(|d| d.serialize_value())
            }
            Some(StructuredType::List) => Parser::parse_list(&joined).and_then(|l| l.serialize_value()),
            Some(StructuredType::Item) => Parser::parse_item(&joined).and_then(|i| i.serialize_value()),
            None => return Err(BaseError::Unsupported(id.to_owned())),
        };
        return text.map(String::into_bytes).map_err(|_| invalid());
    }
    Ok(joined)
}

enum StructuredType {
    Dictionary,
    List,
    Item,
}

/// Structured fields whose type is known, for `;sf` (RFC 9421 §2.1.1 needs the type).
fn structured_type(name: &str) -> Option<StructuredType> {
    match name {
        "content-digest"
        | "repr-digest"
        | "want-content-digest"
        | "want-repr-digest"
        | "signature"
        | "signature-input"
        | "accept-signature"
        | "priority"
        | "cache-control-sf" => Some(StructuredType::Dictionary),
        "cache-status" | "proxy-status" | "accept-ch" | "client-cert-chain" => Some(StructuredType::List),
        "client-cert" | "example-integer" => Some(StructuredType::Item),
        _ => None,
    }
}

/// An owned HTTP message: enough for tests, the client signer and examples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    method: Option<String>,
    scheme: Option<String>,
    authority: Option<String>,
    path: Option<String>,
    query: Option<String>,
    status: Option<u16>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Message {
    /// A request for `method` and an absolute target URI such as `https://host:8443/p?q`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Malformed`] when `target_uri` is not a valid absolute URI.
    pub fn request(method: &str, target_uri: &str) -> Result<Self, ParseError> {
        let uri: http::Uri =
            target_uri.parse().map_err(|_| ParseError::Malformed("target uri is not a valid uri".into()))?;
        Ok(Self {
            method: Some(method.to_owned()),
            scheme: uri.scheme_str().map(str::to_owned),
            authority: uri.authority().map(|a| a.as_str().to_owned()),
            path: Some(uri.path().to_owned()),
            query: uri.query().map(str::to_owned),
            ..Self::default()
        })
    }

    /// A response with this status code.
    #[must_use]
    pub fn response(status: u16) -> Self {
        Self { status: Some(status), ..Self::default() }
    }

    /// Appends a field line; the name is lowercased.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        self
    }

    /// The field lines with this name joined by `", "`; `None` when absent or not UTF-8.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let lines: Option<Vec<&str>> = self
            .headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| std::str::from_utf8(v).ok())
            .collect();
        lines.filter(|l| !l.is_empty()).map(|l| l.join(", "))
    }

    /// All field lines, lowercase names, in insertion order.
    #[must_use]
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }
}

impl HttpMessage for Message {
    fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
    fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
    fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
    }
    fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn status(&self) -> Option<u16> {
        self.status
    }
    fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_slice()).collect()
    }
}

/// A server-side request: the authority comes from the URI, else from the `Host` field; the
/// scheme is only known when the URI is absolute.
impl HttpMessage for http::request::Parts {
    fn method(&self) -> Option<&str> {
        Some(self.method.as_str())
    }
    fn path(&self) -> Option<&str> {
        Some(self.uri.path())
    }
    fn authority(&self) -> Option<&str> {
        self.uri
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| self.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()))
    }
    fn scheme(&self) -> Option<&str> {
        self.uri.scheme_str()
    }
    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
    fn status(&self) -> Option<u16> {
        None
    }
    fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers.get_all(name).iter().map(http::HeaderValue::as_bytes).collect()
    }
}

impl HttpMessage for http::response::Parts {
    fn method(&self) -> Option<&str> {
        None
    }
    fn path(&self) -> Option<&str> {
        None
    }
    fn authority(&self) -> Option<&str> {
        None
    }
    fn scheme(&self) -> Option<&str> {
        None
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn status(&self) -> Option<u16> {
        Some(self.status.as_u16())
    }
    fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers.get_all(name).iter().map(http::HeaderValue::as_bytes).collect()
    }
}
