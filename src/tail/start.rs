//! Where a file starts being read, the part of the tailer that takes a file on: its identity
//! (device, inode, birth, fingerprint), the checkpoint it resumes (`resume.rs` decides) or
//! `read_from`, a new source id, and the copies made of it while the agent was stopped.

use super::checkpoint::Entry;
use super::decoder::ReadFrom;
use super::identity::{birth_time, FileId, Fingerprint};
use super::reader::LineReader;
use super::resume::{decide, Found, Resume};
use super::tailer::Tailer;
use super::tailer::SEEN_MAX;
use super::tracked::Tracked;
use crate::event::SourceId;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Pairs of inputs (their keys) already named in the warning that they read the same file.
static OVERLAPS: std::sync::Mutex<std::collections::BTreeSet<(String, String)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

impl Tailer {
    /// Starts reading `file`. `forced` = (where to read from, what is acknowledged already,
    /// rotated) overrides the rules (rotation and copy recovery).
    /// Returns the new source, or None when the file could not be looked at.
    pub(super) fn start(
        &mut self,
        path: PathBuf,
        file: File,
        initial: bool,
        forced: Option<(u64, u64, bool)>,
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
        let found = Found {
            fid,
            birth,
            size,
            probe: &file,
        };
        let entries = self.store.untracked(&input);
        // A new file at a path the agent was reading (rotated, or replaced, while it was
        // stopped) holds lines written since: read from its start whatever `read_from` says.
        let path_known = entries.iter().any(|(_, e)| e.path == path);
        for (id, e) in entries {
            match decide(&e, &found) {
                Resume::Unrelated => {}
                Resume::At { offset, generation } => {
                    resumed = Some((id, offset, generation, e.updated))
                }
                Resume::Replaced { next_generation } => {
                    tracing::info!(input = %input, file = %path.display(),
                        "a new file has the inode of a checkpointed one; reading it from the start");
                    // Its records must not get the old content's document ids.
                    generation = generation.max(next_generation);
                    self.store.forget(id);
                    if initial {
                        self.orphans.push(e);
                    }
                }
            }
        }
        let mut copies_since = None;
        let (id, offset, rotated) = if let Some((id, offset, g, updated)) = resumed {
            if initial {
                copies_since = Some(updated);
            }
            generation = g;
            self.store.claim(id);
            self.store.update(id, Some(&path), Some(fp), size);
            (id, offset, forced.map(|f| f.2).unwrap_or(false))
        } else {
            // Where reading starts, and where the checkpoint starts: a copy found next to the
            // file it copies is read from where that one's reading is, but checkpointed from
            // what that one had acknowledged (a crash in between re-reads, never skips).
            let (offset, acked, rotated) = match forced {
                Some(f) => f,
                None if initial && !path_known && self.settings.read_from == ReadFrom::End => {
                    (size, size, false)
                }
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
        if let Some(other) = self.store.read_by_another(&self.settings.key, fid) {
            // Two inputs whose paths overlap each ship the file's lines: said once per pair.
            let pair = if other < self.settings.key {
                (other.clone(), self.settings.key.clone())
            } else {
                (self.settings.key.clone(), other.clone())
            };
            if OVERLAPS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(pair)
            {
                tracing::warn!(input = %self.settings.input, other_input = %other, file = %path.display(),
                    "this file is also read by another input: each ships its lines, so every line is shipped twice; `exclude` it from one of them (said once for this pair of inputs)");
            }
        }
        self.store.save_soon();
        // Counted against the inputs' share of the open file limit until released.
        let file = Arc::new(crate::open_files::Held::new(file));
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
            mtime: (0, 0),
            tail: Vec::new(),
        });
        if let Some(updated) = copies_since {
            // Copies made while the agent was stopped (copytruncate) of lines it had not read.
            self.candidates_since(&self.files[self.files.len() - 1].path.clone(), updated);
        }
        Some(id)
    }
}
