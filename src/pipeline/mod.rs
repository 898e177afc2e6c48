//! The pipeline between inputs and outputs: chunks of events from the inputs are grouped into
//! batches (by events, bytes and time), registered with the ack ledger, and handed to every output over
//! bounded channels. A full output channel makes this task wait, which fills the input channel,
//! which makes the inputs stop reading: memory stays bounded by configuration.

pub mod batch;
pub mod ledger;

use crate::enrich::docker::DockerEnricher;
use crate::event::{Event, Position, SourceId};
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
    let max_bytes = usize::try_from(cfg.batch_max_bytes.0).unwrap_or(usize::MAX);
    let mut events: Vec<Event> = Vec::new();
    let mut bytes = 0usize;
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
                // The common case: a chunk that can start a batch becomes that batch's vector as
                // it is, its records not moved one by one into another (the tailer's chunks hold
                // up to 512 records, half a default batch: the next chunk's are appended).
                if events.is_empty() {
                    if let Some(chunk_bytes) = whole_batch(&chunk, max, max_bytes) {
                        note_offsets(&mut offsets, &chunk);
                        events = chunk;
                        bytes = chunk_bytes;
                        if events.len() >= max {
                            bytes = 0;
                            seq += 1;
                            if !emit(seq, &mut events, &mut offsets, &outputs, &ledger).await {
                                return;
                            }
                            deadline = None;
                        } else if deadline.is_none() {
                            deadline = Some(Instant::now() + cfg.batch_max_wait.0);
                        }
                        continue;
                    }
                }
                let mut skipped = 0;
                let mut ends = Ends::default();
                for ev in chunk {
                    if let Some(p) = ev.position {
                        ends.see(&mut offsets, p);
                    }
                    if ev.ack_only {
                        skipped += 1;
                        continue;
                    }
                    bytes += ev.size_hint();
                    if events.capacity() == 0 {
                        events.reserve(max);
                    }
                    events.push(ev);
                    if events.len() >= max || bytes >= max_bytes {
                        ends.flush(&mut offsets);
                        bytes = 0;
                        seq += 1;
                        if !emit(seq, &mut events, &mut offsets, &outputs, &ledger).await {
                            return;
                        }
                        deadline = None;
                    }
                }
                ends.flush(&mut offsets);
                if skipped > 0 {
                    crate::metrics::metrics().events_dropped.with_label_values(&["filtered"]).inc_by(skipped);
                }
                if (!events.is_empty() || !offsets.is_empty()) && deadline.is_none() {
                    deadline = Some(Instant::now() + cfg.batch_max_wait.0);
                }
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                bytes = 0;
                seq += 1;
                if !emit(seq, &mut events, &mut offsets, &outputs, &ledger).await {
                    return;
                }
                deadline = None;
            }
        }
    }
    if !events.is_empty() || !offsets.is_empty() {
        seq += 1;
        emit(seq, &mut events, &mut offsets, &outputs, &ledger).await;
    }
    tracing::debug!(batches = seq, "pipeline drained");
}

/// The bytes of `chunk`'s records when it can be a batch (or a batch's beginning) as it is: no
/// more records than `max`, fewer bytes than `max_bytes`, and none only to acknowledge.
fn whole_batch(chunk: &[Event], max: usize, max_bytes: usize) -> Option<usize> {
    if chunk.is_empty() || chunk.len() > max {
        return None;
    }
    let mut bytes = 0usize;
    for ev in chunk {
        if ev.ack_only {
            return None;
        }
        bytes += ev.size_hint();
    }
    (bytes < max_bytes).then_some(bytes)
}

/// Notes the end of every source in `chunk` (records of one source are in order).
fn note_offsets(offsets: &mut HashMap<SourceId, u64>, chunk: &[Event]) {
    let mut ends = Ends::default();
    for p in chunk.iter().filter_map(|ev| ev.position) {
        ends.see(offsets, p);
    }
    ends.flush(offsets);
}

/// The acknowledged end of the run of records of one source being read: a chunk's records
/// mostly come from one file, so its end is kept aside and put in the map when the source
/// changes (or `flush`), not hashed per record.
#[derive(Default)]
struct Ends {
    last: Option<(SourceId, u64)>,
}

impl Ends {
    fn see(&mut self, offsets: &mut HashMap<SourceId, u64>, p: Position) {
        match &mut self.last {
            Some((source, end)) if *source == p.source => *end = (*end).max(p.end),
            _ => {
                if let Some((source, end)) = self.last.replace((p.source, p.end)) {
                    note_offset(offsets, source, end);
                }
            }
        }
    }

    /// Puts the run's end in the map (before a batch is handed out, and at a chunk's end).
    fn flush(&mut self, offsets: &mut HashMap<SourceId, u64>) {
        if let Some((source, end)) = self.last.take() {
            note_offset(offsets, source, end);
        }
    }
}

