//! Outputs: one module per destination, all with the same shape. `send(batch)` returns only when
//! the destination has durably accepted the whole batch, or with an error; the worker here retries
//! errors with capped exponential backoff and jitter (forever), keeps metrics and health, and tells
//! the ack ledger when a batch is done.

pub mod cloudwatch;
pub mod console;
pub mod dead_letter;
pub mod elasticsearch;
pub mod file;
pub mod hosts;
pub mod logstash;
pub mod retry;

use crate::config::{BackoffConfig, OutputConfig, OutputKind};
use crate::health::Health;
use crate::metrics::metrics;
use crate::pipeline::batch::Batch;
use crate::pipeline::ledger::Ledger;
use async_trait::async_trait;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::fmt;
use std::sync::Arc;
use tokio::sync::mpsc::Receiver;

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
    /// Delivers the whole batch; Ok only once the destination has it.
    async fn send(&self, batch: &Batch) -> Result<(), OutputError>;
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

/// Sends every batch from `rx` until the channel closes, up to `output.concurrency()` at once
/// (the ledger puts their acknowledgements back in order).
pub async fn run_worker(
    name: String,
    output: Arc<dyn Output>,
    mut rx: Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
    health: Arc<Health>,
    backoff: BackoffConfig,
) {
    health.output_ok(&name);
    let limit = output.concurrency().max(1);
    let mut running = FuturesUnordered::new();
    loop {
        tokio::select! {
            Some(()) = running.next(), if !running.is_empty() => {}
            next = rx.recv(), if running.len() < limit => match next {
                Some(batch) => running.push(deliver(&name, &*output, batch, &ledger, &health, backoff)),
                None => break,
            },
        }
    }
    while running.next().await.is_some() {}
}

/// Sends one batch until it is delivered, retrying with backoff, then acknowledges it.
async fn deliver(
    name: &str,
    output: &dyn Output,
    batch: Arc<Batch>,
    ledger: &Ledger,
    health: &Health,
    backoff: BackoffConfig,
) {
    if crate::fault::active() {
        for ev in &batch.events {
            if let Some(m) = ev.get("message").and_then(|m| m.as_str()) {
                crate::fault::task_data(&format!("output {name}"), m.as_bytes());
            }
        }
    }
    let mut delays = retry::delays(backoff);
    loop {
        match output.send(&batch).await {
            Ok(()) => {
                health.output_ok(name);
                break;
            }
            Err(e) => {
                metrics()
                    .output_errors
                    .with_label_values(&[name, e.kind])
                    .inc();
                health.output_failed(name, &e.message);
                let wait = delays.next().unwrap_or(backoff.max.0);
                tracing::warn!(output = %name, error = %e, retry_in = ?wait, "output failed; will retry");
                tokio::time::sleep(wait).await;
            }
        }
    }
    metrics()
        .events_sent
        .with_label_values(&[name])
        .inc_by(batch.events.len() as u64);
    ledger.ack(batch.seq);
}
