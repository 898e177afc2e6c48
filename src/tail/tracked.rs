//! One file being read: its identity (device, inode, birth, generation, fingerprint), the open
//! descriptor (kept after a rename or delete until the file is read to its end), the line reader
//! and the input's decoder for it, and the continuity bytes that tell an append from a
//! truncate-and-refill.

use super::decoder::LineDecoder;
use super::identity::{FileId, Fingerprint};
use super::reader::LineReader;
use super::rotation::holds_at;
use crate::event::SourceId;
use crate::open_files::Held;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct Tracked {
    pub(super) id: SourceId,
    pub(super) path: PathBuf,
    /// Shared with the checkpoint store (it hashes the bytes before the acked offset).
    pub(super) file: Arc<Held>,
    pub(super) fid: FileId,
    pub(super) birth: Option<i128>,
    /// Which reading of this file identity (see `Entry::generation`).
    pub(super) generation: u32,
    pub(super) fp: Fingerprint,
    pub(super) reader: LineReader,
    pub(super) decoder: Box<dyn LineDecoder>,
    /// The path no longer names this file: read to the end, then release.
    pub(super) rotated: bool,
    pub(super) at_eof: bool,
    pub(super) last_data: Instant,
    /// Last time the file was found consistent (not truncated): copies born after it that the
    /// tailer never saw hold lines it did not read.
    pub(super) checked: std::time::SystemTime,
    /// Modification time at the last poll (seconds, nanoseconds).
    pub(super) mtime: (i64, i64),
    /// The last bytes read (ending at the reader's `read_pos`): while they are still there, the
    /// file was not truncated and refilled behind our back, and they identify the right copy.
    pub(super) tail: Vec<u8>,
}

impl Tracked {
    /// Device, inode, birth time and generation hashed: stable across restarts (unlike `id`).
    pub(super) fn origin(&self) -> u64 {
        let mut key = [0u8; 36];
        key[..8].copy_from_slice(&self.fid.dev.to_le_bytes());
        key[8..16].copy_from_slice(&self.fid.ino.to_le_bytes());
        key[16..32].copy_from_slice(&self.birth.unwrap_or(0).to_le_bytes());
        key[32..].copy_from_slice(&self.generation.to_le_bytes());
        xxhash_rust::xxh3::xxh3_64(&key)
    }

    /// True while the file still starts with its fingerprint and still holds the bytes last read
    /// where they were read.
    pub(super) fn unchanged(&self) -> bool {
        if self.fp.len > 0 && !self.fp.matches(&self.file).unwrap_or(true) {
            return false;
        }
        holds_at(&self.file, &self.tail, self.reader.read_pos())
    }
}
