//! Rate-limit decisions per store: the memory store on one hot key and on a
//! stream of distinct keys (which keeps evicting), and one Redis round trip
//! per decision when a Redis answers at `SLIPGATE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_guard::RedisConnection;
use slipgate_guard::ratelimit::{MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore};
use slipgate_proto::units::Rate;

const NOW_MS: u64 = 1_767_225_600_000;

fn rate(s: &str) -> Rate {
    s.parse().unwrap_or(Rate { quota: std::num::NonZeroU32::MIN, per: Duration::from_secs(1) })
}

fn memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("ratelimit/memory");
    let store = MemoryRateLimitStore::new(1_000_000);
    let hot = rate("1000000/s");
    let mut now = NOW_MS;
    group.bench_function("hot key", |b| {
        b.iter(|| {
            now += 1;
            black_box(store.decide_now("ip", "192.0.2.1", hot, now))
        })
    });
    let store = MemoryRateLimitStore::new(100_000);
    let r = rate("600/min");
    let mut i = 0u64;
    let mut key = String::with_capacity(24);
    group.bench_function("distinct keys (bounded at 100k)", |b| {
        b.iter(|| {
            use std::fmt::Write as _;
            i += 1;
            key.clear();
            let _ = write!(key, "10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            black_box(store.decide_now("ip", &key, r, NOW_MS))
        })
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    #[allow(clippy::disallowed_methods, reason = "benchmark configuration from the environment")]
    let url =
        std::env::var("SLIPGATE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = match rt.block_on(RedisConnection::connect(&url, Duration::from_secs(1))) {
        Ok(connection) => connection,
        Err(e) => {
            println!("skipping ratelimit/redis: no Redis at {url} ({e})");
            return;
        }
    };
    let store = RedisRateLimitStore::new(connection).with_prefix("slipgate-bench:rl:");
    let hot = rate("1000000/s");
    let mut group = c.benchmark_group("ratelimit/redis");
    group.bench_function("one script round trip", |b| {
        b.iter(|| black_box(rt.block_on(store.decide("ip", "192.0.2.1", hot, 0))))
    });
    group.finish();
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
