//! One suite of store behaviours, run against SQLite (a temporary file) and a
//! real PostgreSQL (a database of its own per test, dropped afterwards).

use slipgate_idp::Store;
use slipgate_idp::store::{
    ClientRecord, EmployeeUpdate, RefreshRecord, RefreshUse, RetiredKey, SessionRecord, StoreError,
    UserRecord,
};

fn user(name: &str) -> UserRecord {
    UserRecord {
        username: name.into(),
        password_hash: "$argon2id$dummy".into(),
        emp_id: "01234".into(),
        emp_code: Some("ENG".into()),
        emp_name: Some("Alice Example".into()),
        emp_grade: Some("7.1".into()),
        roles: vec!["employee".into(), "payroll".into()],
        disabled: false,
        created_at: 1_700_000_000,
    }
}

fn refresh(hash: &str, family: &str, expires_at: i64) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        family_id: family.into(),
        parent_hash: None,
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["salaryslip:self".into()],
        issued_at: 1000,
        expires_at,
        used: false,
        revoked: false,
    }
}

pub async fn users_round_trip(store: &dyn Store) {
    store.insert_user(&user("bob")).await.unwrap();
    store.insert_user(&user("alice")).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap(), Some(user("alice")));
    assert_eq!(store.user("carol").await.unwrap(), None);
    let names: Vec<String> = store.users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(matches!(store.insert_user(&user("alice")).await, Err(StoreError::Conflict(_))));

    assert!(store.set_user_disabled("alice", true).await.unwrap());
    assert!(store.user("alice").await.unwrap().unwrap().disabled);
    assert!(!store.set_user_disabled("carol", true).await.unwrap());
    assert!(store.set_user_password("alice", "$argon2id$new").await.unwrap());
    assert_eq!(store.user("alice").await.unwrap().unwrap().password_hash, "$argon2id$new");
    assert!(!store.set_user_password("carol", "x").await.unwrap());
}

pub async fn clients_round_trip(store: &dyn Store) {
    let client = ClientRecord {
        client_id: "api".into(),
        secret_hash: "hash".into(),
        name: "The API".into(),
        scopes: vec![],
        created_at: 5,
    };
    store.insert_client(&client).await.unwrap();
    assert_eq!(store.client("api").await.unwrap(), Some(client.clone()));
    assert!(matches!(store.insert_client(&client).await, Err(StoreError::Conflict(_))));
    let scoped = ClientRecord { client_id: "batch".into(), scopes: vec!["salaryslip:any".into()], ..client };
    store.insert_client(&scoped).await.unwrap();
    let ids: Vec<String> = store.clients().await.unwrap().into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, ["api", "batch"]);
    assert_eq!(store.client("batch").await.unwrap().unwrap().scopes, ["salaryslip:any"]);
    assert!(store.set_client_secret("api", "hash2").await.unwrap());
    assert_eq!(store.client("api").await.unwrap().unwrap().secret_hash, "hash2");
    assert!(!store.set_client_secret("nobody", "x").await.unwrap());
}

pub async fn refresh_tokens_rotate_once_and_detect_reuse(store: &dyn Store) {
    store.insert_refresh(&refresh("h1", "fam", 5000)).await.unwrap();
    let RefreshUse::Rotated(record) = store.use_refresh("h1", 2000).await.unwrap() else {
        panic!("not rotated")
    };
    assert_eq!(record.family_id, "fam");
    assert!(record.used);
    let child = RefreshRecord { parent_hash: Some("h1".into()), ..refresh("h2", "fam", 6000) };
    store.insert_refresh(&child).await.unwrap();
    assert_eq!(store.refresh("h2").await.unwrap().unwrap().parent_hash.as_deref(), Some("h1"));

    assert!(
        matches!(store.use_refresh("h1", 2001).await.unwrap(), RefreshUse::Reused(r) if r.family_id == "fam")
    );
    assert!(!store.revoke_session("fam").await.unwrap(), "no session row: nothing to report");
    assert_eq!(store.use_refresh("h2", 2002).await.unwrap(), RefreshUse::Dead);
    assert_eq!(store.use_refresh("nope", 2002).await.unwrap(), RefreshUse::Unknown);
}

