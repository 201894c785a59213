//! Parsing `Signature-Input` and `Signature` (RFC 9421 §4) into [`SignatureParams`].
//!
//! Both fields are structured-field dictionaries keyed by signature label. The *first* member of
//! `Signature-Input` is the one evaluated (SPEC §3.2); the `Signature` member with the same label
//! must exist. Parsing is bounded ([`crate::MAX_FIELD_LEN`], [`crate::MAX_MEMBERS`],
//! [`crate::MAX_COMPONENTS`]) and never panics.
//!
//! ```
//! use slipgate_httpsig::params::{parse_signature_headers, ParseError};
//!
//! let input = r#"sig1=("@method" "content-digest");created=1767225600;keyid="k1";nonce="abcdefgh12""#;
//! let parsed = parse_signature_headers(Some(input), Some("sig1=:AAAA:")).unwrap();
//! assert_eq!(parsed.params.label, "sig1");
//! assert!(parsed.params.covers("content-digest"));
//! assert_eq!(parsed.params.created, Some(1_767_225_600));
//! assert_eq!(parse_signature_headers(None, None), Err(ParseError::Missing));
//! ```
//!
//! # Security
//!
//! Rejects malformed input early with a typed error (SPEC §3.6 maps [`ParseError::Missing`] to
//! `signature_missing`, the others to `signature_malformed`). Whether `created`, `keyid` and
//! `nonce` are present, and which components are required, is the caller's policy.

use std::borrow::Cow;

use sfv::{BareItem, InnerList, Item, ListEntry, Parameters, Parser, SerializeValue};

use crate::{MAX_COMPONENTS, MAX_FIELD_LEN, MAX_MEMBERS, MAX_NONCE_LEN, MIN_NONCE_LEN};

/// Why the signature fields could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Neither `Signature-Input` nor `Signature` is present.
    #[error("signature and signature-input are missing")]
    Missing,
    /// Only one field is present, the labels do not match, the structured field is unparsable,
    /// or a component or parameter is invalid or unsupported.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// A `nonce` parameter is present but not 8–128 chars of `[A-Za-z0-9._~+/=-]`.
    #[error("malformed signature: nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")]
    NonceMalformed,
}

fn malformed(why: impl Into<String>) -> ParseError {
    ParseError::Malformed(why.into())
}

/// A component parameter (RFC 9421 §2.1, §2.4). Order is significant and preserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComponentParam {
    /// `req`: take the component from the related request (signing a response).
    Req,
    /// `key="…"`: one member of a dictionary-structured field.
    Key(String),
    /// `sf`: the field re-serialized as a structured field.
    Sf,
    /// `bs`: each field value wrapped as a byte sequence.
    Bs,
    /// `tr`: the field from the trailers (RFC 9421 §2.1.4). No message here
    /// has trailers, so such a component is always absent from the message.
    Tr,
}

/// The derived components this crate supports (RFC 9421 §2.2).
pub const DERIVED_COMPONENTS: [&str; 8] =
    ["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query", "@status"];

/// One covered component: a derived component (`@method`, …) or a lowercase field name, with
/// its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Component {
    /// `@method`, `@path`, … or a lowercase field name such as `content-digest`.
    pub name: String,
    /// Parameters in the order they were received or given.
    pub params: Vec<ComponentParam>,
}

impl Component {
    /// A component without parameters; `name` is taken as given (validate with [`Self::check`]).
    #[must_use]
    pub fn field_or_derived(name: &str) -> Self {
        Self { name: name.to_owned(), params: Vec::new() }
    }

    /// Adds `;req` (the component comes from the related request).
    #[must_use]
    pub fn req(mut self) -> Self {
        self.params.push(ComponentParam::Req);
        self
    }

    /// Adds `;key="member"` (one member of a dictionary field).
    #[must_use]
    pub fn key(mut self, member: &str) -> Self {
        self.params.push(ComponentParam::Key(member.to_owned()));
        self
    }

    /// Adds `;sf` (re-serialize the field as a structured field).
    #[must_use]
    pub fn sf(mut self) -> Self {
        self.params.push(ComponentParam::Sf);
        self
    }

    /// Whether this is a derived component (its name starts with `@`).
    #[must_use]
    pub fn is_derived(&self) -> bool {
        self.name.starts_with('@')
    }

