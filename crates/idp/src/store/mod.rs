//! Persistent state of the identity server behind one async trait, [`Store`],
//! with two implementations: [`SqliteStore`] (the default, one file) and
//! [`PgStore`] (PostgreSQL, for several instances). Both run the same SQL and
//! the same migrations, applied at start by [`open_store`].
//!
//! What is stored: users (argon2id PHC hash, never the password), registered
//! clients (SHA-256 of a generated secret), login sessions, refresh tokens as
//! SHA-256 hashes with their session (rotation family) and, for key-bound
//! sessions, the RFC 7638 thumbprint of the key, the `jti` of revoked access
//! tokens until they expire, the nonces of signed token requests until they are
//! stale, and the public halves of retired signing keys. The signing key
//! itself lives in `idp.signing_key_file`, never here ([`crate::keys`]);
//! SQLite files are created 0600 ([`crate::files`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), slipgate_idp::store::StoreError> {
//! let store = slipgate_idp::store::open_store("sqlite://slipgate-idp.db").await?;
//! let users = store.users().await?;
//! # Ok(()) }
//! ```
//!
//! # Security
//! A database dump yields no password, client secret, refresh token or signing
//! key. It still holds password hashes: the SQLite files are 0600 from
//! creation and a database open to group or others is refused.

mod sql;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

pub use sql::{PgStore, SqliteStore};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not `sqlite:…` or `postgres://…`, or does not parse.
    #[error("invalid database url `{url}`: {message}")]
    Url {
        /// The URL with any password hidden.
        url: String,
        /// Why.
        message: String,
    },
    /// A row with this key already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The database refused or failed the operation.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A database file is open to group or others, or unusable.
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// An administrative command named a database that does not exist.
    #[error(
        "no database at {path}: `slipgate idp serve` or `slipgate dev` creates it; name an existing one \
         with --config or --database",
        path = path.display()
    )]
    Missing {
        /// The file.
        path: std::path::PathBuf,
    },
    /// A stored row does not decode.
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

/// A user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Unique login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The employee id the `salaryslip:self` scope is bound to.
    pub emp_id: String,
    /// The employee record's department code (SPEC §3.4); `None` for users
    /// created before migration 10 until `idp user update` sets it.
    pub emp_code: Option<String>,
    /// The employee's name as on the slip.
    pub emp_name: Option<String>,
    /// The employee's pay grade.
    pub emp_grade: Option<String>,
    /// Role names (`employee`, `payroll`).
    pub roles: Vec<String>,
    /// A disabled user cannot log in, and its tokens introspect as inactive.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("emp_id", &self.emp_id)
            .field("emp_code", &self.emp_code)
            .field("emp_name", &self.emp_name)
            .field("emp_grade", &self.emp_grade)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A change of a user's employee record: `None` members keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeUpdate {
    /// New `emp_id`.
    pub emp_id: Option<String>,
    /// New `emp_code`.
    pub emp_code: Option<String>,
    /// New `emp_name`.
    pub emp_name: Option<String>,
    /// New `emp_grade`.
    pub emp_grade: Option<String>,
}

impl EmployeeUpdate {
    /// Whether nothing would change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.emp_id.is_none()
            && self.emp_code.is_none()
            && self.emp_name.is_none()
            && self.emp_grade.is_none()
    }
}

/// A registered (confidential) client as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client id.
    pub client_id: String,
    /// base64url SHA-256 of the generated secret.
    pub secret_hash: String,
    /// A human label.
    pub name: String,
    /// Scopes a `client_credentials` token may carry (may be empty).
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl ClientRecord {
    /// Whether the client has a secret, so must authenticate on every grant
    /// and revocation (RFC 6749 §2.1).
    #[must_use]
    pub fn is_confidential(&self) -> bool {
        !self.secret_hash.is_empty()
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("secret_hash", &"[redacted]")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A login session: one password login and the refresh-token family that
/// continues it. Its id is the access tokens' `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Random id.
    pub session_id: String,
    /// The user.
    pub username: String,
    /// The client the login came through.
    pub client_id: String,
    /// Unix seconds of the login.
    pub created_at: i64,
    /// Unix seconds of the last login or refresh.
    pub last_used_at: i64,
    /// Unix seconds: `created_at + refresh_token_ttl`, fixed at login.
    pub expires_at: i64,
    /// Ended by logout, reuse detection, `session revoke`, `user passwd` or `user disable`.
    pub revoked: bool,
    /// RFC 7638 thumbprint of the key its tokens are bound to, if any.
    pub key_thumbprint: Option<String>,
}

impl SessionRecord {
    /// Whether tokens of this session may still be used at `now`.
    #[must_use]
    pub fn is_live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }
}

