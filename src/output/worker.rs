//! The worker of one output: takes batches from the pipeline, up to `Output::concurrency` at
//! once, sends each until it is delivered (capped exponential backoff with jitter, forever),
//! keeps the one record of what of a batch is still owed (`Todo`) across those attempts, keeps
//! metrics and health, and tells the ack ledger when a batch is done.

use super::retry::{self, BackoffConfig};
use super::{Output, Todo};
use crate::health::Health;
use crate::metrics::metrics;
use crate::pipeline::batch::Batch;
use crate::pipeline::ledger::Ledger;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use tokio::sync::mpsc::Receiver;

/// Sends every batch from `rx` until the channel closes, up to `output.concurrency()` at once
/// (the ledger puts their acknowledgements back in order). Each batch gets its turn, its place
/// in this output's stream, for outputs that keep the order while sending several at once.
pub async fn run_worker(
    index: usize,
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
    let mut turn = 0u64;
    loop {
        tokio::select! {
            Some(()) = running.next(), if !running.is_empty() => {}
            next = rx.recv(), if running.len() < limit => match next {
                Some(batch) => {
                    let todo = Todo::in_turn(batch.events.len(), turn);
                    turn += 1;
                    running.push(deliver(index, &name, &*output, batch, todo, &ledger, &health, backoff));
                }
                None => break,
            },
        }
    }
    while running.next().await.is_some() {}
}

/// Sends one batch until it is delivered, retrying with backoff, then acknowledges it.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    index: usize,
    name: &str,
    output: &dyn Output,
    batch: Arc<Batch>,
    mut todo: Todo,
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
        match output.send(&batch, &mut todo).await {
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
    ledger.ack(batch.seq, index);
}
