//! Inputs: one folder per input type, each owning its options and checks (`config.rs`) and its
//! decoder. File-based inputs (`file`, `docker`, `cri`) are decoders plugged into the tailing
//! engine (`crate::tail`); `tail_settings` gives what it needs.
//!
//! `TYPES` is the registry: the one place that lists the input types. Adding one is a folder
//! with a `config.rs` (`configure`), an `InputKind` variant and a line in `TYPES`.

pub mod cri;
pub mod docker;
pub mod file;
pub mod guard;
pub mod partial;
pub mod syslog;

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::tail::tailer::{DecoderFactory, TailSettings};
use serde::Deserialize;
use std::time::Duration;

/// Types and checks one element of `inputs:` of its type (at its YAML path): its `name`, if
/// set, and its options.
type Configure = fn(&Value, &str, &mut Problems) -> Option<(Option<String>, InputKind)>;

/// The input types, by the `type:` that selects them.
const TYPES: &[(&str, Configure)] = &[
    ("file", file::config::configure),
    ("docker", docker::config::configure),
    ("cri", cri::config::configure),
];

/// The input types later releases add: named so the error says "not supported yet" instead
/// of "unknown".
const PLANNED: &[&str] = &["syslog"];

#[derive(Debug, Clone)]
pub enum InputKind {
    File(file::config::FileInputConfig),
    Docker(docker::config::DockerInputConfig),
    Cri(cri::config::CriInputConfig),
}

#[derive(Debug, Clone)]
pub struct InputConfig {
    /// Label in metrics, health and logs: `name`, or the type (with its index when repeated).
    pub name: String,
    /// What its checkpoints are filed under, stable when other inputs are added, removed or
    /// reordered: `name` when set, else the type and the paths it reads.
    pub key: String,
    pub kind: InputKind,
}

impl InputConfig {
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            InputKind::File(_) => "file",
            InputKind::Docker(_) => "docker",
            InputKind::Cri(_) => "cri",
        }
    }
}

impl InputConfig {
    /// The input's own processors (run before the top-level ones).
    pub fn processors(&self) -> &[crate::process::config::ProcessorConfig] {
        match &self.kind {
            InputKind::File(c) => &c.processors,
            InputKind::Docker(c) => &c.processors,
            InputKind::Cri(c) => &c.processors,
        }
    }
}

impl InputKind {
    /// What the input reads, as it identifies the input's checkpoints.
    fn sources(&self) -> Vec<String> {
        let mut v = match self {
            InputKind::File(c) => c.paths.clone(),
            InputKind::Docker(c) => vec![c.containers_path.display().to_string()],
            InputKind::Cri(c) => c.paths.clone(),
        };
        v.sort();
        v
    }
}

/// `streams:` of the container inputs.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The record's `stream` value.
    pub fn name(self) -> crate::event::StreamName {
        match self {
            Stream::Stdout => crate::event::StreamName::Stdout,
            Stream::Stderr => crate::event::StreamName::Stderr,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

pub(crate) fn default_scan_frequency() -> Dur {
    Dur(Duration::from_secs(10))
}
pub(crate) fn default_rotate_wait() -> Dur {
    Dur(Duration::from_secs(5))
}
pub(crate) fn default_partial_timeout() -> Dur {
    Dur(Duration::from_secs(5))
}
pub(crate) fn default_streams() -> Vec<Stream> {
    vec![Stream::Stdout, Stream::Stderr]
}

/// Types and checks `inputs:`: each element by its type's `configure`, then the names and
/// checkpoint keys, which must be unique.
pub fn configure(raw: &[Value], p: &mut Problems) -> Vec<InputConfig> {
    let supported: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
    let mut out = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let path = format!("inputs[{i}]");
        let Some((kind, body)) = p.kind_of(v, &path) else {
            continue;
        };
        match TYPES.iter().find(|(t, _)| *t == kind) {
            Some((t, configure)) => {
                if let Some((name, c)) = configure(&body, &path, p) {
                    out.push((name, *t, c));
                }
            }
            None if PLANNED.contains(&kind.as_str()) => p.error(
                format!("{path}.type"),
                format!(
                    "input type `{kind}` is not supported yet in this release (supported: {})",
                    supported.join(", ")
                ),
            ),
            None => p.error(
                format!("{path}.type"),
                format!(
                    "unknown input type `{kind}`, expected one of: {} (planned: {})",
                    supported.join(", "),
                    PLANNED.join(", ")
                ),
            ),
        }
    }
    let keys: Vec<String> = out
        .iter()
        .map(|(name, t, kind)| match name {
            Some(n) => n.clone(),
            None => format!("{t}:{}", kind.sources().join(",")),
        })
        .collect();
    let labelled = crate::config::label(out);
    let mut seen_names = std::collections::HashSet::new();
    let mut seen_keys = std::collections::HashSet::new();
    for ((name, _), key) in labelled.iter().zip(&keys) {
        if !seen_names.insert(name.clone()) {
            p.error(
                "inputs",
                format!("two inputs are named `{name}`: names must be unique (checkpoints are filed by name)"),
            );
        } else if !seen_keys.insert(key.clone()) {
            p.error(
                "inputs",
                format!(
                    "two inputs of the same type read the same paths ({key}): give each a `name`"
                ),
            );
        }
    }
    labelled
        .into_iter()
        .zip(keys)
        .map(|((name, kind), key)| InputConfig { name, key, kind })
        .collect()
}

pub fn tail_settings(
    input: &InputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let (name, key) = (&input.name, &input.key);
    match &input.kind {
        InputKind::File(c) => file::tail_settings(name, key, c, max_line, host_name),
        InputKind::Docker(c) => docker::tail_settings(name, key, c, max_line, host_name),
        InputKind::Cri(c) => cri::tail_settings(name, key, c, max_line, host_name),
    }
}
