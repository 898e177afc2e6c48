//! Capped exponential backoff with jitter, shared by every output (backon computes the delays).

use crate::config::units::Dur;
use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Deserialize;
use std::time::Duration;

/// An endless series of delays: `init`, doubling up to `max`, each plus a random jitter of up
/// to the same amount (so a delay lies between `max` and twice `max` once capped).
pub fn delays(cfg: BackoffConfig) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(cfg.init.0)
        .with_max_delay(cfg.max.0.max(cfg.init.0))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Retry timing of a failing output (Filebeat's `backoff.init` / `backoff.max`): capped
/// exponential backoff with jitter, retrying forever.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    /// The first wait after a failure; it doubles (with jitter) on each further one.
    #[serde(default = "default_backoff_init")]
    pub init: Dur,
    /// The longest wait between attempts.
    #[serde(default = "default_backoff_max")]
    pub max: Dur,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            init: default_backoff_init(),
            max: default_backoff_max(),
        }
    }
}

fn default_backoff_init() -> Dur {
    Dur(Duration::from_secs(1))
}
fn default_backoff_max() -> Dur {
    Dur(Duration::from_secs(60))
}