    /// Whether the `req` parameter is present.
    #[must_use]
    pub fn has_req(&self) -> bool {
        self.params.contains(&ComponentParam::Req)
    }

    /// Checks the name and parameter combination against what this crate supports.
    ///
    /// # Errors
    ///
    /// [`ParseError::Malformed`] naming the component when it is unknown, not lowercase,
    /// duplicated, or has a parameter that does not apply.
    pub fn check(&self) -> Result<(), ParseError> {
        let name = &self.name;
        if self.is_derived() {
            if !DERIVED_COMPONENTS.contains(&name.as_str()) {
                return Err(malformed(format!("unsupported derived component {name:?}")));
            }
        } else if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.!#$%&'*+^`|~".contains(&b))
        {
            return Err(malformed(format!("component {name:?} is not a lowercase field name")));
        }
        let (mut req, mut key, mut sf, mut bs, mut tr) = (0, 0, 0, 0, 0);
        for p in &self.params {
            match p {
                ComponentParam::Req => req += 1,
                ComponentParam::Key(_) => key += 1,
                ComponentParam::Sf => sf += 1,
                ComponentParam::Bs => bs += 1,
                ComponentParam::Tr => tr += 1,
            }
        }
        if req > 1 || key > 1 || sf > 1 || bs > 1 || tr > 1 {
            return Err(malformed(format!("component {name:?} repeats a parameter")));
        }
        if self.is_derived() && key + sf + bs + tr > 0 {
            return Err(malformed(format!("derived component {name:?} takes only the req parameter")));
        }
        if bs > 0 && key + sf > 0 {
            return Err(malformed(format!("component {name:?} combines bs with key or sf")));
        }
        if name == "@status" && req > 0 {
            return Err(malformed("component \"@status\" cannot take req"));
        }
        Ok(())
    }

    /// The component identifier serialized as in the signature base, e.g. `"@path";req`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Malformed`] when the name or a `key` value cannot be an sf-string.
    pub fn to_identifier(&self) -> Result<String, ParseError> {
        let mut out = String::with_capacity(self.name.len() + 8);
        self.write_identifier(&mut out)?;
        Ok(out)
    }

