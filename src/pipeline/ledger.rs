//! The ack ledger: a source offset becomes a checkpoint only when every output has acknowledged
//! every batch up to the one that carried it. Outputs may acknowledge out of order (several
//! batches in flight, several hosts); the ledger applies completed batches strictly in batch
//! order, so a checkpoint never jumps over an unacknowledged record.

use crate::event::SourceId;
use crate::metrics::metrics;
use crate::tail::checkpoint::CheckpointStore;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Pending {
    /// Per output (by index): still owes this batch.
    owed: Vec<bool>,
    offsets: Vec<(SourceId, u64)>,
    created: Instant,
}

impl Pending {
    fn remaining(&self) -> usize {
        self.owed.iter().filter(|o| **o).count()
    }
}

/// What holds a source's checkpoint back (for `/status`).
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The oldest batch not acknowledged by every output that carries this source: its age.
    pub oldest: Instant,
    /// The outputs (by index) that still owe that batch.
    pub by: Vec<usize>,
}

pub struct Ledger {
    store: Arc<CheckpointStore>,
    pending: Mutex<BTreeMap<u64, Pending>>,
}

impl Ledger {
    pub fn new(store: Arc<CheckpointStore>) -> Ledger {
        Ledger {
            store,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records batch `seq`, to be acknowledged by `outputs` outputs, carrying the highest end
    /// offset of each source in it.
    pub fn register(&self, seq: u64, offsets: Vec<(SourceId, u64)>, outputs: usize) {
        self.lock().insert(
            seq,
            Pending {
                owed: vec![true; outputs],
                offsets,
                created: Instant::now(),
            },
        );
        if outputs == 0 {
            self.apply_done();
        }
    }

    /// Output `output` (its index) acknowledged batch `seq`.
    pub fn ack(&self, seq: u64, output: usize) {
        if let Some(p) = self.lock().get_mut(&seq) {
            if let Some(o) = p.owed.get_mut(output) {
                *o = false;
            }
        }
        self.apply_done();
    }

    /// Applies the completed batches at the head, in order.
    fn apply_done(&self) {
        let mut done = Vec::new();
        {
            let mut pending = self.lock();
            while let Some(entry) = pending.first_entry() {
                if entry.get().remaining() > 0 {
                    break;
                }
                done.push(entry.remove());
            }
        }
        for p in done {
            metrics()
                .batch_latency
                .observe(p.created.elapsed().as_secs_f64());
            for (source, offset) in p.offsets {
                self.store.ack(source, offset);
            }
        }
    }

    /// Batches not yet acknowledged by every output.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    /// Per output (index < `outputs`): the batches it still owes.
    pub fn owed_by(&self, outputs: usize) -> Vec<usize> {
        let mut n = vec![0; outputs];
        for p in self.lock().values() {
            for (i, owed) in p.owed.iter().enumerate() {
                if *owed {
                    if let Some(c) = n.get_mut(i) {
                        *c += 1;
                    }
                }
            }
        }
        n
    }

    /// Per source with a batch not yet acknowledged by every output: the oldest such batch's
    /// time and the outputs that owe it.
    pub fn held(&self) -> std::collections::HashMap<SourceId, Held> {
        let mut out = std::collections::HashMap::new();
        for p in self.lock().values() {
            for (source, _) in &p.offsets {
                out.entry(*source).or_insert_with(|| Held {
                    oldest: p.created,
                    by: p
                        .owed
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| **o)
                        .map(|(i, _)| i)
                        .collect(),
                });
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tail::checkpoint::Entry;
    use std::path::PathBuf;

    #[test]
    fn applies_only_when_all_outputs_acked_everything_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::open(dir.path()).unwrap());
        let id = store.register(Entry {
            input: "file".into(),
            path: PathBuf::from("/x"),
            dev: 1,
            ino: 1,
            birth: None,
            fp_len: 0,
            fp_hash: 0,
            offset: 0,
            generation: 0,
            tail_hash: None,
            updated: 0,
        });
        let ledger = Ledger::new(store.clone());
        ledger.register(1, vec![(id, 100)], 2);
        ledger.register(2, vec![(id, 200)], 2);
        ledger.ack(2, 0);
        ledger.ack(2, 1); // batch 2 fully acked, but batch 1 is not
        assert_eq!(store.offset(id), Some(0));
        assert_eq!(ledger.held()[&id].by, vec![0, 1]);
        ledger.ack(1, 1);
        ledger.ack(1, 1); // the same output twice does not count for the other
        assert_eq!(store.offset(id), Some(0), "one output still owes batch 1");
        assert_eq!(ledger.held()[&id].by, vec![0], "output 0 holds it back");
        assert_eq!(ledger.owed_by(2), vec![1, 0]);
        ledger.ack(1, 0);
        assert_eq!(store.offset(id), Some(200));
        assert_eq!(ledger.in_flight(), 0);
        assert!(ledger.held().is_empty());
    }
}
