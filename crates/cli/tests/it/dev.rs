//! `slipgate dev`: a real process, its dev.json, and requests over TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slipgate_client::{RequestSigner, load_signing_key};
use slipgate_httpsig::SigningKey;
use slipgate_test_support::{SEED_BODY, https_client, json, pdftotext};

pub struct DevProcess {
    child: Child,
    pub dev_json: serde_json::Value,
    /// XDG_CONFIG_HOME of this run: profiles and tokens.
    pub config_home: PathBuf,
    _dir: tempfile::TempDir,
}

impl DevProcess {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`DevProcess::start`] with extra `slipgate dev` arguments (e.g. `--set k=v`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in("data", extra)
    }

    /// [`DevProcess::start_with`] with the data directory named `data` (in a
    /// fresh temporary directory).
    pub fn start_in(data: &str, extra: &[&str]) -> Self {
        Self::start_logging(data, extra, |_| Stdio::null())
    }

    /// [`DevProcess::start_in`] with stderr (the log) going where `stderr`
    /// says, given the run's temporary directory.
    pub fn start_logging(data: &str, extra: &[&str], stderr: impl FnOnce(&Path) -> Stdio) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_home = dir.path().join("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .args(["dev", "--data-dir"])
            .arg(dir.path().join(data))
            .env("XDG_CONFIG_HOME", &config_home)
            .args(["--set", "server.listen=127.0.0.1:0", "--set", "server.admin_listen=127.0.0.1:0"])
            .args(["--set", "idp.listen=127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr(dir.path()))
            .spawn()
            .unwrap();
        let path = dir.path().join(data).join("dev.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !path.exists() {
            assert!(Instant::now() < deadline, "dev.json not written within 60 s");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("slipgate dev {extra:?} exited with {status} before writing dev.json");
            }
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
        let dev_json = json(&std::fs::read(&path).unwrap());
        Self { child, dev_json, config_home, _dir: dir }
    }

    /// The process id of `slipgate dev`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn str(&self, key: &str) -> &str {
        self.dev_json[key].as_str().unwrap()
    }

    /// The seeded password of `username`.
    pub fn password_of(&self, username: &str) -> String {
        let users = self.dev_json["users"].as_array().unwrap();
        let user = users.iter().find(|u| u["username"] == username).unwrap();
        user["password"].as_str().unwrap().to_owned()
    }

    /// `slipgate login --username U --password-stdin` with the seeded password.
    pub fn login(&self, username: &str) {
        use std::io::Write as _;
        let mut child = self
            .command()
            .args(["login", "--username", username, "--password-stdin"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{}", self.password_of(username)).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// A `slipgate` command running with this dev's profile directory.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipgate"));
        command.env("XDG_CONFIG_HOME", &self.config_home).env_remove("SLIPGATE_IDP__DATABASE");
        command
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "slipgate dev did not stop on SIGTERM");
            #[allow(
                clippy::disallowed_methods,
                reason = "polls a real child process or socket: there is no event to await"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A token of paula, fetched with the password from dev.json.
async fn paula_token(dev: &DevProcess) -> String {
    let ca = PathBuf::from(dev.str("ca_file"));
    let client = https_client(&ca, &[&rustls::version::TLS13], &[]);
    let password = dev.password_of("paula");
    let form = [("grant_type", "password"), ("username", "paula"), ("password", password.as_str())];
    let response =
        client.post(format!("{}/oauth/token", dev.str("idp_url"))).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    json(&response.bytes().await.unwrap())["access_token"].as_str().unwrap().to_owned()
}

/// A signer for each demo key listed in dev.json.
fn signers(dev: &DevProcess) -> Vec<RequestSigner> {
    dev.dev_json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let keyid = k["keyid"].as_str().unwrap();
            let key = match k["secret_b64"].as_str() {
                Some(b64) => SigningKey::hmac_sha256_base64(b64).unwrap(),
                None => load_signing_key(Path::new(k["private_key_file"].as_str().unwrap())).unwrap(),
            };
            assert_eq!(key.algorithm().as_str(), k["alg"].as_str().unwrap());
            RequestSigner::new(keyid, key)
        })
        .collect()
}