    /// Appends the serialized identifier to `out` — the same text the
    /// structured-field serializer gives (a unit test holds them equal), without
    /// building an intermediate tree. On error `out` may hold a partial write.
    ///
    /// # Errors
    ///
    /// [`ParseError::Malformed`] when the name or a `key` value is not a valid sf-string
    /// (printable ASCII).
    pub fn write_identifier(&self, out: &mut String) -> Result<(), ParseError> {
        write_sf_string(out, &self.name)
            .map_err(|()| malformed(format!("component {:?}: not an sf-string", self.name)))?;
        for p in &self.params {
            match p {
                ComponentParam::Req => out.push_str(";req"),
                ComponentParam::Sf => out.push_str(";sf"),
                ComponentParam::Bs => out.push_str(";bs"),
                ComponentParam::Tr => out.push_str(";tr"),
                ComponentParam::Key(member) => {
                    out.push_str(";key=");
                    write_sf_string(out, member).map_err(|()| {
                        malformed(format!("component {:?}: key is not an sf-string", self.name))
                    })?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn to_item(&self) -> Result<Item, ParseError> {
        let mut params = Parameters::new();
        for p in &self.params {
            let (k, v) = match p {
                ComponentParam::Req => ("req", BareItem::Boolean(true)),
                ComponentParam::Key(m) => ("key", BareItem::String(m.clone())),
                ComponentParam::Sf => ("sf", BareItem::Boolean(true)),
                ComponentParam::Bs => ("bs", BareItem::Boolean(true)),
                ComponentParam::Tr => ("tr", BareItem::Boolean(true)),
            };
            params.insert(k.to_owned(), v);
        }
        Ok(Item::with_params(BareItem::String(self.name.clone()), params))
    }

    fn from_item(item: &Item) -> Result<Self, ParseError> {
        let BareItem::String(name) = &item.bare_item else {
            return Err(malformed("component identifier is not a string"));
        };
        let mut params = Vec::with_capacity(item.params.len());
        for (k, v) in &item.params {
            let p = match (k.as_str(), v) {
                ("req", BareItem::Boolean(true)) => ComponentParam::Req,
                ("sf", BareItem::Boolean(true)) => ComponentParam::Sf,
                ("bs", BareItem::Boolean(true)) => ComponentParam::Bs,
                ("tr", BareItem::Boolean(true)) => ComponentParam::Tr,
                ("key", BareItem::String(m)) => ComponentParam::Key(m.clone()),
                _ => return Err(malformed(format!("component {name:?} has unsupported parameter {k:?}"))),
            };
            params.push(p);
        }
        let c = Self { name: name.clone(), params };
        c.check()?;
        Ok(c)
    }
}

/// The evaluated signature's label, covered components and parameters (RFC 9421 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// The dictionary key of the signature (e.g. `sig1`).
    pub label: String,
    /// Covered components, in signed order.
    pub components: Vec<Component>,
    /// `created`, unix seconds.
    pub created: Option<i64>,
    /// `expires`, unix seconds.
    pub expires: Option<i64>,
    /// `nonce`, already checked against the SPEC §3.2 form.
    pub nonce: Option<String>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// `alg`; when present it must match the key's algorithm.
    pub alg: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// `pub`: the signer's raw public key, decoded from its sf-binary (a run-time key in a
    /// signed token request, draft-richer-oauth-httpsig-03 §2.2). Length and curve checks are
    /// [`crate::binding::BoundKey::from_raw`]'s.
    pub pub_key: Option<Vec<u8>>,
    /// The inner list serialized as it is signed in `@signature-params`, parameters in the order
    /// received (canonical structured-field serialization of what was received).
    pub raw: String,
}

impl SignatureParams {
    /// `label` covering `components`, no parameters yet, `raw` still empty.
    fn covering(label: &str, components: Vec<Component>) -> Self {
        Self {
            label: label.to_owned(),
            components,
            created: None,
            expires: None,
            nonce: None,
            keyid: None,
            alg: None,
            tag: None,
            pub_key: None,
            raw: String::new(),
        }
    }

    /// Whether a covered component has this name (any parameters).
    ///
    /// Not a policy check: `"content-digest";key="md5"` covers one member of
    /// the field, not the field; use [`Self::covers_plain`] for requirements.
    #[must_use]
    pub fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c.name == name)
    }

    /// Whether this name is covered as a plain entry, without parameters
    /// (SPEC §3.2): `"content-digest"` covers the field, while
    /// `"content-digest";key="sha-256"`, `;sf`, `;bs`, `;req` or `;tr` sign
    /// something else (one member, a re-serialization, the related request).
    #[must_use]
    pub fn covers_plain(&self, name: &str) -> bool {
        self.components.iter().any(|c| c.name == name && c.params.is_empty())
    }

    /// The required names that are not covered as plain entries
    /// ([`Self::covers_plain`]), in the order given.
    #[must_use]
    pub fn missing_components<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required.iter().copied().filter(|r| !self.covers_plain(r)).collect()
    }
}

/// The evaluated signature: its parameters and the decoded signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    /// Label, components and parameters of the first `Signature-Input` member.
    pub params: SignatureParams,
    /// The `Signature` member with the same label, base64-decoded.
    pub signature: Vec<u8>,
}

/// Parses both fields and returns the first `Signature-Input` member with its signature.
///
/// Pass each field's value with multiple field lines joined by `", "`.
///
/// # Errors
///
/// [`ParseError::Missing`] when both are `None`; [`ParseError::NonceMalformed`] for a bad nonce;
/// [`ParseError::Malformed`] for everything else (one field only, label mismatch, bad syntax,
/// limits exceeded, unsupported components or parameters).
pub fn parse_signature_headers(
    signature_input: Option<&str>,
    signature: Option<&str>,
) -> Result<ParsedSignature, ParseError> {
    let (input, sig) = match (signature_input, signature) {
        (None, None) => return Err(ParseError::Missing),
        (None, Some(_)) => return Err(malformed("signature-input is missing")),
        (Some(_), None) => return Err(malformed("signature is missing")),
        (Some(i), Some(s)) => (i, s),
    };
    let params = parse_signature_input(input)?;
    let signature = signature_member(sig, &params.label)?;
    Ok(ParsedSignature { params, signature })
}

