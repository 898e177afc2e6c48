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
    remaining: usize,
    offsets: Vec<(SourceId, u64)>,
    created: Instant,
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
                remaining: outputs,
                offsets,
                created: Instant::now(),
            },
        );
        if outputs == 0 {
            self.ack(seq);
        }
    }

    /// One output acknowledged batch `seq`.
    pub fn ack(&self, seq: u64) {
        let mut done = Vec::new();
        {
            let mut pending = self.lock();
            if let Some(p) = pending.get_mut(&seq) {
                p.remaining = p.remaining.saturating_sub(1);
            }
            while let Some(entry) = pending.first_entry() {
                if entry.get().remaining > 0 {
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
        ledger.ack(2);
        ledger.ack(2); // batch 2 fully acked, but batch 1 is not
        assert_eq!(store.offset(id), Some(0));
        ledger.ack(1);
        assert_eq!(store.offset(id), Some(0), "one output still owes batch 1");
        ledger.ack(1);
        assert_eq!(store.offset(id), Some(200));
        assert_eq!(ledger.in_flight(), 0);
    }
}
