//! Files and keys (issue 13 item 1): the SQLite files and the key file are
//! 0600 from creation, loose ones are refused, a key kept in the database by
//! an earlier version moves to the file, rotation keeps old tokens valid, and
//! forged tokens (another key, or the real key with a made-up session) are
//! inactive.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::json;
use slipgate_httpsig::jose::{self, Jwk, Jwks};
use slipgate_idp::AccessClaims;
use slipgate_idp::files::sqlite_files;
use slipgate_proto::clock::Clock as _;

use crate::support::{PgDatabase, TestIdp, split};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn jwks(idp: &TestIdp) -> Jwks {
    let response = idp.http.get(idp.url("/.well-known/jwks.json")).send().await.unwrap();
    let (status, _, body) = split(response).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_value(body).unwrap()
}

fn kids(jwks: &Jwks) -> Vec<String> {
    jwks.keys.iter().map(|k| k.kid.clone().unwrap()).collect()
}

/// The Ed25519 key in a PEM file, as an attacker who can read it would load it.
fn read_key(path: &Path) -> (String, Ed25519KeyPair) {
    let pem = std::fs::read_to_string(path).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(&der).unwrap();
    (Jwk::from_key_pair(&key, "").thumbprint().unwrap(), key)
}

fn new_key() -> (String, Ed25519KeyPair, Vec<u8>) {
    let der = Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap().as_ref().to_vec();
    let key = Ed25519KeyPair::from_pkcs8(&der).unwrap();
    (Jwk::from_key_pair(&key, "").thumbprint().unwrap(), key, der)
}

/// A user token's claims as the server would write them.
fn claims(idp: &TestIdp, sub: &str, sid: Option<&str>, client_id: &str) -> AccessClaims {
    let now = idp.clock.unix_seconds();
    let (emp_id, code, name, grade) = match sub {
        "alice" => ("01234", Some("ENG"), Some("John Doe"), Some("7.1")),
        "paula" => ("00001", Some("HR"), Some("Paula Payroll"), Some("8.1")),
        // carol predates the employee records: an id, no record.
        _ => ("00042", None, None, None),
    };
    AccessClaims {
        iss: idp.issuer.clone(),
        sub: sub.into(),
        aud: "slipgate-api".into(),
        exp: now + 365 * 86_400,
        iat: now,
        jti: format!("forged-{}", uuid::Uuid::new_v4().simple()),
        scope: "salaryslip:any".into(),
        client_id: client_id.into(),
        // The user's record as on file, so that only the key or the session
        // can make the token inactive.
        emp_id: Some(emp_id.into()),
        emp_code: code.map(str::to_owned),
        name: name.map(str::to_owned),
        emp_grade: grade.map(str::to_owned),
        sid: sid.map(str::to_owned),
        cnf: None,
    }
}

#[tokio::test]
async fn sqlite_files_and_the_key_file_are_0600_from_creation() {
    let idp = TestIdp::spawn().await;
    idp.login_ok("alice").await;
    let db = idp.key_file.with_file_name("idp.db");
    for file in sqlite_files(&db).iter().chain([&idp.key_file]) {
        assert!(file.exists(), "{} missing", file.display());
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // The database holds no private key: not the PKCS#8 DER, not its base64.
    let pem = std::fs::read_to_string(&idp.key_file).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(&b64).unwrap();
    for file in sqlite_files(&db) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(der.len()).any(|w| w == der.as_slice()), "{} holds the key", file.display());
        assert!(!bytes.windows(16).any(|w| w == &b64.as_bytes()[..16]), "{} holds the key", file.display());
    }
    idp.stop().await;
}

#[tokio::test]
async fn refuses_a_database_or_key_file_open_to_group_or_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idp.db");
    let url = format!("sqlite://{}", db.display());
    let store = slipgate_idp::open_store(&url).await.unwrap();
    store.migrate().await.unwrap();
    drop(store);
    for file in sqlite_files(&db) {
        if !file.exists() {
            continue;
        }
        chmod(&file, 0o644);
        let message = slipgate_idp::open_store(&url).await.unwrap_err().to_string();
        assert!(message.contains(&format!("chmod 600 {}", file.display())), "{message}");
        chmod(&file, 0o600);
    }
    let store = slipgate_idp::open_store(&url).await.unwrap();
    let key = dir.path().join("signing-key.pem");
    slipgate_idp::keys::prepare(store.as_ref(), &key, 0).await.unwrap();
    for loose in [0o644, 0o640, 0o660] {
        chmod(&key, loose);
        let message = slipgate_idp::keys::TokenKeys::load(store.as_ref(), &key, 900, 0).await.unwrap_err();
        assert!(message.to_string().contains(&format!("chmod 600 {}", key.display())), "{message}");
    }
}

