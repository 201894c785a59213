//! The client commands against a live `slipgate dev`: login, generate, token
//! refresh, and the credential prompt on a pseudo-terminal.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::attacks::GENERATE;
use crate::dev::DevProcess;

fn token_file(dev: &DevProcess) -> std::path::PathBuf {
    dev.config_home.join("slipgate/tokens/default.json")
}

/// Replaces stored tokens with values the servers will refuse.
fn spoil(dev: &DevProcess, access: bool, refresh: bool) {
    let path = token_file(dev);
    let mut tokens: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    if access {
        tokens["access_token"] = "expired-or-garbage".into();
    }
    if refresh {
        tokens["refresh_token"] = "spent-refresh-token".into();
    }
    std::fs::write(&path, serde_json::to_vec(&tokens).unwrap()).unwrap();
}

#[test]
fn login_then_generate_work_with_no_flags_after_dev() {
    let dev = DevProcess::start();
    dev.login("alice");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(token_file(&dev)).unwrap().permissions().mode() & 0o777, 0o600);
    let out = dev.command().args(GENERATE).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let slip: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(slip["employee"]["emp_id"], "01234");
    assert!(String::from_utf8_lossy(&out.stderr).contains("slip "), "one-line summary on stderr");
}

#[test]
fn generate_reports_forbidden_for_another_employee() {
    let dev = DevProcess::start();
    dev.login("alice");
    let mut args = GENERATE;
    args[2] = "00042";
    let out = dev.command().args(args).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn generate_refreshes_a_refused_access_token_without_prompting() {
    let dev = DevProcess::start();
    dev.login("alice");
    let before = std::fs::read_to_string(token_file(&dev)).unwrap();
    spoil(&dev, true, false);
    let out = dev.command().args(GENERATE).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = std::fs::read_to_string(token_file(&dev)).unwrap();
    assert_ne!(before, after, "the refresh must rotate the stored tokens");
}

#[test]
fn generate_without_a_terminal_exits_clearly_when_the_session_is_dead() {
    let dev = DevProcess::start();
    dev.login("alice");
    spoil(&dev, true, true);
    let out = dev.command().args(GENERATE).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("slipgate login"), "{stderr}");
}

/// Waits until the pseudo-terminal that `script` (process `script_pid`) gives
/// its command has echo turned off, read with `stty` from the command's stdin.
fn wait_until_echo_is_off(script_pid: u32, deadline: Instant) {
    loop {
        assert!(Instant::now() < deadline, "the prompt never turned echo off");
        let children = std::fs::read_to_string(format!("/proc/{script_pid}/task/{script_pid}/children"))
            .unwrap_or_default();
        for pid in children.split_whitespace() {
            let Ok(tty) = std::fs::read_link(format!("/proc/{pid}/fd/0")) else { continue };
            let Ok(out) = Command::new("stty").arg("-F").arg(&tty).arg("-a").output() else { continue };
            if String::from_utf8_lossy(&out.stdout).split_whitespace().any(|flag| flag == "-echo") {
                return;
            }
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "polls a real child process or socket: there is no event to await"
        )]
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `slipgate ARGS` on a pseudo-terminal (`script` relays our stdin to it), with
/// `config_home` as its `XDG_CONFIG_HOME`; stdin, stdout and stderr piped.
pub(crate) fn slipgate_on_a_terminal<'a>(
    args: impl IntoIterator<Item = &'a str>,
    config_home: &std::path::Path,
) -> std::process::Child {
    let mut cmdline = shell_quote(env!("CARGO_BIN_EXE_slipgate"));
    for arg in args {
        cmdline.push(' ');
        cmdline.push_str(&shell_quote(arg));
    }
    Command::new("script")
        .args(["-qefc", &cmdline, "/dev/null"])
        .env("XDG_CONFIG_HOME", config_home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is needed for the pseudo-terminal test")
}

/// SPEC §5 / the seed design: when the token expired and cannot be refreshed,
/// an interactive user is asked for credentials again, then the call succeeds.
#[test]
fn generate_prompts_for_credentials_on_a_terminal_when_refresh_fails() {
    let dev = DevProcess::start();
    dev.login("alice");
    spoil(&dev, true, true);
    let mut child = slipgate_on_a_terminal(GENERATE.iter().copied(), &dev.config_home);
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen).contains("Password for alice") {
        assert!(
            Instant::now() < deadline,
            "no password prompt; terminal showed:\n{}",
            String::from_utf8_lossy(&seen)
        );
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.extend(chunk);
        }
    }
    // rpassword writes the prompt before it turns echo off: type only once
    // the terminal no longer echoes, as a person's first key press comes later.
    wait_until_echo_is_off(child.id(), deadline);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", dev.password_of("alice")).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "generate did not finish after the prompt");
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.extend(chunk);
        }
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
        seen.extend(chunk);
    }
    drop(stdin);
    let screen = String::from_utf8_lossy(&seen);
    assert!(status.success(), "generate failed after the prompt:\n{screen}");
    assert!(screen.contains("session has expired"), "{screen}");
    assert!(screen.contains("\"emp_id\":\"01234\""), "{screen}");
    assert!(!screen.contains(&dev.password_of("alice")), "the password was echoed:\n{screen}");
}

/// Mutual TLS (`tls.client_ca`): `generate` presents `--cert/--key`; without
/// them the API refuses the handshake.
#[test]
fn generate_presents_a_client_certificate_for_mutual_tls() {
    let pki = tempfile::tempdir().unwrap();
    let (client_ca, cert, key) = slipgate_api::devpki::client_pki(pki.path(), "hr-desk").unwrap();
    let ca_override = format!("tls.client_ca={}", client_ca.display());
    let dev = DevProcess::start_with(&["--set", &ca_override]);
    dev.login("alice");
    let without = dev.command().args(GENERATE).stdin(Stdio::null()).output().unwrap();
    assert!(!without.status.success(), "a client without a certificate must be refused");
    let with = dev
        .command()
        .args(GENERATE)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
    let slip: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(slip["employee"]["emp_id"], "01234");
}
