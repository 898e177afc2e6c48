//! Reading a file, the part of the tailer that moves bytes: what is new in a file goes through
//! its `LineReader` (lines, `max_line_bytes` cuts) into its decoder, the decoded events into the
//! chunk, and full chunks to the pipeline (`flush_chunk`: the blocking send that is the
//! backpressure). Truncation found here is handed to `recovery.rs`.

use super::decoder::FileCtx;
use super::identity::Fingerprint;
use super::rotation::{holds_at, TAIL_BYTES};
use super::tailer::Tailer;
use super::tailer::{CHUNK_BYTES, CHUNK_EVENTS, FILE_BUDGET};
use crate::metrics::metrics;
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

impl Tailer {
    /// Reads what is new in file `i`; true when something was read.
    pub(super) fn poll(&mut self, i: usize) -> bool {
        let now = std::time::SystemTime::now();
        let meta = match self.files[i].file.metadata() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(file = %self.files[i].path.display(), error = %e, "cannot stat open file");
                return false;
            }
        };
        let size = meta.len();
        let mtime = (meta.mtime(), meta.mtime_nsec());
        {
            let t = &mut self.files[i];
            // Content checks cost reads: done when the file grew, or was written to without
            // growing (truncated and refilled to the same size while this thread was idle).
            let written = mtime != t.mtime;
            t.mtime = mtime;
            let t = &self.files[i];
            let replaced = (size > t.reader.read_pos() || written) && !t.unchanged();
            if size < t.reader.read_pos() || replaced {
                self.truncated(i);
                return true;
            }
        }
        let t = &mut self.files[i];
        if size == t.reader.read_pos() && t.reader.is_drained() {
            // Nothing new (the common case for idle files): no work at all.
            t.checked = now;
            t.at_eof = true;
            t.reader.release_memory();
            return false;
        }
        let read_time = crate::event::timestamp(chrono::Utc::now());
        let mut read = 0;
        let mut produced = false;
        let mut replaced = false;
        loop {
            // Hand out the complete lines already read, one chunk at a time.
            let t = &mut self.files[i];
            let ctx = FileCtx {
                source: t.id,
                origin: t.origin(),
                read_time: &read_time,
            };
            while self.chunk.len() < CHUNK_EVENTS && self.chunk_bytes < CHUNK_BYTES {
                let Some(line) = t.reader.next_line() else {
                    break;
                };
                produced = true;
                if crate::fault::active() {
                    crate::fault::task_data("input", line.bytes);
                }
                self.chunk_bytes += line.bytes.len();
                t.decoder.decode(&line, &ctx, &mut self.chunk);
            }
            if self.chunk.len() >= CHUNK_EVENTS || self.chunk_bytes >= CHUNK_BYTES {
                self.flush_chunk();
                if self.stopping() {
                    break;
                }
                continue;
            }
            let t = &mut self.files[i];
            if read >= FILE_BUDGET || t.reader.read_pos() >= size {
                break;
            }
            let n = match t.reader.fill(&t.file) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(file = %t.path.display(), error = %e, "read failed");
                    break;
                }
            };
            if n == 0 {
                break;
            }
            // Still the same content? A copytruncate plus new writes between the checks above and
            // this read would hand us the next generation's bytes at the old offsets.
            let end = t.reader.read_pos() - n as u64;
            if (t.fp.len > 0 && !t.fp.matches(&t.file).unwrap_or(true))
                || !holds_at(&t.file, &t.tail, end)
            {
                t.reader.unfill(n);
                replaced = true;
                break;
            }
            t.tail.clear();
            t.tail.extend_from_slice(t.reader.tail(TAIL_BYTES));
            if !t.fp.is_complete() {
                // Grow the fingerprint, but only from the content we are reading: if the bytes
                // just read are gone by now, the file changed and the next check will say so.
                if let Ok(fp) = Fingerprint::of(&t.file) {
                    if holds_at(&t.file, &t.tail, t.reader.read_pos()) {
                        t.fp = fp;
                    }
                }
            }
            read += n;
        }
        if replaced {
            self.truncated(i);
            return true;
        }
        let t = &mut self.files[i];
        t.checked = now;
        if read == 0 && !produced {
            t.at_eof = true;
            t.reader.release_memory();
            return false;
        }
        t.at_eof = false;
        t.last_data = Instant::now();
        if t.reader.read_pos() >= size {
            // Read to the end: a partial last line is not kept in memory until it completes
            // (only a short one; see `LineReader::release_memory`).
            t.reader.release_memory();
        }
        self.store
            .read_progress(t.id, t.fp, size, t.reader.consumed());
        true
    }

    pub(super) fn flush_chunk(&mut self) {
        if self.chunk.is_empty() || self.closed {
            return;
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_EVENTS));
        self.chunk_bytes = 0;
        let n = chunk.len() as u64;
        if self.tx.blocking_send(chunk).is_err() {
            self.closed = true;
            return;
        }
        metrics()
            .events_received
            .with_label_values(&[&self.settings.input])
            .inc_by(n);
    }
}
