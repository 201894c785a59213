//! Administration, as called by `slipgate idp user …|client …` and by
//! `slipgate dev`: users, clients and the development seed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use slipgate_idp::admin::{EmployeeRecord, Role, user_add};
//! use slipgate_idp::{Secret, store::open_store};
//!
//! let store = open_store("sqlite://slipgate-idp.db").await?;
//! let record = EmployeeRecord::complete("01234", "ENG", "Alice Example", "7.1");
//! user_add(store.as_ref(), "alice", &Secret::new("a long passphrase"), &record, &[Role::Employee]).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use slipgate_proto::clock::{Clock as _, SystemClock};

use crate::crypto::{self, HashError};
use crate::secret::Secret;
use crate::store::{ClientRecord, EmployeeUpdate, Store, StoreError, UserRecord};

/// Shortest password accepted (characters), wherever it comes from: the
/// admin prompt, `--password-stdin`, or this library.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// The id of the introspection client [`seed_dev`] registers.
pub const DEV_INTROSPECTION_CLIENT: &str = "slipgate-api";

/// A user's role; each grants one scope (SPEC §3.4, §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May generate their own slip: `salaryslip:self`.
    Employee,
    /// May generate any slip: `salaryslip:any`.
    Payroll,
}

impl Role {
    /// The role's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::Payroll => "payroll",
        }
    }

    /// The scope the role grants.
    #[must_use]
    pub fn scope(self) -> &'static str {
        match self {
            Self::Employee => slipgate_proto::oauth::SCOPE_SELF,
            Self::Payroll => slipgate_proto::oauth::SCOPE_ANY,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AdminError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "employee" => Ok(Self::Employee),
            "payroll" => Ok(Self::Payroll),
            _ => Err(AdminError::Invalid { field: "role", message: "use employee or payroll".into() }),
        }
    }
}

/// The scopes stored role names grant, in a stable order; unknown names grant nothing.
#[must_use]
pub fn scopes_for_roles(roles: &[String]) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for role in roles.iter().filter_map(|r| r.parse::<Role>().ok()) {
        if !scopes.iter().any(|s| s == role.scope()) {
            scopes.push(role.scope().to_owned());
        }
    }
    scopes
}

/// Why an administrative action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// An argument is unusable.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such user or client.
    #[error("{0} not found")]
    NotFound(String),
    /// The store failed (including [`StoreError::Conflict`] for duplicates).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// A user's employee record (SPEC §3.4): what a `salaryslip:self` request must
/// repeat exactly. `emp_code`, `emp_name` and `emp_grade` may be missing for
/// users created before they existed; such users cannot generate their own slip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmployeeRecord {
    /// Employee id.
    pub emp_id: String,
    /// Department code.
    pub emp_code: Option<String>,
    /// Name as on the slip.
    pub emp_name: Option<String>,
    /// Pay grade.
    pub emp_grade: Option<String>,
}

impl EmployeeRecord {
    /// A record with every member.
    #[must_use]
    pub fn complete(emp_id: &str, emp_code: &str, emp_name: &str, emp_grade: &str) -> Self {
        Self {
            emp_id: emp_id.to_owned(),
            emp_code: Some(emp_code.to_owned()),
            emp_name: Some(emp_name.to_owned()),
            emp_grade: Some(emp_grade.to_owned()),
        }
    }

    /// Whether every member is set.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.emp_code.is_some() && self.emp_name.is_some() && self.emp_grade.is_some()
    }
}

/// Checks an employee member by the API's request rules (SPEC §3.1), so a
/// stored record can be asked for.
fn check_member(field: &'static str, value: &str) -> Result<(), AdminError> {
    slipgate_proto::check_member(field, value).map_err(|e| AdminError::Invalid { field, message: e.message })
}

fn check_update(update: &EmployeeUpdate) -> Result<(), AdminError> {
    for (field, value) in [
        ("emp_id", &update.emp_id),
        ("emp_code", &update.emp_code),
        ("emp_name", &update.emp_name),
        ("emp_grade", &update.emp_grade),
    ] {
        if let Some(value) = value {
            check_member(field, value)?;
        }
    }
    Ok(())
}

/// A user as listed (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    /// Login name.
    pub username: String,
    /// Employee id.
    pub emp_id: String,
    /// Department code.
    pub emp_code: Option<String>,
    /// Name as on the slip.
    pub emp_name: Option<String>,
    /// Pay grade.
    pub emp_grade: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether login is refused.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A client as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientSummary {
    /// Client id.
    pub client_id: String,
    /// Label.
    pub name: String,
    /// Scopes for `client_credentials`.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), AdminError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid { field, message: format!("use 1 to {max} of A-Z a-z 0-9 . _ @ -") })
    }
}

