//! PostgreSQL databases made per test; the server itself is
//! `slipgate_test_support::idp::TestIdp`.

pub use slipgate_test_support::idp::{TestIdp, split};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use slipgate_idp::{PgStore, SqliteStore, Store};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// A SQLite store in a temporary file.
pub async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::connect(&format!("sqlite://{}", dir.path().join("idp.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    (Arc::new(store), dir)
}

/// A database of its own on the test PostgreSQL, dropped by [`PgDatabase::drop_now`].
pub struct PgDatabase {
    admin: PgConnectOptions,
    name: String,
    pub store: Arc<PgStore>,
}

#[allow(clippy::disallowed_methods, reason = "test configuration: the service URL CI provides")]
pub fn postgres_url() -> String {
    std::env::var("SLIPGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl PgDatabase {
    /// A migrated database.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        db.store.migrate().await.unwrap();
        db
    }

    /// Runs `script` (raw SQL) on the database, e.g. to build an old schema.
    pub async fn execute(&self, script: &[String]) {
        let mut conn = PgConnection::connect_with(&self.admin.clone().database(&self.name)).await.unwrap();
        for sql in script {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }

    /// The store, migrated, as the server opens it.
    pub async fn open(&self) -> Arc<dyn Store> {
        self.store.migrate().await.unwrap();
        self.store.clone()
    }

    /// A database with no schema yet.
    pub async fn create_empty() -> Self {
        let url = postgres_url();
        let admin = PgConnectOptions::from_str(&url).unwrap();
        let mut conn = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&admin))
            .await
            .unwrap_or_else(|_| panic!("PostgreSQL at {url} did not answer within 10 s"))
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is unreachable at {url} ({e}): start it (scripts/test.sh does) \
                     or point SLIPGATE_TEST_POSTGRES_URL at one"
                )
            });
        let name = format!("slipgate_idp_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let store = PgStore::connect_with(admin.clone().database(&name)).await.unwrap();
        Self { admin, name, store: Arc::new(store) }
    }

    pub async fn drop_now(self) {
        self.store.close().await;
        let mut conn = PgConnection::connect_with(&self.admin).await.unwrap();
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}