/// The decoded `Signature` member labelled `label`.
pub(crate) fn signature_member(sig: &str, label: &str) -> Result<Vec<u8>, ParseError> {
    if let Some(signature) = fast_signature(sig, label) {
        return Ok(signature);
    }
    let sig_dict = parse_dict(sig, "signature")?;
    let entry = sig_dict
        .get(label)
        .ok_or_else(|| malformed(format!("signature has no member labelled {label:?}")))?;
    let ListEntry::Item(Item { bare_item: BareItem::ByteSeq(bytes), params: member_params }) = entry else {
        return Err(malformed(format!("signature {label:?} is not a byte sequence")));
    };
    // RFC 9421 defines no parameters here; refusing them keeps the member's
    // serialization (`"signature";req;key=…` in response signatures) exactly `:<base64>:`.
    if !member_params.is_empty() {
        return Err(malformed(format!("signature {label:?} has parameters")));
    }
    Ok(bytes.clone())
}

/// [`parse_signature_headers`] on the `Signature-Input` and `Signature` fields of a header map,
/// each field's lines joined with `", "`.
///
/// # Errors
///
/// As [`parse_signature_headers`]; a field value that is not visible ASCII is
/// [`ParseError::Malformed`].
pub fn parse_signature_header_map(headers: &http::HeaderMap) -> Result<ParsedSignature, ParseError> {
    let input = joined_field(headers, &SIGNATURE_INPUT)?;
    let sig = joined_field(headers, &SIGNATURE)?;
    parse_signature_headers(input.as_deref(), sig.as_deref())
}

/// The `Signature-Input` field's name, for lookups that need not parse a `&str` each time.
pub const SIGNATURE_INPUT: http::HeaderName = http::HeaderName::from_static("signature-input");
/// The `Signature` field's name.
pub const SIGNATURE: http::HeaderName = http::HeaderName::from_static("signature");

/// All lines of a field joined with `", "` (RFC 9110 §5.3); `None` when absent.
/// A field of one line (the usual case) is borrowed, not copied.
///
/// # Errors
///
/// [`ParseError::Malformed`] when a line is not visible ASCII or the total exceeds
/// [`crate::MAX_FIELD_LEN`].
pub fn joined_field<'a>(
    headers: &'a http::HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<Cow<'a, str>>, ParseError> {
    let text =
        |v: &'a http::HeaderValue| v.to_str().map_err(|_| malformed(format!("{name} is not visible ascii")));
    let too_long = || malformed(format!("{name} is longer than {MAX_FIELD_LEN} bytes"));
    let mut lines = headers.get_all(name).iter();
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let mut out = Cow::Borrowed(text(first)?);
    if out.len() > MAX_FIELD_LEN {
        return Err(too_long());
    }
    for v in lines {
        let joined = out.to_mut();
        joined.push_str(", ");
        joined.push_str(text(v)?);
        if joined.len() > MAX_FIELD_LEN {
            return Err(too_long());
        }
    }
    Ok(Some(out))
}

/// Parses a `Signature-Input` value and returns its first member.
///
/// # Errors
///
/// As [`parse_signature_headers`].
pub fn parse_signature_input(value: &str) -> Result<SignatureParams, ParseError> {
    if value.len() <= MAX_FIELD_LEN
        && let Some(params) = fast_signature_input(value)
    {
        return Ok(params);
    }
    parse_signature_input_general(value)
}

/// [`parse_signature_input`] through the general structured-field parser
/// only (tests compare it with the fast path).
#[doc(hidden)]
pub fn parse_signature_input_general(value: &str) -> Result<SignatureParams, ParseError> {
    let dict = parse_dict(value, "signature-input")?;
    let (label, entry) = dict.first().ok_or_else(|| malformed("signature-input is empty"))?;
    let ListEntry::InnerList(inner) = entry else {
        return Err(malformed(format!("signature-input {label:?} is not an inner list")));
    };
    params_from_inner_list(label, inner)
}

pub(crate) fn params_from_inner_list(label: &str, inner: &InnerList) -> Result<SignatureParams, ParseError> {
    if inner.items.len() > MAX_COMPONENTS {
        return Err(malformed(format!("signature-input {label:?} covers too many components")));
    }
    let mut components: Vec<Component> = Vec::with_capacity(inner.items.len());
    for item in &inner.items {
        let c = Component::from_item(item)?;
        if components.contains(&c) {
            return Err(malformed(format!("component {:?} is covered twice", c.name)));
        }
        components.push(c);
    }
    let mut out = SignatureParams::covering(label, components);
    for (k, v) in &inner.params {
        match k.as_str() {
            "created" => out.created = Some(int_param(k, v)?),
            "expires" => out.expires = Some(int_param(k, v)?),
            "nonce" => {
                let n = str_param(k, v)?;
                if !nonce_is_well_formed(&n) {
                    return Err(ParseError::NonceMalformed);
                }
                out.nonce = Some(n);
            }
            "keyid" => out.keyid = Some(str_param(k, v)?),
            "alg" => out.alg = Some(str_param(k, v)?),
            "tag" => out.tag = Some(str_param(k, v)?),
            "pub" => out.pub_key = Some(bytes_param(k, v)?),
            // Extension parameters are signed (they are in `raw`) but carry no meaning here.
            _ => {}
        }
    }
    out.raw = serialize_inner_list(&out.components, &inner.params)
        .map_err(|e| malformed(format!("signature-input {label:?}: {e}")))?;
    Ok(out)
}