pub async fn expired_refresh_tokens_are_dead_and_purged(store: &dyn Store) {
    store.insert_refresh(&refresh("old", "f1", 1500)).await.unwrap();
    store.insert_refresh(&refresh("new", "f2", 9000)).await.unwrap();
    assert_eq!(store.use_refresh("old", 1500).await.unwrap(), RefreshUse::Dead);
    assert!(!store.refresh("old").await.unwrap().unwrap().used);
    // Within the grace period nothing goes; past it only the expired row.
    assert_eq!(store.purge_expired(1600, 1000).await.unwrap(), 0);
    assert_eq!(store.purge_expired(2600, 1000).await.unwrap(), 1);
    assert_eq!(store.refresh("old").await.unwrap(), None);
    assert!(store.refresh("new").await.unwrap().is_some());
}

pub async fn revoked_jtis_last_until_expiry(store: &dyn Store) {
    store.revoke_jti("j1", 100).await.unwrap();
    store.revoke_jti("j1", 100).await.unwrap();
    store.revoke_jti("j2", 300).await.unwrap();
    assert!(store.jti_revoked("j1").await.unwrap());
    assert!(!store.jti_revoked("j3").await.unwrap());
    assert_eq!(store.purge_expired(200, 0).await.unwrap(), 1);
    assert!(!store.jti_revoked("j1").await.unwrap());
    assert!(store.jti_revoked("j2").await.unwrap());
}

pub async fn retired_keys_persist_oldest_first_until_deleted(store: &dyn Store) {
    assert!(store.retired_keys().await.unwrap().is_empty());
    assert!(store.legacy_signing_keys().await.unwrap().is_empty());
    let key =
        |kid: &str, at| RetiredKey { kid: kid.into(), public_key: format!("pub-{kid}"), retired_at: at };
    store.insert_retired_key(&key("b", 20)).await.unwrap();
    store.insert_retired_key(&key("a", 30)).await.unwrap();
    store.insert_retired_key(&RetiredKey { public_key: "other".into(), ..key("b", 99) }).await.unwrap();
    assert_eq!(store.retired_keys().await.unwrap(), [key("b", 20), key("a", 30)]);
    assert_eq!(store.delete_retired_keys(30).await.unwrap(), 1);
    assert_eq!(store.retired_keys().await.unwrap(), [key("a", 30)]);
}

fn session(id: &str, user: &str, expires_at: i64) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        username: user.into(),
        client_id: "slipgate-cli".into(),
        created_at: 1000,
        last_used_at: 1000,
        expires_at,
        revoked: false,
        key_thumbprint: None,
    }
}

pub async fn sessions_start_only_for_the_verified_password_hash(store: &dyn Store) {
    store.insert_user(&user("alice")).await.unwrap();
    // The hash the login verified is no longer the user's: a password change won.
    assert!(!store.start_session(&session("s0", "alice", 9000), "$argon2id$old").await.unwrap());
    assert!(!store.start_session(&session("s0", "nobody", 9000), "$argon2id$dummy").await.unwrap());
    assert_eq!(store.session("s0").await.unwrap(), None);
    assert!(store.start_session(&session("s1", "alice", 9000), "$argon2id$dummy").await.unwrap());
    assert_eq!(store.session("s1").await.unwrap(), Some(session("s1", "alice", 9000)));
    store.set_user_disabled("alice", true).await.unwrap();
    assert!(!store.start_session(&session("s2", "alice", 9000), "$argon2id$dummy").await.unwrap());
}

