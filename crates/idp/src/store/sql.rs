//! The SQL behind [`SqliteStore`] and [`PgStore`]: one schema and one set of
//! statements for both databases (`$N` placeholders, `BIGINT` flags and times,
//! `TEXT` everything else), generated into two `impl Store` blocks by a macro so
//! the two backends cannot drift.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{
    AuthCodeRecord, AuthCodeUse, ClientRecord, EmployeeUpdate, RefreshRecord, RefreshUse, RetiredKey,
    SessionRecord, SigningKeyRecord, Store, StoreError, UserRecord, join_words, split_words,
};
use crate::config::DatabaseUrl;
use crate::files;

/// Schema migrations, applied in order and recorded in `idp_migrations`.
/// Append only: never edit an applied one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_sessions_and_keys.sql")),
    (10, include_str!("migrations/0010_employee_records.sql")),
    (11, include_str!("migrations/0011_login_ips.sql")),
    (12, include_str!("migrations/0012_token_nonces.sql")),
    (20, include_str!("migrations/0020_authorization_codes.sql")),
];

/// Users with their employee record (migration 10); `u.*` keeps any column of `idp_users`.
const USER_SELECT: &str = "SELECT u.*, e.emp_code, e.emp_name, e.emp_grade FROM idp_users u \
                           LEFT JOIN idp_employee_records e ON e.username = u.username";

/// The SQLite store (default): one file, WAL mode.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database file (`None` in memory): `/readyz` checks it is still there.
    path: Option<std::path::PathBuf>,
}

impl SqliteStore {
    /// Connects to `url` (`sqlite://FILE`, created 0600 when missing, or
    /// `sqlite::memory:`). Call [`Store::migrate`] (or use
    /// [`super::open_store`]) before use.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_create(url, true).await
    }

    /// [`SqliteStore::connect`]; with `create` false a missing file is an error.
    ///
    /// The database file is made 0600 here, before SQLite opens it: SQLite
    /// gives the `-wal` and `-shm` files it creates later the database
    /// file's mode, so all three are private from their first byte. A file
    /// (or companion) open to group or others is refused.
    pub async fn connect_with_create(url: &str, create: bool) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url { url: url.to_owned(), message: e.to_string() })?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // Deleted rows (refresh-token hashes, a moved signing key) are
            // overwritten, not left in free pages.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        // Each in-memory connection is a separate database: keep exactly one.
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let path = (!memory).then(|| options.get_filename().to_owned());
        if !memory {
            let path = options.get_filename().to_owned();
            if create {
                files::create_private(&path)?;
            } else if !path.exists() {
                return Err(StoreError::Missing { path });
            }
            for file in files::sqlite_files(&path) {
                files::check_private(&file)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(u32::from(memory))
            .idle_timeout(if memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if memory { None } else { Some(Duration::from_secs(3600)) })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool, path })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A database file moved or deleted under a running server keeps answering
    /// through the open connections, but nothing written lands in the file
    /// that backups and the next start see: not ready.
    fn check_file(&self) -> Result<(), StoreError> {
        match &self.path {
            Some(path) if !path.is_file() => Err(StoreError::Missing { path: path.clone() }),
            _ => Ok(()),
        }
    }
}

/// The PostgreSQL store, for several identity-server instances.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`).
    /// Call [`Store::migrate`] (or use [`super::open_store`]) before use.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url {
            url: DatabaseUrl(url.to_owned()).redacted(),
            message: e.to_string(),
        })?;
        Self::connect_with(options).await
    }

    /// Connects with prepared options (tests pick a database this way).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn check_file(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn conflict(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

fn flag(value: i64) -> bool {
    value != 0
}

