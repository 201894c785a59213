//! Step 2 of SPEC §3.3 on the slip route, before any signature work:
//! [`check`] — one field one line, no query string, a JSON content type, an
//! `Accept` this endpoint can answer (406 otherwise), a declared length within
//! the limit. The representation it negotiated goes on as a [`Format`]
//! extension. (Method and path are the router's, `Host` is
//! [`super::authority`]'s.)

use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request};
use slipgate_guard::{Guard, Guarded, Rejection};
use slipgate_proto::{Format, ProblemCode, headers};

/// The layer: [`check`], then the route with the negotiated [`Format`] in the
/// request extensions.
#[derive(Debug, Clone, Copy)]
pub struct ShapeCheck {
    max_body: usize,
}

impl ShapeCheck {
    /// Declared bodies over `max_body` bytes are refused (413).
    pub fn new(max_body: usize) -> Self {
        Self { max_body }
    }
}

impl<S> tower::Layer<S> for ShapeCheck {
    type Service = Guarded<Self, S>;
    fn layer(&self, inner: S) -> Self::Service {
        Guarded::new(*self, inner)
    }
}

impl<B: Send + 'static> Guard<B> for ShapeCheck {
    type Note = ();

    async fn admit(&self, mut request: Request<B>, _: &mut ()) -> Result<Request<B>, Rejection> {
        let format = check(request.uri(), request.headers(), self.max_body)?;
        request.extensions_mut().insert(format);
        Ok(request)
    }
}

/// Step 2 of SPEC §3.3, in its order: no repeated singleton field, no query,
/// a JSON content type, an acceptable `Accept`, a declared length within
/// `max_body`. Runs before the body is read.
///
/// # Errors
///
/// `bad_request`, `unsupported_media_type`, `not_acceptable` or `payload_too_large`.
pub fn check(uri: &http::Uri, headers: &HeaderMap, max_body: usize) -> Result<Format, Rejection> {
    // One field, one line (SPEC §3.2) before the content type is read, so a
    // second Content-Type line is a 400 whichever line comes first.
    slipgate_guard::signature::lines::check(headers)?;
    if uri.query().is_some() {
        return Err(Rejection::new(ProblemCode::BadRequest, "this endpoint takes no query string"));
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(headers::JSON));
    if !is_json {
        return Err(Rejection::new(
            ProblemCode::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    }
    let format = negotiate(headers.get(ACCEPT))?;
    if let Some(len) = headers.get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Rejection::new(ProblemCode::BadRequest, "Content-Length is not a number"))?;
        if len > max_body as u64 {
            return Err(Rejection::payload_too_large(max_body));
        }
    }
    Ok(format)
}

/// Picks JSON or PDF from `Accept` (RFC 9110 §12.5.1, q-values honoured).
/// No header, or one that ranks both equally, means JSON; one that accepts
/// neither is a 406.
pub fn negotiate(accept: Option<&HeaderValue>) -> Result<Format, Rejection> {
    let Some(accept) = accept else { return Ok(Format::Json) };
    let accept = accept
        .to_str()
        .map_err(|_| Rejection::new(ProblemCode::BadRequest, "Accept header is not valid text"))?;
    let (mut json_q, mut pdf_q) = (None::<(u16, u8)>, None::<(u16, u8)>);
    for range in accept.split(',').take(32) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map(parse_q)
            .next()
            .unwrap_or(Some(1000))
            .unwrap_or(0);
        // Specificity: an exact type beats `application/*`, which beats `*/*`.
        let (json_spec, pdf_spec) = match media.as_str() {
            headers::JSON => (Some(3), None),
            headers::PDF => (None, Some(3)),
            "application/*" => (Some(2), Some(2)),
            "*/*" => (Some(1), Some(1)),
            _ => (None, None),
        };
        for (slot, spec) in [(&mut json_q, json_spec), (&mut pdf_q, pdf_spec)] {
            if let Some(spec) = spec
                && slot.is_none_or(|(_, s)| spec > s)
            {
                *slot = Some((q, spec));
            }
        }
    }
    let json = json_q.map_or(0, |(q, _)| q);
    let pdf = pdf_q.map_or(0, |(q, _)| q);
    match (json, pdf) {
        (0, 0) => Err(Rejection::new(
            ProblemCode::NotAcceptable,
            "this endpoint produces application/json or application/pdf",
        )),
        (j, p) if p > j => Ok(Format::Pdf),
        _ => Ok(Format::Json),
    }
}

/// A q-value in thousandths, or `None` when malformed.
fn parse_q(s: &str) -> Option<u16> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = int * 1000 + frac_value;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Result<Format, ProblemCode> {
        negotiate(Some(&HeaderValue::from_str(accept).unwrap())).map_err(|e| e.code)
    }

    #[test]
    fn negotiates_by_preference() {
        assert_eq!(negotiate(None).unwrap(), Format::Json);
        assert_eq!(pick("application/pdf"), Ok(Format::Pdf));
        assert_eq!(pick("*/*"), Ok(Format::Json));
        assert_eq!(pick("application/json;q=0.5, application/pdf"), Ok(Format::Pdf));
        assert_eq!(pick("application/pdf;q=0.4, */*;q=0.5"), Ok(Format::Json));
        assert_eq!(pick("application/*;q=0.2, application/pdf;q=0.9"), Ok(Format::Pdf));
    }

    #[test]
    fn refuses_what_it_cannot_produce() {
        assert_eq!(pick("text/html"), Err(ProblemCode::NotAcceptable));
        assert_eq!(pick("application/json;q=0, application/pdf;q=0"), Err(ProblemCode::NotAcceptable));
        assert_eq!(pick("application/pdf;q=0, */*;q=0"), Err(ProblemCode::NotAcceptable));
    }
}