#[tokio::test]
async fn dev_serves_json_and_pdf_slips_with_its_own_ca() {
    let dev = DevProcess::start();
    let ca = PathBuf::from(dev.str("ca_file"));
    let client = https_client(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12], &[]);
    let url = reqwest::Url::parse(&format!("{}/generate/salaryslip", dev.str("api_url"))).unwrap();
    let signers = signers(&dev);
    let token = paula_token(&dev).await;
    let ids: Vec<&str> = signers.iter().map(RequestSigner::keyid).collect();
    assert_eq!(ids, ["dev-hmac", "dev-ed25519", "dev-p256"]);
    let post = |accept: &'static str, signer: &RequestSigner| {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("accept", accept.parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        signer.sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
        client.post(url.clone()).headers(headers).body(SEED_BODY).send()
    };
    for signer in &signers {
        let response = post("application/json", signer).await.unwrap();
        assert_eq!(response.status(), 200, "signed with {}", signer.keyid());
    }

    let slip = post("application/json", &signers[0]).await.unwrap();
    assert_eq!(slip.status(), 200);
    let slip = json(&slip.bytes().await.unwrap());
    assert_eq!(slip["employee"]["emp_name"], "John Doe");

    let pdf = post("application/pdf", &signers[1]).await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = pdftotext(&pdf.bytes().await.unwrap());
    assert!(text.contains("John Doe"), "{text}");

    let health = reqwest::get(format!("{}/healthz", dev.str("admin_url"))).await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(dev.terminate().success(), "slipgate dev should exit 0 on SIGTERM");
}

/// Every path dev puts in its configuration (keys, certificates, database,
/// secrets) lies in the data directory; a name TOML would need escaped —
/// quotes, backslashes, `=`, brackets — must reach the servers unchanged.
#[tokio::test]
async fn dev_runs_in_a_data_directory_whose_name_needs_toml_escaping() {
    let dev = DevProcess::start_in(r#"da"ta \ ' = [x] \u0041"#, &[]);
    let ca = PathBuf::from(dev.str("ca_file"));
    assert!(ca.to_string_lossy().contains(r#"da"ta \ ' = [x] \u0041"#), "{}", ca.display());
    let client = https_client(&ca, &[&rustls::version::TLS13], &[]);
    let url = reqwest::Url::parse(&format!("{}/generate/salaryslip", dev.str("api_url"))).unwrap();
    let token = paula_token(&dev).await;
    for signer in &signers(&dev) {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        signer.sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
        let response = client.post(url.clone()).headers(headers).body(SEED_BODY).send().await.unwrap();
        assert_eq!(response.status(), 200, "signed with {}", signer.keyid());
    }
    assert!(dev.terminate().success(), "slipgate dev should exit 0 on SIGTERM");
}

#[test]
fn dev_writes_private_files_with_mode_0600() {
    let dev = DevProcess::start();
    let dir = PathBuf::from(dev.str("ca_file")).parent().unwrap().to_owned();
    assert_eq!(mode(&dir.join("dev.json")), 0o600);
    assert_eq!(mode(&dir.join("server-key.pem")), 0o600);
    assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&dir.join("dev-hmac.secret")), 0o600);
    assert_eq!(mode(&dir.join("dev-ed25519.pem")), 0o600);
    assert_eq!(mode(&dir.join("dev-p256.pem")), 0o600);
    assert!(dev.str("api_url").starts_with("https://127.0.0.1:"));
    assert!(!dev.str("api_url").ends_with(":0"), "dev.json must hold the bound port");
    assert!(dev.str("idp_url").starts_with("https://127.0.0.1:"));
    for key in ["admin_url", "ca_file", "keys", "users", "introspection_client"] {
        assert!(dev.dev_json.get(key).is_some(), "dev.json lacks {key}");
    }
    let profile = dev.config_home.join("slipgate/profiles/default.toml");
    assert_eq!(mode(&profile), 0o600);
}

#[test]
fn serve_rejects_unknown_config_keys_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("api.toml");
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:0\"\nlistn = \"oops\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_slipgate"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listn"), "{stderr}");
}

