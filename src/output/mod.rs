//! Outputs: one module per destination, all with the same shape. `send(batch)` returns only when
//! the destination has durably accepted the whole batch, or with an error; the worker here retries
//! errors with capped exponential backoff and jitter (forever), keeps metrics and health, and tells
//! the ack ledger when a batch is done.

pub mod console;
pub mod file;
pub mod retry;

use crate::config::{BackoffConfig, OutputConfig, OutputKind};
use crate::health::Health;
use crate::metrics::metrics;
use crate::pipeline::batch::Batch;
use crate::pipeline::ledger::Ledger;
use async_trait::async_trait;
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
pub trait Output: Send {
    /// Delivers the whole batch; Ok only once the destination has it.
    async fn send(&mut self, batch: &Batch) -> Result<(), OutputError>;
    /// Connects (and authenticates) without sending records: for `test-output`.
    async fn check(&mut self) -> Result<String, OutputError>;
}

pub fn build(cfg: &OutputConfig) -> Box<dyn Output> {
    match &cfg.kind {
        OutputKind::Console(_) => Box::new(console::Console::new()),
        OutputKind::File(c) => Box::new(file::FileOutput::new(c.path.clone())),
    }
}

/// Sends every batch from `rx` until the channel closes.
pub async fn run_worker(
    name: String,
    mut output: Box<dyn Output>,
    mut rx: Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
    health: Arc<Health>,
    backoff: BackoffConfig,
) {
    let sent = metrics().events_sent.with_label_values(&[&name]);
    health.output_ok(&name);
    while let Some(batch) = rx.recv().await {
        let mut delays = retry::delays(backoff);
        loop {
            match output.send(&batch).await {
                Ok(()) => {
                    health.output_ok(&name);
                    break;
                }
                Err(e) => {
                    metrics()
                        .output_errors
                        .with_label_values(&[&name, e.kind])
                        .inc();
                    health.output_failed(&name, &e.message);
                    let wait = delays.next().unwrap_or(backoff.max.0);
                    tracing::warn!(output = %name, error = %e, retry_in = ?wait, "output failed; will retry");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        sent.inc_by(batch.events.len() as u64);
        ledger.ack(batch.seq);
    }
}
