//! What a user reads when something is wrong (issue 19): the real cause,
//! said once, through the real `slipgate` binary — against a closed port, a
//! TLS server whose certificate comes from another CA, a name that does not
//! resolve, plain `http://` and non-root URLs, the identity server's URL
//! given as the API's (and the reverse), a 422, a first run before any login,
//! and a port already taken.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::attacks::GENERATE;
use crate::dev::DevProcess;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failed run's stderr.
fn failure(out: &Output) -> String {
    let text = stderr(out);
    assert!(!out.status.success(), "expected a failure, got success:\n{text}");
    text
}

/// A user with no profile at all: every URL comes from the flags.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipgate"));
        command.env("XDG_CONFIG_HOME", self.config_home()).stdin(Stdio::null());
        command
    }

    /// `slipgate login --username alice --password-stdin` with `args`.
    fn login(&self, args: &[&str]) -> Output {
        let mut child = self
            .command()
            .args(["login", "--username", "alice", "--password-stdin"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that refuses its flags exits before reading stdin: the pipe may be closed.
        let _ = writeln!(child.stdin.take().unwrap(), "not-the-password-anyway");
        child.wait_with_output().unwrap()
    }

    /// Stored tokens and a device key, as after a login, so that `generate`
    /// goes as far as connecting (the token itself is never checked here).
    fn pretend_logged_in(&self) {
        let base = self.config_home().join("slipgate");
        slipgate_client::DeviceKey::load_or_create(&base.join("keys/default.pem")).unwrap();
        let tokens = slipgate_client::TokenSet {
            access_token: "not-a-real-token".into(),
            refresh_token: None,
            scope: "salaryslip:self".into(),
            username: "alice".into(),
            token_type: slipgate_proto::oauth::TokenType::Httpsig,
        };
        slipgate_client::TokenFile::new(base.join("tokens/default.json")).save(&tokens).unwrap();
    }
}

/// An address nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A TLS server whose certificate (`CN=localhost`, issued by the
/// development CA it makes in `dir`) no client here trusts; it counts the
/// connections it accepted.
fn foreign_tls_server(dir: &Path) -> (SocketAddr, Arc<AtomicUsize>) {
    let pki = slipgate_api::devpki::DevPki::ensure(dir).unwrap();
    let (chain, key) = slipgate_proto::tls::read_identity(&pki.server_cert, &pki.server_key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            // The client refuses the certificate: the handshake fails here.
            let _ = conn.complete_io(&mut tcp);
        }
    });
    (addr, accepted)
}

#[test]
fn a_closed_port_is_reported_as_refused_with_its_address() {
    let user = Scratch::new();
    let closed = closed_port();
    let out = user.login(&["--api", &format!("https://{closed}"), "--idp", &format!("https://{closed}")]);
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "connection refused by {closed}: is the server running, and is this its address and port?"
        )),
        "{text}"
    );
    assert_eq!(text.matches("refused").count(), 1, "the cause is said once:\n{text}");
    assert!(!text.contains("error sending request"), "{text}");
}

#[test]
fn an_unknown_host_is_named_as_a_dns_failure() {
    let user = Scratch::new();
    let out =
        user.login(&["--api", "https://nonexistent.invalid", "--idp", "https://nonexistent.invalid:8444"]);
    let text = failure(&out);
    assert!(text.contains("unknown host `nonexistent.invalid`: the name does not resolve (DNS: "), "{text}");
    assert_eq!(text.matches("nonexistent.invalid").count(), 1, "{text}");
}

/// A certificate from a CA the client does not trust names its issuer and
/// the CA file it was checked against, and is reported after one attempt:
/// `generate` retries transient failures, and this is not one.
#[test]
fn a_certificate_from_another_ca_names_its_issuer_and_the_ca_file_without_retrying() {
    let user = Scratch::new();
    user.pretend_logged_in();
    let server_pki = tempfile::tempdir().unwrap();
    let (addr, accepted) = foreign_tls_server(server_pki.path());
    let ours = tempfile::tempdir().unwrap();
    let (our_ca, _, _) = slipgate_api::devpki::client_pki(ours.path(), "ours").unwrap();
    let url = format!("https://{addr}");
    let out = user
        .command()
        .args(GENERATE)
        .args(["--api", &url, "--idp", &url, "--ca"])
        .arg(&our_ca)
        .output()
        .unwrap();
    let text = failure(&out);
    let expected = format!(
        "TLS verification of {addr} failed: the server's certificate (subject `O=Slipgate \
         (development),CN=localhost`, issued by `O=Slipgate (development),CN=Slipgate development CA`) was checked \
         against the CA file {}: its issuer is not a trusted CA (--ca or the profile's ca_file names the CA \
         file to trust)",
        our_ca.display()
    );
    assert!(text.contains(&expected), "wanted:\n{expected}\ngot:\n{text}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "a refused certificate is not retried");
}

#[test]
fn http_and_non_root_urls_are_refused_before_any_connection() {
    let user = Scratch::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();

    let out = user.login(&["--api", &format!("http://{addr}"), "--idp", &format!("https://{addr}")]);
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "--api: invalid API URL `http://{addr}/`: http:// is not accepted: Slipgate speaks TLS only; \
             write https://{addr}"
        )),
        "{text}"
    );

    let out =
        user.login(&["--api", &format!("https://{addr}"), "--idp", &format!("https://{addr}/oauth/token")]);
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "--idp: invalid identity server URL `https://{addr}/oauth/token`: it has the path `/oauth/token`, \
             but the identity server answers at the root of its origin: write https://{addr}"
        )),
        "{text}"
    );

    let out = user
        .command()
        .args(GENERATE)
        .args(["--api", &format!("https://{addr}/api"), "--idp", &format!("https://{addr}")])
        .output()
        .unwrap();
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "--api: invalid API URL `https://{addr}/api`: it has the path `/api`, but the Slipgate API answers \
             at the root of its origin: write https://{addr}"
        )),
        "{text}"
    );

    // The same check for a URL from a profile file, which the message names.
    let profile = user.dir.path().join("staging.toml");
    std::fs::write(&profile, format!("api_url = \"http://{addr}\"\nidp_url = \"https://{addr}\"\n")).unwrap();
    let out = user.command().args(GENERATE).arg("--profile").arg(&profile).output().unwrap();
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "api_url in the profile {}: invalid API URL `http://{addr}/`: http:// is not accepted",
            profile.display()
        )),
        "{text}"
    );

    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection was made: {other:?}"),
    }
}

