//! `slipgate dev`: a real process, its dev.json, and requests over TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slipgate_test_support::{SEED_BODY, https_client, json, pdftotext};

struct DevProcess {
    child: Child,
    dev_json: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl DevProcess {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_slipgate"))
            .args(["dev", "--data-dir"])
            .arg(dir.path())
            .args(["--set", "server.listen=127.0.0.1:0", "--set", "server.admin_listen=127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let path = dir.path().join("dev.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !path.exists() {
            assert!(Instant::now() < deadline, "dev.json not written within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let dev_json = json(&std::fs::read(&path).unwrap());
        Self { child, dev_json, _dir: dir }
    }

    fn str(&self, key: &str) -> &str {
        self.dev_json[key].as_str().unwrap()
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

#[tokio::test]
async fn dev_serves_json_and_pdf_slips_with_its_own_ca() {
    let dev = DevProcess::start();
    let ca = PathBuf::from(dev.str("ca_file"));
    let client = https_client(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12], &[]);
    let url = format!("{}/generate/salaryslip", dev.str("api_url"));
    let post = |accept: &'static str| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(SEED_BODY)
            .send()
    };

    let slip = post("application/json").await.unwrap();
    assert_eq!(slip.status(), 200);
    let slip = json(&slip.bytes().await.unwrap());
    assert_eq!(slip["employee"]["emp_name"], "John Doe");

    let pdf = post("application/pdf").await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = pdftotext(&pdf.bytes().await.unwrap());
    assert!(text.contains("John Doe"), "{text}");

    let health = reqwest::get(format!("{}/healthz", dev.str("admin_url"))).await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(dev.terminate().success(), "slipgate dev should exit 0 on SIGTERM");
}

#[test]
fn dev_writes_private_files_with_mode_0600() {
    let dev = DevProcess::start();
    let dir = PathBuf::from(dev.str("ca_file")).parent().unwrap().to_owned();
    assert_eq!(mode(&dir.join("dev.json")), 0o600);
    assert_eq!(mode(&dir.join("server-key.pem")), 0o600);
    assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
    assert!(dev.str("api_url").starts_with("https://127.0.0.1:"));
    assert!(!dev.str("api_url").ends_with(":0"), "dev.json must hold the bound port");
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