/// The one password rule: [`MIN_PASSWORD_LEN`] to [`MAX_PASSWORD_LEN`]
/// characters. [`user_add`] and [`user_passwd`] apply it; the CLI applies it
/// too before it opens the database, with the same message.
pub fn check_password(password: &Secret) -> Result<(), AdminError> {
    let len = password.expose().chars().count();
    if (MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        Ok(())
    } else {
        Err(AdminError::Invalid {
            field: "password",
            message: format!("use {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        })
    }
}

async fn hash(password: &Secret) -> Result<String, AdminError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|_| AdminError::Random)?
        .map_err(AdminError::Hash)
}

fn now() -> i64 {
    SystemClock.unix_seconds()
}

/// Adds a user with an argon2id hash of `password` and its employee record.
pub async fn user_add(
    store: &dyn Store,
    username: &str,
    password: &Secret,
    record: &EmployeeRecord,
    roles: &[Role],
) -> Result<(), AdminError> {
    check_name("username", username, 64)?;
    check_member("emp_id", &record.emp_id)?;
    check_update(&EmployeeUpdate {
        emp_id: None,
        emp_code: record.emp_code.clone(),
        emp_name: record.emp_name.clone(),
        emp_grade: record.emp_grade.clone(),
    })?;
    check_password(password)?;
    if roles.is_empty() {
        return Err(AdminError::Invalid { field: "role", message: "give at least one role".into() });
    }
    let mut names: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    let record = UserRecord {
        username: username.to_owned(),
        password_hash: hash(password).await?,
        emp_id: record.emp_id.clone(),
        emp_code: record.emp_code.clone(),
        emp_name: record.emp_name.clone(),
        emp_grade: record.emp_grade.clone(),
        roles: names,
        disabled: false,
        created_at: now(),
    };
    store.insert_user(&record).await?;
    Ok(())
}

/// Every user, by name.
pub async fn user_list(store: &dyn Store) -> Result<Vec<UserSummary>, AdminError> {
    Ok(store
        .users()
        .await?
        .into_iter()
        .map(|u| UserSummary {
            username: u.username,
            emp_id: u.emp_id,
            emp_code: u.emp_code,
            emp_name: u.emp_name,
            emp_grade: u.emp_grade,
            roles: u.roles,
            disabled: u.disabled,
            created_at: u.created_at,
        })
        .collect())
}

/// Changes the given members of a user's employee record (`idp user update`).
/// Access tokens issued before carry the old record: the identity server's
/// introspection answers them inactive from now on, and in the API's `jwt`
/// mode they keep it until they expire; refreshed tokens carry the new one.
pub async fn user_update(
    store: &dyn Store,
    username: &str,
    update: &EmployeeUpdate,
) -> Result<(), AdminError> {
    if update.is_empty() {
        return Err(AdminError::Invalid {
            field: "record",
            message: "give at least one of --emp-id, --emp-code, --emp-name, --emp-grade".into(),
        });
    }
    check_update(update)?;
    if store.update_employee(username, update).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("user `{username}`")))
    }
}

/// Disables a user: logins fail, and every session ends at once (its refresh
/// tokens are refused, its access tokens introspect as inactive).
pub async fn user_disable(store: &dyn Store, username: &str) -> Result<(), AdminError> {
    user_set_disabled(store, username, true).await?;
    store.revoke_user_sessions(username).await?;
    Ok(())
}

/// Enables a disabled user again.
pub async fn user_enable(store: &dyn Store, username: &str) -> Result<(), AdminError> {
    user_set_disabled(store, username, false).await
}

async fn user_set_disabled(store: &dyn Store, username: &str, disabled: bool) -> Result<(), AdminError> {
    if store.set_user_disabled(username, disabled).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("user `{username}`")))
    }
}

/// Replaces a user's password and ends every session of the user at once:
/// whoever held the old password (or a token from it) is out. The password
/// first, then the sessions, so no login with the old password can start a
/// session after the sweep ([`Store::start_session`] checks the hash).
pub async fn user_passwd(store: &dyn Store, username: &str, password: &Secret) -> Result<(), AdminError> {
    check_password(password)?;
    if !store.set_user_password(username, &hash(password).await?).await? {
        return Err(AdminError::NotFound(format!("user `{username}`")));
    }
    store.revoke_user_sessions(username).await?;
    Ok(())
}

fn new_secret() -> Result<Secret, AdminError> {
    crypto::random_token::<32>().map(Secret::new).map_err(|()| AdminError::Random)
}

/// Registers a confidential client with no `client_credentials` scope (enough
/// for introspection and revocation) and returns its generated secret, shown
/// once: only its SHA-256 is stored.
pub async fn client_add(store: &dyn Store, client_id: &str, name: &str) -> Result<Secret, AdminError> {
    client_add_with_scopes(store, client_id, name, &[]).await
}

