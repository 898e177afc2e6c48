//! `type: cloudwatch`: options and checks.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::output::dead_letter::DeadLetterConfig;
use crate::output::retry::BackoffConfig;
use crate::output::{Output, OutputSpec};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `type: cloudwatch`: AWS CloudWatch Logs through the AWS SDK (credential chain included).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CloudwatchOutputConfig {
    /// Label in metrics, health and logs, and the dead-letter file's name (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Default: the SDK's chain (`AWS_REGION`, the profile, instance metadata).
    #[serde(default)]
    pub region: Option<String>,
    /// `{field.path}` / `{field.path:-default}` templates.
    #[serde(default = "default_log_group")]
    pub log_group: String,
    /// Stream name template: `{field}` and `{field:-default}` from the record.
    #[serde(default = "default_log_stream")]
    pub log_stream: String,
    /// Create missing groups and streams.
    #[serde(default = "default_true")]
    pub create_missing: bool,
    /// Retention set on the groups this output creates (or finds), once per group.
    #[serde(default)]
    pub retention_days: Option<i32>,
    /// Endpoint override (a local test server, a VPC endpoint); empty = the AWS default.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Longest wait for one call.
    #[serde(default = "default_cw_timeout")]
    pub timeout: Dur,
    /// Where records CloudWatch rejects go (`data_dir/dead_letter/<name>.ndjson`).
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    /// Retry timing after a failure (retries forever).
    #[serde(default)]
    pub backoff: BackoffConfig,
}

impl OutputSpec for CloudwatchOutputConfig {
    fn backoff(&self) -> BackoffConfig {
        self.backoff
    }
    fn timeout(&self) -> Option<Dur> {
        Some(self.timeout)
    }
    fn build(&self, name: &str, data_dir: &Path) -> Result<Arc<dyn Output>, String> {
        Ok(Arc::new(super::Cloudwatch::new(name, self, data_dir)?))
    }
}

fn default_log_group() -> String {
    "/logship/{kubernetes.namespace:-docker}".into()
}
fn default_log_stream() -> String {
    "{host.name}/{container.name:-host}".into()
}
fn default_true() -> bool {
    true
}
fn default_cw_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}

/// Types and checks one `type: cloudwatch` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn OutputSpec>)> {
    let c = p.typed::<CloudwatchOutputConfig>(body, path)?;
    use super::names::NameTemplate;
    for (key, t) in [("log_group", &c.log_group), ("log_stream", &c.log_stream)] {
        if let Err(e) = NameTemplate::parse(t) {
            p.error(format!("{path}.{key}"), e);
        }
    }
    const RETENTION: &[i32] = &[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    if let Some(d) = c.retention_days {
        if !RETENTION.contains(&d) {
            p.error(
                format!("{path}.retention_days"),
                format!("{d} is not a retention CloudWatch offers: one of {RETENTION:?}"),
            );
        }
    }
    if let Some(e) = c.endpoint.as_deref().filter(|e| !e.is_empty()) {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            p.error(
                format!("{path}.endpoint"),
                format!("{e:?} is not an http:// or https:// URL"),
            );
        }
    }
    Some((c.name.clone(), Arc::new(c)))
}
