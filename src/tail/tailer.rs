//! The tailer: one thread per input that keeps the set of files it reads, reads them in turn and
//! sends events to the pipeline in chunks. `blocking_send` on the bounded channel is the
//! backpressure: when outputs are slow this thread waits and the files are the buffer.
//!
//! Where things are: new files are opened by the opener thread (`opener.rs`) and taken here;
//! `scan` re-evaluates the globs and notices renamed or deleted files; `start` (`start.rs`)
//! decides where a file is read from (`resume.rs` for a checkpointed one); `poll` (`poll.rs`)
//! reads a file's new lines into the decoder and the chunk and sends full chunks; `recovery.rs` handles truncation and files rotated unseen;
//! `release_finished` closes rotated files once read and quiet.
//!
//! Rotation, as this loop sees it:
//! - rename (logrotate `create`, Docker `max-size`): the path now names another file (or none);
//!   the old file stays open and is read to its end, then released after `rotate_wait` without
//!   growth. The new file at the path is discovered and read from offset 0.
//! - copytruncate: the file shrinks below what was read. Lines the agent had not read yet are in
//!   the copy, which is found by its fingerprint next to the file and read from where reading
//!   stopped; the truncated file starts over as a new source at offset 0.
//! - rotation while the agent was down: a checkpoint whose path names another file is looked up
//!   by inode in the same directory and finished there.

use super::checkpoint::{CheckpointStore, Entry};
pub use super::decoder::{DecoderFactory, FileCtx, LineDecoder, TailSettings};
use super::discover::Discovery;
use super::identity::FileId;
use super::reader::READ_BLOCK;
use super::rotation::{file_id, find_by_id};
use super::tracked::Tracked;
use crate::event::Event;
use crate::metrics::metrics;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// Events per chunk sent to the pipeline, and message bytes per chunk. Half a default batch:
/// the chunks queued and the one waiting to be sent are records in memory, and 512 instead of
/// 1,024 took 0.9 MiB off `docker-1m`'s peak for the same CPU (README, Performance).
pub(super) const CHUNK_EVENTS: usize = 512;
pub(super) const CHUNK_BYTES: usize = 1 << 20;
/// Bytes read from one file before the next file gets its turn.
pub(super) const FILE_BUDGET: usize = 16 * READ_BLOCK;
/// Longest sleep when nothing was read and no notification came.
pub(super) const IDLE_POLL: Duration = Duration::from_millis(250);
/// Closest two scans triggered by notifications may be.
pub(super) const MIN_SCAN_GAP: Duration = Duration::from_millis(50);

pub struct Tailer {
    pub(super) settings: TailSettings,
    pub(super) discovery: Discovery,
    pub(super) store: Arc<CheckpointStore>,
    pub(super) decoders: DecoderFactory,
    pub(super) tx: Sender<Vec<Event>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) files: Vec<Tracked>,
    pub(super) chunk: Vec<Event>,
    pub(super) chunk_bytes: usize,
    pub(super) counted_files: i64,
    pub(super) closed: bool,
    /// When the previous scan ran: files born after it that were rotated away before this scan
    /// saw them are still read (a busy writer can rotate faster than the scan interval).
    pub(super) last_scan: std::time::SystemTime,
    /// Files this tailer has read (identity and birth), most recent last, so the missed-rotation
    /// sweep never reads one again after its checkpoint entry was pruned.
    pub(super) seen: std::collections::VecDeque<(FileId, Option<i128>)>,
    /// Checkpoints found obsolete at start (their file was truncated or replaced while the agent
    /// was stopped): `recovery` looks for a copy of their content and for rotations since.
    pub(super) orphans: Vec<Entry>,
    /// Files created under a rotated name of a file being read, waiting to be judged
    /// (`copies.rs`).
    pub(super) candidates: Vec<super::copies::Candidate>,
    /// Files the last warning said were left unopened (the open file budget was full), and when.
    pub(super) unopened_warned: Option<(usize, Instant)>,
}

/// How often the warning about files left unopened repeats while their number stays the same.
const UNOPENED_WARN_EVERY: Duration = Duration::from_secs(300);

/// How many read files `seen` remembers.
pub(super) const SEEN_MAX: usize = 4096;

