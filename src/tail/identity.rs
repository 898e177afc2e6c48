//! File identity: device + inode + birth time (when the file system records it) + a fingerprint
//! of the first bytes. A checkpoint is applied to a file only when all of them match, so a new
//! file that reuses a deleted file's inode is read from its start, never at the old offset
//! (elastic/beats#1341, vector#26334).

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use xxhash_rust::xxh3::xxh3_64;

/// How many leading bytes the fingerprint covers. Short files have a shorter fingerprint that
/// grows with them (a file of 0 bytes matches any file: there is nothing to lose by resuming at 0).
pub const FINGERPRINT_BYTES: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Birth time in nanoseconds since the epoch, where the file system keeps one (ext4, xfs, btrfs).
pub fn birth_time(meta: &Metadata) -> Option<i128> {
    let t = meta.created().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_nanos() as i128)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub len: u32,
    pub hash: u64,
}

impl Fingerprint {
    /// Fingerprint of the first `FINGERPRINT_BYTES` (or fewer, for a short file).
    pub fn of(file: &File) -> io::Result<Fingerprint> {
        let mut buf = [0u8; FINGERPRINT_BYTES];
        let n = read_prefix(file, &mut buf)?;
        Ok(Fingerprint {
            len: n as u32,
            hash: xxh3_64(buf.get(..n).unwrap_or_default()),
        })
    }

    /// True when the file still starts with the bytes this fingerprint was taken of.
    pub fn matches(&self, file: &File) -> io::Result<bool> {
        if self.len == 0 {
            return Ok(true);
        }
        let mut buf = [0u8; FINGERPRINT_BYTES];
        // A length no fingerprint has (a checkpoint file edited or damaged) matches no file.
        let Some(prefix) = buf.get_mut(..self.len as usize) else {
            return Ok(false);
        };
        let want = prefix.len();
        let n = read_prefix(file, prefix)?;
        Ok(n == want && xxh3_64(prefix.get(..n).unwrap_or_default()) == self.hash)
    }

    pub fn is_complete(&self) -> bool {
        self.len as usize >= FINGERPRINT_BYTES
    }
}

fn read_prefix(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn fingerprint_grows_and_detects_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(b"hello\n").unwrap();
        let r = File::open(&p).unwrap();
        let fp = Fingerprint::of(&r).unwrap();
        assert_eq!(fp.len, 6);
        f.write_all(&[b'x'; 400]).unwrap();
        assert!(fp.matches(&r).unwrap());
        let full = Fingerprint::of(&r).unwrap();
        assert!(full.is_complete());
        std::fs::write(&p, b"other content that is long enough\n").unwrap();
        assert!(!fp.matches(&r).unwrap());
        assert!(!full.matches(&r).unwrap());
    }

    #[test]
    fn a_length_no_fingerprint_has_matches_no_file() {
        // Such lengths come only from a checkpoint file edited or damaged; they panicked.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [b'x'; 2000]).unwrap();
        let r = File::open(&p).unwrap();
        let full = Fingerprint::of(&r).unwrap();
        for len in [FINGERPRINT_BYTES as u32 + 1, 1000, u32::MAX] {
            let fp = Fingerprint { len, ..full };
            assert!(!fp.matches(&r).unwrap());
        }
        assert!(full.matches(&r).unwrap());
    }
}
