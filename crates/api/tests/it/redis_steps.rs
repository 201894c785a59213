//! The Redis stores' round trips (issue 16, target 5): with `replay.store =
//! rate_limit.store = "redis"`, an allowed slip costs two Redis round trips, the
//! per-IP GCRA script (step 1) and one script that records the nonce and spends
//! the user's quota (steps 6–8), and Redis down is 503 `store_unavailable`.
//!
//! Each test runs its own `redis-server` (as `scripts/test.sh` installs it) on a
//! free loopback port, so that `INFO commandstats` counts this test's commands
//! only. The order of checks with these stores is in `order.rs`.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slipgate_test_support::{SEED_BODY, TestRouter};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::expect_problem;

/// A private `redis-server`, killed on drop.
pub struct PrivateRedis {
    child: Child,
    port: u16,
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PrivateRedis {
    /// Starts one on a free port, nothing persisted, and waits until it answers.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--maxmemory-policy", "noeviction"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found (scripts/test.sh installs it)");
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while redis.try_command_stats().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not answer on {port} within 30 s");
            // Polls a child process's socket: there is no event to await.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        redis
    }

    /// The configuration override pointing the API at this server.
    pub fn url_override(&self) -> String {
        format!("redis.url=redis://127.0.0.1:{}/0", self.port)
    }

    /// Calls per command name (lower case) from `INFO commandstats`, without `info` itself.
    /// Redis counts there the commands a Lua script runs too, under their own names.
    pub async fn command_stats(&self) -> BTreeMap<String, u64> {
        self.try_command_stats().await.unwrap()
    }

    async fn try_command_stats(&self) -> std::io::Result<BTreeMap<String, u64>> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.write_all(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n").await?;
        let mut reader = BufReader::new(stream);
        let mut header = String::new();
        reader.read_line(&mut header).await?;
        let length: usize = header
            .trim_end()
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("INFO answered {header:?}")))?;
        let mut text = vec![0; length];
        reader.read_exact(&mut text).await?;
        let text = String::from_utf8(text).map_err(std::io::Error::other)?;
        // `cmdstat_<name>:calls=<n>,usec=...`
        Ok(text
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
                Some((name.to_owned(), calls))
            })
            .filter(|(name, _)| name != "info")
            .collect())
    }
}

/// A `MONITOR` connection: what each client sent, told apart from what a Lua script ran
/// (`INFO commandstats` counts both under the same names, so a client's `SET` and a
/// script's look alike there).
pub struct Monitor {
    reader: BufReader<TcpStream>,
    port: u16,
}

/// Commands by lower-case name.
type Calls = BTreeMap<String, u64>;

impl Monitor {
    /// Starts monitoring `redis`.
    pub async fn start(redis: &PrivateRedis) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", redis.port)).await.unwrap();
        stream.write_all(b"*1\r\n$7\r\nMONITOR\r\n").await.unwrap();
        let mut reader = BufReader::new(stream);
        let mut ok = String::new();
        reader.read_line(&mut ok).await.unwrap();
        assert_eq!(ok.trim_end(), "+OK");
        Self { reader, port: redis.port }
    }

    /// Everything run since [`Self::start`]: (sent by clients, run inside scripts). A marker
    /// `ECHO` sent afterwards ends the stream read, so nothing is waited for by time.
    pub async fn stop(mut self) -> (Calls, Calls) {
        const MARKER: &str = "slipgate-monitor-marker";
        let mut other = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let echo = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{MARKER}\r\n", MARKER.len());
        other.write_all(echo.as_bytes()).await.unwrap();
        let (mut sent, mut in_scripts) = (Calls::new(), Calls::new());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.reader.read_line(&mut line).await.unwrap() > 0, "MONITOR closed");
            if line.contains(MARKER) {
                return (sent, in_scripts);
            }
            // `+<time> [<db> <client address or lua>] "<COMMAND>" "<arg>"...`
            let (Some(source), Some(command)) = (
                line.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map(|(s, _)| s.to_owned()),
                line.split('"').nth(1).map(str::to_ascii_lowercase),
            ) else {
                panic!("unexpected MONITOR line {line:?}");
            };
            let counts = if source.ends_with(" lua") { &mut in_scripts } else { &mut sent };
            *counts.entry(command).or_default() += 1;
        }
    }
}

