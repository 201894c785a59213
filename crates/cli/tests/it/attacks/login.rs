//! Attacks on the login path: concurrent guesses, lock-outs by strangers, and employees claiming another name or grade on their own slip.
//!
//! Every attack runs against a real `slipgate dev` over loopback; other client
//! addresses are real sources (127.0.0.2, 127.0.0.3) or, behind a trusted
//! proxy (`idp.trusted_proxies = ["127.0.0.1"]`), `X-Forwarded-For` entries.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use slipgate_test_support::client_tls;

use super::{Dev, alice_body};

/// A client of `dev`'s identity server whose connections come from `source`.
fn client_from(dev: &Dev, source: Ipv4Addr) -> reqwest::Client {
    let tls = client_tls(Path::new(&dev.s("ca_file")), &[&rustls::version::TLS13], &[]);
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .local_address(IpAddr::V4(source))
        .build()
        .unwrap()
}

/// One password login: (status, OAuth `error`, `Retry-After`, access token).
async fn login(
    client: &reqwest::Client,
    dev: &Dev,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, String, Option<u64>, Option<String>) {
    let form = [("grant_type", "password"), ("username", username), ("password", password)];
    let mut request = client.post(format!("{}/oauth/token", dev.s("idp_url"))).form(&form);
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    let body: serde_json::Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    (status, error, retry_after, body["access_token"].as_str().map(str::to_owned))
}