/// The public half of a signing key that no longer signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    /// Its `kid`.
    pub kid: String,
    /// The raw 32-byte Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// Unix seconds of the rotation.
    pub retired_at: i64,
}

/// A refresh token as stored: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// base64url SHA-256 of the token.
    pub token_hash: String,
    /// The rotation family (one login session); also the access tokens' `sid`.
    pub family_id: String,
    /// The hash of the token this one replaced.
    pub parent_hash: Option<String>,
    /// The user.
    pub username: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Already exchanged once.
    pub used: bool,
    /// Revoked (with its whole family).
    pub revoked: bool,
}

/// What happened when a refresh token was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshUse {
    /// It was valid and is now marked used; issue its successor.
    Rotated(RefreshRecord),
    /// It had been used before: a stolen copy or a replay. Revoke its family.
    Reused(RefreshRecord),
    /// Revoked or expired.
    Dead,
    /// No such token.
    Unknown,
}

/// An authorization code as stored (SPEC §4): only its hash, with what it is tied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCodeRecord {
    /// base64url SHA-256 of the code.
    pub code_hash: String,
    /// The public client it was issued to.
    pub client_id: String,
    /// The exact `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// The RFC 7636 `S256` challenge (base64url SHA-256 of the verifier).
    pub code_challenge: String,
    /// The user who logged in.
    pub username: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds (`created_at` + 60).
    pub expires_at: i64,
    /// Already presented once.
    pub used: bool,
    /// The session its first exchange started, once it has one.
    pub session_id: Option<String>,
}

/// What happened when an authorization code was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthCodeUse {
    /// First presentation within its lifetime: now spent.
    Fresh(AuthCodeRecord),
    /// Presented before: revoke what the first exchange issued.
    Reused(AuthCodeRecord),
    /// Expired, or no such code.
    Invalid,
}

