//! The checkpoint store: for each file an input reads, its identity, last known path and the
//! offset up to which every output has acknowledged it. The ack ledger advances offsets; the
//! tailer registers, updates and releases sources. Persisted to `data_dir/checkpoints.json` by
//! writing a temp file, fsync, rename, fsync of the directory.
//!
//! Growth is bounded by the files that exist: an entry is dropped when its file is deleted (or
//! truncated, or replaced at a reused inode), and an entry for a file no longer read is dropped
//! once its file is gone from its last known path and all its lines are acknowledged. Entries are
//! never expired by age, so a quiet file is never re-read from the start (vector#17208).
//!
//! Over 500 lines with its tests (the code is about 460): the store's format, its concurrency
//! and its bounds are tested here, beside the code they pin down.

use super::identity::{FileId, Fingerprint};
use crate::event::SourceId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub input: String,
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth: Option<i128>,
    pub fp_len: u32,
    pub fp_hash: u64,
    /// Acknowledged up to here.
    pub offset: u64,
    /// Bumped each time the file at this identity is read again from the start (truncated,
    /// rewritten, a new file at a reused inode): part of every record's document id.
    #[serde(default)]
    pub generation: u32,
    /// xxh3 of the bytes just before `offset` (`rotation::BEFORE_BYTES` of them): a restart
    /// resumes at `offset` only if they are still there, so a file rewritten while the agent
    /// was down (even with the same first bytes) is read from its start, never from the middle
    /// of a line. Absent in files written by older versions (then only the fingerprint counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_hash: Option<u64>,
    /// Unix seconds of the last update, for people reading the file.
    pub updated: i64,
}

impl Entry {
    pub fn file_id(&self) -> FileId {
        FileId {
            dev: self.dev,
            ino: self.ino,
        }
    }
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            len: self.fp_len,
            hash: self.fp_hash,
        }
    }
}

/// A file being read, as `/status` shows it.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// The input's checkpoint key.
    pub input: String,
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Read to (handed to the pipeline).
    pub read: u64,
    /// Acknowledged by every output.
    pub acked: u64,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    entries: Vec<Entry>,
}

struct Slot {
    entry: Entry,
    /// Currently read by a tailer.
    tracked: bool,
    /// When released: the offset the tailer had read to.
    released_at: Option<u64>,
    /// Size of the file at the last look (for the checkpoint lag metric).
    size: u64,
    /// The offset the tailer has read to (for `/status`).
    read: u64,
    /// The open file while it is read, to hash the bytes before the offset at save time.
    file: Option<Arc<crate::open_files::Held>>,
    /// The offset `entry.tail_hash` was computed at.
    hashed_at: Option<u64>,
}