#[tokio::test]
async fn admin_open_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idp.db");
    let error = slipgate_idp::open_existing_store(&format!("sqlite://{}", db.display())).await.unwrap_err();
    assert!(matches!(error, slipgate_idp::StoreError::Missing { .. }), "{error}");
    assert!(!db.exists());
}

#[tokio::test]
async fn a_token_signed_by_any_key_not_in_the_key_file_is_inactive() {
    let idp = TestIdp::spawn().await;
    let real = idp.login_ok("paula").await;
    let header = jose::decode_header(real["access_token"].as_str().unwrap()).unwrap();
    let (_, forger, _) = new_key();
    let session = idp.store.sessions_of("paula").await.unwrap().remove(0).session_id;
    // Another key under its own kid, and under the server's kid.
    for kid in [Jwk::from_key_pair(&forger, "").thumbprint().unwrap(), header.kid.clone()] {
        let forged =
            jose::sign_jwt(&claims(&idp, "paula", Some(&session), "slipgate-cli"), &kid, &forger).unwrap();
        assert_eq!(idp.introspect(&forged).await, json!({"active": false}), "kid {kid}");
    }
    idp.stop().await;
}

#[tokio::test]
async fn a_user_token_whose_session_is_not_live_is_inactive_even_with_the_real_key() {
    let idp = TestIdp::spawn().await;
    let alice = idp.login_ok("alice").await;
    let alice_session = idp.store.sessions_of("alice").await.unwrap().remove(0).session_id;
    // The reviewer's attack, replayed with the real key taken from its file.
    let (kid, key) = read_key(&idp.key_file);
    let mint = |c: &AccessClaims| jose::sign_jwt(c, &kid, &key).unwrap();
    let genuine = mint(&claims(&idp, "alice", Some(&alice_session), "slipgate-cli"));
    assert_eq!(idp.introspect(&genuine).await["active"], true, "the control: a well-formed token");
    let fabricated = mint(&claims(&idp, "paula", Some("made-up-session-id"), "slipgate-cli"));
    assert_eq!(idp.introspect(&fabricated).await, json!({"active": false}), "unknown session");
    let borrowed = mint(&claims(&idp, "paula", Some(&alice_session), "slipgate-cli"));
    assert_eq!(idp.introspect(&borrowed).await, json!({"active": false}), "another user's session");
    let other_client = mint(&claims(&idp, "alice", Some(&alice_session), "slipgate-api"));
    assert_eq!(idp.introspect(&other_client).await, json!({"active": false}), "another client's session");
    let sessionless = mint(&claims(&idp, "paula", None, "slipgate-cli"));
    assert_eq!(idp.introspect(&sessionless).await, json!({"active": false}), "a user token without sid");
    // A revoked session deactivates even a token minted for it.
    assert_eq!(idp.revoke(alice["refresh_token"].as_str().unwrap()).await, StatusCode::OK);
    assert_eq!(idp.introspect(&genuine).await, json!({"active": false}), "revoked session");
    idp.stop().await;
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_publishes_both_keys_until_they_expire() {
    let idp = TestIdp::spawn().await;
    let old_token = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let old_kid = jose::decode_header(&old_token).unwrap().kid;
    assert_eq!(kids(&jwks(&idp).await), std::slice::from_ref(&old_kid));

    let now = idp.clock.unix_seconds();
    let rotation = slipgate_idp::keys::rotate(idp.store.as_ref(), &idp.key_file, now).await.unwrap();
    assert_eq!(rotation.old_kid, old_kid);
    assert_ne!(rotation.new_kid, old_kid);
    assert_eq!(mode(&idp.key_file), 0o600);
    idp.state.reload_keys().await.unwrap();

    assert_eq!(kids(&jwks(&idp).await), [rotation.new_kid.clone(), old_kid.clone()], "both published");
    assert!(jose::verify_jwt::<serde_json::Value>(&old_token, &jwks(&idp).await).is_ok());
    assert_eq!(idp.introspect(&old_token).await["active"], true, "old tokens still verify");
    let new_token = idp.login_ok("paula").await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jose::decode_header(&new_token).unwrap().kid, rotation.new_kid);
    assert_eq!(idp.introspect(&new_token).await["active"], true);

    // Just before the old key's last token can have expired (15 min + reload
    // delay + leeway) it is still there; after, it is gone, from the store too.
    let publish = 900 + slipgate_idp::keys::RELOAD_SECS + 60;
    idp.clock.advance(Duration::from_secs(publish - 1));
    idp.state.reload_keys().await.unwrap();
    assert_eq!(kids(&jwks(&idp).await).len(), 2);
    idp.clock.advance(Duration::from_secs(1));
    idp.state.reload_keys().await.unwrap();
    assert_eq!(kids(&jwks(&idp).await), std::slice::from_ref(&rotation.new_kid));
    assert!(idp.store.retired_keys().await.unwrap().is_empty());
    idp.stop().await;
}

