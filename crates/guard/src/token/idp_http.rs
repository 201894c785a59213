//! The HTTPS client the API uses to reach the identity server: rustls with
//! aws-lc-rs, TLS 1.2/1.3 ([`slipgate_proto::tls::client_config`]), verifying
//! the server against `auth.ca` (or the system roots when unset), with a hard
//! timeout.

use std::path::Path;
use std::time::Duration;

use super::claims::TokenError;

/// Builds the client. `ca`: PEM file of the CA that signed the identity
/// server's certificate.
pub fn idp_client(ca: Option<&Path>, timeout: Duration) -> Result<reqwest::Client, TokenError> {
    let builder = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).https_only(true);
    let builder = match ca {
        Some(ca) => {
            let config = slipgate_proto::tls::client_config(ca, None)
                .map_err(|e| TokenError::Unavailable(format!("auth.ca: {e}")))?;
            builder.tls_backend_preconfigured(config)
        }
        None => builder,
    };
    builder
        .build()
        .map_err(|e| TokenError::Unavailable(format!("cannot build the identity-server client: {e}")))
}
