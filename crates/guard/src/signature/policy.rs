//! [`SignaturePolicy`]: what the signature layer requires of a request.

use std::time::Duration;

/// The components every request must cover by default (SPEC §3.2): the
/// registry-key list of [`slipgate_proto::signature`], which the SDK signs.
pub use slipgate_proto::signature::REGISTRY_COMPONENTS as DEFAULT_REQUIRED;

/// What the signature layer requires of a request: the covered components of
/// a registry-key signature and the freshness window.
#[derive(Debug, Clone)]
pub struct SignaturePolicy {
    pub(super) required: Vec<String>,
    max_skew: Duration,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        Self {
            required: DEFAULT_REQUIRED.iter().map(|s| (*s).to_owned()).collect(),
            max_skew: Duration::from_secs(300),
        }
    }
}

impl SignaturePolicy {
    /// The defaults: SPEC §3.2's components and a 300 s skew.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `max_skew` of clock difference either way (default 300 s).
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// Requires these components in addition to nothing (replaces the list).
    pub fn with_required(mut self, components: &[&str]) -> Self {
        self.required = components.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The freshness window.
    pub fn max_skew(&self) -> Duration {
        self.max_skew
    }

    /// How long the store must still remember a nonce signed at `created`
    /// and seen at `now` (unix seconds): until `created + max_skew` (SPEC
    /// §3.2), the last second at which its signature is still fresh, so
    /// `created + max_skew + 1 − now` seconds (at least 1).
    pub fn nonce_ttl(&self, created: i64, now: i64) -> Duration {
        let skew = i64::try_from(self.max_skew.as_secs()).unwrap_or(i64::MAX);
        let last_fresh = created.saturating_add(skew);
        let secs = last_fresh.saturating_add(1).saturating_sub(now).max(1);
        Duration::from_secs(secs.unsigned_abs())
    }
}
