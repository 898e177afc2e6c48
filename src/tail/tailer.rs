//! The tailer: one thread per input that keeps the set of files it reads, reads them in turn and
//! sends events to the pipeline in chunks. `blocking_send` on the bounded channel is the
//! backpressure: when outputs are slow this thread waits and the files are the buffer.
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
use super::discover::Discovery;
use super::identity::{birth_time, FileId, Fingerprint};
use super::reader::{Line, LineReader, READ_BLOCK};
use super::rotation::{file_id, find_by_id, find_copy, holds_at, same_window, TAIL_BYTES};
use crate::config::ReadFrom;
use crate::event::{Event, SourceId};
use crate::metrics::metrics;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// What a decoder knows about the line's file.
pub struct FileCtx<'a> {
    pub source: SourceId,
    /// Stable identity of the file (see `Position::origin`).
    pub origin: u64,
    /// When this block was read, RFC 3339: the `@timestamp` of formats that carry none.
    pub read_time: &'a str,
}

/// Turns lines of one file into events (one decoder per file, so it may keep state such as a
/// partial Docker line).
pub trait LineDecoder: Send {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>);
    /// Records held back (a pending multiline group): those due (idle past their timeout), or
    /// all of them with `all` (the file is released, the agent stops).
    fn flush(&mut self, _all: bool, _out: &mut Vec<Event>) {}
}

pub type DecoderFactory = Arc<dyn Fn(&Path) -> Box<dyn LineDecoder> + Send + Sync>;

pub struct TailSettings {
    /// The input's name, for logs and metrics.
    pub input: String,
    /// The input's checkpoint identity (`InputConfig::key`).
    pub key: String,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub read_from: ReadFrom,
    pub scan_frequency: Duration,
    pub rotate_wait: Duration,
    pub max_line: usize,
}

/// Events per chunk sent to the pipeline, and message bytes per chunk.
const CHUNK_EVENTS: usize = 1024;
const CHUNK_BYTES: usize = 1 << 20;
/// Bytes read from one file before the next file gets its turn.
const FILE_BUDGET: usize = 16 * READ_BLOCK;
/// Longest sleep when nothing was read and no notification came.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Closest two scans triggered by notifications may be.
const MIN_SCAN_GAP: Duration = Duration::from_millis(50);

struct Tracked {
    id: SourceId,
    path: PathBuf,
    /// Shared with the checkpoint store (it hashes the bytes before the acked offset).
    file: Arc<File>,
    fid: FileId,
    birth: Option<i128>,
    /// Which reading of this file identity (see `Entry::generation`).
    generation: u32,
    fp: Fingerprint,
    reader: LineReader,
    decoder: Box<dyn LineDecoder>,
    /// The path no longer names this file: read to the end, then release.
    rotated: bool,
    at_eof: bool,
    last_data: Instant,
    /// Last time the file was found consistent (not truncated): copies born after it that the
    /// tailer never saw hold lines it did not read.
    checked: std::time::SystemTime,
    /// The last bytes read (ending at the reader's `read_pos`): while they are still there, the
    /// file was not truncated and refilled behind our back, and they identify the right copy.
    tail: Vec<u8>,
}

/// File-system timestamps lag the system clock by up to a tick; birth times are compared with
/// this much slack (files already read are excluded by identity, so slack cannot cause re-reads).
const CLOCK_SLACK: Duration = Duration::from_secs(2);

impl Tracked {
    /// Device, inode, birth time and generation hashed: stable across restarts (unlike `id`).
    fn origin(&self) -> u64 {
        let mut key = [0u8; 36];
        key[..8].copy_from_slice(&self.fid.dev.to_le_bytes());
        key[8..16].copy_from_slice(&self.fid.ino.to_le_bytes());
        key[16..32].copy_from_slice(&self.birth.unwrap_or(0).to_le_bytes());
        key[32..].copy_from_slice(&self.generation.to_le_bytes());
        xxhash_rust::xxh3::xxh3_64(&key)
    }