/// The inner list as RFC 8941 §4.1.1.1 serializes it: the components, then
/// the parameters in the order received. Written directly; a unit test holds
/// it equal to the structured-field serializer's output.
fn serialize_inner_list(components: &[Component], params: &Parameters) -> Result<String, ParseError> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(160);
    out.push('(');
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        c.write_identifier(&mut out)?;
    }
    out.push(')');
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        match value {
            BareItem::Boolean(true) => {}
            BareItem::Integer(i) => {
                let _ = write!(out, "={i}");
            }
            BareItem::String(v) => {
                out.push('=');
                write_sf_string(&mut out, v)
                    .map_err(|()| malformed(format!("parameter {key:?} is not an sf-string")))?;
            }
            BareItem::Token(t) => {
                out.push('=');
                out.push_str(t);
            }
            BareItem::ByteSeq(b) => {
                // RFC 8941 §4.1.8: standard base64 with padding, between colons.
                out.push_str("=:");
                out.push_str(&base64::Engine::encode(&SF_BASE64, b));
                out.push(':');
            }
            other => {
                // Rare (booleans false, decimals): the library's serializer.
                let text = Item::new(other.clone())
                    .serialize_value()
                    .map_err(|e| malformed(format!("parameter {key:?}: {e}")))?;
                out.push('=');
                out.push_str(&text);
            }
        }
    }
    Ok(out)
}

/// Appends `value` as an RFC 8941 sf-string; `Err` when it is not printable ASCII.
fn write_sf_string(out: &mut String, value: &str) -> Result<(), ()> {
    out.push('"');
    for b in value.bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => return Err(()),
        }
    }
    out.push('"');
    Ok(())
}

/// Whether `nonce` is 8–128 chars of `[A-Za-z0-9._~+/=-]` (SPEC §3.2).
#[must_use]
pub fn nonce_is_well_formed(nonce: &str) -> bool {
    (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&nonce.len())
        && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b))
}

pub(crate) fn parse_dict(value: &str, field: &str) -> Result<sfv::Dictionary, ParseError> {
    if value.len() > MAX_FIELD_LEN {
        return Err(malformed(format!("{field} is longer than {MAX_FIELD_LEN} bytes")));
    }
    let dict = Parser::parse_dictionary(value.as_bytes())
        .map_err(|e| malformed(format!("{field} is not a structured-field dictionary: {e}")))?;
    if dict.len() > MAX_MEMBERS {
        return Err(malformed(format!("{field} has more than {MAX_MEMBERS} members")));
    }
    Ok(dict)
}

fn int_param(name: &str, v: &BareItem) -> Result<i64, ParseError> {
    match v {
        BareItem::Integer(i) => Ok(*i),
        _ => Err(malformed(format!("parameter {name:?} is not an integer"))),
    }
}

fn str_param(name: &str, v: &BareItem) -> Result<String, ParseError> {
    match v {
        BareItem::String(s) => Ok(s.clone()),
        _ => Err(malformed(format!("parameter {name:?} is not a string"))),
    }
}

fn bytes_param(name: &str, v: &BareItem) -> Result<Vec<u8>, ParseError> {
    match v {
        BareItem::ByteSeq(b) => Ok(b.clone()),
        _ => Err(malformed(format!("parameter {name:?} is not a byte sequence"))),
    }
}

/// The base64 the structured-field parser decodes byte sequences with.
const SF_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_encode_padding(true),
);

fn is_key_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'*'
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
}

