//! Files that appear under a rotated name of a file being read (`app.log.1` beside `app.log`),
//! not by a rename: copytruncate copies, usually. Taking one as a new file would read again
//! everything already read from the original (with `paths: [app.log*]`, every line twice at
//! every rotation); ignoring it would lose the lines written and copied before the tailer read
//! them. So such a file waits as a *candidate* until it can be judged:
//! - while it still starts as the original does now, the original has not been truncated yet
//!   (copy made, truncation to come): wait; the truncation hands it over from where reading
//!   stopped (`recovery.rs`). A copy whose original is never truncated is dropped after
//!   `COPY_WAIT`: its lines are read from the original;
//! - while it is still growing (the copy is being written), wait;
//! - if it starts with what was read from the original (its fingerprint), it is the copy the
//!   truncation handling adopts: wait for that, then drop;
//! - otherwise it holds lines the tailer never read (written and copied before it could read
//!   them): read it whole.

use super::opener::rotated_base;
use super::rotation::same_start;
use super::tailer::Tailer;
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a copy of content still at the original's name waits for the truncation.
const COPY_WAIT: Duration = Duration::from_secs(30);
/// A copy whose size did not change for this long is taken as complete.
const SETTLED: Duration = Duration::from_millis(200);

pub(super) struct Candidate {
    /// The name the input knows it by (the original's, or its own when the globs match it).
    pub path: PathBuf,
    /// The rotated name it appeared under.
    pub name: PathBuf,
    pub file: File,
    pub since: Instant,
    /// Size at the last look, and when it last changed.
    pub size: u64,
    pub grew: Instant,
}

impl Tailer {
    /// The file being read (not rotated) whose rotated name `name` is, if any.
    fn original_of(&self, name: &std::path::Path) -> Option<usize> {
        let base = rotated_base(name)?;
        let real = super::rotation::resolved(&base);
        self.files.iter().position(|t| {
            !t.rotated && (t.path == base || super::rotation::resolved(&t.path) == real)
        })
    }

    /// A file found not by a rename: a candidate if it sits under a rotated name of a file being
    /// read (returned None), else handed back to be started now.
    pub(super) fn maybe_candidate(
        &mut self,
        path: PathBuf,
        opened_as: Option<&std::path::Path>,
        file: File,
    ) -> Option<(PathBuf, File)> {
        let name = opened_as.unwrap_or(&path);
        let known = file.metadata().ok().is_some_and(|m| {
            let fid = super::identity::FileId::of(&m);
            self.store
                .untracked(&self.settings.key)
                .iter()
                .any(|(_, e)| e.file_id() == fid)
        });
        // A file with a checkpoint is resumed by `start`, not judged.
        if known || self.original_of(name).is_none() {
            return Some((path, file));
        }
        tracing::debug!(file = %name.display(), "a file created under a rotated name: judged once complete");
        let name = name.to_path_buf();
        self.add_candidate(path, name, file);
        None
    }

    /// `file`, found under the rotated name `name` and known as `path`, waits to be judged.
    pub(super) fn add_candidate(&mut self, path: PathBuf, name: PathBuf, file: File) {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let now = Instant::now();
        self.candidates.push(Candidate {
            path,
            name,
            file,
            since: now,
            size,
            grew: now,
        });
    }

    /// After a restart: files under rotated names of `path` born since its checkpoint was last
    /// updated (`updated`, Unix seconds) and unknown are judged as copies made while the agent
    /// was stopped.
    pub(super) fn candidates_since(&mut self, path: &std::path::Path, updated: i64) {
        let real = super::rotation::resolved(path);
        let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let since = std::time::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(updated).unwrap_or(0))
            - super::recovery::CLOCK_SLACK;
        let known: Vec<super::identity::FileId> = self
            .store
            .untracked(&self.settings.key)
            .iter()
            .map(|(_, e)| e.file_id())
            .collect();
        for entry in entries.flatten() {
            let p = entry.path();
            if rotated_base(&p).as_deref().and_then(|b| b.file_name()) != Some(name)
                || super::rotation::is_compressed(&p)
            {
                continue;
            }
            let Ok(file) = File::open(&p) else { continue };
            let Ok(meta) = file.metadata() else { continue };
            let fid = super::identity::FileId::of(&meta);
            let born = meta.created().or_else(|_| meta.modified());
            if !meta.is_file()
                || known.contains(&fid)
                || self.files.iter().any(|t| t.fid == fid)
                || self.candidates.iter().any(|c| c.name == p)
                || born.map(|b| b < since).unwrap_or(true)
            {
                continue;
            }
            let display = if self.discovery.matches(&p) {
                p.clone()
            } else {
                path.to_path_buf()
            };
            self.add_candidate(display, p, file);
        }
    }

    /// Judges the waiting candidates (see the top of this file).
    pub(super) fn judge_candidates(&mut self) {
        let mut i = 0;
        while i < self.candidates.len() {
            let c = &mut self.candidates[i];
            let Ok(meta) = c.file.metadata() else {
                self.candidates.swap_remove(i);
                continue;
            };
            let fid = super::identity::FileId::of(&meta);
            if self.files.iter().any(|t| t.fid == fid) {
                // Adopted by the truncation handling, or read already.
                self.candidates.swap_remove(i);
                continue;
            }
            if meta.len() != c.size {
                c.size = meta.len();
                c.grew = Instant::now();
            }
            let settled = c.grew.elapsed() >= SETTLED;
            let expired = c.since.elapsed() >= COPY_WAIT;
            let c = &self.candidates[i];
            let original = self.original_of(&c.name);
            let verdict = match original.map(|o| &self.files[o]) {
                None => Verdict::Read,
                Some(_) if !settled => Verdict::Wait,
                Some(t) if same_start(&c.file, &t.file) => Verdict::Wait,
                Some(t) if t.fp.len > 0 && t.fp.matches(&c.file).unwrap_or(false) => Verdict::Wait,
                Some(_) => Verdict::Read,
            };
            match verdict {
                Verdict::Wait if !expired => i += 1,
                Verdict::Wait => {
                    tracing::debug!(file = %c.path.display(), "a copy of lines read from the original: not read again");
                    self.candidates.swap_remove(i);
                }
                Verdict::Read => {
                    let c = self.candidates.swap_remove(i);
                    tracing::info!(input = %self.settings.input, file = %c.path.display(),
                        "a rotated copy holds lines never read from the original; reading it");
                    self.start_moved(c.path, c.file);
                }
            }
        }
    }
}

enum Verdict {
    Wait,
    Read,
}
