//! `Batch`: a run of events shared (behind an `Arc`) by every output. Each wire format is
//! serialized once per batch, however many outputs use it.

use crate::event::Event;
use bytes::Bytes;
use std::sync::OnceLock;

pub struct Batch {
    /// Increasing number: the ledger applies acknowledgements in this order.
    pub seq: u64,
    pub events: Vec<Event>,
    ndjson: OnceLock<Bytes>,
}

impl Batch {
    pub fn new(seq: u64, events: Vec<Event>) -> Batch {
        Batch {
            seq,
            events,
            ndjson: OnceLock::new(),
        }
    }

    /// Each record's JSON, in order (the lines of `ndjson`, without their `\n`).
    pub fn lines(&self) -> Vec<&[u8]> {
        self.ndjson()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// One JSON object per line, each ending in `\n`.
    pub fn ndjson(&self) -> &[u8] {
        self.ndjson_shared()
    }

    /// `ndjson` as a shared buffer (a writer thread may hold it beyond the borrow).
    pub fn ndjson_shared(&self) -> &Bytes {
        self.ndjson.get_or_init(|| Bytes::from(self.write_ndjson()))
    }

    /// `ndjson` for a writer that lets go of it once written: the shared bytes when an output
    /// built them already, else bytes of its own, not kept in the batch. (The `file` output
    /// frees a batch's ~550 KB once written instead of once acknowledged, after its fsync and
    /// every other output: about 0.5 MiB of `docker-1m`'s peak.)
    pub fn ndjson_once(&self) -> Bytes {
        match self.ndjson.get() {
            Some(b) => b.clone(),
            None => Bytes::from(self.write_ndjson()),
        }
    }

    fn write_ndjson(&self) -> Vec<u8> {
        // About what a record takes beside its message (shared fields, keys, offsets).
        let size: usize = self.events.iter().map(Event::size_hint).sum();
        let mut out = Vec::with_capacity(size);
        for e in &self.events {
            e.write_json(&mut out);
            out.push(b'\n');
        }
        out
    }
}