/// A cursor over the bytes of a field value.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// Bytes while `f` holds.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(&f) {
            self.at += 1;
        }
        self.text.get(start..self.at).unwrap_or_default()
    }

    /// An sf-key.
    fn key(&mut self) -> Option<&'a str> {
        if !is_key_start(self.peek()?) {
            return None;
        }
        Some(self.take_while(is_key_char))
    }

    /// An sf-string without escapes (an escape sends the caller to the general parser).
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let s = self.take_while(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        self.eat(b'"')?;
        Some(s)
    }

    /// An sf-integer in canonical form (no leading zeros, no `-0`).
    fn canonical_integer(&mut self) -> Option<i64> {
        let start = self.at;
        let _ = self.eat(b'-');
        let digits = self.take_while(|b| b.is_ascii_digit());
        let text = self.text.get(start..self.at)?;
        let canonical = !digits.is_empty()
            && digits.len() <= 15
            && (digits == "0" || !digits.starts_with('0'))
            && text != "-0";
        if !canonical || matches!(self.peek(), Some(b'.')) {
            return None;
        }
        text.parse().ok()
    }
}

/// The common form of `Signature-Input` — one member, every value in
/// canonical form (single spaces, plain strings, canonical integers) — parsed
/// without building a structured-field tree. `None` sends the value to the
/// general parser, which then decides (and words any error); so this accepts
/// nothing the general parser would refuse and gives the same result, which a
/// property test checks. In this form the received text *is* the canonical
/// serialization, so `raw` is a slice of it.
pub(crate) fn fast_signature_input(value: &str) -> Option<SignatureParams> {
    let mut cur = Cursor { text: value, at: 0 };
    let label = cur.key()?;
    cur.eat(b'=')?;
    let raw_start = cur.at;
    cur.eat(b'(')?;
    let mut components: Vec<Component> = Vec::with_capacity(8);
    if cur.eat(b')').is_none() {
        loop {
            let name = cur.plain_string()?;
            let mut params = Vec::new();
            while cur.eat(b';').is_some() {
                params.push(match cur.key()? {
                    "req" => ComponentParam::Req,
                    "sf" => ComponentParam::Sf,
                    "bs" => ComponentParam::Bs,
                    "tr" => ComponentParam::Tr,
                    "key" => {
                        cur.eat(b'=')?;
                        ComponentParam::Key(cur.plain_string()?.to_owned())
                    }
                    _ => return None,
                });
                if matches!(cur.peek(), Some(b'=')) {
                    return None;
                }
            }
            let c = Component { name: name.to_owned(), params };
            if c.check().is_err() || components.contains(&c) || components.len() == MAX_COMPONENTS {
                return None;
            }
            components.push(c);
            if cur.eat(b')').is_some() {
                break;
            }
            cur.eat(b' ')?;
            if cur.peek()? != b'"' {
                return None;
            }
        }
    }
    let mut out = SignatureParams::covering(label, components);
    let mut seen: Vec<&str> = Vec::with_capacity(8);
    while cur.eat(b';').is_some() {
        let key = cur.key()?;
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        cur.eat(b'=')?;
        if cur.peek()? == b'"' {
            let v = cur.plain_string()?;
            match key {
                "nonce" if nonce_is_well_formed(v) => out.nonce = Some(v.to_owned()),
                "keyid" => out.keyid = Some(v.to_owned()),
                "alg" => out.alg = Some(v.to_owned()),
                "tag" => out.tag = Some(v.to_owned()),
                // `pub` is a byte sequence: the general parser words the error.
                "created" | "expires" | "nonce" | "pub" => return None,
                _ => {}
            }
        } else {
            let v = cur.canonical_integer()?;
            match key {
                "created" => out.created = Some(v),
                "expires" => out.expires = Some(v),
                "nonce" | "keyid" | "alg" | "tag" | "pub" => return None,
                _ => {}
            }
        }
    }
    if cur.at != value.len() {
        return None;
    }
    out.raw = value.get(raw_start..)?.to_owned();
    Some(out)
}

/// The common form of `Signature` — one member `label=:<base64>:`, no
/// parameters — decoded directly; `None` sends it to the general parser.
fn fast_signature(value: &str, label: &str) -> Option<Vec<u8>> {
    if value.len() > MAX_FIELD_LEN {
        return None;
    }
    let rest = value.strip_prefix(label)?.strip_prefix("=:")?.strip_suffix(':')?;
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        return None;
    }
    base64::Engine::decode(&SF_BASE64, rest).ok()
}