impl Tailer {
    pub fn new(
        settings: TailSettings,
        store: Arc<CheckpointStore>,
        decoders: DecoderFactory,
        tx: Sender<Vec<Event>>,
        stop: Arc<AtomicBool>,
    ) -> Tailer {
        Tailer {
            discovery: Discovery::new(&settings.paths, &settings.exclude),
            settings,
            store,
            decoders,
            tx,
            stop,
            files: Vec::new(),
            chunk: Vec::with_capacity(CHUNK_EVENTS),
            chunk_bytes: 0,
            counted_files: 0,
            closed: false,
            last_scan: std::time::SystemTime::now(),
            seen: std::collections::VecDeque::new(),
            orphans: Vec::new(),
            candidates: Vec::new(),
            unopened_warned: None,
        }
    }

    /// Runs until `stop` is set or the pipeline goes away.
    pub fn run(mut self) {
        let (wake_tx, wake_rx) = sync_channel::<()>(1);
        self.scan(true);
        // New files are opened by the opener thread as they appear, whatever this thread is
        // doing (it may be waiting on a full pipeline); it wakes this one for each.
        let present = self.files.iter().map(|t| t.path.clone()).collect();
        let opened = match super::opener::spawn(
            self.discovery.clone(),
            self.settings.scan_frequency,
            wake_tx,
            self.stop.clone(),
            present,
        ) {
            Ok(rx) => Some(rx),
            Err(e) => {
                tracing::warn!(input = %self.settings.input, error = %e, "cannot start the file opener; relying on scans");
                None
            }
        };
        let mut last_scan = Instant::now();
        let mut woken = false;
        while !self.stopping() {
            if let Some(rx) = &opened {
                let ready: Vec<super::opener::Opened> = rx.try_iter().collect();
                for o in ready {
                    self.take_opened(o);
                }
            }
            if last_scan.elapsed() >= self.settings.scan_frequency
                || (woken && last_scan.elapsed() >= MIN_SCAN_GAP)
            {
                self.scan(false);
                last_scan = Instant::now();
            }
            let mut read_any = false;
            for i in 0..self.files.len() {
                if self.stopping() {
                    break;
                }
                read_any |= self.poll(i);
            }
            for t in self.files.iter_mut() {
                t.decoder.flush(false, &mut self.chunk);
            }
            self.flush_chunk();
            self.judge_candidates();
            self.release_finished();
            self.count_files();
            if !read_any && !self.stopping() {
                woken = wait(&wake_rx, IDLE_POLL);
            }
        }
        // Pending multiline groups go out with the last chunk.
        for t in self.files.iter_mut() {
            t.decoder.flush(true, &mut self.chunk);
        }
        self.flush_chunk();
        metrics().files_tailed.sub(self.counted_files);
        tracing::debug!(input = %self.settings.input, "tailer stopped");
    }

    /// A file the opener opened: read it unless it is read already. One whose path names another
    /// file by now (rotated before this thread got to it) is read to its end and released.
    fn take_opened(&mut self, o: super::opener::Opened) {
        if self.files.iter().any(|t| t.fid == o.fid) {
            return;
        }
        // Counted until `start` counts the file again.
        let (file, _counted) = o.file.into_parts();
        // Created under a rotated name of a file being read: a copy, judged once complete.
        let (path, file) = if o.renamed {
            (o.path, file)
        } else {
            match self.maybe_candidate(o.path, o.opened_as.as_deref(), file) {
                Some(x) => x,
                None => return,
            }
        };
        self.start_moved(path, file);
    }

    /// Starts `file`, known as `path`; when `path` names another file by now (rotated before
    /// this thread got to it), it is read to its end and released.
    pub(super) fn start_moved(&mut self, path: PathBuf, file: File) {
        let fid = file.metadata().ok().map(|m| FileId::of(&m));
        let moved = fid.is_some() && file_id(&path) != fid;
        let Some(id) = self.start(path.clone(), file, false, None) else {
            return;
        };
        if moved {
            if let Some(t) = self.files.iter_mut().find(|t| t.id == id) {
                t.rotated = true;
                let now_at = find_by_id(&path, t.fid);
                tracing::info!(input = %self.settings.input, file = %path.display(), now_at = ?now_at,
                    "a file rotated before it could be read; reading it to its end");
                if let Some(p) = now_at {
                    self.store.update(id, Some(&p), None, 0);
                }
            }
        }
    }

    pub(super) fn stopping(&self) -> bool {
        self.closed || self.stop.load(Ordering::Relaxed)
    }

    fn count_files(&mut self) {
        let n = self.files.len() as i64;
        metrics().files_tailed.add(n - self.counted_files);
        self.counted_files = n;
    }

