//! Outputs: one folder per destination, all with the same shape, each owning its options and
//! checks (`config.rs`). `send(batch)` returns only when the destination has durably accepted the
//! whole batch, or with an error; the worker here retries errors with capped exponential backoff
//! and jitter (forever), keeps metrics and health, and tells the ack ledger when a batch is done.
//!
//! `TYPES` is the registry: the one list of output types and how each is configured; `build`
//! turns a configured one into its `Output`. Adding one is a folder with a `config.rs`
//! (`configure`), an `OutputKind` variant, a line in `TYPES` and an arm in `build`.

pub mod cloudwatch;
pub mod console;
pub mod dead_letter;
pub mod elasticsearch;
pub mod file;
pub mod hosts;
pub mod logstash;
pub mod progress;
pub mod retry;
mod worker;

use crate::config::{Problems, Value};
use crate::pipeline::batch::Batch;
use crate::tls::{TlsConfig, TlsVerify};
use async_trait::async_trait;
use retry::BackoffConfig;
use std::fmt;
use std::sync::Arc;

pub use progress::Todo;
pub use worker::run_worker;

/// Types and checks one element of `outputs:` of its type (at its YAML path): its `name`, if
/// set, and its options.
type Configure = fn(&Value, &str, &mut Problems) -> Option<(Option<String>, OutputKind)>;

/// The output types, by the `type:` that selects them.
const TYPES: &[(&str, Configure)] = &[
    ("console", console::config::configure),
    ("file", file::config::configure),
    ("logstash", logstash::config::configure),
    ("elasticsearch", elasticsearch::config::configure),
    ("cloudwatch", cloudwatch::config::configure),
];

/// The output types later releases add: named so the error says "not supported yet".
const PLANNED: &[&str] = &[];

#[derive(Debug, Clone)]
pub enum OutputKind {
    Console(console::config::ConsoleOutputConfig),
    File(file::config::FileOutputConfig),
    Logstash(logstash::config::LogstashOutputConfig),
    Elasticsearch(elasticsearch::config::ElasticsearchOutputConfig),
    Cloudwatch(cloudwatch::config::CloudwatchOutputConfig),
}

#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub name: String,
    pub kind: OutputKind,
}

impl OutputConfig {
    pub fn backoff(&self) -> BackoffConfig {
        match &self.kind {
            OutputKind::Console(c) => c.backoff,
            OutputKind::File(c) => c.backoff,
            OutputKind::Logstash(c) => c.backoff,
            OutputKind::Elasticsearch(c) => c.backoff,
            OutputKind::Cloudwatch(c) => c.backoff,
        }
    }

    /// The TLS block of a network output, with its hosts.
    pub fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        match &self.kind {
            OutputKind::Logstash(c) => c.tls.as_ref().map(|t| (t, c.hosts.as_slice())),
            OutputKind::Elasticsearch(c) => c.tls.as_ref().map(|t| (t, c.hosts.as_slice())),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            OutputKind::Console(_) => "console",
            OutputKind::File(_) => "file",
            OutputKind::Logstash(_) => "logstash",
            OutputKind::Elasticsearch(_) => "elasticsearch",
            OutputKind::Cloudwatch(_) => "cloudwatch",
        }
    }
}

