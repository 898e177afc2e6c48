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
//!   them): read it whole;
//! - but while no file being read is its original and its original's name holds a file the
//!   globs match that the tailer has not taken yet (just created, still on its way from the
//!   opener or the next scan), wait for that file to be taken: read whole now, the copy's lines
//!   would be read again from the original when it is (then truncated: a duplicate of every
//!   line copied). Taken, the rules above apply; never taken (excluded, unreadable), the copy is
//!   read whole after `COPY_WAIT`.

use super::identity::FileId;
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

    /// True when the original's name of the rotated name `name` holds a file, other than
    /// `copy`, that the globs match and this tailer does not read yet: it is about to be taken.
    fn original_untaken(&self, name: &std::path::Path, copy: FileId) -> bool {
        let Some(base) = rotated_base(name) else {
            return false;
        };
        let Ok(meta) = std::fs::metadata(&base) else {
            return false;
        };
        let fid = FileId::of(&meta);
        meta.is_file()
            && fid != copy
            && self.discovery.matches(&base)
            && !self.files.iter().any(|t| t.fid == fid)
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
            let fid = FileId::of(&m);
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
        let known: Vec<FileId> = self
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
            let Ok(file) = crate::open_files::open_log(&p) else {
                continue;
            };
            let Ok(meta) = file.metadata() else { continue };
            let fid = FileId::of(&meta);
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
            let fid = FileId::of(&meta);
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
                None if self.original_untaken(&c.name, fid) => Verdict::Untaken,
                None => Verdict::Read,
                Some(_) if !settled => Verdict::Wait,
                Some(t) if same_start(&c.file, &t.file) => Verdict::Wait,
                Some(t) if t.fp.len > 0 && t.fp.matches(&c.file).unwrap_or(false) => Verdict::Wait,
                Some(_) => Verdict::Read,
            };
            match verdict {
                Verdict::Wait | Verdict::Untaken if !expired => i += 1,
                Verdict::Wait => {
                    tracing::debug!(file = %c.path.display(), "a copy of lines read from the original: not read again");
                    self.candidates.swap_remove(i);
                }
                Verdict::Read | Verdict::Untaken => {
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
    /// Its original is not read yet but about to be: wait for it (read whole at `COPY_WAIT`).
    Untaken,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::tail::checkpoint::CheckpointStore;
    use std::io::Write;
    use std::path::Path;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn tailer(dir: &Path) -> (Tailer, tokio::sync::mpsc::Receiver<Vec<Event>>) {
        let cfg: crate::input::file::config::FileInputConfig = serde_json::from_value(
            serde_json::json!({"paths": [format!("{}/app.log", dir.display())], "read_from": "beginning"}),
        )
        .unwrap();
        let (settings, decoders) =
            crate::input::file::tail_settings("t", "t", &cfg, 1 << 20, "host");
        let store = Arc::new(CheckpointStore::open(&dir.join("data")).unwrap());
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let stop = Arc::new(AtomicBool::new(false));
        (Tailer::new(settings, store, decoders, tx, stop), rx)
    }

    fn append(path: &Path, lines: std::ops::Range<u32>) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        for n in lines {
            writeln!(f, "line #{n} the same text é").unwrap();
        }
    }

    /// Polls every file, judges the candidates and sends what was read.
    fn round(t: &mut Tailer) {
        for i in 0..t.files.len() {
            t.poll(i);
        }
        t.judge_candidates();
        t.flush_chunk();
    }

    fn messages(rx: &mut tokio::sync::mpsc::Receiver<Vec<Event>>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            for e in chunk {
                out.push(e.to_value()["message"].as_str().unwrap_or("").to_string());
            }
        }
        out
    }

    /// What the tailer model found (seed 1796560070594060562): a file created at the input's
    /// name is written, copied under a rotated name (copytruncate's first half), and the copy is
    /// judged before the tailer takes the file. Read whole then, its lines came a second time
    /// from the file, which still held them. It waits for the file instead; the truncation then
    /// hands it over from where the file's reading stopped: every line once.
    #[test]
    fn a_copy_waits_for_its_original_not_taken_yet() {
        let d = tempfile::tempdir().unwrap();
        let (log, copy) = (d.path().join("app.log"), d.path().join("app.log.3"));
        append(&log, 0..10);
        std::fs::copy(&log, &copy).unwrap();
        let (mut t, mut rx) = tailer(d.path());
        // The copy reaches the tailer first, as the missed-rotation sweep hands it over.
        t.add_candidate(log.clone(), copy.clone(), File::open(&copy).unwrap());
        round(&mut t);
        assert_eq!(
            t.candidates.len(),
            1,
            "judged before its original was taken"
        );
        assert!(t.files.is_empty());
        // The original taken and read; then truncated and written again.
        t.start(log.clone(), File::open(&log).unwrap(), false, None);
        round(&mut t);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, 10..15);
        for _ in 0..3 {
            round(&mut t);
        }
        let got = messages(&mut rx);
        let want: Vec<String> = (0..15)
            .map(|n| format!("line #{n} the same text é"))
            .collect();
        assert_eq!(got, want);
        assert!(t.candidates.is_empty(), "the copy was adopted");
    }

    /// A copy whose original's name holds nothing the tailer could take (deleted since) is read
    /// whole at once: its lines are nowhere else.
    #[test]
    fn a_copy_without_an_original_is_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let (log, copy) = (d.path().join("app.log"), d.path().join("app.log.1"));
        append(&copy, 0..3);
        let (mut t, mut rx) = tailer(d.path());
        t.add_candidate(log.clone(), copy.clone(), File::open(&copy).unwrap());
        round(&mut t);
        round(&mut t);
        let want: Vec<String> = (0..3)
            .map(|n| format!("line #{n} the same text é"))
            .collect();
        assert_eq!(messages(&mut rx), want);
    }
}