/// The reviewer's race: 30 concurrent wrong passwords plus the right one from
/// one address got 30 `invalid_grant` verdicts against a limit of 5, and then
/// locked a user who never failed out of that address for 294 s.
#[tokio::test]
async fn thirty_concurrent_guesses_get_at_most_five_verdicts_and_lock_out_no_bystander() {
    let dev = Dev::start(&[]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let client = client_from(&dev, Ipv4Addr::LOCALHOST);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..31 {
        let password = if i == 17 { dev.password("alice") } else { format!("wrong-guess-{i}") };
        let (client, idp) = (client.clone(), dev.s("idp_url"));
        tasks.spawn(async move {
            let form = [("grant_type", "password"), ("username", "alice"), ("password", password.as_str())];
            let r = client.post(format!("{idp}/oauth/token")).form(&form).send().await.unwrap();
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["error"].as_str().unwrap_or_default().to_owned(), retry_after)
        });
    }
    let mut verdicts = 0;
    let mut refused = 0;
    let mut accepted = 0;
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap() {
            (400, error, _) if error == "invalid_grant" => verdicts += 1,
            (429, error, true) if error == "slow_down" => refused += 1,
            (200, _, _) => accepted += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(verdicts <= 5, "{verdicts} wrong-password verdicts, limit 5 ({refused} refused, {accepted} ok)");
    assert_eq!(verdicts + refused + accepted, 31);
    assert!(refused >= 25, "{refused} refused");
    // The same address still serves a user who never failed: the burst counted
    // at most five failures against the per-IP limit of twenty.
    let (status, error, _, _) = login(&client, &dev, "paula", &dev.password("paula"), None).await;
    assert_eq!((status, error.as_str()), (200, ""));
    dev.stop_and_scan(&secrets);
}

/// Anyone could lock anyone out: a stranger's failures locked the username
/// everywhere. Now they lock only the stranger's (username, address) pair.
#[tokio::test]
async fn a_strangers_fifty_failures_from_another_address_leave_the_user_able_to_log_in() {
    let dev = Dev::start(&[]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let stranger = client_from(&dev, Ipv4Addr::new(127, 0, 0, 2));
    let mut answers = Vec::new();
    for i in 0..50 {
        answers.push(login(&stranger, &dev, "alice", &format!("guess-{i}"), None).await);
    }
    let verdicts = answers.iter().filter(|a| a.1 == "invalid_grant").count();
    assert_eq!(verdicts, 5, "login_max_failures verdicts, then 429");
    assert!(answers[5..].iter().all(|a| a.0 == 429 && a.1 == "slow_down" && a.2.is_some_and(|s| s > 0)));
    // Even the right password waits at the stranger's address…
    let (status, ..) = login(&stranger, &dev, "alice", &dev.password("alice"), None).await;
    assert_eq!(status, 429);
    // …but alice logs in from her own.
    let home = client_from(&dev, Ipv4Addr::LOCALHOST);
    let (status, error, _, token) = login(&home, &dev, "alice", &dev.password("alice"), None).await;
    assert_eq!((status, error.as_str()), (200, ""));
    assert!(token.is_some());
    dev.stop_and_scan(&secrets);
}

/// The per-IP rule (SPEC §4): twenty failures over any usernames from one
/// address refuse every login from it — the right password included — for the
/// lockout (5 min, doubling); other addresses are unaffected.
#[tokio::test]
async fn twenty_failures_over_many_usernames_lock_that_address_only() {
    let dev = Dev::start(&[]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let sprayer = client_from(&dev, Ipv4Addr::new(127, 0, 0, 3));
    for i in 0..20 {
        let (status, error, ..) = login(&sprayer, &dev, &format!("user{i}"), "Winter2026!", None).await;
        assert_eq!((status, error.as_str()), (400, "invalid_grant"), "attempt {i}");
    }
    let (status, error, retry_after, _) = login(&sprayer, &dev, "paula", &dev.password("paula"), None).await;
    assert_eq!((status, error.as_str()), (429, "slow_down"));
    assert!(retry_after.is_some_and(|s| s > 0 && s <= 300), "{retry_after:?}");
    let elsewhere = client_from(&dev, Ipv4Addr::LOCALHOST);
    assert_eq!(login(&elsewhere, &dev, "paula", &dev.password("paula"), None).await.0, 200);
    dev.stop_and_scan(&secrets);
}

/// Past `idp.login_max_failures_global` failures for a username over all
/// addresses, only addresses the user logged in from may still try; behind a
/// trusted proxy the address is the `X-Forwarded-For` client, IPv6 by its /64.
#[tokio::test]
async fn past_the_global_limit_only_known_addresses_may_try_and_ipv6_counts_by_64() {
    let dev = Dev::start(&["idp.login_max_failures_global=10", "idp.trusted_proxies=[\"127.0.0.1\"]"]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let proxy = client_from(&dev, Ipv4Addr::LOCALHOST);
    let alice = dev.password("alice");
    // alice's usual place.
    assert_eq!(login(&proxy, &dev, "alice", &alice, Some("198.51.100.7")).await.0, 200);
    // A distributed guesser: five failures from each of two addresses.
    for source in ["203.0.113.1", "203.0.113.2"] {
        for i in 0..5 {
            let (status, ..) = login(&proxy, &dev, "alice", &format!("guess-{i}"), Some(source)).await;
            assert_eq!(status, 400, "{source} guess {i}");
        }
    }
    // Now an unknown address waits, even with the right password…
    let (status, error, retry_after, _) = login(&proxy, &dev, "alice", &alice, Some("203.0.113.99")).await;
    assert_eq!((status, error.as_str()), (429, "slow_down"));
    assert!(retry_after.is_some_and(|s| s > 0));
    // …while her usual place still works.
    assert_eq!(login(&proxy, &dev, "alice", &alice, Some("198.51.100.7")).await.0, 200);
    // A spoofed X-Forwarded-For from a peer that is no trusted proxy is ignored:
    // 127.0.0.2 counts as itself, an address alice never used.
    let spoofer = client_from(&dev, Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(login(&spoofer, &dev, "alice", &alice, Some("198.51.100.7")).await.0, 429);

    // IPv6: one /64 is one client.
    let paula = dev.password("paula");
    for i in 0..5 {
        let xff = format!("2001:db8:1:2::{:x}", i + 1);
        assert_eq!(login(&proxy, &dev, "paula", "nope-nope", Some(&xff)).await.0, 400);
    }
    assert_eq!(login(&proxy, &dev, "paula", &paula, Some("2001:db8:1:2:ffff::beef")).await.0, 429);
    assert_eq!(login(&proxy, &dev, "paula", &paula, Some("2001:db8:1:3::1")).await.0, 200);
    dev.stop_and_scan(&secrets);
}

/// The hashing queue was unbounded. With `idp.max_pending_logins = 1`, thirty
/// concurrent logins from thirty addresses (no throttle in the way) find the
/// queue full: 503 `temporarily_unavailable` with `Retry-After`; once they are
/// answered the queue is free again.
#[tokio::test]
async fn a_full_login_queue_answers_503_temporarily_unavailable() {
    let dev = Dev::start(&["idp.max_pending_logins=1", "idp.trusted_proxies=[\"127.0.0.1\"]"]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let proxy = client_from(&dev, Ipv4Addr::LOCALHOST);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let (client, idp) = (proxy.clone(), dev.s("idp_url"));
        tasks.spawn(async move {
            let form = [("grant_type", "password"), ("username", "alice"), ("password", "not-her-password")];
            let r = client
                .post(format!("{idp}/oauth/token"))
                .header("x-forwarded-for", format!("192.0.2.{}", i + 1))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["error"].as_str().unwrap_or_default().to_owned(), retry_after)
        });
    }
    let mut full = 0;
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap() {
            (400, error, _) if error == "invalid_grant" => {}
            (503, error, true) if error == "temporarily_unavailable" => full += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(full > 0, "thirty concurrent logins never found a one-place queue full");
    let (status, ..) = login(&proxy, &dev, "alice", &dev.password("alice"), Some("198.51.100.1")).await;
    assert_eq!(status, 200);
    dev.stop_and_scan(&secrets);
}

async fn send(
    dev: &Dev,
    signer: &slipgate_client::RequestSigner,
    token: &str,
    body: &str,
) -> (u16, String, String) {
    dev.send(dev.signed(signer, token, body), body).await
}

/// The reviewer's slip: alice (`salaryslip:self`) asked for her own `emp_id`
/// with another name and grade for 2099-12 and got a signed slip. Now the
/// request must repeat her record exactly; paula (`salaryslip:any`) may still
/// generate such a slip; and an employee's probe of another employee learns
/// nothing from validation. Played with a registry key in introspection mode
/// and again in jwt mode, and through the CLI as a new user would.
#[tokio::test]
async fn an_employee_cannot_mint_her_own_slip_with_another_name_or_grade() {
    for mode in ["introspection", "jwt"] {
        let dev = Dev::start(&[&format!("auth.mode=\"{mode}\"")]);
        let (alice, _) = dev.token("alice").await;
        let (paula, _) = dev.token("paula").await;
        let secrets = vec![dev.password("alice"), dev.password("paula"), alice.clone(), paula.clone()];
        let signer = dev.signer();
        let own = alice_body();

        let got = send(&dev, &signer, &alice, &own).await;
        assert_eq!(got.0, 200, "{mode}: her own record: {}", got.2);
        let reviewer = own
            .replace("Alice Example", "Alice Anything")
            .replace("\"7.1\"", "\"8.1\"")
            .replace('}', ",\"pay_period\":\"2099-12\"}");
        let forged = [
            ("another name", own.replace("Alice Example", "Alice Anything")),
            ("another grade", own.replace("\"7.1\"", "\"8.1\"")),
            ("another code", own.replace("ENG", "HR")),
            ("the reviewer's 2099-12 slip", reviewer.clone()),
            ("the grade as a number", own.replace("\"7.1\"", "7.1")),
            ("no grade", own.replace(",\"emp_grade\":\"7.1\"", "")),
            // Another employee with invalid fields: 403, never the 422 that
            // would describe what validation thinks of them.
            (
                "another employee, invalid fields",
                r#"{"emp_id":"00042","emp_code":"EN G","emp_name":"<b>","emp_grade":"9.9","working_days":-1,"x":1}"#
                    .to_owned(),
            ),
        ];
        for (name, body) in &forged {
            let (status, code, text) = send(&dev, &signer, &alice, body).await;
            assert_eq!((status, code.as_str()), (403, "forbidden"), "{mode}: {name}: {text}");
            assert!(!text.contains("\"errors\""), "{mode}: {name}: no validation detail: {text}");
        }
        // Her own record with a bad field is validated as usual (after the rule).
        let bad_days = own.replace("24", "-1");
        assert_eq!(send(&dev, &signer, &alice, &bad_days).await.1, "validation_failed", "{mode}");
        // Payroll may generate alice's emp_id with any name and grade.
        let got = send(&dev, &signer, &paula, &reviewer).await;
        assert_eq!(got.0, 200, "{mode}: paula: {}", got.2);
        dev.stop_and_scan(&secrets);
    }
}

/// The same slip asked for with `slipgate generate`, as the reviewer did.
#[tokio::test]
async fn slipgate_generate_as_alice_refuses_another_name_and_grade() {
    let dev = Dev::start(&[]);
    let secrets = vec![dev.password("alice"), dev.password("paula")];
    let cli = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_slipgate"));
        command.env("XDG_CONFIG_HOME", dev.dir.path().join("config"));
        command
    };
    let mut login = cli()
        .args(["login", "--username", "alice", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        writeln!(login.stdin.take().unwrap(), "{}", dev.password("alice")).unwrap();
    }
    let out = login.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generate = |name: &str, grade: &str, period: Option<&str>| {
        let mut command = cli();
        command.args(["generate", "--emp-id", "01234", "--emp-code", "ENG", "--emp-name", name]);
        command.args(["--grade", grade, "--working-days", "24"]);
        if let Some(period) = period {
            command.args(["--period", period]);
        }
        command.output().unwrap()
    };
    let forged = generate("Alice Anything", "8.1", Some("2099-12"));
    assert!(!forged.status.success(), "the reviewer's slip was generated");
    assert!(String::from_utf8_lossy(&forged.stderr).contains("forbidden"), "{forged:?}");
    assert!(forged.stdout.is_empty());
    let own = generate("Alice Example", "7.1", Some("2099-12"));
    assert!(own.status.success(), "{}", String::from_utf8_lossy(&own.stderr));
    let slip: serde_json::Value = serde_json::from_slice(&own.stdout).unwrap();
    assert_eq!(slip["employee"]["emp_name"], "Alice Example");
    dev.stop_and_scan(&secrets);
}