#[test]
fn the_identity_servers_url_as_the_api_and_the_reverse_are_named_as_such() {
    let dev = DevProcess::start();
    dev.login("alice");
    let idp_url = dev.str("idp_url").to_owned();
    let api_url = dev.str("api_url").to_owned();

    let out = dev.command().args(GENERATE).args(["--api", &idp_url]).stdin(Stdio::null()).output().unwrap();
    let text = failure(&out);
    assert!(
        text.contains(&format!(
            "{} looks like the identity server, not the Slipgate API: it answered 404 with an unsigned OAuth \
             error (`not_found`) where the API signs every answer",
            idp_url.trim_end_matches('/')
        )),
        "{text}"
    );
    assert!(text.contains("(--api takes the API's URL, --idp the identity server's)"), "{text}");
    assert!(!text.contains("content-digest"), "not a tampering alarm:\n{text}");
    // Pinning on first use (a profile without `server_keys`) fetches the keys from the wrong server.
    let profile = dev.config_home.join("pin-me.toml");
    let ca = dev.str("ca_file");
    std::fs::write(
        &profile,
        format!("api_url = \"{idp_url}\"\nidp_url = \"{idp_url}\"\nca_file = \"{ca}\"\n"),
    )
    .unwrap();
    let out =
        dev.command().args(["keys", "pin", "--profile"]).arg(&profile).stdin(Stdio::null()).output().unwrap();
    let text = failure(&out);
    assert!(text.contains("looks like the identity server, not the Slipgate API: it answered 404"), "{text}");

    let mut login = dev
        .command()
        .args(["login", "--username", "alice", "--password-stdin", "--idp", &api_url])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = writeln!(login.stdin.take().unwrap(), "{}", dev.password_of("alice"));
    let text = failure(&login.wait_with_output().unwrap());
    assert!(text.contains("looks like the Slipgate API, not the identity server: it answered"), "{text}");
}

#[test]
fn a_validation_failure_prints_each_field_and_its_message() {
    let dev = DevProcess::start();
    dev.login("paula");
    let out = dev
        .command()
        .args([
            "generate",
            "--emp-id",
            "01234",
            "--emp-code",
            "E N G",
            "--emp-name",
            "R2-D2",
            "--grade",
            "7.1",
        ])
        .args(["--working-days", "24"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = failure(&out);
    assert!(text.contains("422 validation_failed: 2 fields failed validation"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("  - emp_code: ") && lines[0].len() > "  - emp_code: ".len(), "{text}");
    assert!(lines[1].starts_with("  - emp_name: ") && lines[1].len() > "  - emp_name: ".len(), "{text}");
}

#[test]
fn before_the_first_login_the_cli_says_not_logged_in() {
    let dev = DevProcess::start();
    let out = dev.command().args(GENERATE).stdin(Stdio::null()).output().unwrap();
    let text = failure(&out);
    let key = dev.config_home.join("slipgate/keys/default.pem");
    assert!(
        text.contains(&format!(
            "not logged in: there is no device key at {}; run `slipgate login`",
            key.display()
        )),
        "{text}"
    );
    assert!(!text.contains("expired"), "{text}");

    // A profile signing with a registry key has no device key to miss: the
    // missing tokens are what it reports.
    let key_file = dev.dev_json["keys"][1]["private_key_file"].as_str().unwrap().to_owned();
    let out = dev
        .command()
        .args(GENERATE)
        .args(["--key-id", "dev-ed25519", "--key-file", &key_file])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = failure(&out);
    assert!(text.contains("not logged in: no stored tokens; run `slipgate login`"), "{text}");
    assert!(!text.contains("expired"), "{text}");
}

/// On a terminal, the first run prompts for credentials saying the user is
/// not logged in (not that a session expired).
#[test]
fn before_the_first_login_the_prompt_says_not_logged_in() {
    let dev = DevProcess::start();
    let key_file = dev.dev_json["keys"][1]["private_key_file"].as_str().unwrap().to_owned();
    let args = GENERATE.iter().copied().chain(["--key-id", "dev-ed25519", "--key-file", &key_file]);
    // On a pseudo-terminal; an empty username ends the prompt.
    let mut child = crate::client::slipgate_on_a_terminal(args, &dev.config_home);
    let mut stdin = child.stdin.take().unwrap();
    let _ = writeln!(stdin);
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{screen}");
    assert!(
        screen.contains("Not logged in (profile default); log in, or run `slipgate login` first."),
        "{screen}"
    );
    assert!(!screen.contains("expired"), "{screen}");
}

#[test]
fn a_port_in_use_is_reported_once() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .args(["dev", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["--set", &format!("server.listen={addr}"), "--set", "server.admin_listen=127.0.0.1:0"])
        .args(["--set", "idp.listen=127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = failure(&out);
    let last = text.lines().rfind(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(last.contains(&format!("{addr}")), "{text}");
    assert_eq!(last.matches("in use").count(), 1, "the cause is said once:\n{text}");
    drop(taken);
}