macro_rules! sql_store {
    ($store:ty, $row:ty, $migration_lock:expr, $scrub_legacy_keys:expr) => {
        impl $store {
            fn user_from(row: &$row) -> Result<UserRecord, StoreError> {
                Ok(UserRecord {
                    username: row.try_get("username")?,
                    password_hash: row.try_get("password_hash")?,
                    emp_id: row.try_get("emp_id")?,
                    emp_code: row.try_get("emp_code")?,
                    emp_name: row.try_get("emp_name")?,
                    emp_grade: row.try_get("emp_grade")?,
                    roles: split_words(&row.try_get::<String, _>("roles")?),
                    disabled: flag(row.try_get("disabled")?),
                    created_at: row.try_get("created_at")?,
                })
            }

            fn client_from(
                row: &$row,
            ) -> Result<ClientRecord, StoreError> {
                Ok(ClientRecord {
                    client_id: row.try_get("client_id")?,
                    secret_hash: row.try_get("secret_hash")?,
                    name: row.try_get("name")?,
                    scopes: split_words(&row.try_get::<String, _>("scope")?),
                    created_at: row.try_get("created_at")?,
                })
            }

            fn refresh_from(
                row: &$row,
            ) -> Result<RefreshRecord, StoreError> {
                Ok(RefreshRecord {
                    token_hash: row.try_get("token_hash")?,
                    family_id: row.try_get("family_id")?,
                    parent_hash: row.try_get("parent_hash")?,
                    username: row.try_get("username")?,
                    client_id: row.try_get("client_id")?,
                    scopes: split_words(&row.try_get::<String, _>("scope")?),
                    issued_at: row.try_get("issued_at")?,
                    expires_at: row.try_get("expires_at")?,
                    used: flag(row.try_get("used")?),
                    revoked: flag(row.try_get("revoked")?),
                })
            }

            fn auth_code_from(row: &$row) -> Result<AuthCodeRecord, StoreError> {
                Ok(AuthCodeRecord {
                    code_hash: row.try_get("code_hash")?,
                    client_id: row.try_get("client_id")?,
                    redirect_uri: row.try_get("redirect_uri")?,
                    code_challenge: row.try_get("code_challenge")?,
                    username: row.try_get("username")?,
                    scopes: split_words(&row.try_get::<String, _>("scope")?),
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    used: flag(row.try_get("used")?),
                    session_id: row.try_get("session_id")?,
                })
            }

            fn session_from(row: &$row) -> Result<SessionRecord, StoreError> {
                Ok(SessionRecord {
                    session_id: row.try_get("session_id")?,
                    username: row.try_get("username")?,
                    client_id: row.try_get("client_id")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked: flag(row.try_get("revoked")?),
                    key_thumbprint: row.try_get("key_thumbprint")?,
                })
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn migrate(&self) -> Result<(), StoreError> {
                sqlx::raw_sql("CREATE TABLE IF NOT EXISTS idp_migrations (version BIGINT PRIMARY KEY)")
                    .execute(&self.pool)
                    .await?;
                let applied: Vec<i64> =
                    sqlx::query_scalar("SELECT version FROM idp_migrations").fetch_all(&self.pool).await?;
                for (version, sql) in MIGRATIONS {
                    if applied.contains(version) {
                        continue;
                    }
                    // One script on one connection: the migration and its record
                    // commit together. Migrations are idempotent, so two servers
                    // racing here (serialised by the lock on PostgreSQL) are harmless.
                    let script = format!(
                        "BEGIN; {lock}{sql}\nINSERT INTO idp_migrations (version) VALUES ({version}) \
                         ON CONFLICT (version) DO NOTHING; COMMIT;",
                        lock = $migration_lock,
                    );
                    sqlx::raw_sql(&script).execute(&self.pool).await?;
                    tracing::info!(version, "applied identity-store migration");
                }
                Ok(())
            }

            async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO idp_users (username, password_hash, emp_id, roles, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(&user.emp_id)
                .bind(join_words(&user.roles))
                .bind(i64::from(user.disabled))
                .bind(user.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, format!("user `{}`", user.username)))?;
                // A stale record of an earlier user of the same name goes.
                sqlx::query(
                    "INSERT INTO idp_employee_records (username, emp_code, emp_name, emp_grade) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET \
                     emp_code = excluded.emp_code, emp_name = excluded.emp_name, emp_grade = excluded.emp_grade",
                )
                .bind(&user.username)
                .bind(&user.emp_code)
                .bind(&user.emp_name)
                .bind(&user.emp_grade)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_employee(&self, username: &str, update: &EmployeeUpdate) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let exists = sqlx::query("SELECT 1 FROM idp_users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if !exists {
                    return Ok(false);
                }
                if let Some(emp_id) = &update.emp_id {
                    sqlx::query("UPDATE idp_users SET emp_id = $1 WHERE username = $2")
                        .bind(emp_id)
                        .bind(username)
                        .execute(&mut *tx)
                        .await?;
                }
                // Members left out keep their stored value.
                sqlx::query(
                    "INSERT INTO idp_employee_records (username, emp_code, emp_name, emp_grade) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET \
                     emp_code = COALESCE(excluded.emp_code, idp_employee_records.emp_code), \
                     emp_name = COALESCE(excluded.emp_name, idp_employee_records.emp_name), \
                     emp_grade = COALESCE(excluded.emp_grade, idp_employee_records.emp_grade)",
                )
                .bind(username)
                .bind(&update.emp_code)
                .bind(&update.emp_name)
                .bind(&update.emp_grade)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
                let row = sqlx::query(&format!("{USER_SELECT} WHERE u.username = $1"))
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::user_from).transpose()
            }

            async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
                let rows = sqlx::query(&format!("{USER_SELECT} ORDER BY u.username")).fetch_all(&self.pool).await?;
                rows.iter().map(Self::user_from).collect()
            }

            async fn record_login_ip(&self, username: &str, ip: &str, now: i64) -> Result<(), StoreError> {
                let forget_before = now.saturating_sub(crate::throttle::KNOWN_IP_DAYS * 86_400);
                sqlx::query("DELETE FROM idp_login_ips WHERE username = $1 AND last_success < $2")
                    .bind(username)
                    .bind(forget_before)
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO idp_login_ips (username, ip, last_success) VALUES ($1, $2, $3) \
                     ON CONFLICT (username, ip) DO UPDATE SET last_success = excluded.last_success",
                )
                .bind(username)
                .bind(ip)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn login_ip_known(&self, username: &str, ip: &str, since: i64) -> Result<bool, StoreError> {
                let row = sqlx::query(
                    "SELECT 1 FROM idp_login_ips WHERE username = $1 AND ip = $2 AND last_success >= $3",
                )
                .bind(username)
                .bind(ip)
                .bind(since)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.is_some())
            }

            async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE idp_users SET disabled = $1 WHERE username = $2")
                    .bind(i64::from(disabled))
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE idp_users SET password_hash = $1 WHERE username = $2")
                    .bind(password_hash)
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO idp_clients (client_id, secret_hash, name, scope, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&client.client_id)
                .bind(&client.secret_hash)
                .bind(&client.name)
                .bind(join_words(&client.scopes))
                .bind(client.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, format!("client `{}`", client.client_id)))?;
                Ok(())
            }

            async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
                let row = sqlx::query("SELECT * FROM idp_clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::client_from).transpose()
            }

            async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
                let rows =
                    sqlx::query("SELECT * FROM idp_clients ORDER BY client_id").fetch_all(&self.pool).await?;
                rows.iter().map(Self::client_from).collect()
            }

            async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE idp_clients SET secret_hash = $1 WHERE client_id = $2")
                    .bind(secret_hash)
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
                // The row first, so no grant can authenticate as the client
                // while its sessions are swept.
                let done = sqlx::query("DELETE FROM idp_clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                sqlx::query("UPDATE idp_sessions SET revoked = 1 WHERE client_id = $1 AND revoked = 0")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                sqlx::query("UPDATE idp_refresh_tokens SET revoked = 1 WHERE client_id = $1 AND revoked = 0")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                // A public client's redirect URIs and pending codes go with it.
                for table in ["idp_client_redirect_uris", "idp_authorization_codes"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1"))
                        .bind(client_id)
                        .execute(&self.pool)
                        .await?;
                }
                Ok(done.rows_affected() == 1)
            }

            async fn insert_refresh(&self, token: &RefreshRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO idp_refresh_tokens (token_hash, family_id, parent_hash, username, client_id, \
                     scope, issued_at, expires_at, used, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&token.token_hash)
                .bind(&token.family_id)
                .bind(&token.parent_hash)
                .bind(&token.username)
                .bind(&token.client_id)
                .bind(join_words(&token.scopes))
                .bind(token.issued_at)
                .bind(token.expires_at)
                .bind(i64::from(token.used))
                .bind(i64::from(token.revoked))
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, "refresh token".into()))?;
                Ok(())
            }

            async fn use_refresh(&self, token_hash: &str, now: i64) -> Result<RefreshUse, StoreError> {
                // The conditional update is the atomic step: of two concurrent
                // presentations exactly one wins, the other is a reuse.
                let done = sqlx::query(
                    "UPDATE idp_refresh_tokens SET used = 1 \
                     WHERE token_hash = $1 AND used = 0 AND revoked = 0 AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                let Some(record) = self.refresh(token_hash).await? else { return Ok(RefreshUse::Unknown) };
                Ok(if done.rows_affected() == 1 {
                    RefreshUse::Rotated(record)
                } else if record.revoked {
                    RefreshUse::Dead
                } else if record.used {
                    RefreshUse::Reused(record)
                } else {
                    RefreshUse::Dead
                })
            }

            async fn refresh(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
                let row = sqlx::query("SELECT * FROM idp_refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::refresh_from).transpose()
            }

            async fn start_session(
                &self,
                session: &SessionRecord,
                password_hash: &str,
            ) -> Result<bool, StoreError> {
                // One statement: the user's row is read where the session is
                // written, so a password change committed first is seen.
                let done = sqlx::query(
                    "INSERT INTO idp_sessions (session_id, username, client_id, created_at, last_used_at, \
                     expires_at, revoked, key_thumbprint) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM idp_users \
                     WHERE username = $2 AND password_hash = $9 AND disabled = 0)",
                )
                .bind(&session.session_id)
                .bind(&session.username)
                .bind(&session.client_id)
                .bind(session.created_at)
                .bind(session.last_used_at)
                .bind(session.expires_at)
                .bind(i64::from(session.revoked))
                .bind(&session.key_thumbprint)
                .bind(password_hash)
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, "session".into()))?;
                Ok(done.rows_affected() == 1)
            }

            async fn session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
                let row = sqlx::query("SELECT * FROM idp_sessions WHERE session_id = $1")
                    .bind(session_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::session_from).transpose()
            }

            async fn sessions_of(&self, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM idp_sessions WHERE username = $1 ORDER BY created_at, session_id",
                )
                .bind(username)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::session_from).collect()
            }

            async fn touch_session(&self, session_id: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE idp_sessions SET last_used_at = $2 \
                     WHERE session_id = $1 AND revoked = 0 AND expires_at > $2",
                )
                .bind(session_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
                // The session row first: it is what introspection reads.
                let done = sqlx::query("UPDATE idp_sessions SET revoked = 1 WHERE session_id = $1")
                    .bind(session_id)
                    .execute(&self.pool)
                    .await?;
                sqlx::query("UPDATE idp_refresh_tokens SET revoked = 1 WHERE family_id = $1")
                    .bind(session_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_user_sessions(&self, username: &str) -> Result<u64, StoreError> {
                let done =
                    sqlx::query("UPDATE idp_sessions SET revoked = 1 WHERE username = $1 AND revoked = 0")
                        .bind(username)
                        .execute(&self.pool)
                        .await?;
                sqlx::query("UPDATE idp_refresh_tokens SET revoked = 1 WHERE username = $1 AND revoked = 0")
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO idp_revoked_jti (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn spend_token_nonce(
                &self,
                thumbprint: &str,
                nonce: &str,
                expires_at: i64,
                now: i64,
            ) -> Result<bool, StoreError> {
                // Expired rows first, so a row past its time never refuses a nonce (its request
                // would be stale anyway); then the primary key is the atomic check-and-record:
                // of two instances inserting the same pair, exactly one affects a row.
                sqlx::query("DELETE FROM idp_token_nonces WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let done = sqlx::query(
                    "INSERT INTO idp_token_nonces (thumbprint, nonce, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (thumbprint, nonce) DO NOTHING",
                )
                .bind(thumbprint)
                .bind(nonce)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn ping(&self) -> Result<(), StoreError> {
                self.check_file()?;
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn token_nonce_count(&self) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idp_token_nonces")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn jti_revoked(&self, jti: &str) -> Result<bool, StoreError> {
                let row = sqlx::query("SELECT 1 FROM idp_revoked_jti WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn purge_expired(&self, now: i64, grace: i64) -> Result<u64, StoreError> {
                let jti = sqlx::query("DELETE FROM idp_revoked_jti WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let refresh = sqlx::query("DELETE FROM idp_refresh_tokens WHERE expires_at < $1")
                    .bind(now.saturating_sub(grace))
                    .execute(&self.pool)
                    .await?;
                let sessions = sqlx::query("DELETE FROM idp_sessions WHERE expires_at < $1")
                    .bind(now.saturating_sub(grace))
                    .execute(&self.pool)
                    .await?;
                let nonces = sqlx::query("DELETE FROM idp_token_nonces WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(jti.rows_affected()
                    + refresh.rows_affected()
                    + sessions.rows_affected()
                    + nonces.rows_affected())
            }

            async fn legacy_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM idp_signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SigningKeyRecord {
                            kid: row.try_get("kid")?,
                            pkcs8_b64: row.try_get("pkcs8")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn delete_legacy_signing_keys(&self) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM idp_signing_keys").execute(&self.pool).await?;
                sqlx::raw_sql($scrub_legacy_keys).execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_retired_key(&self, key: &RetiredKey) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO idp_retired_keys (kid, public_key, retired_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (kid) DO NOTHING",
                )
                .bind(&key.kid)
                .bind(&key.public_key)
                .bind(key.retired_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn retired_keys(&self) -> Result<Vec<RetiredKey>, StoreError> {
                let rows = sqlx::query("SELECT * FROM idp_retired_keys ORDER BY retired_at, kid")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(RetiredKey {
                            kid: row.try_get("kid")?,
                            public_key: row.try_get("public_key")?,
                            retired_at: row.try_get("retired_at")?,
                        })
                    })
                    .collect()
            }

            async fn delete_retired_keys(&self, before: i64) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM idp_retired_keys WHERE retired_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn set_redirect_uris(&self, client_id: &str, redirect_uris: &[String]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM idp_client_redirect_uris WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                for uri in redirect_uris {
                    sqlx::query(
                        "INSERT INTO idp_client_redirect_uris (client_id, redirect_uri) VALUES ($1, $2) \
                         ON CONFLICT (client_id, redirect_uri) DO NOTHING",
                    )
                    .bind(client_id)
                    .bind(uri)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn redirect_uris(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT redirect_uri FROM idp_client_redirect_uris WHERE client_id = $1 ORDER BY redirect_uri",
                )
                .bind(client_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_auth_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError> {
                // Expired codes go first; a spent one is kept until then, so its
                // reuse is still recognised (and revokes) within its lifetime.
                sqlx::query("DELETE FROM idp_authorization_codes WHERE expires_at < $1")
                    .bind(code.created_at)
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO idp_authorization_codes (code_hash, client_id, redirect_uri, code_challenge, \
                     username, scope, created_at, expires_at, used, session_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&code.code_hash)
                .bind(&code.client_id)
                .bind(&code.redirect_uri)
                .bind(&code.code_challenge)
                .bind(&code.username)
                .bind(join_words(&code.scopes))
                .bind(code.created_at)
                .bind(code.expires_at)
                .bind(i64::from(code.used))
                .bind(&code.session_id)
                .execute(&self.pool)
                .await
                .map_err(|e| conflict(e, "authorization code".into()))?;
                Ok(())
            }

            async fn use_auth_code(&self, code_hash: &str, now: i64) -> Result<AuthCodeUse, StoreError> {
                let done = sqlx::query(
                    "UPDATE idp_authorization_codes SET used = 1 \
                     WHERE code_hash = $1 AND used = 0 AND expires_at > $2",
                )
                .bind(code_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                let row = sqlx::query("SELECT * FROM idp_authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(record) = row.as_ref().map(Self::auth_code_from).transpose()? else {
                    return Ok(AuthCodeUse::Invalid);
                };
                Ok(if done.rows_affected() == 1 {
                    AuthCodeUse::Fresh(record)
                } else if record.used {
                    AuthCodeUse::Reused(record)
                } else {
                    AuthCodeUse::Invalid
                })
            }

            async fn set_auth_code_session(&self, code_hash: &str, session_id: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE idp_authorization_codes SET session_id = $1 WHERE code_hash = $2")
                    .bind(session_id)
                    .bind(code_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

// With secure_delete on, the deleted key's cells are zeroed in the new page
// images; the checkpoint writes those into the file and empties the WAL, which
// still held the old images.
sql_store!(SqliteStore, sqlx::sqlite::SqliteRow, "", "PRAGMA wal_checkpoint(TRUNCATE)");
// Two instances starting together take turns migrating. VACUUM FULL rewrites
// the table into new files, so the deleted key's tuples leave the heap (the
// server's WAL segments and backups keep them until recycled: rotate the key
// after upgrading, docs/identity-server.md).
sql_store!(
    PgStore,
    sqlx::postgres::PgRow,
    "SELECT pg_advisory_xact_lock(7301554120);\n",
    "VACUUM FULL idp_signing_keys"
);