pub async fn sessions_are_touched_while_live_and_end_per_user_or_one_by_one(store: &dyn Store) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_user(&user("bob")).await.unwrap();
    for (id, who) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        assert!(store.start_session(&session(id, who, 5000), "$argon2id$dummy").await.unwrap());
        let token = RefreshRecord { username: who.into(), ..refresh(&format!("h-{id}"), id, 5000) };
        store.insert_refresh(&token).await.unwrap();
    }
    assert!(store.touch_session("a1", 2000).await.unwrap());
    assert_eq!(store.session("a1").await.unwrap().unwrap().last_used_at, 2000);
    assert!(!store.touch_session("a1", 5000).await.unwrap(), "expired: not touched");
    let ids = |list: Vec<SessionRecord>| list.into_iter().map(|s| s.session_id).collect::<Vec<_>>();
    assert_eq!(ids(store.sessions_of("alice").await.unwrap()), ["a1", "a2"]);

    assert!(store.revoke_session("a2").await.unwrap());
    assert!(!store.session("a2").await.unwrap().unwrap().is_live(2000));
    assert_eq!(store.use_refresh("h-a2", 2000).await.unwrap(), RefreshUse::Dead);
    assert!(!store.touch_session("a2", 2000).await.unwrap());

    assert_eq!(store.revoke_user_sessions("alice").await.unwrap(), 1);
    assert_eq!(store.revoke_user_sessions("alice").await.unwrap(), 0);
    assert!(!store.session("a1").await.unwrap().unwrap().is_live(2000));
    assert_eq!(store.use_refresh("h-a1", 2000).await.unwrap(), RefreshUse::Dead);
    // Another user's sessions are untouched.
    assert!(store.session("b1").await.unwrap().unwrap().is_live(2000));
    assert!(matches!(store.use_refresh("h-b1", 2000).await.unwrap(), RefreshUse::Rotated(_)));
    // Purged once past expiry and grace.
    assert_eq!(store.purge_expired(5500, 1000).await.unwrap(), 0);
    assert!(store.purge_expired(7000, 1000).await.unwrap() >= 3);
    assert!(store.sessions_of("alice").await.unwrap().is_empty());
}

pub async fn migrations_are_idempotent(store: &dyn Store) {
    store.insert_user(&user("alice")).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.user("alice").await.unwrap().is_some());
}

pub async fn employee_records_update_member_by_member(store: &dyn Store) {
    store
        .insert_user(&UserRecord { emp_code: None, emp_name: None, emp_grade: None, ..user("bob") })
        .await
        .unwrap();
    let bob = store.user("bob").await.unwrap().unwrap();
    assert_eq!((bob.emp_code, bob.emp_name, bob.emp_grade), (None, None, None));
    let grade = EmployeeUpdate { emp_grade: Some("8.1".into()), ..EmployeeUpdate::default() };
    assert!(store.update_employee("bob", &grade).await.unwrap());
    let full = EmployeeUpdate {
        emp_id: Some("07777".into()),
        emp_code: Some("HR".into()),
        emp_name: Some("Bob Builder".into()),
        emp_grade: None,
    };
    assert!(store.update_employee("bob", &full).await.unwrap());
    let bob = store.user("bob").await.unwrap().unwrap();
    assert_eq!(bob.emp_id, "07777");
    assert_eq!(bob.emp_code.as_deref(), Some("HR"));
    assert_eq!(bob.emp_name.as_deref(), Some("Bob Builder"));
    assert_eq!(bob.emp_grade.as_deref(), Some("8.1"), "a member left out keeps its value");
    assert!(!store.update_employee("carol", &grade).await.unwrap());
    assert!(store.user("carol").await.unwrap().is_none(), "no record without a user");
    let listed = store.users().await.unwrap();
    assert_eq!(listed[0].emp_name.as_deref(), Some("Bob Builder"));
}

pub async fn login_addresses_are_known_for_thirty_days(store: &dyn Store) {
    let day = 86_400;
    store.record_login_ip("alice", "192.0.2.1", 100 * day).await.unwrap();
    store.record_login_ip("alice", "192.0.2.1", 101 * day).await.unwrap();
    store.record_login_ip("alice", "2001:db8:1:2::/64", 101 * day).await.unwrap();
    assert!(store.login_ip_known("alice", "192.0.2.1", 71 * day).await.unwrap());
    assert!(store.login_ip_known("alice", "2001:db8:1:2::/64", 71 * day).await.unwrap());
    assert!(!store.login_ip_known("alice", "192.0.2.2", 71 * day).await.unwrap());
    assert!(!store.login_ip_known("bob", "192.0.2.1", 71 * day).await.unwrap());
    assert!(!store.login_ip_known("alice", "192.0.2.1", 102 * day).await.unwrap(), "too old");
    // The next login forgets addresses unused for 30 days.
    store.record_login_ip("alice", "198.51.100.1", 140 * day).await.unwrap();
    assert!(!store.login_ip_known("alice", "192.0.2.1", 0).await.unwrap());
    assert!(store.login_ip_known("alice", "198.51.100.1", 0).await.unwrap());
}

