//! Capped exponential backoff with jitter, shared by every output (backon computes the delays).

use crate::config::BackoffConfig;
use backon::{BackoffBuilder, ExponentialBuilder};
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
