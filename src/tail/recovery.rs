//! Rotation recovery, the part of the tailer that finds where unread lines went:
//! - a truncated file (copytruncate): the copy next to it is found by fingerprint and by the last
//!   bytes read, read from where reading stopped, and takes over the original's acknowledged
//!   offset and acks in flight; the truncated file starts over as a new generation at 0;
//! - rotated names born since the tailer last looked and never seen (a writer that rotates
//!   faster than the tailer reads): read whole;
//! - a copy found by a scan under a name the globs match: read from where the original is;
//! - after a restart, checkpoints whose path now names another file: finished where they are.

use super::checkpoint::Entry;
use super::identity::{birth_time, FileId, Fingerprint};
use super::reader::LineReader;
use super::resume::{decide, Resume};
use super::rotation::{file_id, find_by_id, find_copy, is_compressed, resolved, same_window};
use super::tailer::Tailer;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

/// File-system timestamps lag the system clock by up to a tick; birth times are compared with
/// this much slack (files already read are excluded by identity, so slack cannot cause re-reads).
pub(super) const CLOCK_SLACK: Duration = Duration::from_secs(2);

impl Tailer {
    /// Rotated names of `original` (`app.log.1`, `app.log.2`, ...) born after `since` and unknown:
    /// they were created and rotated (or copied and truncated) while the tailer was not looking.
    /// Read them whole.
    pub(super) fn read_missed_rotations(&mut self, original: &Path, since: std::time::SystemTime) {
        // Beside the file, not the link to it (the kubelet rotates `…/0.log` to `0.log.<stamp>`).
        let real = resolved(original);
        let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
            return;
        };
        let name = name.to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let known: Vec<(FileId, Option<i128>)> = self
            .store
            .untracked(&self.settings.key)
            .iter()
            .map(|(_, e)| (e.file_id(), e.birth))
            .collect();
        for entry in entries.flatten() {
            let path = entry.path();
            let fname = entry.file_name().to_string_lossy().into_owned();
            if fname == name
                || !fname.starts_with(&name)
                || is_compressed(&path)
                || self.discovery.excluded(&path)
            {
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
            let Ok(file) = crate::open_files::open_log(&path) else {
                continue;
            };
            if self.candidates.iter().any(|c| c.name == path) {
                continue;
            }
            // Judged like a file created under a rotated name (`copies.rs`): read whole unless
            // it is a copy of content being read, which its truncation hands over.
            tracing::info!(input = %self.settings.input, file = %path.display(),
                "found a file rotated before it was seen");
            // Known by the name it was written under (a link's name keeps its fields), or by its
            // own where the globs match it.
            let display = if self.discovery.matches(&path) {
                path.clone()
            } else {
                original.to_path_buf()
            };
            self.add_candidate(display, path, file);
        }
    }

    /// A file found mid-run that is a copy of one being read (copytruncate into a name the globs
    /// also match): it starts where the original's reading is, not at 0, when the bytes before
    /// that point are the same in both.
    /// Returns (where to read from, what the original had acknowledged).
    pub(super) fn copy_offset(
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
    pub(super) fn recover_rotated_while_down(&mut self) {
        let mut gone = std::mem::take(&mut self.orphans);
        for (_, e) in self.store.untracked(&self.settings.key) {
            match self.same_file_elsewhere(&e) {
                Found::Same(path, file, size) => {
                    if size > e.offset {
                        tracing::info!(input = %self.settings.input, file = %path.display(),
                            "finishing a file rotated while the agent was stopped");
                        // Known by its checkpointed name (a link's name keeps its fields).
                        self.start(
                            e.path.clone(),
                            file,
                            false,
                            Some((e.offset, e.offset, true)),
                        );
                    }
                    if path != e.path {
                        self.read_rotated_since(&e);
                    }
                }
                Found::Rewritten(path, file) => {
                    // Its inode holds other content now (truncated and written again while the
                    // agent was stopped): that content was never read.
                    tracing::info!(input = %self.settings.input, file = %path.display(),
                        "a file rewritten while the agent was stopped; reading it from the start");
                    self.start(e.path.clone(), file, false, Some((0, 0, true)));
                    gone.push(e);
                }
                Found::Nothing => gone.push(e),
            }
        }
        for e in gone {
            // Gone, truncated or replaced while the agent was stopped: what was not acknowledged
            // may be in a copy that starts as the checkpointed content did (copytruncate), and
            // generations it never saw may sit under rotated names.
            if let Some((copy, file)) =
                find_content_copy(&e, |fid| self.files.iter().any(|t| t.fid == fid))
            {
                tracing::info!(input = %self.settings.input, file = %copy.display(), offset = e.offset,
                    "finishing the copy of a file truncated while the agent was stopped");
                self.start(
                    e.path.clone(),
                    file,
                    false,
                    Some((e.offset, e.offset, true)),
                );
            }
            self.read_rotated_since(&e);
        }
    }

    /// The checkpointed file of `e`, found by inode (at its path or renamed beside it) and
    /// judged by the resume rule: the same file, or its inode holding other content now (not a
    /// file being read, nor an unrelated file that got the inode: its name must be the entry's
    /// or a rotated name of it).
    fn same_file_elsewhere(&self, e: &Entry) -> Found {
        let Some(path) = find_by_id(&e.path, e.file_id()) else {
            return Found::Nothing;
        };
        let (Ok(file), true) = (
            crate::open_files::open_log(&path),
            !self.files.iter().any(|t| t.fid == e.file_id()),
        ) else {
            return Found::Nothing;
        };
        let Ok(meta) = file.metadata() else {
            return Found::Nothing;
        };
        let found = super::resume::Found {
            fid: FileId::of(&meta),
            birth: birth_time(&meta),
            size: meta.len(),
            probe: &file,
        };
        match decide(e, &found) {
            Resume::At { .. } => Found::Same(path, file, meta.len()),
            Resume::Replaced { .. }
                if e.birth.is_some() && e.birth == found.birth && is_name_of(&path, &e.path) =>
            {
                Found::Rewritten(path, file)
            }
            _ => {
                tracing::debug!(file = %path.display(), "not the checkpointed file (its inode was reused)");
                Found::Nothing
            }
        }
    }

    /// Rotated names of `e`'s file born after its checkpoint was last updated: generations the
    /// agent never saw, created (or copied) while it was stopped.
    fn read_rotated_since(&mut self, e: &Entry) {
        let since =
            std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(e.updated).unwrap_or(0));
        self.read_missed_rotations(&e.path, since);
    }