/// Types and checks `outputs:`: each element by its type's `configure`, then the names (which
/// must be unique) and what every output has (`backoff`, a network output's `timeout`).
pub fn configure(raw: &[Value], p: &mut Problems) -> Vec<OutputConfig> {
    let supported: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
    let mut out = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let path = format!("outputs[{i}]");
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
                    "output type `{kind}` is not supported yet in this release (supported: {})",
                    supported.join(", ")
                ),
            ),
            None => p.error(
                format!("{path}.type"),
                format!(
                    "unknown output type `{kind}`, expected one of: {}",
                    supported.join(", ")
                ),
            ),
        }
    }
    let labelled = crate::config::label(out);
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &labelled {
        if !seen.insert(name.clone()) {
            p.error(
                "outputs",
                format!("two outputs are named `{name}`: names must be unique"),
            );
        }
    }
    let outputs: Vec<OutputConfig> = labelled
        .into_iter()
        .map(|(name, kind)| OutputConfig { name, kind })
        .collect();
    for (i, o) in outputs.iter().enumerate() {
        let b = o.backoff();
        p.positive(&format!("outputs[{i}].backoff.init"), b.init);
        p.positive(&format!("outputs[{i}].backoff.max"), b.max);
        if b.init.0 > b.max.0 {
            p.error(
                format!("outputs[{i}].backoff.init"),
                format!("{:?} is longer than backoff.max ({:?})", b.init.0, b.max.0),
            );
        }
        let timeout = match &o.kind {
            OutputKind::Logstash(c) => Some(c.timeout),
            OutputKind::Elasticsearch(c) => Some(c.timeout),
            OutputKind::Cloudwatch(c) => Some(c.timeout),
            _ => None,
        };
        if let Some(t) = timeout {
            p.positive(&format!("outputs[{i}].timeout"), t);
        }
    }
    outputs
}

/// `compression_level` 0 to 9 and `bulk_max_size` at least 1, for the network outputs.
pub(crate) fn check_sizes(
    compression_level: u32,
    bulk_max_size: usize,
    path: &str,
    p: &mut Problems,
) {
    if compression_level > 9 {
        p.error(
            format!("{path}.compression_level"),
            format!("{compression_level} is out of range 0 (off) to 9"),
        );
    }
    if bulk_max_size == 0 {
        p.error(format!("{path}.bulk_max_size"), "must be at least 1");
    }
}

/// Things that work but that the user must know (`tls.verify: none`).
pub fn warnings(outputs: &[OutputConfig]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| {
            let (tls, hosts) = o.tls()?;
            (tls.verify == TlsVerify::None).then(|| {
                let hosts: Vec<String> =
                    hosts.iter().map(|h| crate::secret::redact_url(h)).collect();
                format!(
                    "output {}: tls.verify is none: the certificate of {} is NOT checked; anyone on the network path can read and change what is sent",
                    o.name,
                    hosts.join(", ")
                )
            })
        })
        .collect()
}

#[derive(Debug)]
pub struct OutputError {
    /// Short class for the `kind` metric label: `io`, `connect`, `tls`, `http`, ...
    pub kind: &'static str,
    pub message: String,
}

impl OutputError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> OutputError {
        OutputError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[async_trait]
pub trait Output: Send + Sync {
    /// Delivers the records of `batch` that `todo` lists. Ok only once the destination has all
    /// of them (or they are in the dead-letter file). On an error, `todo` is narrowed to what
    /// is still owed: the worker keeps it and the retry sends only that. An output that cannot
    /// tell leaves it as it is (the whole rest is sent again).
    async fn send(&self, batch: &Batch, todo: &mut Todo) -> Result<(), OutputError>;
    /// Connects (and authenticates) without sending records: for `test-output`.
    async fn check(&self) -> Result<String, OutputError>;
    /// How many batches may be in `send` at once (1 keeps the order of the stream).
    fn concurrency(&self) -> usize {
        1
    }
}

/// The output a block describes; an error (e.g. a TLS file gone since the config was checked)
/// names what is wrong.
pub fn build(cfg: &OutputConfig, data_dir: &std::path::Path) -> Result<Arc<dyn Output>, String> {
    Ok(match &cfg.kind {
        OutputKind::Console(_) => Arc::new(console::Console::new()),
        OutputKind::File(c) => Arc::new(file::FileOutput::new(c.path.clone())),
        OutputKind::Logstash(c) => Arc::new(logstash::Logstash::new(c)?),
        OutputKind::Cloudwatch(c) => Arc::new(cloudwatch::Cloudwatch::new(&cfg.name, c, data_dir)?),
        OutputKind::Elasticsearch(c) => {
            Arc::new(elasticsearch::Elasticsearch::new(&cfg.name, c, data_dir)?)
        }
    })
}