impl Slot {
    /// An entry from the file (or imported): not read by any tailer yet.
    fn stored(entry: Entry) -> Slot {
        Slot {
            entry,
            tracked: false,
            released_at: None,
            size: 0,
            read: 0,
            file: None,
            hashed_at: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    slots: HashMap<SourceId, Slot>,
    /// Sources taken over by another (a copytruncate copy): their acks go to the new one.
    moved: HashMap<SourceId, SourceId>,
    dirty: bool,
}

pub struct CheckpointStore {
    file: PathBuf,
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    /// One writer of the file at a time: the saver and the final save never interleave.
    writing: Mutex<()>,
    /// Asks the saver to write now rather than at its next tick (`save_soon`).
    urgent: tokio::sync::Notify,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl CheckpointStore {
    /// Opens (or starts) the store in `data_dir`. A corrupt file is moved aside with a warning,
    /// never fatal.
    pub fn open(data_dir: &Path) -> io::Result<CheckpointStore> {
        private_dir(data_dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create data_dir {}: {e}", data_dir.display()),
            )
        })?;
        let file = data_dir.join("checkpoints.json");
        let store = CheckpointStore {
            file: file.clone(),
            inner: Mutex::new(Inner::default()),
            next_id: AtomicU64::new(1),
            writing: Mutex::new(()),
            urgent: tokio::sync::Notify::new(),
        };
        match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(disk) => {
                    let mut inner = store.lock();
                    for entry in disk.entries {
                        let id = store.new_id();
                        inner.slots.insert(id, Slot::stored(entry));
                    }
                }
                Err(e) => {
                    let aside = file.with_extension("json.corrupt");
                    tracing::warn!(file = %file.display(), error = %e,
                        "checkpoint file is not valid, moved to {}; files are read per read_from", aside.display());
                    let _ = std::fs::rename(&file, aside);
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read checkpoint file {}: {e}", file.display()),
                ))
            }
        }
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_id(&self) -> SourceId {
        SourceId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Entries filed under none of `inputs` (a checkpoint file from before inputs had stable
    /// keys, or an input that was renamed) go to the first input whose path patterns match the
    /// entry's path, so adding, removing, reordering or renaming inputs keeps every file's
    /// checkpoint. Returns how many were moved.
    pub fn adopt(&self, inputs: &[(String, Vec<glob::Pattern>)]) -> usize {
        let mut inner = self.lock();
        let mut moved = 0;
        for slot in inner.slots.values_mut() {
            if inputs.iter().any(|(k, _)| *k == slot.entry.input) {
                continue;
            }
            let owner = inputs
                .iter()
                .find(|(_, pats)| pats.iter().any(|p| p.matches_path(&slot.entry.path)));
            if let Some((key, _)) = owner {
                tracing::info!(file = %slot.entry.path.display(), from = %slot.entry.input, to = %key,
                    "checkpoint taken over by the input that reads this path");
                slot.entry.input = key.clone();
                moved += 1;
            }
        }
        if moved > 0 {
            inner.dirty = true;
        }
        moved
    }

    /// Untracked entries of `input` (loaded from disk or released), to match files against.
    pub fn untracked(&self, input: &str) -> Vec<(SourceId, Entry)> {
        self.lock()
            .slots
            .iter()
            .filter(|(_, s)| !s.tracked && s.entry.input == input)
            .map(|(id, s)| (*id, s.entry.clone()))
            .collect()
    }

    /// Another input than `input` reading the file `fid` now: its key.
    pub fn read_by_another(&self, input: &str, fid: super::identity::FileId) -> Option<String> {
        self.lock()
            .slots
            .values()
            .find(|s| {
                s.tracked
                    && s.entry.input != input
                    && s.entry.dev == fid.dev
                    && s.entry.ino == fid.ino
            })
            .map(|s| s.entry.input.clone())
    }

    /// Starts reading a known entry again.
    pub fn claim(&self, id: SourceId) {
        if let Some(s) = self.lock().slots.get_mut(&id) {
            s.tracked = true;
            s.released_at = None;
        }
    }

    /// A new source starting at `offset`.
    pub fn register(&self, mut entry: Entry) -> SourceId {
        let id = self.new_id();
        entry.updated = now();
        let mut inner = self.lock();
        inner.slots.insert(
            id,
            Slot {
                entry,
                tracked: true,
                released_at: None,
                size: 0,
                read: 0,
                file: None,
                hashed_at: None,
            },
        );
        inner.dirty = true;
        id
    }

    /// The file being read for `id`, so saves can hash the bytes before its offset.
    pub fn attach(&self, id: SourceId, file: Arc<crate::open_files::Held>) {
        if let Some(s) = self.lock().slots.get_mut(&id) {
            s.file = Some(file);
        }
    }

    /// `to` (a copy of the file `from` was reading, found after a copytruncate) takes over:
    /// its checkpoint starts at what `from` had acknowledged (not at what it had read), and the
    /// acknowledgements still in flight for `from` now move `to`. A crash in between re-reads
    /// the copy from the acknowledged offset: nothing is lost.
    pub fn transfer(&self, from: SourceId, to: SourceId) {
        let mut inner = self.lock();
        let Some(old) = inner.slots.remove(&from) else {
            return;
        };
        if let Some(s) = inner.slots.get_mut(&to) {
            s.entry.offset = s.entry.offset.min(old.entry.offset);
            s.hashed_at = None;
        }
        inner.moved.retain(|_, v| *v != from);
        inner.moved.insert(from, to);
        inner.dirty = true;
    }

    /// The ledger: everything before `offset` of `id` is acknowledged by every output.
    pub fn ack(&self, id: SourceId, offset: u64) {
        let mut inner = self.lock();
        let id = inner.moved.get(&id).copied().unwrap_or(id);
        if let Some(s) = inner.slots.get_mut(&id) {
            if offset > s.entry.offset {
                s.entry.offset = offset;
                s.entry.updated = now();
                inner.dirty = true;
            }
        }
    }

    /// The tailer's view of a source changed: path (rename), fingerprint (growing) or size.
    pub fn update(&self, id: SourceId, path: Option<&Path>, fp: Option<Fingerprint>, size: u64) {
        let mut inner = self.lock();
        let mut dirty = false;
        if let Some(s) = inner.slots.get_mut(&id) {
            s.size = size;
            if let Some(p) = path {
                if s.entry.path != p {
                    s.entry.path = p.to_path_buf();
                    dirty = true;
                }
            }
            if let Some(fp) = fp {
                if fp.len != s.entry.fp_len || fp.hash != s.entry.fp_hash {
                    s.entry.fp_len = fp.len;
                    s.entry.fp_hash = fp.hash;
                    dirty = true;
                }
            }
        }
        inner.dirty |= dirty;
    }

    /// Entries made outside the agent (`logship migrate --registry`): each replaces the stored
    /// entry of the same input and file identity. The caller saves.
    pub fn import(&self, entries: Vec<Entry>) {
        let mut inner = self.lock();
        for entry in entries {
            inner.slots.retain(|_, s| {
                !(s.entry.input == entry.input && s.entry.file_id() == entry.file_id())
            });
            let id = self.new_id();
            inner.slots.insert(id, Slot::stored(entry));
        }
        inner.dirty = true;
    }

    /// The tailer read `id` to `read` (its size and fingerprint as `update`).
    pub fn read_progress(&self, id: SourceId, fp: Fingerprint, size: u64, read: u64) {
        self.update(id, None, Some(fp), size);
        if let Some(s) = self.lock().slots.get_mut(&id) {
            s.read = read;
        }
    }

    /// The files read now, for `/status`.
    pub fn status(&self) -> Vec<(SourceId, FileStatus)> {
        self.lock()
            .slots
            .iter()
            .filter(|(_, s)| s.tracked)
            .map(|(id, s)| {
                (
                    *id,
                    FileStatus {
                        input: s.entry.input.clone(),
                        path: s.entry.path.clone(),
                        dev: s.entry.dev,
                        ino: s.entry.ino,
                        // The open file's size now (the reader may be held back).
                        size: s
                            .file
                            .as_ref()
                            .and_then(|f| f.metadata().ok())
                            .map_or(s.size, |m| m.len()),
                        read: s.read.max(s.entry.offset),
                        acked: s.entry.offset,
                    },
                )
            })
            .collect()
    }

    /// The tailer stopped reading `id` at `read_to`. `gone`: the file was deleted, truncated or
    /// replaced, so the entry can never be used again and is dropped now.
    pub fn release(&self, id: SourceId, read_to: u64, gone: bool) {
        let mut inner = self.lock();
        if gone {
            inner.slots.remove(&id);
            inner.moved.retain(|_, v| *v != id);
            inner.dirty = true;
        } else if let Some(s) = inner.slots.get_mut(&id) {
            s.tracked = false;
            s.released_at = Some(read_to);
            s.file = None;
        }
    }

    /// Drops an entry outright (its identity no longer matches its file).
    pub fn forget(&self, id: SourceId) {
        let mut inner = self.lock();
        if inner.slots.remove(&id).is_some() {
            inner.dirty = true;
        }
    }

    /// Drops untracked entries whose file is no longer at its last known path, once fully
    /// acknowledged. The tailer recovers files rotated while the agent was stopped before its
    /// first prune.
    pub fn prune(&self) {
        let mut inner = self.lock();
        let before = inner.slots.len();
        inner.slots.retain(|_, s| {
            if s.tracked {
                return true;
            }
            if let Some(read_to) = s.released_at {
                if s.entry.offset < read_to {
                    return true; // acks still to come
                }
            }
            match std::fs::metadata(&s.entry.path) {
                Ok(m) => FileId::of(&m) == s.entry.file_id(),
                Err(_) => false,
            }
        });
        if inner.slots.len() != before {
            inner.dirty = true;
        }
    }

    /// What `id` has acknowledged (following a takeover).
    pub fn acked(&self, id: SourceId) -> Option<u64> {
        let inner = self.lock();
        let id = inner.moved.get(&id).copied().unwrap_or(id);
        inner.slots.get(&id).map(|s| s.entry.offset)
    }

    /// Acknowledged offset of a source.
    #[cfg(test)]
    pub fn offset(&self, id: SourceId) -> Option<u64> {
        self.lock().slots.get(&id).map(|s| s.entry.offset)
    }

    /// Bytes in tracked files not yet acknowledged.
    pub fn lag_bytes(&self) -> u64 {
        self.lock()
            .slots
            .values()
            .filter(|s| s.tracked)
            .map(|s| s.size.saturating_sub(s.entry.offset))
            .sum()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Writes the store if it changed since the last save. One save at a time: a second caller
    /// waits for the first, then writes what changed meanwhile.
    /// A new file is being read, or one was rotated away: written at once rather than at the
    /// next interval, so a crash in between cannot lose the only record of a file that is no
    /// longer under the names the input reads.
    pub fn save_soon(&self) {
        self.urgent.notify_one();
    }

    /// Resolves when `save_soon` was called.
    pub async fn wanted(&self) {
        self.urgent.notified().await
    }

    pub fn save(&self) -> io::Result<()> {
        let _one_writer = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let entries: Vec<Entry> = {
            let mut inner = self.lock();
            if !inner.dirty {
                return Ok(());
            }
            inner.dirty = false;
            for s in inner.slots.values_mut() {
                if let (Some(f), false) = (&s.file, s.hashed_at == Some(s.entry.offset)) {
                    s.entry.tail_hash = super::rotation::hash_before(f, s.entry.offset);
                    s.hashed_at = Some(s.entry.offset);
                }
            }
            let mut v: Vec<Entry> = inner.slots.values().map(|s| s.entry.clone()).collect();
            v.sort_by(|a, b| a.path.cmp(&b.path));
            v
        };
        let result = write_atomic(
            &self.file,
            &OnDisk {
                version: 1,
                entries,
            },
        );
        if result.is_err() {
            self.lock().dirty = true;
        }
        result
    }
}

/// Creates `dir` (and its parents) readable by the agent's user only (0700), and takes group
/// and other access away from one that exists: checkpoints, dead letters (whole records) and
/// the spool live there.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// Opens `path` for writing (created 0600: readable by the agent's user only).
pub fn private_file(path: &Path, append: bool) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .mode(0o600)
        .open(path)
}

fn write_atomic(path: &Path, data: &OnDisk) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(data).map_err(io::Error::other)?;
    let written = private_file(&tmp, false).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        // On a full disk, a partly written copy would keep taking the space it needs.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn entry(path: &Path, ino: u64) -> Entry {
        Entry {
            input: "file".into(),
            path: path.to_path_buf(),
            dev: 1,
            ino,
            birth: None,
            fp_len: 0,
            fp_hash: 0,
            offset: 0,
            generation: 0,
            tail_hash: None,
            updated: 0,
        }
    }

    #[test]
    fn persists_acked_offsets_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        let a = store.register(entry(Path::new("/a"), 10));
        store.ack(a, 100);
        store.ack(a, 50); // acks never move an offset back
        store.save().unwrap();
        let again = CheckpointStore::open(dir.path()).unwrap();
        let loaded = again.untracked("file");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].1.offset, 100);
        assert!(again.untracked("other").is_empty());
    }

    #[test]
    fn corrupt_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("checkpoints.json"), b"{nope").unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(store.len(), 0);
        assert!(dir.path().join("checkpoints.json.corrupt").exists());
    }

    #[test]
    fn prune_waits_for_acks_and_drops_vanished_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.log");
        std::fs::write(&f, b"x\n").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        let mut e = entry(&f, meta.ino());
        e.dev = meta.dev();
        let id = store.register(e);
        store.release(id, 2, false);
        std::fs::remove_file(&f).unwrap();
        store.prune();
        assert_eq!(store.len(), 1, "unacknowledged lines keep the entry");
        store.ack(id, 2);
        store.prune();
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn concurrent_saves_never_tear_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::open(dir.path()).unwrap());
        let ids: Vec<SourceId> = (0..50)
            .map(|i| store.register(entry(Path::new(&format!("/f{i}")), i)))
            .collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (file, stop) = (dir.path().join("checkpoints.json"), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(bytes) = std::fs::read(&file) {
                        serde_json::from_slice::<OnDisk>(&bytes).expect("a whole file");
                        reads += 1;
                    }
                }
                reads
            })
        };
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (store, ids) = (store.clone(), ids.clone());
                std::thread::spawn(move || {
                    for n in 0..200u64 {
                        for id in &ids {
                            store.ack(*id, n * 4 + w);
                        }
                        store.save().unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        let disk: OnDisk =
            serde_json::from_slice(&std::fs::read(dir.path().join("checkpoints.json")).unwrap())
                .unwrap();
        assert!(disk.entries.iter().all(|e| e.offset == 199 * 4 + 3));
    }
}
