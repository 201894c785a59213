//! The request and response signatures as the wire protocol fixes them (SPEC
//! §3.2, §3.2.1, §3.8, §4): labels, the components a signature must cover and
//! the `tag` values of key-bound signatures. The server's checks and the
//! clients' signers read these, so the two sides cannot drift.
//!
//! ```
//! use slipgate_proto::signature::{BOUND_COMPONENTS, REGISTRY_COMPONENTS, REQUEST_LABEL};
//!
//! assert_eq!(REQUEST_LABEL, "sig1");
//! assert!(REGISTRY_COMPONENTS.contains(&"@path") && BOUND_COMPONENTS.contains(&"@target-uri"));
//! ```

/// The label of a request signature (`sig1=...`).
pub const REQUEST_LABEL: &str = "sig1";

/// The label of the API's response signature (`res=...`, SPEC §3.8).
pub const RESPONSE_LABEL: &str = "res";

/// The components a request signed with a registry key (`signature.keys`)
/// must cover (SPEC §3.2), in the order the SDK signs them.
pub const REGISTRY_COMPONENTS: [&str; 6] =
    ["@method", "@path", "@authority", "content-type", "content-digest", "authorization"];

/// The components a request presenting a key-bound token (`HTTPSig`) must
/// cover (SPEC §3.2.1), in the order the SDK signs them.
pub const BOUND_COMPONENTS: [&str; 5] =
    ["@method", "@target-uri", "authorization", "content-type", "content-digest"];

/// The components a signed token request covers (SPEC §4); `authorization`
/// is covered too when the client authenticates with HTTP Basic.
pub const TOKEN_REQUEST_COMPONENTS: [&str; 3] = ["@method", "@target-uri", "content-digest"];

/// The `tag` of a signed token request (draft-richer-oauth-httpsig-03 §2.3, SPEC §4).
pub const TOKEN_REQUEST_TAG: &str = "httpsig-oauth-token-request";

/// The `tag` of a request presenting a bound token (draft §7, SPEC §3.2.1).
pub const BOUND_REQUEST_TAG: &str = "httpsig-oauth";
