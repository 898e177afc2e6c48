//! Capped exponential backoff with jitter, shared by every output (backon computes the delays).

use crate::config::BackoffConfig;
use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// An endless series of delays: `init`, doubling up to `max`, each with random jitter.
pub fn delays(cfg: BackoffConfig) -> impl Iterator<Item = Duration> {
    let max = cfg.max.0.max(cfg.init.0);
    ExponentialBuilder::default()
        .with_min_delay(cfg.init.0)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build()
        .map(move |d| d.min(max * 2))
}