/// [`client_add`] with the scopes the client may request by `client_credentials`.
pub async fn client_add_with_scopes(
    store: &dyn Store,
    client_id: &str,
    name: &str,
    scopes: &[String],
) -> Result<Secret, AdminError> {
    check_name("client_id", client_id, 64)?;
    if client_id == crate::routes::DEFAULT_PUBLIC_CLIENT {
        return Err(AdminError::Invalid {
            field: "client_id",
            message: format!("`{client_id}` is the built-in public client; choose another id"),
        });
    }
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid {
            field: "name",
            message: "use up to 200 printable characters".into(),
        });
    }
    if let Some(bad) = scopes.iter().find(|s| {
        ![slipgate_proto::oauth::SCOPE_SELF, slipgate_proto::oauth::SCOPE_ANY].contains(&s.as_str())
    }) {
        return Err(AdminError::Invalid { field: "scope", message: format!("unknown scope `{bad}`") });
    }
    let secret = new_secret()?;
    store
        .insert_client(&ClientRecord {
            client_id: client_id.to_owned(),
            secret_hash: crypto::sha256_b64(secret.expose()),
            name: name.to_owned(),
            scopes: scopes.to_vec(),
            created_at: now(),
        })
        .await?;
    Ok(secret)
}

/// Removes a registered client: its secret stops working at once, its
/// client-credentials tokens introspect as inactive (the client is gone), and
/// every session and refresh token issued to it ends.
pub async fn client_remove(store: &dyn Store, client_id: &str) -> Result<(), AdminError> {
    if store.delete_client(client_id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("client `{client_id}`")))
    }
}

/// Gives a confidential client a new generated secret, returned once; the old
/// one stops working at once. A public client (no secret) is refused.
pub async fn client_rotate_secret(store: &dyn Store, client_id: &str) -> Result<Secret, AdminError> {
    match store.client(client_id).await? {
        None => return Err(AdminError::NotFound(format!("client `{client_id}`"))),
        Some(c) if !c.is_confidential() => {
            return Err(AdminError::Invalid {
                field: "client_id",
                message: format!("`{client_id}` is a public client and has no secret"),
            });
        }
        Some(_) => {}
    }
    let secret = new_secret()?;
    if !store.set_client_secret(client_id, &crypto::sha256_b64(secret.expose())).await? {
        return Err(AdminError::NotFound(format!("client `{client_id}`")));
    }
    Ok(secret)
}

/// Registers a public client (no secret) for the authorization-code flow, with the redirect
/// URIs its authorization requests may name (matched exactly; SPEC §4). Each must be an
/// absolute `https://` URI (`http://` only for localhost or 127.0.0.1) without a fragment.
pub async fn client_add_public(
    store: &dyn Store,
    client_id: &str,
    name: &str,
    redirect_uris: &[String],
) -> Result<(), AdminError> {
    check_name("client_id", client_id, 64)?;
    if client_id == crate::routes::DEFAULT_PUBLIC_CLIENT {
        return Err(AdminError::Invalid {
            field: "client_id",
            message: format!("`{client_id}` is the built-in public client; choose another id"),
        });
    }
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid {
            field: "name",
            message: "use up to 200 printable characters".into(),
        });
    }
    check_redirect_uris(redirect_uris)?;
    store
        .insert_client(&ClientRecord {
            client_id: client_id.to_owned(),
            secret_hash: String::new(),
            name: name.to_owned(),
            scopes: Vec::new(),
            created_at: now(),
        })
        .await?;
    store.set_redirect_uris(client_id, redirect_uris).await?;
    Ok(())
}

/// Replaces the redirect URIs of public client `client_id`.
pub async fn client_set_redirect_uris(
    store: &dyn Store,
    client_id: &str,
    redirect_uris: &[String],
) -> Result<(), AdminError> {
    match store.client(client_id).await? {
        Some(c) if !c.is_confidential() => {}
        Some(_) => {
            return Err(AdminError::Invalid {
                field: "client_id",
                message: "a confidential client has no redirect URIs".into(),
            });
        }
        None => return Err(AdminError::NotFound(format!("client `{client_id}`"))),
    }
    check_redirect_uris(redirect_uris)?;
    Ok(store.set_redirect_uris(client_id, redirect_uris).await?)
}

/// The redirect URIs registered for `client_id`.
pub async fn client_redirect_uris(store: &dyn Store, client_id: &str) -> Result<Vec<String>, AdminError> {
    Ok(store.redirect_uris(client_id).await?)
}