pub async fn token_nonces_are_spent_once_per_key_until_they_expire(store: &dyn Store) {
    // A nonce is the pair (key thumbprint, nonce): the same nonce under another key is new.
    assert!(store.spend_token_nonce("key-a", "nonce-0001", 1060, 1000).await.unwrap());
    assert!(!store.spend_token_nonce("key-a", "nonce-0001", 1060, 1000).await.unwrap(), "replay");
    assert!(store.spend_token_nonce("key-b", "nonce-0001", 1060, 1000).await.unwrap());
    assert_eq!(store.token_nonce_count().await.unwrap(), 2);
    // Still refused at its last second (created + 60 s), forgotten after it.
    assert!(!store.spend_token_nonce("key-a", "nonce-0001", 1120, 1060).await.unwrap());
    assert!(store.spend_token_nonce("key-c", "nonce-0002", 1121, 1061).await.unwrap());
    assert_eq!(store.token_nonce_count().await.unwrap(), 1, "the expired rows were pruned");
    assert!(store.spend_token_nonce("key-a", "nonce-0001", 1121, 1061).await.unwrap());
    assert_eq!(store.purge_expired(1200, 0).await.unwrap(), 2);
    assert_eq!(store.token_nonce_count().await.unwrap(), 0);
}

/// Thirty connections spending one nonce at once (as thirty identity-server instances on one
/// database would): exactly one wins.
pub async fn thirty_concurrent_spends_of_one_nonce_have_one_winner(store: &dyn Store) {
    let spends = (0..30).map(|_| store.spend_token_nonce("key-a", "raced-nonce", 1060, 1000));
    let results: Vec<bool> =
        futures_util::future::join_all(spends).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = crate::support::sqlite_store().await;
                    super::$name(store.as_ref()).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::support::PgDatabase::create().await;
                    super::$name(db.store.as_ref()).await;
                    db.drop_now().await;
                }
            )*
        }
    };
}

suite!(
    users_round_trip,
    clients_round_trip,
    refresh_tokens_rotate_once_and_detect_reuse,
    expired_refresh_tokens_are_dead_and_purged,
    revoked_jtis_last_until_expiry,
    retired_keys_persist_oldest_first_until_deleted,
    sessions_start_only_for_the_verified_password_hash,
    sessions_are_touched_while_live_and_end_per_user_or_one_by_one,
    migrations_are_idempotent,
    employee_records_update_member_by_member,
    login_addresses_are_known_for_thirty_days,
    token_nonces_are_spent_once_per_key_until_they_expire,
    thirty_concurrent_spends_of_one_nonce_have_one_winner,
);

/// A database made by a build before the employee records (migration 1 only)
/// keeps its users; their records are empty until `idp user update`.
#[tokio::test]
async fn users_from_before_migration_10_get_an_empty_record() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("idp.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(include_str!("../../src/store/migrations/0001_init.sql")).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE idp_migrations (version BIGINT PRIMARY KEY); INSERT INTO idp_migrations VALUES (1); \
         INSERT INTO idp_users (username, password_hash, emp_id, roles, disabled, created_at) \
         VALUES ('old', '$argon2id$x', '00042', 'employee', 0, 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    // An old build left the file 0644; the server refuses it until the
    // operator runs the chmod its message names.
    use std::os::unix::fs::PermissionsExt as _;
    let db = dir.path().join("idp.db");
    assert!(slipgate_idp::open_store(&url).await.is_err(), "a 0644 database was opened");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = slipgate_idp::open_store(&url).await.unwrap();
    let old = store.user("old").await.unwrap().unwrap();
    assert_eq!(old.emp_id, "00042");
    assert_eq!((old.emp_code, old.emp_name, old.emp_grade), (None, None, None));
}

#[tokio::test]
async fn sqlite_store_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("idp.db").display());
    let store = slipgate_idp::open_store(&url).await.unwrap();
    store.insert_user(&user("alice")).await.unwrap();
    drop(store);
    let store = slipgate_idp::open_store(&url).await.unwrap();
    assert!(store.user("alice").await.unwrap().is_some());
}

#[tokio::test]
async fn open_store_refuses_an_unknown_scheme() {
    assert!(matches!(slipgate_idp::open_store("mysql://x/y").await, Err(StoreError::Url { .. })));
}

#[tokio::test]
async fn sqlite_in_memory_store_keeps_data_across_calls() {
    let store = slipgate_idp::open_store("sqlite::memory:").await.unwrap();
    store.insert_user(&user("alice")).await.unwrap();
    assert_eq!(store.users().await.unwrap().len(), 1);
}
