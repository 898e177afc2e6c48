//! The file output's writer thread: takes batches in any order, serializes and writes them in
//! their turn through one reused buffer of `WRITE_BYTES`, and hands each pass it wrote to the
//! fsync thread (`syncer.rs`), which answers the batches once they are durable; meanwhile this
//! thread writes the next pass. A failed write (a full disk) cuts the file back to where the pass
//! began, answers every batch of that pass with the error and rewinds to the pass's first turn:
//! those batches are retried (the file is reopened, a torn last line cut) and written again in
//! order, once each. A failed fsync rewinds the same way, to the
//! first turn it covered, once the syncer posts it (`Notice`).

use super::cut_torn_line;
use super::syncer::{Group, Notice, SyncFn};
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

/// Where the output's stream of turns is, shared by its writer and fsync threads and kept by the
/// output, so a thread started again goes on from there.
#[derive(Default)]
pub struct Turns {
    /// The next turn to write: those before it are written (fsynced or on their way to be).
    pub next: AtomicU64,
    /// Turns before it are written and fsynced.
    pub synced: AtomicU64,
}

/// Starts a writer thread for `path` that writes from turn `turns.next` on (and keeps it there),
/// making each pass durable with `sync` on its fsync thread (`syncer.rs`).
pub fn spawn(path: PathBuf, turns: Arc<Turns>, sync: SyncFn) -> std::io::Result<Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("output-file".into())
        .spawn(move || run(&path, &turns, &rx, sync))?;
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

/// The thread: until every sender is gone, waits for jobs, writes what is in turn and hands each
/// pass to the fsync thread, which answers its batches.
fn run(path: &Path, turns: &Arc<Turns>, rx: &Receiver<Job>, sync: SyncFn) {
    let next = &turns.next;
    let mut file: Option<Arc<std::fs::File>> = None;
    let mut buf = Vec::with_capacity(WRITE_BYTES + SLACK);
    let mut waiting: BTreeMap<u64, Job> = BTreeMap::new();
    let notice = Arc::new(Notice::default());
    let mut syncer: Option<Sender<Group>> = None;
    let mut epoch = 0u64;
    while let Ok(job) = rx.recv() {
        waiting.insert(job.turn, job);
        // Everything that queued while the last pass was written goes in this pass.
        while let Ok(job) = rx.try_recv() {
            waiting.insert(job.turn, job);
        }
        if let Some(failure) = notice.take() {
            // An fsync failed: its batches (and those written after it) come again.
            file = None;
            epoch = epoch.max(failure.epoch) + 1;
            next.fetch_min(failure.first, Ordering::Relaxed);
        }
        let synced = turns.synced.load(Ordering::Acquire);
        // A turn before `synced` was written and fsynced already (its answer was lost).
        while let Some(entry) = waiting.first_entry().filter(|e| *e.key() < synced) {
            let _ = entry.remove().done.send(Ok(()));
        }
        if waiting
            .first_key_value()
            .is_some_and(|(turn, _)| *turn < next.load(Ordering::Relaxed))
        {
            // Written, but the answer of its fsync was lost (the fsync thread ended): the bytes
            // may not be on the disk, so they are written again, as after a failed fsync.
            file = None;
            epoch += 1;
            next.store(synced, Ordering::Relaxed);
        }
        let first = next.load(Ordering::Relaxed);
        let mut pass = Vec::new();
        while let Some(job) = waiting.remove(&(first + pass.len() as u64)) {
            pass.push(job);
        }
        if pass.is_empty() {
            continue; // an earlier turn is not here yet
        }
        let written = write_pass(path, &mut file, &pass, &mut buf);
        match (written, &file) {
            (Ok(()), Some(f)) => {
                next.store(first + pass.len() as u64, Ordering::Relaxed);
                let group = Group {
                    file: f.clone(),
                    first,
                    epoch,
                    answers: pass.into_iter().map(|job| job.done).collect(),
                };
                hand_over(path, &mut syncer, (&notice, turns), sync, group);
            }
            (result, _) => {
                let e = result
                    .err()
                    .unwrap_or_else(|| OutputError::new("io", "no file"));
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

/// Gives a written pass to the fsync thread (started again if it is gone; if it cannot be, the
/// pass is fsynced here).
fn hand_over(
    path: &Path,
    syncer: &mut Option<Sender<Group>>,
    (notice, turns): (&Arc<Notice>, &Arc<Turns>),
    sync: SyncFn,
    group: Group,
) {
    let group = match syncer.as_ref() {
        Some(tx) => match tx.send(group) {
            Ok(()) => return,
            Err(std::sync::mpsc::SendError(group)) => {
                tracing::error!(file = %path.display(), "the file output's fsync thread ended; starting another (the batches it held are written again)");
                group
            }
        },
        None => group,
    };
    match super::syncer::spawn(path.to_path_buf(), notice.clone(), turns.clone(), sync) {
        Ok(tx) => {
            let group = match tx.send(group) {
                Ok(()) => {
                    *syncer = Some(tx);
                    return;
                }
                Err(std::sync::mpsc::SendError(group)) => group,
            };
            fsync_here(path, (notice, turns), sync, group);
        }
        Err(_) => fsync_here(path, (notice, turns), sync, group),
    }
}

/// The fsync thread's work done on this one, for a group only.
fn fsync_here(path: &Path, (notice, turns): (&Notice, &Turns), sync: SyncFn, group: Group) {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = tx.send(group);
    drop(tx);
    super::syncer::run(path, &rx, (notice, turns), sync);
}

/// Writes the pass's batches in order, serialized through `buf` (NDJSON another output built
/// for a batch already is written as it is). A write that fails (a full disk: `ENOSPC`,
/// `EDQUOT`, `EFBIG`) leaves the lines of the pass written before it, and the pass is written
/// again whole when retried: the file is cut back to where the pass began first, so those lines
/// do not appear twice (until 2026-12-06 they did: 251 of 20,000 lines on a tmpfs filled and then
/// grown).
fn write_pass(
    path: &Path,
    file: &mut Option<Arc<std::fs::File>>,
    pass: &[Job],
    buf: &mut Vec<u8>,
) -> Result<(), OutputError> {
    let held = match file {
        Some(f) => f.clone(),
        None => file.insert(Arc::new(open(path)?)).clone(),
    };
    // Where the pass begins (a regular file; a FIFO or a device cannot be cut back).
    let began = held
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let written = write_batches(&held, pass, buf);
    // A long line grows the buffer once; it goes back to its size for the next pass.
    buf.clear();
    buf.shrink_to(WRITE_BYTES + SLACK);
    written.map_err(|e| {
        let cut = began.is_some_and(|len| held.set_len(len).is_ok());
        OutputError::new(
            "io",
            format!(
                "writing {}: {e}{}",
                path.display(),
                if cut {
                    " (what the failed write left of its batches was cut off; they are written again whole)"
                } else {
                    ""
                }
            ),
        )
    })
}

fn write_batches(mut f: &std::fs::File, pass: &[Job], buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    for job in pass {
        if let Some(built) = job.batch.ndjson_built() {
            f.write_all(buf)?;
            buf.clear();
            f.write_all(built)?;
            continue;
        }
        for e in &job.batch.events {
            e.write_json(buf);
            buf.push(b'\n');
            if buf.len() >= WRITE_BYTES {
                f.write_all(buf)?;
                buf.clear();
            }
        }
    }
    f.write_all(buf)
}