    /// File `i` shrank (or its first bytes changed): recover unread lines from a copy, then read
    /// it again from 0 as a new source.
    pub(super) fn truncated(&mut self, i: usize) {
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
                if let Ok(f) = crate::open_files::open_log(&copy) {
                    tracing::info!(file = %copy.display(), offset = consumed,
                        "reading the lines not yet read from the rotated copy");
                    // Checkpointed from what the original had acknowledged, at once: a save
                    // between this and the transfer below must not record more.
                    let acked = self.store.acked(old_id).unwrap_or(0).min(consumed);
                    heir = self.start(copy, f, false, Some((consumed, acked, true)));
                }
            }
        }
        // The new content's fingerprint first: the sweep leaves its copies (made before this
        // look) to the next truncation instead of reading them whole beside it.
        let fp = Fingerprint::of(&self.files[i].file).unwrap_or(Fingerprint { len: 0, hash: 0 });
        self.files[i].fp = fp;
        self.read_missed_rotations(&path, since);
        match heir {
            // The copy takes over what was acknowledged and the acks in flight.
            Some(copy) => self.store.transfer(old_id, copy),
            None => self.store.release(old_id, consumed, true),
        }
        let t = &mut self.files[i];
        t.reader = LineReader::new(0, self.settings.max_line);
        t.tail.clear();
        // Not at its end any more: a rotated file is released only once this content is read.
        t.at_eof = false;
        t.last_data = std::time::Instant::now();
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
}

/// A file beside `e`'s (a rotated name of it) that is not being read and holds `e`'s content up
/// to its acknowledged offset: same first bytes, same bytes before the offset.
fn find_content_copy(
    e: &Entry,
    tracked: impl Fn(FileId) -> bool,
) -> Option<(std::path::PathBuf, File)> {
    if e.fp_len == 0 || e.tail_hash.is_none() && e.offset > 0 {
        return None;
    }
    let real = resolved(&e.path);
    let (dir, name) = (
        real.parent()?,
        real.file_name()?.to_string_lossy().into_owned(),
    );
    std::fs::read_dir(dir).ok()?.flatten().find_map(|d| {
        let path = d.path();
        let fname = d.file_name().to_string_lossy().into_owned();
        if fname == name || !fname.starts_with(&name) || is_compressed(&path) {
            return None;
        }
        let file = crate::open_files::open_log(&path).ok()?;
        let meta = file.metadata().ok()?;
        let fid = FileId::of(&meta);
        if !meta.is_file() || tracked(fid) {
            return None;
        }
        // Judged as if it were the checkpointed file itself.
        let mut as_entry = e.clone();
        as_entry.dev = fid.dev;
        as_entry.ino = fid.ino;
        as_entry.birth = None;
        let found = super::resume::Found {
            fid,
            birth: None,
            size: meta.len(),
            probe: &file,
        };
        matches!(decide(&as_entry, &found), Resume::At { .. }).then_some((path, file))
    })
}

/// What became of a checkpointed file while the agent was stopped.
enum Found {
    Same(std::path::PathBuf, File, u64),
    Rewritten(std::path::PathBuf, File),
    Nothing,
}

/// True when `path` is `original` or a rotated name of it (beside it or beside its link target).
fn is_name_of(path: &Path, original: &Path) -> bool {
    if path == original {
        return true;
    }
    let real = resolved(original);
    let (Some(name), Some(dir)) = (real.file_name(), real.parent()) else {
        return false;
    };
    path.parent() == Some(dir)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .zip(name.to_str())
            .is_some_and(|(n, base)| n.len() > base.len() && n.starts_with(base))
}
