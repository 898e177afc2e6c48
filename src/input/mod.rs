//! Inputs: one folder per input type, each owning its options and checks (`config.rs`) and its
//! decoder. File-based inputs (`file`, `docker`, `cri`) are decoders plugged into the tailing
//! engine (`crate::tail`); the network input (`syslog`) runs its own listeners and spool and
//! feeds its decoder from the spool. `plan` says which, with what each needs.
//!
//! `TYPES` is the registry: the one place that lists the input types. Adding one is a folder
//! whose `config.rs` has the options struct (implementing `InputSpec`) and a `configure`, its
//! `pub mod` line and its line in `TYPES`.

pub mod cri;
pub mod docker;
pub mod file;
pub mod guard;
pub mod partial;
pub mod syslog;

use crate::config::units::Dur;
use crate::config::{by_type, Configure, Problems, Value};
use crate::process::config::ProcessorConfig;
use crate::tail::tailer::{DecoderFactory, TailSettings};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The input types, by the `type:` that selects them.
const TYPES: &[(&str, Configure<Arc<dyn InputSpec>>)] = &[
    ("file", file::config::configure),
    ("docker", docker::config::configure),
    ("cri", cri::config::configure),
    ("syslog", syslog::config::configure),
];

/// The input types later releases add: named so the error says "not supported yet" instead
/// of "unknown".
const PLANNED: &[&str] = &[];

/// How an input runs.
pub enum Plan {
    /// Files through the tailing engine: its settings and the decoders of its files.
    Tail(TailSettings, DecoderFactory),
    /// Sockets into a disk spool, read back through the syslog decoder.
    Syslog(Arc<syslog::config::SyslogInputConfig>),
}

/// A configured input, as its `config.rs` typed and checked it: what the agent and the checks
/// need to know of it, and how it runs. Each input type's options struct implements it; the
/// registry's `configure` returns one.
pub trait InputSpec: fmt::Debug + Send + Sync + std::any::Any {
    /// What the input reads, as it identifies the input's checkpoints (sorted by the caller).
    fn sources(&self) -> Vec<String>;
    /// The input's own processors (run before the top-level ones).
    fn processors(&self) -> &[ProcessorConfig];
    /// What `check-config` says of it after its name: `file, 2 paths`.
    fn describe(&self) -> String;
    /// How it runs: the tailing engine's settings and decoders, or the syslog receiver's.
    fn plan(&self, name: &str, key: &str, max_line: usize, host_name: &str) -> Plan;
}

#[derive(Debug, Clone)]
pub struct InputConfig {
    /// Label in metrics, health and logs: `name`, or the type (with its index when repeated).
    pub name: String,
    /// What its checkpoints are filed under, stable when other inputs are added, removed or
    /// reordered: `name` when set, else the type and the paths it reads.
    pub key: String,
    /// The `type:` that selected it.
    pub type_name: &'static str,
    pub spec: Arc<dyn InputSpec>,
}

impl InputConfig {
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The input's own processors (run before the top-level ones).
    pub fn processors(&self) -> &[ProcessorConfig] {
        self.spec.processors()
    }

    /// The options as the type's own struct, if it is that type (for tests and tools).
    pub fn options<T: InputSpec>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.spec;
        any.downcast_ref::<T>()
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
    let out: Vec<_> = by_type(raw, "inputs", "input", TYPES, PLANNED, p)
        .into_iter()
        .map(|(name, t, c)| (name, t, (t, c)))
        .collect();
    let keys: Vec<String> = out
        .iter()
        .map(|(name, t, (_, spec))| match name {
            Some(n) => n.clone(),
            None => {
                let mut sources = spec.sources();
                sources.sort();
                format!("{t}:{}", sources.join(","))
            }
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
        .map(|((name, (type_name, spec)), key)| InputConfig {
            name,
            key,
            type_name,
            spec,
        })
        .collect()
}

/// How `input` runs.
pub fn plan(input: &InputConfig, max_line: usize, host_name: &str) -> Plan {
    input
        .spec
        .plan(&input.name, &input.key, max_line, host_name)
}
