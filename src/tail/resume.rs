//! The resume decision, as a pure function: a stored checkpoint entry and a file found now →
//! resume it at the entry's offset, or it is another file that happens to have the entry's inode
//! (read from the start, under a new generation so its records get new document ids).
//!
//! A file is the entry's file only when every one of these holds:
//! - same device and inode, and the same birth time where the file system records one;
//! - it is at least as long as the acknowledged offset;
//! - it still starts with the fingerprinted first bytes;
//! - the bytes just before the offset hash to what was stored (`Entry::tail_hash`): a file
//!   truncated and rewritten with the same long header is not resumed in the middle of a line.
//!
//! The facts about the file come through `Probe`, so the rule is tested without a file system.

use super::checkpoint::Entry;
use super::identity::{FileId, Fingerprint};
use std::fs::File;

/// What the decision needs to read from a file.
pub trait Probe {
    /// True when the file starts with the bytes `fp` was taken of.
    fn starts_with(&self, fp: Fingerprint) -> bool;
    /// xxh3 of the `rotation::BEFORE_BYTES` bytes that end at `offset`.
    fn hash_before(&self, offset: u64) -> Option<u64>;
}

impl Probe for File {
    fn starts_with(&self, fp: Fingerprint) -> bool {
        fp.matches(self).unwrap_or(false)
    }
    fn hash_before(&self, offset: u64) -> Option<u64> {
        super::rotation::hash_before(self, offset)
    }
}

/// A file as found on disk.
pub struct Found<'a, P: Probe + ?Sized> {
    pub fid: FileId,
    pub birth: Option<i128>,
    pub size: u64,
    pub probe: &'a P,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// The entry is about another inode: it says nothing of this file.
    Unrelated,
    /// The same file: read on from `offset` (acknowledged up to there).
    At { offset: u64, generation: u32 },
    /// Another file at the entry's inode: the entry is obsolete, and the file's records need a
    /// generation after the entry's.
    Replaced { next_generation: u32 },
}

pub fn decide<P: Probe + ?Sized>(e: &Entry, f: &Found<'_, P>) -> Resume {
    if e.file_id() != f.fid {
        return Resume::Unrelated;
    }
    let same_birth = match (e.birth, f.birth) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let same = same_birth
        && e.offset <= f.size
        && f.probe.starts_with(e.fingerprint())
        && e.tail_hash
            .is_none_or(|h| f.probe.hash_before(e.offset) == Some(h));
    if same {
        Resume::At {
            offset: e.offset,
            generation: e.generation,
        }
    } else {
        Resume::Replaced {
            next_generation: e.generation.wrapping_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tail::identity::FINGERPRINT_BYTES;
    use crate::tail::rotation::BEFORE_BYTES;
    use std::path::PathBuf;
    use xxhash_rust::xxh3::xxh3_64;

    /// A file's content in memory.
    struct Bytes(Vec<u8>);

    impl Probe for Bytes {
        fn starts_with(&self, fp: Fingerprint) -> bool {
            fp.len == 0
                || self
                    .0
                    .get(..fp.len as usize)
                    .is_some_and(|b| xxh3_64(b) == fp.hash)
        }
        fn hash_before(&self, offset: u64) -> Option<u64> {
            let end = usize::try_from(offset).ok()?;
            let start = end.saturating_sub(BEFORE_BYTES);
            self.0.get(start..end).map(xxh3_64)
        }
    }

    const FID: FileId = FileId { dev: 1, ino: 42 };

    fn entry_for(content: &[u8], offset: u64, birth: Option<i128>) -> Entry {
        let fp_len = content.len().min(FINGERPRINT_BYTES);
        let b = Bytes(content.to_vec());
        Entry {
            input: "file".into(),
            path: PathBuf::from("/var/log/app.log"),
            dev: FID.dev,
            ino: FID.ino,
            birth,
            fp_len: fp_len as u32,
            fp_hash: xxh3_64(&content[..fp_len]),
            offset,
            generation: 3,
            tail_hash: b.hash_before(offset),
            updated: 0,
        }
    }

    fn found<'a>(b: &'a Bytes, birth: Option<i128>) -> Found<'a, Bytes> {
        Found {
            fid: FID,
            birth,
            size: b.0.len() as u64,
            probe: b,
        }
    }

    fn lines(header: &str, n: usize) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        for i in 0..n {
            v.extend_from_slice(format!("line {i} of the file\n").as_bytes());
        }
        v
    }

    #[test]
    fn the_same_file_grown_resumes_at_the_offset() {
        let before = lines("", 100);
        let e = entry_for(&before, 1000, Some(7));
        let mut after = before.clone();
        after.extend_from_slice(b"more\n");
        assert_eq!(
            decide(&e, &found(&Bytes(after), Some(7))),
            Resume::At {
                offset: 1000,
                generation: 3
            }
        );
    }

    #[test]
    fn another_inode_is_unrelated() {
        let c = lines("", 10);
        let mut e = entry_for(&c, 50, None);
        e.ino = 43;
        assert_eq!(decide(&e, &found(&Bytes(c), None)), Resume::Unrelated);
    }

    #[test]
    fn a_file_rewritten_with_the_same_long_header_is_replaced() {
        // The first 256 bytes are the same, the bytes before the offset are not.
        let header = "#".repeat(400) + "\n";
        let old = lines(&header, 100);
        let e = entry_for(&old, 1500, None);
        let new = lines(&header, 200)
            .iter()
            .map(|b| if *b == b'l' { b'L' } else { *b })
            .collect();
        assert_eq!(
            decide(&e, &found(&Bytes(new), None)),
            Resume::Replaced { next_generation: 4 }
        );
    }

    #[test]
    fn a_shorter_file_a_new_birth_or_new_first_bytes_is_replaced() {
        let c = lines("", 100);
        let e = entry_for(&c, 1000, Some(7));
        let short = Bytes(c[..900].to_vec());
        assert!(matches!(
            decide(&e, &found(&short, Some(7))),
            Resume::Replaced { .. }
        ));
        let same = Bytes(c.clone());
        assert!(matches!(
            decide(&e, &found(&same, Some(8))),
            Resume::Replaced { .. }
        ));
        let mut other = c.clone();
        other[0] = b'X';
        assert!(matches!(
            decide(&e, &found(&Bytes(other), Some(7))),
            Resume::Replaced { .. }
        ));
    }

    #[test]
    fn an_entry_of_an_older_version_without_the_hash_resumes_on_identity_and_fingerprint() {
        let c = lines("", 100);
        let mut e = entry_for(&c, 1000, None);
        e.tail_hash = None;
        assert!(matches!(
            decide(&e, &found(&Bytes(c), None)),
            Resume::At { offset: 1000, .. }
        ));
    }
}