    /// True while the file still starts with its fingerprint and still holds the bytes last read
    /// where they were read.
    fn unchanged(&self) -> bool {
        if self.fp.len > 0 && !self.fp.matches(&self.file).unwrap_or(true) {
            return false;
        }
        holds_at(&self.file, &self.tail, self.reader.read_pos())
    }
}

pub struct Tailer {
    settings: TailSettings,
    discovery: Discovery,
    store: Arc<CheckpointStore>,
    decoders: DecoderFactory,
    tx: Sender<Vec<Event>>,
    stop: Arc<AtomicBool>,
    files: Vec<Tracked>,
    chunk: Vec<Event>,
    chunk_bytes: usize,
    counted_files: i64,
    closed: bool,
    /// When the previous scan ran: files born after it that were rotated away before this scan
    /// saw them are still read (a busy writer can rotate faster than the scan interval).
    last_scan: std::time::SystemTime,
    /// Files this tailer has read (identity and birth), most recent last, so the missed-rotation
    /// sweep never reads one again after its checkpoint entry was pruned.
    seen: std::collections::VecDeque<(FileId, Option<i128>)>,
}

/// How many read files `seen` remembers.
const SEEN_MAX: usize = 4096;

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
        // A rotated name (`app.log.1`) holding a new file that starts like one being read is a
        // copytruncate copy: the truncation of the original finds it and reads only what was
        // not read yet. Taking it here would read it again from 0.
        if !self.discovery.matches(&o.path)
            && self
                .files
                .iter()
                .any(|t| t.fp.len > 0 && t.fp.matches(&o.file).unwrap_or(false))
        {
            return;
        }
        let moved = file_id(&o.path) != Some(o.fid);
        let path = o.path.clone();
        let Some(id) = self.start(o.path, o.file, false, None) else {
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

    fn stopping(&self) -> bool {
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
            match File::open(&path) {
                Ok(file) => {
                    self.start(path, file, initial, None);
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
    }

    /// Rotated names of `original` (`app.log.1`, `app.log.2`, ...) born after `since` and unknown:
    /// they were created and rotated (or copied and truncated) while the tailer was not looking.
    /// Read them whole.
    fn read_missed_rotations(&mut self, original: &Path, since: std::time::SystemTime) {
        let (Some(dir), Some(name)) = (original.parent(), original.file_name()) else {
            return;
        };
        let name = name.to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let known: Vec<(FileId, Option<i128>)> = self
            .store
            .untracked(&self.settings.input)
            .iter()
            .map(|(_, e)| (e.file_id(), e.birth))
            .collect();
        for entry in entries.flatten() {
            let path = entry.path();
            let fname = entry.file_name().to_string_lossy().into_owned();
            if fname == name || !fname.starts_with(&name) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let fid = FileId::of(&meta);
            let birth = birth_time(&meta);
            if !meta.is_file()
                || known.contains(&(fid, birth))
                || self.files.iter().any(|t| t.fid == fid)
                || self.seen.contains(&(fid, birth))
            {
                tracing::debug!(file = %path.display(), ?fid, ?birth, "sweep: known file");
                continue;
            }
            let born = meta.created().or_else(|_| meta.modified());
            // File-system timestamps come from a coarse clock: allow for it.
            let since = since - CLOCK_SLACK;
            if born.as_ref().map(|b| *b < since).unwrap_or(true) {
                tracing::debug!(file = %path.display(), ?born, ?since, "sweep: older than the last look");
                continue;
            }
            if let Ok(file) = File::open(&path) {
                tracing::info!(input = %self.settings.input, file = %path.display(),
                    "found a file rotated before it was seen; reading it");
                self.start(path, file, false, Some((0, true)));
            }
        }
    }

    /// Starts reading `file`. `forced_offset` (rotation and copy recovery) overrides the rules.
    /// Returns the new source, or None when the file could not be looked at.
    fn start(
        &mut self,
        path: PathBuf,
        file: File,
        initial: bool,
        forced: Option<(u64, bool)>,
    ) -> Option<SourceId> {
        let meta = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot stat file");
                return None;
            }
        };
        let fid = FileId::of(&meta);
        let birth = birth_time(&meta);
        let size = meta.len();
        let fp = match Fingerprint::of(&file) {
            Ok(fp) => fp,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read file");
                return None;
            }
        };
        let input = self.settings.key.clone();
        let mut resumed = None;
        let mut generation = 0;
        for (id, e) in self.store.untracked(&input) {
            if e.file_id() != fid {
                continue;
            }
            let same_birth = match (e.birth, birth) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            // The bytes just before the offset must still be the ones acknowledged: a file
            // rewritten with the same first bytes is not resumed in the middle of a line.
            let before_ok = e
                .tail_hash
                .is_none_or(|h| super::rotation::hash_before(&file, e.offset) == Some(h));
            if same_birth
                && e.offset <= size
                && before_ok
                && e.fingerprint().matches(&file).unwrap_or(false)
            {
                resumed = Some((id, e.offset, e.generation));
            } else {
                tracing::info!(input = %input, file = %path.display(),
                    "a new file has the inode of a checkpointed one; reading it from the start");
                // Its records must not get the old content's document ids.
                generation = generation.max(e.generation.wrapping_add(1));
                self.store.forget(id);
            }
        }
        let (id, offset, rotated) = if let Some((id, offset, g)) = resumed {
            generation = g;
            self.store.claim(id);
            self.store.update(id, Some(&path), Some(fp), size);
            (id, offset, forced.map(|f| f.1).unwrap_or(false))
        } else {
            // Where reading starts, and where the checkpoint starts: a copy found next to the
            // file it copies is read from where that one's reading is, but checkpointed from
            // what that one had acknowledged (a crash in between re-reads, never skips).
            let (offset, acked, rotated) = match forced {
                Some((o, r)) => (o, o, r),
                None if initial && self.settings.read_from == ReadFrom::End => (size, size, false),
                None => match self.copy_offset(&file, fp, fid, size) {
                    Some((read, acked)) => (read, acked, false),
                    None => (0, 0, false),
                },
            };
            let id = self.store.register(Entry {
                input,
                path: path.clone(),
                dev: fid.dev,
                ino: fid.ino,
                birth,
                fp_len: fp.len,
                fp_hash: fp.hash,
                offset: acked,
                generation,
                tail_hash: None,
                updated: 0,
            });
            self.store.update(id, None, None, size);
            (id, offset, rotated)
        };
        tracing::info!(input = %self.settings.input, file = %path.display(), offset, "reading file");
        let file = Arc::new(file);
        self.store.attach(id, file.clone());
        if self.seen.len() >= SEEN_MAX {
            self.seen.pop_front();
        }
        self.seen.push_back((fid, birth));
        self.files.push(Tracked {
            id,
            decoder: (self.decoders)(&path),
            path,
            file,
            fid,
            birth,
            generation,
            fp,
            reader: LineReader::new(offset, self.settings.max_line),
            rotated,
            at_eof: false,
            last_data: Instant::now(),
            checked: std::time::SystemTime::now(),
            tail: Vec::new(),
        });
        Some(id)
    }

    /// A file found mid-run that is a copy of one being read (copytruncate into a name the globs
    /// also match): it starts where the original's reading is, not at 0, when the bytes before
    /// that point are the same in both.
    /// Returns (where to read from, what the original had acknowledged).
    fn copy_offset(
        &self,
        file: &File,
        fp: Fingerprint,
        fid: FileId,
        size: u64,
    ) -> Option<(u64, u64)> {
        if !fp.is_complete() {
            return None;
        }
        let t = self
            .files
            .iter()
            .find(|t| t.fid != fid && t.fp == fp && t.reader.consumed() <= size)?;
        let at = t.reader.consumed();
        let acked = self.store.acked(t.id).unwrap_or(0).min(at);
        (same_window(file, &t.file, at)).then_some((at, acked))
    }

    /// After a restart: checkpoints whose path now names another file were rotated while the
    /// agent was down; finish them where they are now.
    fn recover_rotated_while_down(&mut self) {
        for (_, e) in self.store.untracked(&self.settings.key) {
            let Some(path) = find_by_id(&e.path, e.file_id()) else {
                continue;
            };
            let Ok(file) = File::open(&path) else {
                continue;
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            if size > e.offset {
                tracing::info!(input = %self.settings.input, file = %path.display(),
                    "finishing a file rotated while the agent was stopped");
                self.start(path, file, false, Some((e.offset, true)));
            }
        }
    }

    /// Reads what is new in file `i`; true when something was read.
    fn poll(&mut self, i: usize) -> bool {
        let now = std::time::SystemTime::now();
        let meta = match self.files[i].file.metadata() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(file = %self.files[i].path.display(), error = %e, "cannot stat open file");
                return false;
            }
        };
        let size = meta.len();
        {
            let t = &self.files[i];
            let replaced = size > t.reader.read_pos() && !t.unchanged();
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
        self.store.update(t.id, None, Some(t.fp), size);
        true
    }

    /// File `i` shrank (or its first bytes changed): recover unread lines from a copy, then read
    /// it again from 0 as a new source.
    fn truncated(&mut self, i: usize) {
        // Records held back (multiline) belong to the old content: out they go first.
        self.files[i].decoder.flush(true, &mut self.chunk);
        let (path, fid, fp, consumed, old_id, since, tail, read_pos) = {
            let t = &self.files[i];
            let (tail, read_pos) = (t.tail.clone(), t.reader.read_pos());
            (
                t.path.clone(),
                t.fid,
                t.fp,
                t.reader.consumed(),
                t.id,
                t.checked,
                tail,
                read_pos,
            )
        };
        tracing::warn!(input = %self.settings.input, file = %path.display(), read_to = consumed,
            "file truncated (copytruncate?); reading it again from the start");
        let mut heir = None;
        if let Some(copy) = find_copy(&path, fid, fp, consumed, &tail, read_pos) {
            let copy_id = file_id(&copy);
            if let Some(t) = self.files.iter().find(|t| Some(t.fid) == copy_id) {
                // Already read (the scan found it first): it still inherits the acks.
                heir = Some(t.id);
            } else {
                if let Ok(f) = File::open(&copy) {
                    tracing::info!(file = %copy.display(), offset = consumed,
                        "reading the lines not yet read from the rotated copy");
                    heir = self.start(copy, f, false, Some((consumed, true)));
                }
            }
        }
        self.read_missed_rotations(&path, since);
        match heir {
            // The copy takes over what was acknowledged and the acks in flight.
            Some(copy) => self.store.transfer(old_id, copy),
            None => self.store.release(old_id, consumed, true),
        }
        let t = &mut self.files[i];
        let fp = Fingerprint::of(&t.file).unwrap_or(Fingerprint { len: 0, hash: 0 });
        t.fp = fp;
        t.reader = LineReader::new(0, self.settings.max_line);
        t.tail.clear();
        t.decoder = (self.decoders)(&t.path);
        // New content at the same identity: new document ids.
        t.generation = t.generation.wrapping_add(1);
        t.id = self.store.register(Entry {
            input: self.settings.key.clone(),
            path: t.path.clone(),
            dev: t.fid.dev,
            ino: t.fid.ino,
            birth: t.birth,
            fp_len: fp.len,
            fp_hash: fp.hash,
            offset: 0,
            generation: t.generation,
            tail_hash: None,
            updated: 0,
        });
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
            if let Some(rest) = t.reader.take_rest() {
                t.decoder.decode(&rest, &ctx, &mut self.chunk);
            }
            t.decoder.flush(true, &mut self.chunk);
            self.flush_chunk();
            let deleted = t.file.metadata().map(|m| m.nlink() == 0).unwrap_or(true);
            tracing::info!(input = %self.settings.input, file = %t.path.display(), deleted, "done with rotated file");
            self.store.release(t.id, t.reader.consumed(), deleted);
        }
    }

    fn flush_chunk(&mut self) {
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

/// Waits for a notification or the timeout; true when notified.
fn wait(rx: &Receiver<()>, timeout: Duration) -> bool {
    rx.recv_timeout(timeout).is_ok()
}