/// Records that `source` may be acknowledged up to `end` once the batch being built is done.
fn note_offset(offsets: &mut HashMap<SourceId, u64>, source: SourceId, end: u64) {
    let o = offsets.entry(source).or_insert(0);
    *o = (*o).max(end);
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
) -> bool {
    let events = std::mem::take(events);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::Size;
    use crate::event::{Fields, Position, Shared};

    fn event(n: u64, message_len: usize) -> Event {
        Event::line(
            "x".repeat(message_len),
            n,
            "2026-12-03T10:00:00Z".into(),
            Arc::new(Shared::new(Fields::new())),
            Some(Position {
                source: SourceId(1),
                end: n + 1,
                origin: 0,
                start: n,
            }),
        )
    }

    /// Runs the pipeline over `chunks` into one output; the batches it handed out, in order.
    async fn batches_of(cfg: PipelineConfig, chunks: Vec<Vec<Event>>) -> Vec<Arc<Batch>> {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::tail::checkpoint::CheckpointStore::open(dir.path()).unwrap());
        let ledger = Arc::new(Ledger::new(store));
        let (in_tx, in_rx) = tokio::sync::mpsc::channel(chunks.len().max(1));
        let (out_tx, mut out_rx) = tokio::sync::mpsc::channel(1000);
        let task = tokio::spawn(run(in_rx, vec![out_tx], ledger, cfg, None));
        for c in chunks {
            in_tx.send(c).await.unwrap();
        }
        drop(in_tx);
        task.await.unwrap();
        let mut batches = Vec::new();
        while let Ok(b) = out_rx.try_recv() {
            batches.push(b);
        }
        batches
    }

    /// A chunk of a batch's worth becomes that batch without its records being moved (the
    /// same vector); chunks with records only to acknowledge, or after a partial batch, are
    /// split and joined record by record. Every shipped record once, in order, either way.
    #[tokio::test]
    async fn whole_chunks_become_batches_as_they_are() {
        let cfg = PipelineConfig {
            batch_max_events: 4,
            ..PipelineConfig::default()
        };
        let mut n = 0u64;
        let mut chunk = |len: u64, ack_only_at: Option<u64>| -> Vec<Event> {
            let c = (0..len)
                .map(|i| {
                    let mut e = event(n + i, 10);
                    if Some(i) == ack_only_at {
                        e = Event::ack_only(e.position.unwrap());
                    }
                    e
                })
                .collect();
            n += len;
            c
        };
        let first = chunk(4, None);
        let first_ptr = first.as_ptr();
        // 4 | 3 with an ack-only one | 2 + 2 of the next | 4 (after a partial batch: split)
        let chunks = vec![
            first,
            chunk(3, Some(1)),
            chunk(2, None),
            chunk(4, None),
            chunk(4, None),
        ];
        let batches = batches_of(cfg, chunks).await;
        assert_eq!(
            batches[0].events.as_ptr(),
            first_ptr,
            "the chunk was copied"
        );
        let starts: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.events.iter().filter_map(|e| e.position.map(|p| p.start)))
            .collect();
        let expected: Vec<u64> = (0..17).filter(|&i| i != 5).collect();
        assert_eq!(starts, expected);
        assert!(batches.iter().all(|b| b.events.len() <= 4));
    }

    /// Batches close at `batch_max_bytes` as well as `batch_max_events`: long lines make small
    /// batches (a batch's bytes stay under the bound plus one record), short ones full batches.
    #[tokio::test]
    async fn batches_are_bounded_in_bytes_and_in_events() {
        let cfg = PipelineConfig {
            batch_max_events: 100,
            batch_max_bytes: Size(64 << 10),
            ..PipelineConfig::default()
        };
        // 50 lines of 10 KiB, then 250 of 10 bytes, in chunks of 7 (batches cross chunks).
        let sizes: Vec<usize> = (0..300)
            .map(|i| if i < 50 { 10 << 10 } else { 10 })
            .collect();
        let chunks = sizes
            .chunks(7)
            .enumerate()
            .map(|(c, chunk)| {
                chunk
                    .iter()
                    .enumerate()
                    .map(|(i, &len)| event((c * 7 + i) as u64, len))
                    .collect()
            })
            .collect();
        let batches = batches_of(cfg, chunks).await;
        let total: usize = batches.iter().map(|b| b.events.len()).sum();
        assert_eq!(total, 300, "every event in exactly one batch");
        for b in &batches {
            let bytes: usize = b.events.iter().map(Event::size_hint).sum();
            let last = b.events.last().map_or(0, Event::size_hint);
            assert!(
                bytes - last < 64 << 10,
                "batch {} holds {bytes} bytes",
                b.seq
            );
            assert!(b.events.len() <= 100);
        }
        // The long lines went out about six to a batch, the short ones a hundred at a time.
        let long_batches = batches
            .iter()
            .filter(|b| b.events.iter().any(|e| e.size_hint() > 10 << 10))
            .count();
        assert!(
            long_batches >= 8,
            "{long_batches} batches for 50 long lines"
        );
        assert!(batches.iter().any(|b| b.events.len() == 100));
        // In order: positions increase across batches.
        let starts: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.events.iter().filter_map(|e| e.position.map(|p| p.start)))
            .collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
    }
}
