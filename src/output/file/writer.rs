//! The file output's writer thread: takes batches in any order, serializes and writes them in
//! their turn through one reused buffer of `WRITE_BYTES`, and fsyncs once per pass for every
//! batch that pass wrote (group commit); then answers each batch. A failed write or fsync
//! answers every batch of that pass with the error and rewinds to the pass's first turn: those
//! batches are retried (the file is reopened, its torn last line cut) and written again in
//! order.

use super::cut_torn_line;
use crate::output::OutputError;
use crate::pipeline::batch::Batch;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

/// One batch to write.
pub struct Job {
    /// Its place in the output's stream (`Todo::turn`).
    pub turn: u64,
    /// Its records (serialized here, as they are written).
    pub batch: Arc<Batch>,
    /// Ok once written and fsynced.
    pub done: tokio::sync::oneshot::Sender<Result<(), OutputError>>,
}

/// Serialized bytes written at a time. Serializing each batch whole before writing it held
/// two batches' NDJSON (2 x ~550 KB on `docker-1m`) for the moment between the serializing and
/// the write; records go through this one buffer instead. On ext4 each `write` has a cost of its
/// own: the writer thread spent 31-33 clock ticks per million lines at 128 KiB, 28-30 at 256
/// KiB, 26-27 at 512 KiB (README, Performance); 256 KiB costs what the whole-batch writes did.
pub(super) const WRITE_BYTES: usize = 256 << 10;
/// Room past `WRITE_BYTES` for the record that crosses it (a longer one grows the buffer once).
const SLACK: usize = 64 << 10;

/// Starts a writer thread for `path` that writes from turn `next` on (and keeps it there).
pub fn spawn(path: PathBuf, next: Arc<AtomicU64>) -> std::io::Result<Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("output-file".into())
        .spawn(move || run(&path, &next, &rx))?;
    Ok(tx)
}

/// Opens (creating it and its directories) the file for appending, its torn last line cut.
pub fn open(path: &Path) -> Result<std::fs::File, OutputError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            OutputError::new(
                "io",
                format!("cannot create directory {}: {e}", dir.display()),
            )
        })?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        // Write-only places (a FIFO, a device) have nothing to repair.
        .or_else(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        })
        .map_err(|e| OutputError::new("io", format!("cannot open {}: {e}", path.display())))?;
    match cut_torn_line(&f) {
        Ok(Some(cut)) => tracing::warn!(file = %path.display(), bytes = cut,
            "the file output's last line was cut short (a crash or a failed write); removed, it is sent again"),
        Ok(None) => {}
        Err(e) => {
            tracing::debug!(file = %path.display(), error = %e, "cannot check the file output's last line")
        }
    }
    Ok(f)
}

/// The thread: until every sender is gone, waits for jobs, writes what is in turn, fsyncs.
fn run(path: &Path, next: &AtomicU64, rx: &Receiver<Job>) {
    let mut file: Option<std::fs::File> = None;
    let mut buf = Vec::with_capacity(WRITE_BYTES + SLACK);
    let mut waiting: BTreeMap<u64, Job> = BTreeMap::new();
    while let Ok(job) = rx.recv() {
        waiting.insert(job.turn, job);
        // Everything that queued while the last pass wrote and fsynced goes in this pass.
        while let Ok(job) = rx.try_recv() {
            waiting.insert(job.turn, job);
        }
        let first = next.load(Ordering::Relaxed);
        // A turn before `first` was written and fsynced already (its answer was lost).
        while let Some(entry) = waiting.first_entry().filter(|e| *e.key() < first) {
            let _ = entry.remove().done.send(Ok(()));
        }
        let mut pass = Vec::new();
        while let Some(job) = waiting.remove(&(first + pass.len() as u64)) {
            pass.push(job);
        }
        if pass.is_empty() {
            continue; // an earlier turn is not here yet
        }
        match write_pass(path, &mut file, &pass, &mut buf) {
            Ok(()) => {
                next.store(first + pass.len() as u64, Ordering::Relaxed);
                for job in pass {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) => {
                file = None;
                for job in pass {
                    let _ = job
                        .done
                        .send(Err(OutputError::new(e.kind, e.message.clone())));
                }
            }
        }
    }
}

/// Writes the pass's batches in order, serialized through `buf` (NDJSON another output built
/// for a batch already is written as it is), and fsyncs once.
fn write_pass(
    path: &Path,
    file: &mut Option<std::fs::File>,
    pass: &[Job],
    buf: &mut Vec<u8>,
) -> Result<(), OutputError> {
    let f = match file {
        Some(f) => f,
        None => file.insert(open(path)?),
    };
    let io = |e: std::io::Error| OutputError::new("io", format!("writing {}: {e}", path.display()));
    buf.clear();
    for job in pass {
        if let Some(built) = job.batch.ndjson_built() {
            f.write_all(buf).map_err(io)?;
            buf.clear();
            f.write_all(built).map_err(io)?;
            continue;
        }
        for e in &job.batch.events {
            e.write_json(buf);
            buf.push(b'\n');
            if buf.len() >= WRITE_BYTES {
                f.write_all(buf).map_err(io)?;
                buf.clear();
            }
        }
    }
    f.write_all(buf).map_err(io)?;
    // A long line grows the buffer once; it goes back to its size for the next pass.
    buf.clear();
    buf.shrink_to(WRITE_BYTES + SLACK);
    match f.sync_data() {
        // A pipe or a device (e.g. /dev/stdout) cannot be fsynced: the write is what counts.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        other => other.map_err(io),
    }
}
