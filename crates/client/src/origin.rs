//! The base URLs of the API and the identity server: `https://host[:port]`,
//! checked before any connection is made.
//!
//! Slipgate speaks TLS only, and both services answer at the root of their
//! origin (the API's signatures cover `@path`, the identity server's
//! endpoints are `/oauth/…` and `/.well-known/…`). A URL with another scheme,
//! a path, a query, a fragment or credentials is refused with a message that
//! says what to write instead, rather than failing later as "builder error"
//! or silently dropping the path.
//!
//! ```
//! use slipgate_client::origin::{Service, parse_origin};
//! assert!(parse_origin("https://127.0.0.1:8443/", Service::Api).is_ok());
//! let e = parse_origin("http://127.0.0.1:8443", Service::Api).unwrap_err();
//! assert!(e.to_string().contains("https://127.0.0.1:8443"));
//! ```

use crate::ClientError;

/// Which Slipgate service a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// The salary-slip API (`slipgate serve`).
    Api,
    /// The identity server (`slipgate idp serve`).
    IdentityServer,
}

impl Service {
    /// "API" or "identity server", as in "invalid API URL".
    pub fn short_name(self) -> &'static str {
        match self {
            Service::Api => "API",
            Service::IdentityServer => "identity server",
        }
    }

    /// "the Slipgate API" or "the identity server".
    pub fn describe(self) -> &'static str {
        match self {
            Service::Api => "the Slipgate API",
            Service::IdentityServer => "the identity server",
        }
    }
}

fn invalid(service: Service, shown: &str, why: String) -> ClientError {
    ClientError::InvalidUrl { service: service.short_name(), url: shown.to_owned(), why }
}

/// The origin `url` names, or [`ClientError::InvalidUrl`] saying what is
/// wrong with it and what to write instead. Credentials in the URL are never
/// echoed.
pub fn parse_origin(url: &str, service: Service) -> Result<reqwest::Url, ClientError> {
    let url = url.trim();
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) if url.contains("://") => parsed,
        // `localhost:8443` parses, with the scheme `localhost`.
        Ok(_) => return Err(invalid(service, url, format!("no scheme: write https://{url}"))),
        Err(_) if !url.contains("://") => {
            return Err(invalid(service, url, format!("no scheme: write https://{url}")));
        }
        Err(e) => return Err(invalid(service, url, format!("not a URL ({e})"))),
    };
    let has_credentials = !parsed.username().is_empty() || parsed.password().is_some();
    let mut origin = parsed.clone();
    let _ = origin.set_username("");
    let _ = origin.set_password(None);
    // Shown in messages: never the credentials.
    let shown = origin.as_str().to_owned();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    if parsed.scheme() == "http" {
        let _ = origin.set_scheme("https");
    }
    let root = origin.as_str().trim_end_matches('/').to_owned();
    match parsed.scheme() {
        "https" => {}
        "http" => {
            return Err(invalid(
                service,
                &shown,
                format!("http:// is not accepted: Slipgate speaks TLS only; write {root}"),
            ));
        }
        other => {
            return Err(invalid(
                service,
                &shown,
                format!("the scheme is {other}: only https:// is accepted"),
            ));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(service, &shown, "no host".into()));
    }
    if has_credentials {
        return Err(invalid(
            service,
            &shown,
            "credentials in the URL are not accepted: log in with `slipgate login` or the SDK's login".into(),
        ));
    }
    if parsed.path() != "/" {
        return Err(invalid(
            service,
            &shown,
            format!(
                "it has the path `{}`, but {} answers at the root of its origin: write {root}",
                parsed.path(),
                service.describe()
            ),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            service,
            &shown,
            format!("a query or fragment has no place in a base URL: write {root}"),
        ));
    }
    Ok(origin)
}

