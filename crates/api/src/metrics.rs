//! Request counts and latency by route and status, in the Prometheus text
//! format (served on the admin listener at `/metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum_micros: u64,
    buckets: [u64; BUCKETS.len()],
}

/// The API's metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By route, then status: the route is looked up borrowed, so counting
    /// allocates only the first time a route is seen.
    series: Mutex<BTreeMap<String, BTreeMap<u16, Series>>>,
    rejections: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, route: &str, status: u16, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let secs = elapsed.as_secs_f64();
        let Ok(mut map) = self.series.lock() else { return };
        let by_status = match map.get_mut(route) {
            Some(by_status) => by_status,
            None => map.entry(route.to_owned()).or_default(),
        };
        let s = by_status.entry(status).or_default();
        s.count += 1;
        s.sum_micros = s.sum_micros.saturating_add(micros);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// Counts one refusal with `code`.
    pub fn record_rejection(&self, code: &'static str) {
        if let Ok(mut map) = self.rejections.lock() {
            *map.entry(code).or_default() += 1;
        }
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let snapshot: Vec<((String, u16), Series)> = {
            let map = match self.series.lock() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.iter()
                .flat_map(|(route, by_status)| {
                    by_status.iter().map(move |(status, s)| ((route.clone(), *status), s.clone()))
                })
                .collect()
        };
        let mut out = String::new();
        out.push_str("# HELP slipgate_http_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE slipgate_http_requests_total counter\n");
        for ((route, status), s) in &snapshot {
            let _ = writeln!(
                out,
                "slipgate_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP slipgate_http_request_duration_seconds Time to answer, by route and status.\n");
        out.push_str("# TYPE slipgate_http_request_duration_seconds histogram\n");
        for ((route, status), s) in &snapshot {
            let labels = format!("route=\"{route}\",status=\"{status}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "slipgate_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "slipgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "slipgate_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_micros as f64 / 1e6
            );
            let _ = writeln!(out, "slipgate_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        let rejections = self.rejections.lock().map(|m| m.clone()).unwrap_or_default();
        out.push_str("# HELP slipgate_rejections_total Requests refused, by problem code.\n");
        out.push_str("# TYPE slipgate_rejections_total counter\n");
        for (code, n) in rejections {
            let _ = writeln!(out, "slipgate_rejections_total{{code=\"{code}\"}} {n}");
        }
        out
    }
}

/// The memory nonce store's fill level as gauges (nothing for a Redis store,
/// whose memory Redis reports): `slipgate_nonce_store_bytes` (bytes its tables
/// reserve, by capacity), `slipgate_nonce_store_capacity_bytes`
/// (`replay.max_memory`) and `slipgate_nonce_store_entries` (nonces held).
pub fn render_nonce_store(usage: Option<slipgate_guard::replay::NonceStoreUsage>) -> String {
    let Some(usage) = usage else { return String::new() };
    let mut out = String::new();
    for (name, help, value) in [
        ("slipgate_nonce_store_bytes", "Bytes reserved by the memory nonce store's tables.", usage.bytes),
        (
            "slipgate_nonce_store_capacity_bytes",
            "The memory nonce store's budget (replay.max_memory).",
            usage.capacity_bytes,
        ),
        ("slipgate_nonce_store_entries", "Nonces held by the memory nonce store.", usage.entries),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("/generate/salaryslip", 200, Duration::from_micros(800));
        m.record("/generate/salaryslip", 200, Duration::from_millis(20));
        let text = m.render();
        assert!(
            text.contains("slipgate_http_requests_total{route=\"/generate/salaryslip\",status=\"200\"} 2")
        );
        assert!(text.contains("le=\"0.001\"} 1"), "{text}");
        assert!(text.contains("le=\"0.025\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
    }
}
