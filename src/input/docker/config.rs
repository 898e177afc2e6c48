//! `type: docker`: options and checks.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::input::{
    default_partial_timeout, default_rotate_wait, default_scan_frequency, default_streams,
    InputSpec, Plan, Stream,
};
use crate::process::config::ProcessorConfig;
use crate::tail::decoder::ReadFrom;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// `type: docker`: json-file driver logs.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DockerInputConfig {
    /// Label in metrics, health and logs, and what checkpoints are filed under (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Docker's containers directory; `<id>/<id>-json.log` under it are read.
    #[serde(default = "default_containers_path")]
    pub containers_path: PathBuf,
    /// Which streams to ship.
    #[serde(default = "default_streams")]
    pub streams: Vec<Stream>,
    /// For files first seen at start: `beginning` or `end` (default); checkpoints win.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// How often the containers directory is scanned again, besides inotify events.
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    /// A rotated or deleted file is closed after its end and this long without growth.
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
    /// A piece of a line whose last piece does not come (a container's last `echo -n`) is
    /// shipped after this long (Fluent Bit's `docker_mode_flush`).
    #[serde(default = "default_partial_timeout")]
    pub partial_timeout: Dur,
    /// Processors for this input, run before the top-level ones.
    #[serde(default)]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
}

impl InputSpec for DockerInputConfig {
    fn sources(&self) -> Vec<String> {
        vec![self.containers_path.display().to_string()]
    }
    fn processors(&self) -> &[ProcessorConfig] {
        &self.processors
    }
    fn describe(&self) -> String {
        format!("docker, {}", self.containers_path.display())
    }
    fn plan(&self, name: &str, key: &str, max_line: usize, host_name: &str) -> Plan {
        let (settings, decoders) = super::tail_settings(name, key, self, max_line, host_name);
        Plan::Tail(settings, decoders)
    }
}

fn default_containers_path() -> PathBuf {
    PathBuf::from("/var/lib/docker/containers")
}

/// Types and checks one `type: docker` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn InputSpec>)> {
    let mut c = p.typed::<DockerInputConfig>(body, path)?;
    if c.streams.is_empty() {
        p.error(format!("{path}.streams"), "at least one stream is required");
    }
    crate::process::check(&mut c.processors, &format!("{path}.processors"), 0, p);
    p.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
    p.positive(&format!("{path}.partial_timeout"), c.partial_timeout);
    Some((c.name.clone(), Arc::new(c)))
}