    /// Evaluates the globs, starts reading new files and notices renamed or deleted ones.
    fn scan(&mut self, initial: bool) {
        let scan_started = std::time::SystemTime::now();
        let mut unopened = 0;
        for path in self.discovery.scan() {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let fid = FileId::of(&meta);
            if let Some(t) = self.files.iter_mut().find(|t| t.fid == fid) {
                if t.path != path && !t.rotated {
                    // Renamed within the globs: same file, same source.
                    self.store.update(t.id, Some(&path), None, meta.len());
                    t.path = path;
                }
                continue;
            }
            if self.candidates.iter().any(|c| c.name == path) {
                continue;
            }
            if !crate::open_files::has_room() {
                // Tried again at the next scan, once files held now are released.
                unopened += 1;
                continue;
            }
            match crate::open_files::open_log(&path) {
                Ok(file) if initial => {
                    self.start(path, file, true, None);
                }
                Ok(file) => {
                    if let Some((path, file)) = self.maybe_candidate(path.clone(), None, file) {
                        self.start(path, file, false, None);
                    }
                }
                Err(e) => {
                    tracing::warn!(input = %self.settings.input, file = %path.display(), error = %e, "cannot open file")
                }
            }
        }
        let mut rotated = Vec::new();
        for t in self.files.iter_mut().filter(|t| !t.rotated) {
            let still_there = std::fs::metadata(&t.path)
                .map(|m| FileId::of(&m) == t.fid)
                .unwrap_or(false);
            if !still_there {
                t.rotated = true;
                let new_name = find_by_id(&t.path, t.fid);
                tracing::info!(input = %self.settings.input, file = %t.path.display(),
                    now_at = ?new_name, "file rotated or deleted; reading it to its end");
                self.store.save_soon();
                if let Some(p) = new_name {
                    self.store.update(t.id, Some(&p), None, 0);
                }
                rotated.push(t.path.clone());
            }
        }
        for original in rotated {
            self.read_missed_rotations(&original, self.last_scan);
        }
        if initial {
            // Before any pruning: checkpoints whose file moved while the agent was stopped.
            self.recover_rotated_while_down();
        }
        self.last_scan = scan_started;
        self.store.prune();
        self.warn_unopened(unopened);
    }

    /// Says (at most every `UNOPENED_WARN_EVERY` while the number stays the same) how many files
    /// the scan left unopened because the inputs' share of the open file limit is full.
    fn warn_unopened(&mut self, unopened: usize) {
        let due = match self.unopened_warned {
            None => unopened > 0,
            Some((n, at)) => n != unopened || (unopened > 0 && at.elapsed() >= UNOPENED_WARN_EVERY),
        };
        if !due {
            return;
        }
        if unopened == 0 {
            tracing::info!(input = %self.settings.input, "every matched file is open again");
            self.unopened_warned = None;
            return;
        }
        let soft = crate::open_files::limits().map_or(0, |l| l.0);
        tracing::warn!(input = %self.settings.input, unopened,
            held = crate::open_files::held(), budget = crate::open_files::budget(), open_file_limit = soft,
            "files not opened: inputs hold as many files as the open file limit leaves them; \
             they are opened once held files are released (read to their end after a rotation \
             or delete). Raise the limit: systemd LimitNOFILE=, docker --ulimit nofile=, ulimit -n");
        self.unopened_warned = Some((unopened, Instant::now()));
    }

    /// Releases rotated files that were read to the end and stayed quiet for `rotate_wait`.
    fn release_finished(&mut self) {
        let wait = self.settings.rotate_wait;
        let mut i = 0;
        while i < self.files.len() {
            let t = &self.files[i];
            if !(t.rotated && t.at_eof && t.last_data.elapsed() >= wait) {
                i += 1;
                continue;
            }
            let mut t = self.files.swap_remove(i);
            let read_time = crate::event::timestamp(chrono::Utc::now());
            let ctx = FileCtx {
                source: t.id,
                origin: t.origin(),
                read_time: &read_time,
            };
            if let Some(rest) = t.reader.take_rest(&t.file) {
                t.decoder.decode(&rest, &ctx, &mut self.chunk);
            }
            t.decoder.flush(true, &mut self.chunk);
            self.flush_chunk();
            let deleted = t.file.metadata().map(|m| m.nlink() == 0).unwrap_or(true);
            tracing::info!(input = %self.settings.input, file = %t.path.display(), deleted, "done with rotated file");
            self.store.release(t.id, t.reader.consumed(), deleted);
        }
    }
}

/// Waits for a notification or the timeout; true when notified.
fn wait(rx: &Receiver<()>, timeout: Duration) -> bool {
    rx.recv_timeout(timeout).is_ok()
}
