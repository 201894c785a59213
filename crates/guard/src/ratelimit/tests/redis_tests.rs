//! The Redis stores against a real Redis at `SLIPGATE_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`). No Redis is a failure, not a skip:
//! `scripts/test.sh` starts one.

use std::time::{Duration, Instant};

use crate::redis::RedisConnection;
use crate::replay::{NonceStore, NonceVerdict, RedisNonceStore};
use crate::store::StoreError;

use super::super::*;
use super::rate;

#[allow(clippy::disallowed_methods, reason = "test configuration: the service URL CI provides")]
fn redis_url() -> String {
    std::env::var("SLIPGATE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn connect() -> RedisConnection {
    let url = redis_url();
    match RedisConnection::connect(&url, Duration::from_secs(2)).await {
        Ok(connection) => connection.with_timeout(Duration::from_secs(2)),
        Err(e) => panic!(
            "Redis is unreachable at {url} ({e}); run the tests through scripts/test.sh, which starts one, \
             or point SLIPGATE_TEST_REDIS_URL at a running Redis"
        ),
    }
}

fn unique_prefix() -> String {
    format!("slipgate-test:{}:", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn script_decides_like_the_memory_store() {
    let store = RedisRateLimitStore::new(connect().await).with_prefix(unique_prefix());
    let memory = MemoryRateLimitStore::new(100);
    let r = rate("5/h");
    for i in 0..8 {
        let remote = store.decide("ip", "192.0.2.1", r, 0).await.unwrap();
        let local = memory.decide_now("ip", "192.0.2.1", r, 1_767_225_600_000).unwrap();
        assert_eq!((remote.allowed, remote.remaining), (local.allowed, local.remaining), "request {i}");
        let close = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_secs(2);
        assert!(close(remote.reset_after, local.reset_after), "{i}: {remote:?} vs {local:?}");
        match (remote.retry_after, local.retry_after) {
            (Some(a), Some(b)) => assert!(close(a, b), "{i}: {a:?} vs {b:?}"),
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "request {i}"),
        }
    }
}

#[tokio::test]
async fn the_tat_expires_when_the_quota_is_full_again() {
    let connection = connect().await;
    let prefix = unique_prefix();
    let store = RedisRateLimitStore::new(connection.clone()).with_prefix(prefix.clone());
    let d = store.decide("user", "alice", rate("10/min"), 0).await.unwrap();
    assert_eq!((d.allowed, d.remaining), (true, 9));
    let key = format!("{prefix}user:alice");
    let pttl: i64 = connection
        .run("PTTL", |mut c| async move { ::redis::cmd("PTTL").arg(&key).query_async(&mut c).await })
        .await
        .unwrap();
    assert!((1..=6_000).contains(&pttl), "{pttl}");
}

#[tokio::test]
async fn two_connections_share_one_quota() {
    let prefix = unique_prefix();
    let a = RedisRateLimitStore::new(connect().await).with_prefix(prefix.clone());
    let b = RedisRateLimitStore::new(connect().await).with_prefix(prefix);
    let r = rate("3/h");
    assert!(a.decide("user", "alice", r, 0).await.unwrap().allowed);
    assert!(b.decide("user", "alice", r, 0).await.unwrap().allowed);
    assert_eq!(a.decide("user", "alice", r, 0).await.unwrap().remaining, 0);
    let refused = b.decide("user", "alice", r, 0).await.unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after.is_some_and(|d| d > Duration::from_secs(1_190)), "{refused:?}");
    assert!(a.decide("user", "bob", r, 0).await.unwrap().allowed);
}

#[tokio::test]
async fn redis_nonce_store_refuses_a_replay_from_another_connection() {
    let prefix = unique_prefix();
    let a = RedisNonceStore::new(connect().await).with_prefix(prefix.clone());
    let b = RedisNonceStore::new(connect().await).with_prefix(prefix.clone());
    let ttl = Duration::from_secs(600);
    assert_eq!(a.check_and_record("k1", "nonce-0001", 0, ttl).await.unwrap(), NonceVerdict::Fresh);
    assert_eq!(b.check_and_record("k1", "nonce-0001", 0, ttl).await.unwrap(), NonceVerdict::Replayed);
    assert_eq!(a.check_and_record("k1", "nonce-0001", 0, ttl).await.unwrap(), NonceVerdict::Replayed);
    assert_eq!(b.check_and_record("k2", "nonce-0001", 0, ttl).await.unwrap(), NonceVerdict::Fresh);
    let key = format!("{prefix}k1:nonce-0001");
    let pttl: i64 = a
        .connection()
        .run("PTTL", |mut c| async move { ::redis::cmd("PTTL").arg(&key).query_async(&mut c).await })
        .await
        .unwrap();
    assert!((590_000..=600_000).contains(&pttl), "{pttl}");
}

#[tokio::test]
async fn ping_answers_for_readyz() {
    connect().await.ping().await.unwrap();
}

/// A port that refuses connections: bound, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_closed_port_fails_closed_quickly() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let error = RedisConnection::connect(&url, Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let lazy = RedisConnection::lazy(&url, Duration::from_millis(500)).unwrap();
    let rl = RedisRateLimitStore::new(lazy.clone()).with_prefix(unique_prefix());
    let error = rl.decide("ip", "192.0.2.1", rate("1/s"), 0).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let nonces = RedisNonceStore::new(lazy.clone());
    let error = nonces.check_and_record("k", "nonce-0001", 0, Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(lazy.ping().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_silent_server_times_out_into_unavailable() {
    // Accepts TCP (the kernel backlog) but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let lazy = RedisConnection::lazy(&url, Duration::from_millis(200))
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    let rl = RedisRateLimitStore::new(lazy);
    let started = Instant::now();
    let error = rl.decide("ip", "192.0.2.1", rate("1/s"), 0).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(ref m) if m.contains("timed out")), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn rejects_urls_of_other_schemes_without_echoing_them() {
    let error =
        RedisConnection::connect("http://user:hunter2@host", Duration::from_millis(100)).await.unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn one_script_records_the_nonce_and_spends_the_quota_only_for_a_fresh_nonce() {
    use crate::replay::{NonceAndQuota, RedisNonceAndQuota};
    let connection = connect().await;
    let prefix = unique_prefix();
    let steps = RedisNonceAndQuota::new(
        RedisNonceStore::new(connection.clone()).with_prefix(prefix.clone()),
        RedisRateLimitStore::new(connection.clone()).with_prefix(prefix.clone()),
    );
    let ttl = Duration::from_secs(60);
    let alice = Some(("user", "alice", rate("2/h")));
    let decided = |answer: NonceAndQuota| match answer {
        NonceAndQuota::Fresh(Some(d)) => (d.allowed, d.remaining),
        other => panic!("expected a fresh nonce and a decision, got {other:?}"),
    };
    assert_eq!(decided(steps.check("k", "n-0000001", ttl, alice).await.unwrap()), (true, 1));
    // A replay: refused, whether its token passed or not, and it spends no quota.
    assert_eq!(steps.check("k", "n-0000001", ttl, alice).await.unwrap(), NonceAndQuota::Replayed);
    assert_eq!(steps.check("k", "n-0000001", ttl, None).await.unwrap(), NonceAndQuota::Replayed);
    // A refused token (no user to charge) still spends its nonce.
    assert_eq!(steps.check("k", "n-0000002", ttl, None).await.unwrap(), NonceAndQuota::Fresh(None));
    assert_eq!(steps.check("k", "n-0000002", ttl, alice).await.unwrap(), NonceAndQuota::Replayed);
    // The quota is the plain store's: the second slip of 2/h passes, the third is refused
    // and its nonce is spent all the same (step 6 ran before step 8).
    assert_eq!(decided(steps.check("k", "n-0000003", ttl, alice).await.unwrap()), (true, 0));
    assert_eq!(decided(steps.check("k", "n-0000004", ttl, alice).await.unwrap()), (false, 0));
    assert_eq!(steps.check("k", "n-0000004", ttl, None).await.unwrap(), NonceAndQuota::Replayed);
    let plain = RedisRateLimitStore::new(connection.clone()).with_prefix(prefix.clone());
    assert!(!plain.decide("user", "alice", rate("2/h"), 0).await.unwrap().allowed);
    // The nonce lives for its ttl, as with `SET NX PX`.
    let pttl: i64 = connection
        .run("PTTL", |mut c| {
            let key = format!("{prefix}k:n-0000001");
            async move { ::redis::cmd("PTTL").arg(key).query_async(&mut c).await }
        })
        .await
        .unwrap();
    assert!((1..=60_000).contains(&pttl), "{pttl}");
}

#[tokio::test]
async fn the_nonce_and_quota_script_fails_closed_without_redis() {
    use crate::replay::RedisNonceAndQuota;
    let connection = RedisConnection::lazy("redis://127.0.0.1:1/0", Duration::from_millis(500)).unwrap();
    let steps = RedisNonceAndQuota::new(
        RedisNonceStore::new(connection.clone()),
        RedisRateLimitStore::new(connection),
    );
    let answer =
        steps.check("k", "n-0000001", Duration::from_secs(60), Some(("user", "a", rate("2/h")))).await;
    assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
}
