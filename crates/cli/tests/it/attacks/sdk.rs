//! Attacks on the client side: pinned response keys and clock-skew correction against a man in the middle.
//!
//! The man in the middle is a TLS proxy presenting the dev server's own
//! certificate (so the CLI trusts it, as it would trust any certificate from a
//! CA it trusts), in front of a real `slipgate dev`. It re-signs answers with
//! its own Ed25519 key and serves its own key set, or shifts `Date` by hours.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use slipgate_test_support::mitm::{Mitm, Mode};

use super::{Dev, FIGURES, GENERATE};

fn config_home(dev: &Dev) -> PathBuf {
    dev.dir.path().join("config")
}

fn cli(dev: &Dev, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipgate"));
    command
        .args(args)
        .env("XDG_CONFIG_HOME", config_home(dev))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A profile `name` like dev's default but with `api_url` set to `api` and
/// without `server_keys`: its keys are pinned on first use.
fn write_tofu_profile(dev: &Dev, name: &str, api: &str) {
    let profiles = config_home(dev).join("slipgate/profiles");
    let default = std::fs::read_to_string(profiles.join("default.toml")).unwrap();
    let mut profile = format!("api_url = \"{api}\"\n");
    for line in default.lines().filter(|l| !l.starts_with("api_url") && !l.starts_with("server_keys")) {
        profile.push_str(line);
        profile.push('\n');
    }
    std::fs::write(profiles.join(format!("{name}.toml")), profile).unwrap();
}

fn login(dev: &Dev, profile: &str, user: &str) {
    let password = format!("{}\n", dev.password(user));
    let out =
        cli(dev, &["login", "--profile", profile, "--username", user, "--password-stdin"], Some(&password));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn generate(dev: &Dev, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = GENERATE.to_vec();
    args.extend_from_slice(extra);
    cli(dev, &args, None)
}

fn assert_refused(what: &str, out: &Output, needle: &str) {
    assert!(!out.status.success(), "{what}: the CLI accepted it: {}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{what}: a refused answer reached stdout");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(needle), "{what}: stderr does not say `{needle}`: {stderr}");
    for figure in FIGURES {
        assert!(!stderr.contains(figure), "{what}: a salary figure in the error");
    }
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn now() -> i64 {
    slipgate_guard::Clock::unix_seconds(&slipgate_guard::SystemClock)
}

// Multi-threaded: the proxy runs on this runtime while the test waits for CLI processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn man_in_the_middle_cannot_re_key_answers_or_shift_the_clients_clock() {
    let dev = Dev::start(&[]);
    let data = dev.dir.path().join("data");
    let upstream = dev.url().socket_addrs(|| None).unwrap()[0];
    let mitm = Mitm::start(
        upstream,
        Path::new(&dev.s("ca_file")),
        &data.join("server.pem"),
        &data.join("server-key.pem"),
    )
    .await;
    write_tofu_profile(&dev, "tofu", &mitm.url());
    login(&dev, "default", "alice");
    login(&dev, "tofu", "alice");
    let pins = config_home(&dev).join("slipgate/pins/tofu.json");
    let real_keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("server-keys.json")).unwrap()).unwrap();
    let real_kid = real_keys["keys"][0]["kid"].as_str().unwrap().to_owned();
    let mut played = Vec::new();

    // First use through an honest network pins the real keys (0600, in a 0700 directory).
    let out = generate(&dev, &["--profile", "tofu"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pinned = std::fs::read_to_string(&pins).unwrap();
    assert!(pinned.contains(&real_kid), "{pinned}");
    assert_eq!((mode_of(&pins), mode_of(pins.parent().unwrap())), (0o600, 0o700));

    // The man in the middle re-keys: its own key set, answers re-signed by it.
    mitm.set_mode(Mode::Resign);
    let out = generate(&dev, &["--profile", "tofu"]);
    assert_refused("re-signed answers after the pin", &out, "slipgate keys pin");
    assert_eq!(std::fs::read_to_string(&pins).unwrap(), pinned, "the pin file is left alone");
    played.push("re-signed answers, pinned profile");

    // A profile that names the server keys (dev's default) refuses it from the first answer.
    let out = generate(&dev, &["--api", &mitm.url()]);
    assert_refused("re-signed answers, named server keys", &out, "not in the server key set");
    played.push("re-signed answers, named server keys");

    // `slipgate keys pin` refuses to pin for a profile with named keys.
    let out = cli(&dev, &["keys", "pin"], None);
    assert_refused("keys pin with server_keys", &out, "server_keys");

    // A Date hours off changes nothing: the answer's signed created is the server's time.
    mitm.set_mode(Mode::ShiftDate(5 * 3600));
    for _ in 0..2 {
        let out = generate(&dev, &["--profile", "tofu"]);
        assert!(out.status.success(), "shifted Date: {}", text(&out.stderr));
    }
    let created = mitm.request_created();
    // The tofu profile's first use, its re-signed answer, the default profile's, and these two.
    assert_eq!(created.len(), 5, "every request went through the proxy: {created:?}");
    for at in created {
        assert!((at - now()).abs() <= 30, "a request signed at {at}, now {}", now());
    }
    played.push("shifted Date header");

    // An announced rotation: the pinned set is stale, `slipgate keys pin` trusts the new one.
    mitm.set_mode(Mode::Transparent);
    let retired = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk","kid":"retired"}]}"#;
    std::fs::write(&pins, retired).unwrap();
    let out = generate(&dev, &["--profile", "tofu"]);
    assert_refused("a stale pin", &out, "slipgate keys pin");
    let out = cli(&dev, &["keys", "pin", "--profile", "tofu"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("replacing retired"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), real_kid);
    let out = generate(&dev, &["--profile", "tofu"]);
    assert!(out.status.success(), "after keys pin: {}", text(&out.stderr));
    played.push("key rotation and keys pin");

    let tokens = config_home(&dev).join("slipgate/tokens");
    let mut secrets = vec![dev.password("alice"), dev.password("paula"), dev.hmac_b64()];
    for profile in ["default", "tofu"] {
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tokens.join(format!("{profile}.json"))).unwrap()).unwrap();
        for key in ["access_token", "refresh_token"] {
            secrets.push(stored[key].as_str().unwrap().to_owned());
        }
    }
    dev.stop_and_scan(&secrets);
    assert_eq!(played.len(), 4, "{played:?}");
}