#[tokio::test]
async fn a_key_replaced_in_the_file_by_hand_is_retired_not_forgotten() {
    let idp = TestIdp::spawn().await;
    let old_token = idp.login_ok("alice").await["access_token"].as_str().unwrap().to_owned();
    let (new_kid, _, der) = new_key();
    slipgate_idp::files::replace_private(
        &idp.key_file,
        slipgate_httpsig::to_pem("PRIVATE KEY", &der).as_bytes(),
    )
    .unwrap();
    idp.state.reload_keys().await.unwrap();
    let listed = kids(&jwks(&idp).await);
    assert_eq!(listed.first(), Some(&new_kid));
    assert_eq!(listed.len(), 2);
    assert_eq!(idp.introspect(&old_token).await["active"], true);
    idp.stop().await;
}

/// A database as the previous version left it: schema 1, a signing key in
/// `idp_signing_keys`, a user `carol` with a refresh family.
fn legacy_rows(pool_sql: &mut Vec<String>, der: &[u8], kid: &str) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    pool_sql.push(include_str!("../../src/store/migrations/0001_init.sql").to_owned());
    pool_sql.push(format!(
        "CREATE TABLE IF NOT EXISTS idp_migrations (version BIGINT PRIMARY KEY);
         INSERT INTO idp_migrations (version) VALUES (1);
         INSERT INTO idp_signing_keys (kid, pkcs8, created_at) VALUES ('{kid}', '{b64}', 1);
         INSERT INTO idp_users (username, password_hash, emp_id, roles, disabled, created_at)
             VALUES ('carol', '$argon2id$x', '00042', 'payroll', 0, 1);
         INSERT INTO idp_refresh_tokens (token_hash, family_id, parent_hash, username, client_id, scope,
             issued_at, expires_at, used, revoked)
             VALUES ('h1', 'fam-carol', NULL, 'carol', 'public', 'salaryslip:any', 100, 4102444800, 0, 0);"
    ));
}

/// After the upgrade: the key is in the file (same kid), gone from the
/// database, and carol's token of the old version still introspects active.
async fn check_upgrade(idp: &TestIdp, kid: &str, key: &Ed25519KeyPair) {
    assert_eq!(read_key(&idp.key_file).0, kid, "the stored key moved to the file");
    assert_eq!(mode(&idp.key_file), 0o600);
    assert!(idp.store.legacy_signing_keys().await.unwrap().is_empty(), "deleted from the database");
    assert_eq!(kids(&jwks(idp).await), [kid.to_owned()]);
    let session = idp.store.session("fam-carol").await.unwrap().expect("the family became a session");
    assert_eq!((session.username.as_str(), session.client_id.as_str()), ("carol", "public"));
    let token = jose::sign_jwt(&claims(idp, "carol", Some("fam-carol"), "public"), kid, key).unwrap();
    assert_eq!(idp.introspect(&token).await["active"], true, "tokens of the old version stay valid");
}

#[tokio::test]
async fn upgrade_moves_the_key_out_of_a_sqlite_database_and_scrubs_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idp.db");
    let (kid, key, der) = new_key();
    let mut script = Vec::new();
    legacy_rows(&mut script, &der, &kid);
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
        for sql in &script {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    chmod(&db, 0o600);
    let store = slipgate_idp::open_store(&format!("sqlite://{}", db.display())).await.unwrap();
    let idp = TestIdp::spawn_on(store, dir).await;
    check_upgrade(&idp, &kid, &key).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    for file in sqlite_files(&idp.key_file.with_file_name("idp.db")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(b64.len()).any(|w| w == b64.as_bytes()),
            "{} still holds the key",
            file.display()
        );
    }
    idp.stop().await;
}

#[tokio::test]
async fn upgrade_moves_the_key_out_of_a_postgres_database() {
    let db = PgDatabase::create_empty().await;
    let (kid, key, der) = new_key();
    let mut script = Vec::new();
    legacy_rows(&mut script, &der, &kid);
    db.execute(&script).await;
    let store = db.open().await;
    let idp = TestIdp::spawn_on(store, tempfile::tempdir().unwrap()).await;
    check_upgrade(&idp, &kid, &key).await;
    idp.stop().await;
    db.drop_now().await;
}