/// `after − before`, per command, without the zeros.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, calls)| (name.clone(), calls - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, calls)| *calls > 0)
        .collect()
}

fn map(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
    entries.iter().map(|(name, calls)| ((*name).to_owned(), *calls)).collect()
}

async fn redis_router(redis: &PrivateRedis, extra: &[&str]) -> TestRouter {
    let url = redis.url_override();
    let mut config = vec!["replay.store=redis", "rate_limit.store=redis", url.as_str()];
    config.extend_from_slice(extra);
    TestRouter::new(&config).await
}

#[tokio::test]
async fn an_allowed_slip_costs_two_redis_round_trips() {
    let redis = PrivateRedis::start().await;
    let router = redis_router(&redis, &[]).await;
    // The first call of each script on the connection loads it (NOSCRIPT, then SCRIPT LOAD).
    assert_eq!(router.post_signed(SEED_BODY, &[]).await.status, 200);
    let before = redis.command_stats().await;
    let monitor = Monitor::start(&redis).await;
    const SLIPS: u64 = 5;
    for _ in 0..SLIPS {
        let answer = router.post_signed(SEED_BODY, &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let (sent, in_scripts) = monitor.stop().await;
    let counted = delta(&before, &redis.command_stats().await);
    // Two commands from the API per slip, i.e. two round trips (nothing is pipelined),
    // both EVALSHA: the per-IP GCRA (step 1), and the nonce with the user's GCRA (steps 6-8).
    assert_eq!(sent, map(&[("evalsha", 2 * SLIPS)]), "commands the API sent for {SLIPS} slips");
    // Inside them: per-IP TIME, GET, SET; then SET NX (the nonce), TIME, GET, SET (the quota).
    let scripts = map(&[("get", 2 * SLIPS), ("set", 3 * SLIPS), ("time", 2 * SLIPS)]);
    assert_eq!(in_scripts, scripts, "commands the scripts ran for {SLIPS} slips");
    // `INFO commandstats` agrees: both together, besides MONITOR and its marker ECHO.
    let mut total = scripts.clone();
    total.insert("evalsha".into(), 2 * SLIPS);
    total.insert("echo".into(), 1);
    total.insert("monitor".into(), 1);
    assert_eq!(counted, total, "INFO commandstats for {SLIPS} slips");
    router.stop().await;
}

#[tokio::test]
async fn a_replay_with_redis_stores_is_one_round_trip_after_the_per_ip_limit_and_spends_no_quota() {
    let redis = PrivateRedis::start().await;
    let router = redis_router(&redis, &["rate_limit.user=2/h"]).await;
    let signer = router.signer();
    let url = reqwest::Url::parse(&router.url(slipgate_proto::SLIP_PATH)).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    headers.insert("authorization", router.bearer().parse().unwrap());
    signer.sign(&http::Method::POST, &url, &mut headers, SEED_BODY.as_bytes()).unwrap();
    let send = |headers: http::HeaderMap| {
        router.send(http::Method::POST, slipgate_proto::SLIP_PATH, headers, SEED_BODY.to_owned())
    };
    assert_eq!(send(headers.clone()).await.status, 200);
    let monitor = Monitor::start(&redis).await;
    expect_problem(send(headers.clone()).await, 401, "replayed").await;
    let (sent, in_scripts) = monitor.stop().await;
    // The per-IP script, then the nonce script that stops at its SET NX.
    assert_eq!(sent, map(&[("evalsha", 2)]), "commands the API sent for a replay");
    assert_eq!(
        in_scripts,
        map(&[("get", 1), ("set", 2), ("time", 1)]),
        "commands the scripts ran for a replay"
    );
    // The replay spent none of the 2/h user quota: one more slip passes, the next is 429.
    assert_eq!(router.post_signed(SEED_BODY, &[]).await.status, 200);
    expect_problem(router.post_signed(SEED_BODY, &[]).await, 429, "rate_limited").await;
    router.stop().await;
}

#[tokio::test]
async fn redis_down_is_store_unavailable_and_fails_closed() {
    let mut redis = PrivateRedis::start().await;
    let router = redis_router(&redis, &[]).await;
    assert_eq!(router.post_signed(SEED_BODY, &[]).await.status, 200);
    redis.child.kill().unwrap();
    redis.child.wait().unwrap();
    expect_problem(router.post_signed(SEED_BODY, &[]).await, 503, "store_unavailable").await;
    router.stop().await;
}
