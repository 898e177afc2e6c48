//! The hosts of a network output: which one takes the next request (in turn, or sticking to one
//! until it fails), and each host's own backoff, so a failing host is set aside while the others
//! carry the load.

use super::retry::BackoffConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

struct Health {
    failures: u32,
    retry_at: Option<Instant>,
}

/// One host: its address, its backoff state and what the output keeps for it (a connection).
pub struct Host<T> {
    pub addr: String,
    pub extra: T,
    health: Mutex<Health>,
}

impl<T> Host<T> {
    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn available(&self, now: Instant) -> bool {
        self.health().retry_at.is_none_or(|t| t <= now)
    }

    pub fn succeeded(&self) {
        let mut h = self.health();
        h.failures = 0;
        h.retry_at = None;
    }

    /// Sets the host aside for `init * 2^(failures-1)`, at most `max`.
    pub fn failed(&self, backoff: BackoffConfig) {
        let mut h = self.health();
        h.failures = h.failures.saturating_add(1);
        let wait = backoff
            .init
            .0
            .saturating_mul(1u32 << (h.failures - 1).min(16));
        h.retry_at = Some(Instant::now() + wait.min(backoff.max.0));
    }
}

pub struct Hosts<T> {
    hosts: Vec<Arc<Host<T>>>,
    /// Every request to the next host (true) or all to one until it fails (false).
    round_robin: bool,
    next: AtomicUsize,
}

impl<T> Hosts<T> {
    /// `addrs` must not be empty (the configuration checks it).
    pub fn new(addrs: &[String], round_robin: bool, mut extra: impl FnMut(&str) -> T) -> Hosts<T> {
        Hosts {
            hosts: addrs
                .iter()
                .map(|a| {
                    Arc::new(Host {
                        addr: a.clone(),
                        extra: extra(a),
                        health: Mutex::new(Health {
                            failures: 0,
                            retry_at: None,
                        }),
                    })
                })
                .collect(),
            round_robin,
            next: AtomicUsize::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn all(&self) -> &[Arc<Host<T>>] {
        &self.hosts
    }

    /// The host for the next request: the next available one in turn (round robin) or the one
    /// in use unless it is set aside (sticky); if every host is set aside, the one due first.
    pub fn pick(&self) -> Arc<Host<T>> {
        let n = self.hosts.len().max(1);
        let now = Instant::now();
        let start = if self.round_robin {
            self.next.fetch_add(1, Ordering::Relaxed)
        } else {
            self.next.load(Ordering::Relaxed)
        } % n;
        let chosen = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| self.hosts[i].available(now))
            .unwrap_or_else(|| {
                (0..n)
                    .min_by_key(|&i| self.hosts[i].health().retry_at)
                    .unwrap_or(0)
            });
        if !self.round_robin {
            self.next.store(chosen, Ordering::Relaxed);
        }
        self.hosts[chosen].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::Dur;
    use std::time::Duration;

    fn backoff() -> BackoffConfig {
        BackoffConfig {
            init: Dur(Duration::from_secs(60)),
            max: Dur(Duration::from_secs(60)),
        }
    }

    #[test]
    fn round_robin_skips_a_failed_host_and_sticky_fails_over() {
        let addrs: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let rr = Hosts::new(&addrs, true, |_| ());
        let picked: Vec<String> = (0..3).map(|_| rr.pick().addr.clone()).collect();
        assert_eq!(picked, ["a", "b", "c"]);
        rr.all()[1].failed(backoff());
        let picked: Vec<String> = (0..4).map(|_| rr.pick().addr.clone()).collect();
        assert_eq!(picked, ["a", "c", "c", "a"]);

        let sticky = Hosts::new(&addrs, false, |_| ());
        assert_eq!(sticky.pick().addr, "a");
        assert_eq!(sticky.pick().addr, "a");
        sticky.all()[0].failed(backoff());
        assert_eq!(sticky.pick().addr, "b");
        sticky.all()[0].succeeded();
        assert_eq!(sticky.pick().addr, "b", "stays on the host that works");
        for h in sticky.all() {
            h.failed(backoff());
        }
        assert_eq!(sticky.pick().addr, "a", "all set aside: the one due first");
    }
}
