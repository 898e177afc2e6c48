//! `type: file`: options and checks.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::input::{default_rotate_wait, default_scan_frequency, InputSpec, Plan};
use crate::process::config::ProcessorConfig;
use crate::tail::decoder::ReadFrom;
use serde::Deserialize;
use std::sync::Arc;

/// `type: file`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileInputConfig {
    /// Label in metrics, health and logs, and what checkpoints are filed under (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Glob patterns of the files to tail.
    pub paths: Vec<String>,
    /// Glob patterns of files never to tail (e.g. `*.gz`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `plain` (each line is the message) or `syslog` (rsyslog traditional or RFC 3339 lines).
    #[serde(default)]
    pub format: FileFormat,
    /// For files first seen at start: `beginning` or `end` (default); checkpoints win.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Globs are re-evaluated this often, besides on file-system notifications.
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    /// A file that was rotated away, or deleted, is released once it has been read to its end and
    /// has not grown for this long (Fluent Bit's `rotate_wait`).
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
    /// Processors for this input, run before the top-level ones.
    #[serde(default)]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
}

impl InputSpec for FileInputConfig {
    fn sources(&self) -> Vec<String> {
        self.paths.clone()
    }
    fn processors(&self) -> &[ProcessorConfig] {
        &self.processors
    }
    fn describe(&self) -> String {
        format!("file, {} paths", self.paths.len())
    }
    fn plan(&self, name: &str, key: &str, max_line: usize, host_name: &str) -> Plan {
        let (settings, decoders) = super::tail_settings(name, key, self, max_line, host_name);
        Plan::Tail(settings, decoders)
    }
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Plain,
    Syslog,
}

/// Types and checks one `type: file` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn InputSpec>)> {
    let mut c = p.typed::<FileInputConfig>(body, path)?;
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
    crate::process::check(&mut c.processors, &format!("{path}.processors"), 0, p);
    p.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
    Some((c.name.clone(), Arc::new(c)))
}