fn check_redirect_uris(uris: &[String]) -> Result<(), AdminError> {
    let invalid = |message: String| AdminError::Invalid { field: "redirect_uri", message };
    if uris.is_empty() || uris.len() > 10 {
        return Err(invalid("give 1 to 10 redirect URIs".into()));
    }
    for uri in uris {
        let parsed: Option<http::Uri> =
            (uri.len() <= 512 && uri.bytes().all(|b| b.is_ascii_graphic()) && !uri.contains('#'))
                .then(|| uri.parse().ok())
                .flatten();
        let ok = parsed.as_ref().is_some_and(|u| {
            let host = u.host().unwrap_or("");
            match u.scheme_str() {
                Some("https") => !host.is_empty(),
                Some("http") => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
                _ => false,
            }
        });
        if !ok {
            return Err(invalid(format!(
                "`{}` is not an absolute https:// URI without a fragment (http:// only for localhost)",
                uri.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// Every client, by id.
pub async fn client_list(store: &dyn Store) -> Result<Vec<ClientSummary>, AdminError> {
    Ok(store
        .clients()
        .await?
        .into_iter()
        .map(|c| ClientSummary {
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes,
            created_at: c.created_at,
        })
        .collect())
}

/// A demo user made by [`seed_dev`].
#[derive(Debug, Clone)]
pub struct DevUser {
    /// Login name.
    pub username: String,
    /// The fresh password.
    pub password: Secret,
    /// The employee record (SPEC §3.4).
    pub record: EmployeeRecord,
    /// Roles.
    pub roles: Vec<Role>,
}

/// The demo credentials of `slipgate dev`.
#[derive(Debug, Clone)]
pub struct DevSeed {
    /// alice (employee `01234`, `ENG`, `Alice Example`, `7.1`) and paula
    /// (payroll `00001`, `HR`, `Paula Payroll`, `8.1`).
    pub users: Vec<DevUser>,
    /// The client the API introspects with: (id, secret).
    pub introspection_client: (String, Secret),
}

impl DevSeed {
    /// The `users` and `introspection_client` members of `dev.json` (SPEC §5).
    /// Holds the secrets in clear: write it only to a 0600 file.
    #[must_use]
    pub fn to_dev_json(&self) -> serde_json::Value {
        let users: Vec<_> = self
            .users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "username": u.username,
                    "password": u.password.expose(),
                    "emp_id": u.record.emp_id,
                    "emp_code": u.record.emp_code,
                    "emp_name": u.record.emp_name,
                    "emp_grade": u.record.emp_grade,
                    "roles": u.roles,
                })
            })
            .collect();
        serde_json::json!({
            "users": users,
            "introspection_client": {
                "client_id": self.introspection_client.0,
                "client_secret": self.introspection_client.1.expose(),
            },
        })
    }
}

/// Creates the demo users and the introspection client, or, when they exist,
/// gives them fresh random credentials (and re-enables the users): every run
/// returns credentials that work, and old ones stop working.
pub async fn seed_dev(store: &dyn Store) -> Result<DevSeed, AdminError> {
    let demo = [
        ("alice", EmployeeRecord::complete("01234", "ENG", "Alice Example", "7.1"), Role::Employee),
        ("paula", EmployeeRecord::complete("00001", "HR", "Paula Payroll", "8.1"), Role::Payroll),
    ];
    seed_users(store, demo).await
}

/// [`seed_dev`] with other records for the demo users (the test fixtures use this).
pub async fn seed_dev_with(
    store: &dyn Store,
    alice: EmployeeRecord,
    paula: EmployeeRecord,
) -> Result<DevSeed, AdminError> {
    seed_users(store, [("alice", alice, Role::Employee), ("paula", paula, Role::Payroll)]).await
}

async fn seed_users(
    store: &dyn Store,
    demo: [(&str, EmployeeRecord, Role); 2],
) -> Result<DevSeed, AdminError> {
    let mut users = Vec::new();
    for (username, record, role) in demo {
        // 18 random bytes: 24 base64url characters, 144 bits.
        let password = crypto::random_token::<18>().map(Secret::new).map_err(|()| AdminError::Random)?;
        if store.user(username).await?.is_some() {
            user_passwd(store, username, &password).await?;
            user_enable(store, username).await?;
            let update = EmployeeUpdate {
                emp_id: Some(record.emp_id.clone()),
                emp_code: record.emp_code.clone(),
                emp_name: record.emp_name.clone(),
                emp_grade: record.emp_grade.clone(),
            };
            user_update(store, username, &update).await?;
        } else {
            user_add(store, username, &password, &record, &[role]).await?;
        }
        users.push(DevUser { username: username.into(), password, record, roles: vec![role] });
    }
    let secret = if store.client(DEV_INTROSPECTION_CLIENT).await?.is_some() {
        let secret = new_secret()?;
        store.set_client_secret(DEV_INTROSPECTION_CLIENT, &crypto::sha256_b64(secret.expose())).await?;
        secret
    } else {
        client_add(store, DEV_INTROSPECTION_CLIENT, "Slipgate API (dev introspection)").await?
    };
    Ok(DevSeed { users, introspection_client: (DEV_INTROSPECTION_CLIENT.into(), secret) })
}
