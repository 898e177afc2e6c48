//! The pipeline between inputs and outputs: chunks of events from the inputs are grouped into
//! batches (by size and time), registered with the ack ledger, and handed to every output over
//! bounded channels. A full output channel makes this task wait, which fills the input channel,
//! which makes the inputs stop reading: memory stays bounded by configuration.

pub mod batch;
pub mod ledger;

use crate::enrich::docker::DockerEnricher;
use crate::event::{Event, SourceId};
use crate::settings::PipelineConfig;
use batch::Batch;
use ledger::Ledger;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::time::{sleep_until, Instant};

pub async fn run(
    mut input: Receiver<Vec<Event>>,
    outputs: Vec<Sender<Arc<Batch>>>,
    ledger: Arc<Ledger>,
    cfg: PipelineConfig,
    docker: Option<Arc<DockerEnricher>>,
) {
    let max = cfg.batch_max_events;
    let mut events: Vec<Event> = Vec::with_capacity(max);
    let mut offsets: HashMap<SourceId, u64> = HashMap::new();
    let mut deadline: Option<Instant> = None;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            chunk = input.recv() => {
                let Some(mut chunk) = chunk else { break };
                if let Some(d) = &docker {
                    d.enrich(&mut chunk).await;
                }
                if crate::fault::active() {
                    for ev in &chunk {
                        if let Some(m) = ev.get("message").and_then(|m| m.as_str()) {
                            crate::fault::task_data("pipeline", m.as_bytes());
                        }
                    }
                }
                let mut skipped = 0;
                for ev in chunk {
                    if let Some(p) = ev.position {
                        let o = offsets.entry(p.source).or_insert(0);
                        *o = (*o).max(p.end);
                    }
                    if ev.ack_only {
                        skipped += 1;
                        continue;
                    }
                    events.push(ev);
                    if events.len() >= max {
                        seq += 1;
                        if !emit(seq, &mut events, &mut offsets, &outputs, &ledger, max).await {
                            return;
                        }
                        deadline = None;
                    }
                }
                if skipped > 0 {
                    crate::metrics::metrics().events_dropped.with_label_values(&["filtered"]).inc_by(skipped);
                }
                if (!events.is_empty() || !offsets.is_empty()) && deadline.is_none() {
                    deadline = Some(Instant::now() + cfg.batch_max_wait.0);
                }
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                seq += 1;
                if !emit(seq, &mut events, &mut offsets, &outputs, &ledger, max).await {
                    return;
                }
                deadline = None;
            }
        }
    }
    if !events.is_empty() || !offsets.is_empty() {
        seq += 1;
        emit(seq, &mut events, &mut offsets, &outputs, &ledger, max).await;
    }
    tracing::debug!(batches = seq, "pipeline drained");
}

/// Registers and hands out one batch; false when an output's worker is gone (its channel
/// closed). The batch then stays unacknowledged (its offsets are never checkpointed) and the
/// pipeline ends, which the supervisor reports: a dead output never stalls the agent silently.
async fn emit(
    seq: u64,
    events: &mut Vec<Event>,
    offsets: &mut HashMap<SourceId, u64>,
    outputs: &[Sender<Arc<Batch>>],
    ledger: &Ledger,
    max: usize,
) -> bool {
    let events = std::mem::replace(events, Vec::with_capacity(max));
    if events.is_empty() {
        // Only acknowledgements (filtered lines): nothing for the outputs to write; the ledger
        // applies them in order once every earlier batch is done.
        ledger.register(seq, offsets.drain().collect(), 0);
        return true;
    }
    ledger.register(seq, offsets.drain().collect(), outputs.len());
    let batch = Arc::new(Batch::new(seq, events));
    for (i, out) in outputs.iter().enumerate() {
        if out.send(batch.clone()).await.is_err() {
            tracing::error!(
                output = i,
                "an output worker is gone; batch {seq} cannot be delivered"
            );
            return false;
        }
    }
    true
}
