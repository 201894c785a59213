//! The memory nonce store (issue 16): insert and replay-check time at a
//! steady state of 1,000,000 live nonces, then — outside criterion — the
//! store's bytes per live nonce from its own accounting and from the
//! process's RSS, over a simulated sustained run at the defaults
//! (`replay.max_memory` = 256 MiB, `max_skew` = 300 s, every request dated
//! `now + max_skew`, the longest-kept case) at 27,000 req/s for twice the
//! window. Run: `cargo bench -p slipgate-guard --bench nonce`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use slipgate_guard::replay::{DEFAULT_NONCE_MEMORY, MemoryNonceStore, NonceVerdict};
use slipgate_guard::signature::SignaturePolicy;

const NOW: i64 = 1_767_225_600;

fn nonce(n: u64) -> String {
    // The SDK's form: 128 bits as 32 hex chars.
    format!("{:032x}", u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834))
}

fn timing(c: &mut Criterion) {
    let store = MemoryNonceStore::new(DEFAULT_NONCE_MEMORY);
    let ttl = Duration::from_secs(301);
    let mut n = 0u64;
    // 1,000 req/s for 1,000 s: about 301,000 live with 1,000,000 inserted.
    while n < 1_000_000 {
        let _ = store.decide_now("dev-hmac", &nonce(n), NOW + (n / 1000) as i64, ttl);
        n += 1;
    }
    let mut group = c.benchmark_group("nonce/memory");
    group.bench_function("fresh nonce (steady state)", |b| {
        b.iter_batched(
            || {
                n += 1;
                (nonce(n), NOW + (n / 1000) as i64)
            },
            |(value, now)| black_box(store.decide_now("dev-hmac", &value, now, ttl)),
            criterion::BatchSize::SmallInput,
        )
    });
    let replayed = nonce(n);
    let now = NOW + (n / 1000) as i64;
    group.bench_function("replayed nonce", |b| {
        b.iter(|| black_box(store.decide_now("dev-hmac", &replayed, now, ttl)))
    });
    group.finish();
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<usize>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// The sustained run: prints refusals, peak bytes, bytes per live nonce.
fn sustained() {
    const RATE: u64 = 27_000;
    let policy = SignaturePolicy::new();
    let window = 601u64;
    let rss_before = rss_bytes();
    let store = MemoryNonceStore::new(DEFAULT_NONCE_MEMORY);
    let (mut refused, mut replayed, mut n) = (0u64, 0u64, 0u64);
    let (mut peak_bytes, mut peak_entries, mut peak_rss) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    for second in 0..2 * window {
        let now = NOW + second as i64;
        let ttl = policy.nonce_ttl(now + 300, now);
        for _ in 0..RATE {
            n += 1;
            match store.decide_now("dev-hmac", &nonce(n), now, ttl) {
                Ok(NonceVerdict::Fresh) => {}
                Ok(NonceVerdict::Replayed) => replayed += 1,
                Err(_) => refused += 1,
            }
        }
        if store.bytes() > peak_bytes {
            peak_bytes = store.bytes();
            peak_entries = store.len();
        }
        if second % 60 == 0 {
            peak_rss = peak_rss.max(rss_bytes());
        }
    }
    peak_rss = peak_rss.max(rss_bytes());
    let elapsed = started.elapsed();
    println!(
        "nonce/sustained: {RATE} req/s for {} simulated s ({n} requests, {:.0} ns each incl. nonce formatting): \
         {refused} refused, {replayed} false replays",
        2 * window,
        elapsed.as_nanos() as f64 / n as f64
    );
    println!(
        "nonce/sustained: peak {peak_bytes} B reserved of {DEFAULT_NONCE_MEMORY} for {peak_entries} nonces = {:.2} B/nonce (store accounting)",
        peak_bytes as f64 / peak_entries as f64
    );
    let rss = peak_rss.saturating_sub(rss_before);
    println!(
        "nonce/sustained: RSS grew {rss} B = {:.2} B/nonce at the peak (process RSS, /proc/self/statm)",
        rss as f64 / peak_entries as f64
    );
    drop(store);
}

criterion_group!(benches, timing);

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        benches();
        return;
    }
    sustained();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
