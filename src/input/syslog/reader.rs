//! The reader of a syslog input: one thread that reads the spool in order, turns each message
//! into a record (the decoder, with the input's processors) and sends them to the pipeline in
//! chunks; `blocking_send` waits when the outputs are behind, and the spool is the buffer. It
//! also carries acknowledgements back: the acknowledged offset (the checkpoint of the spool's
//! source) frees whole segments, which gives room to the listeners waiting on a full spool.

use super::spool::{Cursor, Spool, SpoolReads};
use crate::event::{Event, SourceId};
use crate::metrics::metrics;
use crate::tail::checkpoint::CheckpointStore;
use crate::tail::reader::Line;
use crate::tail::tailer::{FileCtx, LineDecoder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::sync::Notify;

/// Records per chunk sent to the pipeline, and payload bytes per chunk.
const CHUNK_EVENTS: usize = 1024;
const CHUNK_BYTES: usize = 1 << 20;
/// Longest wait for the doorbell when the spool is read to its end (held multiline groups are
/// flushed and acknowledgements looked at this often).
const IDLE: Duration = Duration::from_millis(100);

pub struct Reader {
    pub input: String,
    pub spool: Arc<Spool>,
    pub cursor: Cursor,
    pub store: Arc<CheckpointStore>,
    pub source: SourceId,
    /// The spool's identity for document ids (`Position::origin`).
    pub origin: u64,
    pub decoder: Box<dyn LineDecoder>,
    pub tx: Sender<Vec<Event>>,
    pub stop: Arc<AtomicBool>,
    pub doorbell: Receiver<()>,
    pub room: Arc<Notify>,
    pub gauge: Arc<super::intake::SpoolGauge>,
}

impl Reader {
    pub fn run(mut self) {
        let mut reads = SpoolReads::default();
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            self.acknowledged();
            reads.clear();
            let n = if stopping {
                0
            } else {
                match self
                    .cursor
                    .next(&self.spool, CHUNK_EVENTS, CHUNK_BYTES, &mut reads)
                {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(input = %self.input, error = %e, "syslog spool: cannot read; trying again");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            };
            let mut chunk = Vec::with_capacity(n);
            let read_time = crate::event::timestamp(chrono::Utc::now());
            let ctx = FileCtx {
                source: self.source,
                origin: self.origin,
                read_time: &read_time,
            };
            for (start, end, payload) in reads.iter() {
                let line = Line {
                    offset: start,
                    end,
                    bytes: payload,
                    truncated: false,
                };
                self.decoder.decode(&line, &ctx, &mut chunk);
            }
            if n == 0 {
                self.decoder.flush(stopping, &mut chunk);
            }
            if !chunk.is_empty() {
                let count = chunk.len() as u64;
                if self.tx.blocking_send(chunk).is_err() {
                    break;
                }
                metrics()
                    .events_received
                    .with_label_values(&[&self.input])
                    .inc_by(count);
            }
            if stopping {
                break;
            }
            if n == 0 {
                let _ = self.doorbell.recv_timeout(IDLE);
            }
        }
        self.gauge.set(0);
    }

    /// Frees what every output acknowledged, and reports the spool's size.
    fn acknowledged(&mut self) {
        if let Some(acked) = self.store.acked(self.source) {
            let before = self.spool.bytes();
            self.spool.ack(acked);
            if self.spool.bytes() < before {
                self.room.notify_waiters();
            }
        }
        self.gauge.set(self.spool.bytes());
        self.store.update(self.source, None, None, self.spool.end());
    }
}
