//! `GET /.well-known/jwks.json` (RFC 7517) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use slipgate_proto::oauth::{
    AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, SCOPE_ANY, SCOPE_SELF, TOKEN_PATH,
};

use crate::state::IdpState;

/// The public signing keys; cacheable for five minutes.
pub async fn jwks(State(state): State<IdpState>) -> Response {
    let mut response = Json(state.keys.jwks(state.now())).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// The authorization-server metadata document.
pub async fn metadata(State(state): State<IdpState>) -> Response {
    let issuer = &state.issuer;
    let mut response = Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials", "authorization_code"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": [SCOPE_SELF, SCOPE_ANY],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "access_token_signing_alg_values_supported": ["EdDSA"],
    }))
    .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