#[test]
fn keys_new_writes_private_files_0600_and_prints_the_config_entry() {
    let dir = tempfile::tempdir().unwrap();
    let run = |alg: &str, id: &str| {
        Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .args(["keys", "new", "--alg", alg, "--id", id, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run("ed25519", "client-7");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entry = String::from_utf8(out.stdout).unwrap();
    assert!(entry.contains("[[signature.keys]]") && entry.contains("id = \"client-7\""), "{entry}");
    assert!(entry.contains("alg = \"ed25519\"") && entry.contains("public_key_file"), "{entry}");
    assert_eq!(mode(&dir.path().join("client-7.pem")), 0o600);
    assert!(load_signing_key(&dir.path().join("client-7.pem")).is_ok());

    let out = run("hmac-sha256", "client-8");
    let entry = String::from_utf8(out.stdout).unwrap();
    assert!(entry.contains("secret_file"), "{entry}");
    assert_eq!(mode(&dir.path().join("client-8.secret")), 0o600);
    let secret = std::fs::read_to_string(dir.path().join("client-8.secret")).unwrap();
    assert_eq!(base64_len(secret.trim()), 32);

    let again = run("ed25519", "client-7");
    assert!(!again.status.success(), "must refuse to overwrite an existing key");
    let bad = run("rsa", "x");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown --alg"));
}

/// The printed entry is TOML a user can paste as it is, whatever the
/// directory is called (it was formatted without escaping before).
#[test]
fn keys_new_prints_an_entry_that_parses_back_to_the_written_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join(r#"my "keys" \ dir"#);
    std::fs::create_dir(&keys).unwrap();
    for (alg, id, field, file) in [
        ("ed25519", "client-9", "public_key_file", "client-9.pub.pem"),
        ("hmac-sha256", "client-10", "secret_file", "client-10.secret"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .args(["keys", "new", "--alg", alg, "--id", id, "--dir"])
            .arg(&keys)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let entry: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
        let key = &entry["signature"]["keys"][0];
        assert_eq!(key["id"].as_str(), Some(id));
        assert_eq!(key["alg"].as_str(), Some(alg));
        let path = PathBuf::from(key[field].as_str().unwrap());
        assert!(path.exists(), "{} does not exist", path.display());
        assert_eq!(path.file_name().unwrap(), file);
    }
}

fn base64_len(s: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap().len()
}

/// `slipgate idp user|client …` administer the identity database directly;
/// passwords come from stdin, never argv, and secrets go to a 0600 file.
#[test]
fn idp_admin_commands_manage_users_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("idp.db").display());
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .arg("idp")
            .args(args)
            .args(["--database", &db])
            .env_remove("SLIPGATE_IDP__DATABASE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().unwrap()
    };
    let add =
        ["user", "add", "--username", "bob", "--emp-id", "07777", "--role", "employee", "--password-stdin"];
    // Administrative commands never create a database (SPEC §6): the server does.
    let out = run(&add, Some("correct horse battery staple"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!dir.path().join("idp.db").exists());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    drop(runtime.block_on(slipgate_idp::open_store(&db)).unwrap());
    let out = run(&add, Some("correct horse battery staple"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["user", "list"], None);
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("bob") && listing.contains("07777") && listing.contains("active"), "{listing}");
    assert!(!listing.contains("argon2"), "no hashes in listings");
    assert!(run(&["user", "disable", "--username", "bob"], None).status.success());
    let listing = String::from_utf8(run(&["user", "list"], None).stdout).unwrap();
    assert!(listing.contains("disabled"), "{listing}");
    let secret = dir.path().join("api.secret");
    let out = run(
        &["client", "add", "--client-id", "slipgate-api", "--secret-file", secret.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&secret), 0o600);
    assert!(std::fs::read_to_string(&secret).unwrap().trim().len() >= 32);
    let clients = String::from_utf8(run(&["client", "list"], None).stdout).unwrap();
    assert!(clients.contains("slipgate-api"), "{clients}");
    let no_tty = run(&["user", "passwd", "--username", "bob"], None);
    assert!(!no_tty.status.success(), "without a terminal or --password-stdin there is no password to set");
}