/// When an answer that should have come from the API (`expected`) reads
/// like the identity server's, or the reverse: the error that says so.
///
/// The identity server answers unknown paths with RFC 6749 error JSON
/// (`{"error": "not_found", …}`) and signs nothing; the API answers with
/// RFC 9457 problems (`code`, `type` `urn:slipgate:problem:…`) and signs
/// every answer (SPEC §3.6, §3.8).
pub(crate) fn wrong_service(
    url: &str,
    expected: Service,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Option<ClientError> {
    let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    let text = |k: &str| doc.get(k).and_then(serde_json::Value::as_str);
    let signed = headers.contains_key(slipgate_proto::headers::SIGNATURE);
    let problem =
        text("code").is_some() && text("type").is_some_and(|t| t.starts_with("urn:slipgate:problem:"));
    match expected {
        Service::Api if !signed && !problem => {
            let error = text("error")?;
            Some(ClientError::WrongService {
                url: url.to_owned(),
                expected: Service::Api.describe(),
                found: Service::IdentityServer.describe(),
                evidence: format!(
                    "it answered {status} with an unsigned OAuth error (`{error}`) where the API signs every \
                     answer"
                ),
            })
        }
        Service::IdentityServer if problem => Some(ClientError::WrongService {
            url: url.to_owned(),
            expected: Service::IdentityServer.describe(),
            found: Service::Api.describe(),
            evidence: format!(
                "it answered {status} with a Slipgate problem (`{}`) where the identity server answers OAuth \
                 errors",
                text("code").unwrap_or_default()
            ),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(url: &str) -> String {
        match parse_origin(url, Service::Api) {
            Ok(u) => format!("accepted {u}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_an_https_origin_with_or_without_the_slash() {
        for url in ["https://127.0.0.1:8443", "https://127.0.0.1:8443/", "https://api.example"] {
            assert!(parse_origin(url, Service::Api).is_ok(), "{url}: {}", why(url));
        }
    }

    #[test]
    fn rejects_http_and_says_what_to_write() {
        let m = why("http://127.0.0.1:8443");
        assert!(m.contains("invalid API URL `http://127.0.0.1:8443/`"), "{m}");
        assert!(m.contains("TLS only; write https://127.0.0.1:8443"), "{m}");
    }

    #[test]
    fn rejects_a_path() {
        let m = why("https://127.0.0.1:8443/api/v1");
        assert!(m.contains("the path `/api/v1`"), "{m}");
        assert!(m.contains("write https://127.0.0.1:8443"), "{m}");
    }

    #[test]
    fn rejects_a_query_and_a_fragment() {
        assert!(why("https://h.example/?x=1").contains("query or fragment"));
        assert!(why("https://h.example/#top").contains("query or fragment"));
    }

    #[test]
    fn rejects_a_missing_scheme() {
        assert!(
            why("127.0.0.1:8443").contains("no scheme: write https://127.0.0.1:8443"),
            "{}",
            why("127.0.0.1:8443")
        );
        assert!(
            why("localhost:8443").contains("no scheme: write https://localhost:8443"),
            "{}",
            why("localhost:8443")
        );
    }

    #[test]
    fn an_unsigned_oauth_error_is_the_identity_server_not_the_api() {
        let body = br#"{"error":"not_found","error_description":"no such endpoint"}"#;
        let e = wrong_service("https://idp.test", Service::Api, 404, &http::HeaderMap::new(), body);
        let m = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(m.contains("looks like the identity server, not the Slipgate API"), "{m}");
        let problem = br#"{"type":"urn:slipgate:problem:not_found","code":"not_found","title":"t","status":404,"detail":"d","request_id":"r"}"#;
        assert!(
            wrong_service("https://api.test", Service::Api, 404, &http::HeaderMap::new(), problem).is_none()
        );
        let e =
            wrong_service("https://api.test", Service::IdentityServer, 404, &http::HeaderMap::new(), problem);
        let m = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(m.contains("looks like the Slipgate API, not the identity server"), "{m}");
    }

    #[test]
    fn rejects_credentials_without_echoing_them() {
        let m = why("https://alice:hunter22@api.example");
        assert!(m.contains("credentials in the URL"), "{m}");
        assert!(!m.contains("hunter22") && !m.contains("alice"), "{m}");
    }
}
