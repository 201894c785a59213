//! Login sessions, as `slipgate idp session list|revoke` sees them (SPEC §4).
//!
//! A session is one password login and the refresh-token family that
//! continues it; its id is the `sid` of its access tokens. It lives
//! `refresh_token_ttl` from the login (refreshing does not extend it), and a
//! user token introspects active only while its session is live. `user
//! passwd` and `user disable` end all of a user's sessions at once
//! ([`crate::admin`]); these functions end one or all of them on demand.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use slipgate_idp::sessions::{session_list, session_revoke_all};
//!
//! let store = slipgate_idp::open_existing_store("sqlite://slipgate-idp.db").await?;
//! for s in session_list(store.as_ref(), "carol", 1_767_225_600).await? {
//!     println!("{} via {}", s.session_id, s.client_id);
//! }
//! session_revoke_all(store.as_ref(), "carol").await?;
//! # Ok(()) }
//! ```

use serde::Serialize;

use crate::admin::AdminError;
use crate::store::Store;

/// A live session as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    /// The session id (the tokens' `sid`; not a credential).
    pub session_id: String,
    /// The client the login came through.
    pub client_id: String,
    /// Unix seconds of the login.
    pub created_at: i64,
    /// Unix seconds of the last login or refresh.
    pub last_used_at: i64,
    /// Unix seconds at which it ends.
    pub expires_at: i64,
    /// RFC 7638 thumbprint of the key its tokens are bound to (a signed login,
    /// SPEC §4); `None` for a bearer session.
    pub key_thumbprint: Option<String>,
}

async fn require_user(store: &dyn Store, username: &str) -> Result<(), AdminError> {
    match store.user(username).await? {
        Some(_) => Ok(()),
        None => Err(AdminError::NotFound(format!("user `{username}`"))),
    }
}

/// The live sessions of `username` at `now`, oldest first.
pub async fn session_list(
    store: &dyn Store,
    username: &str,
    now: i64,
) -> Result<Vec<SessionSummary>, AdminError> {
    require_user(store, username).await?;
    Ok(store
        .sessions_of(username)
        .await?
        .into_iter()
        .filter(|s| s.is_live(now))
        .map(|s| SessionSummary {
            session_id: s.session_id,
            client_id: s.client_id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            key_thumbprint: s.key_thumbprint,
        })
        .collect())
}

/// Ends session `session_id` of `username`; one of another user is "not found".
pub async fn session_revoke(store: &dyn Store, username: &str, session_id: &str) -> Result<(), AdminError> {
    require_user(store, username).await?;
    match store.session(session_id).await? {
        Some(session) if session.username == username => {
            store.revoke_session(session_id).await?;
            Ok(())
        }
        _ => Err(AdminError::NotFound(format!("session `{session_id}` of user `{username}`"))),
    }
}

/// Ends every session of `username`; returns how many had not ended yet.
pub async fn session_revoke_all(store: &dyn Store, username: &str) -> Result<u64, AdminError> {
    require_user(store, username).await?;
    Ok(store.revoke_user_sessions(username).await?)
}
