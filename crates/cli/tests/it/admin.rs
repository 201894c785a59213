//! `slipgate idp user|client …` as an administrator runs them (SPEC §4, §6):
//! never creating a database, `client add` atomic, `client remove`,
//! `client rotate-secret`, `user enable`, one password rule. Each message is
//! asserted, and the effect is checked on a running identity server.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use slipgate_test_support::idp::TestIdp;

/// `slipgate idp ARGS` in `cwd`, with `stdin` as its first line (or none).
fn idp(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .arg("idp")
        .args(args)
        .current_dir(cwd)
        .env_remove("SLIPGATE_IDP__DATABASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match stdin {
        Some(line) => writeln!(child.stdin.take().unwrap(), "{line}").unwrap(),
        None => drop(child.stdin.take()),
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(out));
    stderr(out)
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded: {}", stderr(out));
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
    stderr(out)
}

/// A running identity server on a SQLite file the CLI can open too.
async fn server() -> (TestIdp, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("idp.db").display());
    let store = slipgate_idp::open_store(&url).await.unwrap();
    let idp = TestIdp::spawn_on(store, dir).await;
    (idp, url, tempfile::tempdir().unwrap())
}

async fn introspect_as(idp: &TestIdp, client_id: &str, secret: &str) -> StatusCode {
    let response = idp
        .http
        .post(idp.url("/oauth/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    response.status()
}

#[test]
fn admin_commands_never_create_a_database() {
    let cwd = tempfile::tempdir().unwrap();
    let missing = cwd.path().join("nowhere.db");
    let url = format!("sqlite://{}", missing.display());
    let config = cwd.path().join("idp.toml");
    std::fs::write(&config, format!("[idp]\ndatabase = {:?}\n", url)).unwrap();
    let commands: [&[&str]; 6] = [
        &["user", "list"],
        &["user", "enable", "--username", "bob"],
        &["client", "list"],
        &["client", "remove", "--client-id", "x"],
        &["client", "rotate-secret", "--client-id", "x"],
        &["session", "list", "--user", "bob"],
    ];
    for args in commands {
        let e = failed(&idp(cwd.path(), args, None));
        assert!(
            e.contains("name the identity database with --config FILE or --database URL")
                && e.contains("administrative commands never create one"),
            "{args:?}: {e}"
        );
        for source in [["--database", url.as_str()], ["--config", config.to_str().unwrap()]] {
            let mut with = args.to_vec();
            with.extend_from_slice(&source);
            let e = failed(&idp(cwd.path(), &with, None));
            assert!(e.contains("no database at"), "{with:?}: {e}");
        }
    }
    assert!(!missing.exists());
    assert!(!cwd.path().join("slipgate-idp.db").exists(), "nothing created in the working directory");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 1, "only idp.toml");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_add_refuses_an_existing_secret_file_before_registering_anything() {
    let (idp_server, url, work) = server().await;
    let db = ["--database", url.as_str()];
    let list =
        |cwd: &Path| String::from_utf8(idp(cwd, &["client", "list", db[0], db[1]], None).stdout).unwrap();

    let existing = work.path().join("batch.secret");
    std::fs::write(&existing, "the secret of another client\n").unwrap();
    let add = |file: &Path| {
        idp(
            work.path(),
            &["client", "add", "--client-id", "batch", "--secret-file", file.to_str().unwrap(), db[0], db[1]],
            None,
        )
    };
    let e = failed(&add(&existing));
    assert!(e.contains("batch.secret exists; refusing to overwrite a secret (nothing was changed)"), "{e}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "the secret of another client\n");
    assert!(!list(work.path()).contains("batch"), "registered although the secret was refused");

    let no_dir = work.path().join("no/such/dir/batch.secret");
    let e = failed(&add(&no_dir));
    assert!(e.contains("cannot create") && e.contains("(nothing was changed)"), "{e}");
    assert!(!list(work.path()).contains("batch"));

    // The secret written is the one that works, and the file is private.
    let fresh = work.path().join("fresh.secret");
    let out = ok(&add(&fresh));
    assert!(out.contains("registered batch; secret written to"), "{out}");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&fresh).unwrap().permissions()) & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&fresh).unwrap().trim().to_owned();
    assert_eq!(introspect_as(&idp_server, "batch", &secret).await, StatusCode::OK);

    // A second registration of the id fails and leaves no empty file behind.
    let again = work.path().join("again.secret");
    let e = failed(&add(&again));
    assert!(e.contains("batch"), "{e}");
    assert!(!again.exists(), "a refused registration left {}", again.display());
    idp_server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_rotate_secret_and_remove_take_effect_at_once() {
    let (idp_server, url, work) = server().await;
    let db = ["--database", url.as_str()];
    let out = idp(work.path(), &["client", "add", "--client-id", "reports", db[0], db[1]], None);
    ok(&out);
    let old = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(introspect_as(&idp_server, "reports", &old).await, StatusCode::OK);

    // rotate-secret: printed once; the old secret stops working.
    let out = idp(work.path(), &["client", "rotate-secret", "--client-id", "reports", db[0], db[1]], None);
    let e = ok(&out);
    assert!(
        e.contains("new secret of reports follows and is not shown again; the old one no longer works"),
        "{e}"
    );
    let new = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(new.len() >= 32 && new != old);
    assert_eq!(introspect_as(&idp_server, "reports", &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect_as(&idp_server, "reports", &new).await, StatusCode::OK);

    // rotate-secret into a file: an existing file is refused and the secret unchanged.
    let taken = work.path().join("taken.secret");
    std::fs::write(&taken, "keep\n").unwrap();
    let args = [
        "client",
        "rotate-secret",
        "--client-id",
        "reports",
        "--secret-file",
        taken.to_str().unwrap(),
        db[0],
        db[1],
    ];
    let e = failed(&idp(work.path(), &args, None));
    assert!(e.contains("exists; refusing to overwrite a secret (nothing was changed)"), "{e}");
    assert_eq!(introspect_as(&idp_server, "reports", &new).await, StatusCode::OK, "still the same secret");
    let file = work.path().join("reports.secret");
    let args = [
        "client",
        "rotate-secret",
        "--client-id",
        "reports",
        "--secret-file",
        file.to_str().unwrap(),
        db[0],
        db[1],
    ];
    let e = ok(&idp(work.path(), &args, None));
    assert!(
        e.contains("new secret of reports written to") && e.contains("the old one no longer works"),
        "{e}"
    );
    let third = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_eq!(introspect_as(&idp_server, "reports", &new).await, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect_as(&idp_server, "reports", &third).await, StatusCode::OK);

    // Unknown clients are named.
    let e =
        failed(&idp(work.path(), &["client", "rotate-secret", "--client-id", "nobody", db[0], db[1]], None));
    assert!(e.contains("client `nobody` not found"), "{e}");
    let e = failed(&idp(work.path(), &["client", "remove", "--client-id", "nobody", db[0], db[1]], None));
    assert!(e.contains("client `nobody` not found"), "{e}");

    // remove: gone from the list, its secret refused.
    let e = ok(&idp(work.path(), &["client", "remove", "--client-id", "reports", db[0], db[1]], None));
    assert!(e.contains("removed reports; its secret, tokens and sessions no longer work"), "{e}");
    let listing =
        String::from_utf8(idp(work.path(), &["client", "list", db[0], db[1]], None).stdout).unwrap();
    assert!(!listing.contains("reports"), "{listing}");
    assert_eq!(introspect_as(&idp_server, "reports", &third).await, StatusCode::UNAUTHORIZED);
    idp_server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_enable_lets_a_disabled_user_log_in_again() {
    let (idp_server, url, work) = server().await;
    let db = ["--database", url.as_str()];
    let password = idp_server.password_of("alice");
    assert_eq!(idp_server.login("alice", &password).await.0, StatusCode::OK);
    let e = ok(&idp(work.path(), &["user", "disable", "--username", "alice", db[0], db[1]], None));
    assert!(e.contains("disabled alice"), "{e}");
    assert_eq!(idp_server.login("alice", &password).await.0, StatusCode::BAD_REQUEST, "invalid_grant");
    let e = ok(&idp(work.path(), &["user", "enable", "--username", "alice", db[0], db[1]], None));
    assert!(e.contains("enabled alice; it may log in again"), "{e}");
    assert_eq!(idp_server.login("alice", &password).await.0, StatusCode::OK);
    let listing = String::from_utf8(idp(work.path(), &["user", "list", db[0], db[1]], None).stdout).unwrap();
    assert!(listing.lines().any(|l| l.starts_with("alice") && l.ends_with("active")), "{listing}");
    let e = failed(&idp(work.path(), &["user", "enable", "--username", "mallory", db[0], db[1]], None));
    assert!(e.contains("user `mallory` not found"), "{e}");
    idp_server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_password_rule_for_stdin_and_the_library() {
    let (idp_server, url, work) = server().await;
    let db = ["--database", url.as_str()];
    let add = [
        "user",
        "add",
        "--username",
        "carol",
        "--emp-id",
        "04321",
        "--role",
        "employee",
        "--password-stdin",
        db[0],
        db[1],
    ];
    let min = slipgate_idp::admin::MIN_PASSWORD_LEN;
    assert_eq!(min, 12);
    let short = "x".repeat(min - 1);
    let e = failed(&idp(work.path(), &add, Some(&short)));
    assert!(e.contains("invalid password: use 12 to 1024 characters"), "{e}");
    assert!(!e.contains(&short));
    let listing = String::from_utf8(idp(work.path(), &["user", "list", db[0], db[1]], None).stdout).unwrap();
    assert!(!listing.contains("carol"), "{listing}");
    // The library says the same to any other caller.
    let e = slipgate_idp::user_passwd(
        idp_server.store.as_ref(),
        "alice",
        &slipgate_idp::Secret::new(short.clone()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(e, "invalid password: use 12 to 1024 characters");
    let e = failed(&idp(
        work.path(),
        &["user", "passwd", "--username", "alice", "--password-stdin", db[0], db[1]],
        Some(&short),
    ));
    assert!(e.contains("invalid password: use 12 to 1024 characters"), "{e}");
    // Exactly the minimum passes on stdin.
    let exact = "y".repeat(min);
    ok(&idp(work.path(), &add, Some(&exact)));
    assert_eq!(idp_server.login("carol", &exact).await.0, StatusCode::OK);
    idp_server.stop().await;
}
