//! `type: logstash`: options (as Filebeat names them) and checks.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::output::retry::BackoffConfig;
use crate::output::{Output, OutputSpec};
use crate::tls::TlsConfig;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `type: logstash`: the beats (Lumberjack v2) protocol, options as Filebeat names them.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogstashOutputConfig {
    /// Label in metrics, health and logs (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// `host:port` of each Logstash `beats` input.
    pub hosts: Vec<String>,
    /// Spread batches over every connected host (true), or stick to one and fail over (false).
    #[serde(default)]
    pub loadbalance: bool,
    /// Most events in one window (one ACK).
    #[serde(default = "default_bulk_max_size")]
    pub bulk_max_size: usize,
    /// zlib level 0 (no compression) to 9.
    #[serde(default = "default_compression_level")]
    pub compression_level: u32,
    /// Longest wait for an ACK (any ACK, keepalives included, restarts it) or a connection.
    #[serde(default = "default_logstash_timeout")]
    pub timeout: Dur,
    /// Reconnect after this long (spreads load after Logstash scales out); unset = never.
    #[serde(default)]
    pub ttl: Option<Dur>,
    /// Windows in flight on one connection before waiting for an ACK.
    #[serde(default = "default_pipelining")]
    pub pipelining: usize,
    /// Start with a window of 10 events and double it on every success up to `bulk_max_size`.
    #[serde(default)]
    pub slow_start: bool,
    /// `@metadata.beat` on every event (`filebeat` keeps pipelines that route on it working).
    #[serde(default = "default_beat")]
    pub beat: String,
    /// TLS (and a client certificate for mutual TLS); plain TCP when unset.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Retry timing after a failure (retries forever).
    #[serde(default)]
    pub backoff: BackoffConfig,
}

impl OutputSpec for LogstashOutputConfig {
    fn backoff(&self) -> BackoffConfig {
        self.backoff
    }
    fn timeout(&self) -> Option<Dur> {
        Some(self.timeout)
    }
    fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        self.tls.as_ref().map(|t| (t, self.hosts.as_slice()))
    }
    fn build(&self, _name: &str, _data_dir: &Path) -> Result<Arc<dyn Output>, String> {
        Ok(Arc::new(super::Logstash::new(self)?))
    }
}

fn default_bulk_max_size() -> usize {
    2048
}
fn default_compression_level() -> u32 {
    3
}
fn default_logstash_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}
fn default_pipelining() -> usize {
    2
}
fn default_beat() -> String {
    "logship".into()
}

/// Types and checks one `type: logstash` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn OutputSpec>)> {
    let c = p.typed::<LogstashOutputConfig>(body, path)?;
    if c.hosts.is_empty() {
        p.error(format!("{path}.hosts"), "needs at least one `host:port`");
    }
    for (i, h) in c.hosts.iter().enumerate() {
        if super::split_host_port(h).is_none() {
            p.error(
                format!("{path}.hosts[{i}]"),
                format!("{h:?} is not `host:port` (e.g. logstash:5044)"),
            );
        }
    }
    crate::output::check_sizes(c.compression_level, c.bulk_max_size, path, p);
    if let Some(tls) = &c.tls {
        tls.validate(&format!("{path}.tls"), p);
    }
    Some((c.name.clone(), Arc::new(c)))
}