/// A token-signing key as earlier versions stored it in the database; read
/// only to move it to the key file ([`crate::keys`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The key id (RFC 7638 thumbprint).
    pub kid: String,
    /// base64 of the PKCS#8 Ed25519 private key.
    pub pkcs8_b64: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The identity server's persistent state.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Applies the schema migrations that are not applied yet.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Adds a user; [`StoreError::Conflict`] if the username exists.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// The user named `username`.
    async fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Every user, by username.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Sets the disabled flag; `false` when there is no such user.
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError>;
    /// Replaces the password hash; `false` when there is no such user.
    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError>;
    /// Changes the given members of a user's employee record; `false` when there is no such user.
    async fn update_employee(&self, username: &str, update: &EmployeeUpdate) -> Result<bool, StoreError>;
    /// Remembers that `username` logged in successfully from `ip` (a throttle
    /// key) at `now`, forgetting the user's addresses unused for 30 days.
    async fn record_login_ip(&self, username: &str, ip: &str, now: i64) -> Result<(), StoreError>;
    /// Whether `username` logged in successfully from `ip` at or after `since`.
    async fn login_ip_known(&self, username: &str, ip: &str, since: i64) -> Result<bool, StoreError>;

    /// Adds a client; [`StoreError::Conflict`] if the id exists.
    async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError>;
    /// The client `client_id`.
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Every client, by id.
    async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError>;
    /// Replaces the secret hash; `false` when there is no such client.
    async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError>;
    /// Removes a client and ends every session and refresh token issued to it;
    /// `false` when there is no such client.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    /// Stores a new refresh token.
    async fn insert_refresh(&self, token: &RefreshRecord) -> Result<(), StoreError>;
    /// Atomically marks the token with `token_hash` used, if it is live at `now`.
    async fn use_refresh(&self, token_hash: &str, now: i64) -> Result<RefreshUse, StoreError>;
    /// The token with `token_hash`, whatever its state.
    async fn refresh(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError>;

    /// Starts a session, provided the user still has `password_hash` (the
    /// hash the login was checked against) and is not disabled: a password
    /// change or a disable that lands while the login is hashing wins.
    /// Returns whether the session was started.
    async fn start_session(&self, session: &SessionRecord, password_hash: &str) -> Result<bool, StoreError>;
    /// The session `session_id`, whatever its state.
    async fn session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Every stored session of `username`, oldest first.
    async fn sessions_of(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError>;
    /// Records a refresh of a live session; `false` when it is not live at `now`.
    async fn touch_session(&self, session_id: &str, now: i64) -> Result<bool, StoreError>;
    /// Ends a session and every refresh token of it; `false` when there is no such session.
    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError>;
    /// Ends every session of `username` at once; returns how many were live.
    async fn revoke_user_sessions(&self, username: &str) -> Result<u64, StoreError>;

    /// Records an access token's `jti` as revoked until `expires_at`.
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Whether `jti` was revoked.
    async fn jti_revoked(&self, jti: &str) -> Result<bool, StoreError>;
    /// Records the nonce of a signed token request (SPEC §4) under the RFC 7638
    /// thumbprint of its key, kept until `expires_at` (`created` + 60 s), after
    /// deleting the nonces expired before `now`. Returns `false` when the pair is
    /// already recorded (a replay), on every instance sharing the database. Call
    /// it only for a request whose signature and credentials were checked.
    async fn spend_token_nonce(
        &self,
        thumbprint: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// How many token-request nonces are recorded (expired ones not yet deleted included).
    async fn token_nonce_count(&self) -> Result<u64, StoreError>;
    /// One round trip to the database (and, for SQLite, its file is still
    /// where it was opened), for the admin listener's `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Deletes revoked `jti`s and token-request nonces past their expiry, and
    /// refresh tokens and sessions expired more than `grace` seconds ago;
    /// returns the number of rows removed.
    async fn purge_expired(&self, now: i64, grace: i64) -> Result<u64, StoreError>;

    /// Signing keys left in the database by earlier versions, oldest first.
    async fn legacy_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Deletes them, and on SQLite overwrites the freed pages and empties the
    /// WAL, so the key bytes leave the files.
    async fn delete_legacy_signing_keys(&self) -> Result<(), StoreError>;
    /// Records a retired public key (unless its `kid` is there).
    async fn insert_retired_key(&self, key: &RetiredKey) -> Result<(), StoreError>;
    /// Retired keys, oldest first.
    async fn retired_keys(&self) -> Result<Vec<RetiredKey>, StoreError>;
    /// Forgets keys retired before `before`; returns how many.
    async fn delete_retired_keys(&self, before: i64) -> Result<u64, StoreError>;

    /// Replaces the redirect URIs registered for `client_id`.
    async fn set_redirect_uris(&self, client_id: &str, redirect_uris: &[String]) -> Result<(), StoreError>;
    /// The redirect URIs registered for `client_id`, sorted.
    async fn redirect_uris(&self, client_id: &str) -> Result<Vec<String>, StoreError>;
    /// Stores a new authorization code, after deleting codes expired before its `created_at`.
    async fn insert_auth_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError>;
    /// Spends the code atomically: of two concurrent presentations exactly one is
    /// [`AuthCodeUse::Fresh`].
    async fn use_auth_code(&self, code_hash: &str, now: i64) -> Result<AuthCodeUse, StoreError>;
    /// Records the session the code's exchange started.
    async fn set_auth_code_session(&self, code_hash: &str, session_id: &str) -> Result<(), StoreError>;
}

/// Opens the store named by `url` (`sqlite://FILE`, `sqlite::memory:`,
/// `postgres://…`) and applies the migrations. A missing SQLite file is
/// created 0600; one open to group or others is refused.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open(url, true).await
}

/// [`open_store`] for the administrative commands: a SQLite file must exist
/// (they never create a database, SPEC §6).
pub async fn open_existing_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open(url, false).await
}

async fn open(url: &str, create: bool) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect_with_create(url, create).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PgStore::connect(url).await?)
    } else {
        return Err(StoreError::Url {
            url: crate::config::DatabaseUrl(url.to_owned()).redacted(),
            message: "use sqlite://FILE or postgres://USER@HOST/DB".into(),
        });
    };
    store.migrate().await?;
    Ok(store)
}

pub(crate) fn join_words(words: &[String]) -> String {
    words.join(" ")
}

pub(crate) fn split_words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}
