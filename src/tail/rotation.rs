//! Finding where a file's lines went after a rotation, and checking that a file still holds what
//! was read from it. Pure file-system helpers used by the tailer:
//! - `find_by_id`: a renamed file by its inode, in its directory (logrotate `create`, Docker
//!   `max-size`, rotation while the agent was stopped);
//! - `find_copy`: the copy a copytruncate made, by fingerprint and by the last bytes read;
//! - `holds_at` / `same_window`: continuity checks that tell an append from a truncate-and-refill.

use super::identity::{FileId, Fingerprint};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes of continuity kept per file (the last bytes read).
pub const TAIL_BYTES: usize = 64;

/// True when `file` holds `bytes` ending at offset `end`.
pub fn holds_at(file: &File, bytes: &[u8], end: u64) -> bool {
    if bytes.is_empty() {
        return true;
    }
    let mut buf = [0u8; TAIL_BYTES];
    let Some(buf) = buf.get_mut(..bytes.len()) else {
        return false;
    };
    let start = end.saturating_sub(bytes.len() as u64);
    file.read_exact_at(buf, start).is_ok() && buf == bytes
}

/// How many bytes before a checkpointed offset are hashed into the checkpoint (`Entry::tail_hash`).
pub const BEFORE_BYTES: usize = 64;

/// xxh3 of the (up to) `BEFORE_BYTES` bytes that end at `offset`; None if they cannot be read.
pub fn hash_before(file: &File, offset: u64) -> Option<u64> {
    let n = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(BEFORE_BYTES);
    let mut buf = [0u8; BEFORE_BYTES];
    let buf = buf.get_mut(..n)?;
    file.read_exact_at(buf, offset - n as u64).ok()?;
    Some(xxhash_rust::xxh3::xxh3_64(buf))
}

pub fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| FileId::of(&m))
}

/// Where a symlink leads (links followed, at most 8), or `path` itself: rotation happens beside
/// the file, not beside the link (`/var/log/containers/x.log` → `/var/log/pods/…/0.log`).
pub fn resolved(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..8 {
        let Ok(target) = std::fs::read_link(&p) else {
            break;
        };
        p = match p.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    p
}

/// Where the file `fid` is now: its old path, or another name in the same directory (the
/// directory of the link's target, for a link).
pub fn find_by_id(old: &Path, fid: FileId) -> Option<PathBuf> {
    if file_id(old) == Some(fid) {
        return Some(old.to_path_buf());
    }
    let real = resolved(old);
    let mut dirs = vec![real.parent()?.to_path_buf()];
    if let Some(d) = old.parent() {
        if !dirs.iter().any(|x| x == d) {
            dirs.push(d.to_path_buf());
        }
    }
    dirs.iter().find_map(|dir| {
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                std::fs::symlink_metadata(p)
                    .map(|m| m.is_file() && FileId::of(&m) == fid)
                    .unwrap_or(false)
            })
    })
}

/// Compressed rotated files (`.gz`, `.bz2`, `.xz`, `.zst`, `.lz4`, `.zip`) are not text to read.
pub fn is_compressed(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("gz" | "bz2" | "xz" | "zst" | "lz4" | "zip" | "Z")
    )
}

/// A copy of a truncated file next to it: another file that starts with the original's
/// fingerprint and holds the bytes last read from the original at the same offset.
pub fn find_copy(
    path: &Path,
    fid: FileId,
    fp: Fingerprint,
    consumed: u64,
    tail: &[u8],
    read_pos: u64,
) -> Option<PathBuf> {
    if fp.len == 0 && tail.is_empty() {
        return None;
    }
    let real = resolved(path);
    let dir = real.parent()?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let Ok(m) = std::fs::symlink_metadata(p) else {
                return false;
            };
            if !m.is_file() || FileId::of(&m) == fid || m.len() < consumed {
                return false;
            }
            let ok = crate::open_files::open_log(p)
                .map(|f| (fp.matches(&f).unwrap_or(false), holds_at(&f, tail, read_pos)))
                .unwrap_or((false, false));
            tracing::debug!(candidate = %p.display(), fp_ok = ok.0, tail_ok = ok.1, fp_len = fp.len, tail_len = tail.len(), read_pos, "copy candidate");
            ok.0 && ok.1
        })
        .collect();
    // The newest copy is the one just made.
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.pop()
}

/// True when `a` starts as `b` does: the same first `FINGERPRINT_BYTES` bytes, or, when `b` is
/// shorter than that, the same whole content (a short prefix such as a timestamp shared by every
/// line proves nothing).
pub fn same_start(a: &File, b: &File) -> bool {
    use super::identity::FINGERPRINT_BYTES;
    let (Ok(ma), Ok(mb)) = (a.metadata(), b.metadata()) else {
        return false;
    };
    let full = FINGERPRINT_BYTES as u64;
    if mb.len() == 0 || (mb.len() < full && ma.len() != mb.len()) || ma.len() < mb.len().min(full) {
        return false;
    }
    let n = mb.len().min(full) as usize;
    let mut x = [0u8; FINGERPRINT_BYTES];
    let mut y = [0u8; FINGERPRINT_BYTES];
    let (Some(x), Some(y)) = (x.get_mut(..n), y.get_mut(..n)) else {
        return false;
    };
    a.read_exact_at(x, 0).is_ok() && b.read_exact_at(y, 0).is_ok() && x == y
}

/// True when the 4 KiB before `at` are the same in both files.
pub fn same_window(a: &File, b: &File, at: u64) -> bool {
    let start = at.saturating_sub(4096);
    let len = (at - start) as usize;
    let mut x = vec![0u8; len];
    let mut y = vec![0u8; len];
    a.read_exact_at(&mut x, start).is_ok() && b.read_exact_at(&mut y, start).is_ok() && x == y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, content: &[u8]) -> File {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        File::open(p).unwrap()
    }

    #[test]
    fn same_start_needs_a_full_fingerprint_or_the_whole_short_file() {
        let d = tempfile::tempdir().unwrap();
        let line = |n: u32| format!("2026-11-24T10:00:00Z INFO app: request #{n}\n");
        let gen: String = (0..20).map(line).collect();
        let next: String = (20..40).map(line).collect();
        let current = file(d.path(), "app.log", gen.as_bytes());
        let copy = file(d.path(), "app.log.1", gen.as_bytes());
        let older = file(d.path(), "app.log.2", next.as_bytes());
        assert!(same_start(&copy, &current));
        assert!(!same_start(&older, &current));
        // A short file shares only the timestamp prefix with an older copy: not the same.
        let short = file(d.path(), "short", &line(99).as_bytes()[..30]);
        assert!(!same_start(&older, &short));
        let short_copy = file(d.path(), "short.1", &line(99).as_bytes()[..30]);
        assert!(same_start(&short_copy, &short));
        let empty = file(d.path(), "empty", b"");
        assert!(!same_start(&copy, &empty));
    }
}
