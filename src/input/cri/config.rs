//! `type: cri`: options and checks.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::input::{
    default_partial_timeout, default_rotate_wait, default_scan_frequency, default_streams,
    InputSpec, Plan, Stream,
};
use crate::process::config::ProcessorConfig;
use crate::tail::decoder::ReadFrom;
use serde::Deserialize;
use std::sync::Arc;

/// `type: cri`: containerd / CRI-O logs under /var/log/containers.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CriInputConfig {
    /// Label in metrics, health and logs, and what checkpoints are filed under (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Glob patterns of the CRI log files (default: `/var/log/containers/*.log`, the kubelet's links).
    #[serde(default = "default_cri_paths")]
    pub paths: Vec<String>,
    /// Glob patterns never to read (e.g. the agent's own pod).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Which streams to ship: `stdout`, `stderr` or both.
    #[serde(default = "default_streams")]
    pub streams: Vec<Stream>,
    /// For files first seen at start: `beginning` or `end` (default); checkpoints win.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// How often the globs are evaluated again, besides inotify events.
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    /// A rotated or deleted file is closed after its end and this long without growth.
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
    /// A `P` piece whose `F` does not come is shipped after this long.
    #[serde(default = "default_partial_timeout")]
    pub partial_timeout: Dur,
    /// Processors for this input, run before the top-level ones.
    #[serde(default)]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
}

impl InputSpec for CriInputConfig {
    fn sources(&self) -> Vec<String> {
        self.paths.clone()
    }
    fn processors(&self) -> &[ProcessorConfig] {
        &self.processors
    }
    fn describe(&self) -> String {
        format!("cri, {}", self.paths.join(", "))
    }
    fn plan(&self, name: &str, key: &str, max_line: usize, host_name: &str) -> Plan {
        let (settings, decoders) = super::tail_settings(name, key, self, max_line, host_name);
        Plan::Tail(settings, decoders)
    }
}

fn default_cri_paths() -> Vec<String> {
    vec!["/var/log/containers/*.log".to_string()]
}

/// Types and checks one `type: cri` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn InputSpec>)> {
    let mut c = p.typed::<CriInputConfig>(body, path)?;
    if c.paths.is_empty() {
        p.error(format!("{path}.paths"), "at least one path is required");
    }
    for (j, pat) in c.paths.iter().chain(&c.exclude).enumerate() {
        if let Err(e) = glob::Pattern::new(pat) {
            p.error(
                format!("{path}.paths[{j}]"),
                format!("bad glob `{pat}`: {e}"),
            );
        }
    }
    if c.streams.is_empty() {
        p.error(format!("{path}.streams"), "at least one stream is required");
    }
    crate::process::check(&mut c.processors, &format!("{path}.processors"), 0, p);
    p.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
    p.positive(&format!("{path}.partial_timeout"), c.partial_timeout);
    Some((c.name.clone(), Arc::new(c)))
}
