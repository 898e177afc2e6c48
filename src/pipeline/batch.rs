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

    /// `ndjson`, if an output built it already.
    pub fn ndjson_built(&self) -> Option<&Bytes> {
        self.ndjson.get()
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
