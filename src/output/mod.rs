//! Outputs: one folder per destination, all with the same shape, each owning its options and
//! checks (`config.rs`). `send(batch)` returns only when the destination has durably accepted the
//! whole batch, or with an error; the worker here retries errors with capped exponential backoff
//! and jitter (forever), keeps metrics and health, and tells the ack ledger when a batch is done.
//!
//! `TYPES` is the registry: the one list of output types and how each is configured. Adding one
//! is a folder whose `config.rs` has the options struct (implementing `OutputSpec`: backoff,
//! timeout, TLS, `build`) and a `configure`, its `pub mod` line and its line in `TYPES`.

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

use crate::config::units::Dur;
use crate::config::{by_type, Configure, Problems, Value};
use crate::pipeline::batch::Batch;
use crate::tls::{TlsConfig, TlsVerify};
use async_trait::async_trait;
use retry::BackoffConfig;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use progress::Todo;
pub use worker::run_worker;

/// The output types, by the `type:` that selects them.
const TYPES: &[(&str, Configure<Arc<dyn OutputSpec>>)] = &[
    ("console", console::config::configure),
    ("file", file::config::configure),
    ("logstash", logstash::config::configure),
    ("elasticsearch", elasticsearch::config::configure),
    ("cloudwatch", cloudwatch::config::configure),
];

/// The output types later releases add: named so the error says "not supported yet".
const PLANNED: &[&str] = &[];

/// A configured output, as its `config.rs` typed and checked it: what the worker and the
/// checks need to know of it, and how to build it. Each output type's options struct
/// implements it; the registry's `configure` returns one.
pub trait OutputSpec: fmt::Debug + Send + Sync + std::any::Any {
    /// Retry timing after a failure.
    fn backoff(&self) -> BackoffConfig;
    /// A network output's request timeout (checked to be more than zero).
    fn timeout(&self) -> Option<Dur> {
        None
    }
    /// The TLS block of a network output, with its hosts (for the `verify: none` warning).
    fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        None
    }
    /// The output itself; an error (e.g. a TLS file gone since the config was checked) names
    /// what is wrong.
    fn build(&self, name: &str, data_dir: &Path) -> Result<Arc<dyn Output>, String>;
}

#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// Label in metrics, health and logs: `name`, or the type (with its index when repeated).
    pub name: String,
    /// The `type:` that selected it.
    pub type_name: &'static str,
    pub spec: Arc<dyn OutputSpec>,
}

impl OutputConfig {
    pub fn backoff(&self) -> BackoffConfig {
        self.spec.backoff()
    }

    /// The TLS block of a network output, with its hosts.
    pub fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        self.spec.tls()
    }

    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The options as the type's own struct, if it is that type (for tests and tools).
    pub fn options<T: OutputSpec>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.spec;
        any.downcast_ref::<T>()
    }
}

/// Types and checks `outputs:`: each element by its type's `configure`, then the names (which
/// must be unique) and what every output has (`backoff`, a network output's `timeout`).
pub fn configure(raw: &[Value], p: &mut Problems) -> Vec<OutputConfig> {
    let out: Vec<_> = by_type(raw, "outputs", "output", TYPES, PLANNED, p)
        .into_iter()
        .map(|(name, t, c)| (name, t, (t, c)))
        .collect();
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
        .map(|(name, (type_name, spec))| OutputConfig {
            name,
            type_name,
            spec,
        })
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
        if let Some(t) = o.spec.timeout() {
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
    async fn send(&self, batch: &Arc<Batch>, todo: &mut Todo) -> Result<(), OutputError>;
    /// Connects (and authenticates) without sending records: for `test-output`.
    async fn check(&self) -> Result<String, OutputError>;
    /// How many batches may be in `send` at once (1 keeps the order of the stream).
    fn concurrency(&self) -> usize {
        1
    }
}

/// The output a block describes; an error (e.g. a TLS file gone since the config was checked)
/// names what is wrong.
pub fn build(cfg: &OutputConfig, data_dir: &Path) -> Result<Arc<dyn Output>, String> {
    cfg.spec.build(&cfg.name, data_dir)
}
