//! The disk spool of a network input: what a sender gave us is appended here before it counts
//! as received, because a socket, unlike a file, cannot be read again. It is read back in order
//! into the pipeline, and freed as the outputs acknowledge it.
//!
//! Positions are byte offsets in one endless stream, as in a file, so the spool is a source
//! like any file to the ack ledger and the checkpoint store: the acknowledged offset is the
//! checkpoint, and after a crash (`kill -9`) the records from it on are read again (at least
//! once). The stream is cut into segment files named by their first offset
//! (`00000000000000012345.seg`, mode 0600 in a 0700 directory); a segment is deleted when the
//! acknowledged offset passes its end, so the disk used is what is not acknowledged yet, and
//! `max_bytes` bounds it: `append` refuses when full (the caller stops reading a stream socket,
//! or counts a datagram as dropped).
//!
//! A record is `len: u32 LE, crc32 of the payload: u32 LE, payload`. On open, the last segment is
//! read to its first record that is cut short or fails its checksum (a write torn by a crash),
//! and truncated there; earlier segments were synced when they were sealed.
//!
//! Why our own and not a queue crate: acknowledgements arrive as offsets from the ledger every
//! input shares (no per-record pop), freeing must be a file delete (not a head pointer in one
//! file that only compaction shrinks, as `queue-file` keeps), and the format must survive a torn
//! tail; `yaque` and `queue-file` fit the first two poorly. The whole format is this file.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes before a record's payload.
pub const HEADER: u64 = 8;
/// The largest payload a record may have (a message is cut to `max_message` long before this).
pub const MAX_RECORD: u64 = 16 << 20;

#[derive(Debug)]
pub enum AppendError {
    /// `max_bytes` are waiting for acknowledgement.
    Full,
    /// The record is larger than `MAX_RECORD`.
    TooLarge,
    /// The disk refused (full, read-only, gone).
    Io(io::Error),
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    start: u64,
    len: u64,
}

#[derive(Debug)]
struct State {
    /// Oldest first; the last one is being written.
    segments: VecDeque<Segment>,
    writer: Option<File>,
    /// The offset the next record gets.
    end: u64,
    acked: u64,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Random, made when the directory is first used (file `epoch`): a spool made anew (its
    /// directory deleted) starts its offsets again, so records are identified by both.
    epoch: u64,
    segment_max: u64,
    max_bytes: u64,
    state: Mutex<State>,
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.seg"))
}

/// Reads the records of `f` from its start; the length of the valid prefix and the records'
/// (offset in the file, payload) found, when `keep` wants them.
fn scan(f: &mut File, mut keep: impl FnMut(u64, Vec<u8>)) -> io::Result<u64> {
    f.seek(SeekFrom::Start(0))?;
    let mut r = io::BufReader::new(f);
    let mut at = 0u64;
    loop {
        let mut head = [0u8; HEADER as usize];
        if read_full(&mut r, &mut head)? < head.len() {
            return Ok(at);
        }
        let [a, b, c, d, e, g, h, i] = head;
        let len = u64::from(u32::from_le_bytes([a, b, c, d]));
        let crc = u32::from_le_bytes([e, g, h, i]);
        if len > MAX_RECORD {
            return Ok(at);
        }
        let mut payload = vec![0u8; len as usize];
        if read_full(&mut r, &mut payload)? < payload.len() || crc32fast::hash(&payload) != crc {
            return Ok(at);
        }
        keep(at, payload);
        at += HEADER + len;
    }
}

/// Reads until `buf` is full or the end; how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Spool {
    /// Opens (or creates) the spool in `dir`; `acked` is the checkpointed offset: segments
    /// wholly before it are deleted, the rest is there to be read again.
    pub fn open(dir: &Path, segment_max: u64, max_bytes: u64, acked: u64) -> io::Result<Spool> {
        let epoch = prepare(dir)?;
        let mut starts: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                name.to_str()?.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        starts.sort_unstable();
        let mut segments = VecDeque::new();
        for (i, &start) in starts.iter().enumerate() {
            let path = segment_path(dir, start);
            let len = if i + 1 == starts.len() {
                // The one being written when the agent stopped: cut at a torn record.
                let mut f = OpenOptions::new().read(true).write(true).open(&path)?;
                let valid = scan(&mut f, |_, _| {})?;
                f.set_len(valid)?;
                f.sync_all()?;
                valid
            } else {
                std::fs::metadata(&path)?.len()
            };
            segments.push_back(Segment { start, len });
        }
        let end = segments
            .back()
            .map_or(acked, |s| s.start + s.len)
            .max(acked);
        let spool = Spool {
            dir: dir.to_path_buf(),
            epoch,
            segment_max: segment_max.max(HEADER + 1),
            max_bytes,
            state: Mutex::new(State {
                segments,
                writer: None,
                end,
                acked,
            }),
        };
        spool.ack(acked);
        Ok(spool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes on disk not acknowledged yet (`logship_spool_bytes`).
    pub fn bytes(&self) -> u64 {
        let st = self.lock();
        st.end.saturating_sub(st.acked)
    }

    /// The offset the next record will get.
    pub fn end(&self) -> u64 {
        self.lock().end
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This spool's identity (see `epoch` in the struct).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Appends one record; the offset just after it (what acknowledges it). Not yet synced:
    /// call `sync` before telling a sender it is safe.
    pub fn append(&self, payload: &[u8]) -> Result<u64, AppendError> {
        self.append_many(&[payload])
    }

    /// Appends records in one write, all or none; the offset just after the last. `Full` when
    /// they do not fit under `max_bytes`, except into an empty spool (so a batch larger than
    /// the bound still goes, one at a time).
    pub fn append_many<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<u64, AppendError> {
        let mut framed = Framed::default();
        for p in payloads {
            framed.push(|out| out.extend_from_slice(p.as_ref()));
        }
        self.append_framed(&framed)
    }

    /// Appends the records of `framed` in one write, all or none (as `append_many`).
    pub fn append_framed(&self, framed: &Framed) -> Result<u64, AppendError> {
        if framed.too_large {
            return Err(AppendError::TooLarge);
        }
        let total = framed.buf.len() as u64;
        let mut st = self.lock();
        let used = st.end.saturating_sub(st.acked);
        if used > 0 && used + total > self.max_bytes {
            return Err(AppendError::Full);
        }
        let roll = match st.segments.back() {
            None => true,
            Some(s) => s.start + s.len < st.end || (s.len > 0 && s.len + total > self.segment_max),
        };
        if roll || st.writer.is_none() {
            if roll {
                if let Some(w) = st.writer.take() {
                    w.sync_all().map_err(AppendError::Io)?;
                }
                let start = st.end;
                st.segments.push_back(Segment { start, len: 0 });
            }
            let start = st.segments.back().map_or(st.end, |s| s.start);
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(segment_path(&self.dir, start))
                .map_err(AppendError::Io)?;
            st.writer = Some(f);
        }
        if let Some(w) = st.writer.as_mut() {
            if let Err(e) = w.write_all(&framed.buf) {
                // A partial write is cut at the next open; this writer is not used again.
                st.writer = None;
                if let Some(s) = st.segments.back() {
                    let (start, len) = (s.start, s.len);
                    if let Ok(f) = OpenOptions::new()
                        .write(true)
                        .open(segment_path(&self.dir, start))
                    {
                        let _ = f.set_len(len);
                    }
                }
                return Err(AppendError::Io(e));
            }
        }
        if let Some(s) = st.segments.back_mut() {
            s.len += total;
        }
        st.end += total;
        Ok(st.end)
    }

    /// Makes what was appended durable.
    pub fn sync(&self) -> io::Result<()> {
        let st = self.lock();
        match &st.writer {
            Some(w) => w.sync_data(),
            None => Ok(()),
        }
    }

    /// Everything before `upto` is acknowledged: segments wholly before it are deleted.
    pub fn ack(&self, upto: u64) {
        let mut st = self.lock();
        st.acked = st.acked.max(upto).min(st.end);
        // Every segment wholly acknowledged goes, except the one being written (the last,
        // unless the acknowledged offset is past it: a stale one found at open).
        while let Some(first) = st.segments.front().copied() {
            let end = first.start + first.len;
            let written_to = st.segments.len() == 1 && end == st.end;
            if end > st.acked || written_to {
                break;
            }
            let _ = std::fs::remove_file(segment_path(&self.dir, first.start));
            st.segments.pop_front();
        }
    }

    /// The records from offset `from` on, as (offset after it, payload), oldest first, up to
    /// `max_bytes` of payload; the records appended by now.
    pub fn read_from(&self, from: u64, max_bytes: usize) -> io::Result<Vec<(u64, Vec<u8>)>> {
        let segments: Vec<Segment> = self.lock().segments.iter().copied().collect();
        let mut out = Vec::new();
        let mut size = 0usize;
        for s in segments.iter().filter(|s| s.start + s.len > from) {
            let mut f = File::open(segment_path(&self.dir, s.start))?;
            let mut stop = false;
            scan(&mut f, |at, payload| {
                let (start, end) = (s.start + at, s.start + at + HEADER + payload.len() as u64);
                if stop || start < from || end > s.start + s.len {
                    return;
                }
                size += payload.len();
                out.push((end, payload));
                stop = size >= max_bytes;
            })?;
            if stop {
                break;
            }
        }
        Ok(out)
    }
}

/// Creates the spool's directory (0700, also when it was there: the records are what senders
/// sent) and returns its epoch: the `epoch` file read, or made (random) when missing or
/// unreadable. The caller needs it before `open`, to know whether its checkpoint belongs to
/// this spool.
pub fn prepare(dir: &Path) -> io::Result<u64> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let path = dir.join("epoch");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(e) = u64::from_str_radix(text.trim(), 16) {
            return Ok(e);
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{now} {} {}", std::process::id(), dir.display());
    let epoch = xxhash_rust::xxh3::xxh3_64(seed.as_bytes());
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(format!("{epoch:016x}\n").as_bytes())?;
    f.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(epoch)
}

/// Records laid out as the spool writes them (length, checksum, payload), built in one buffer
/// by whoever has the payloads (the intake encodes each message straight into it), then
/// appended with one write (`Spool::append_framed`).
#[derive(Debug, Default)]
pub struct Framed {
    buf: Vec<u8>,
    records: usize,
    /// A payload longer than `MAX_RECORD` was pushed: the whole append is refused.
    too_large: bool,
}

impl Framed {
    /// Adds one record whose payload `write` appends to the buffer it is given.
    pub fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; HEADER as usize]);
        write(&mut self.buf);
        let payload = self.buf.get(at + HEADER as usize..).unwrap_or_default();
        let len = payload.len() as u64;
        if len > MAX_RECORD {
            self.too_large = true;
        }
        let crc = crc32fast::hash(payload);
        if let Some(head) = self.buf.get_mut(at..at + HEADER as usize) {
            head[..4].copy_from_slice(&(len as u32).to_le_bytes());
            head[4..].copy_from_slice(&crc.to_le_bytes());
        }
        self.records += 1;
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
}

/// Reads the spool in order from an offset, keeping its place (one open segment, read
/// sequentially), for the input's reader thread.
pub struct Cursor {
    /// The offset of the next record.
    pos: u64,
    /// The segment open for reading (its start) and the reader at `pos`.
    open: Option<(u64, io::BufReader<File>)>,
}

/// Records read back, their payloads in one buffer (reused from one read to the next).
#[derive(Debug, Default)]
pub struct SpoolReads {
    data: Vec<u8>,
    records: Vec<SpoolRecord>,
}

/// One record read back: its first offset, the offset after it, where its payload is in the
/// `SpoolReads` buffer.
#[derive(Debug, Clone, Copy)]
struct SpoolRecord {
    start: u64,
    end: u64,
    at: usize,
    len: usize,
}

impl SpoolReads {
    pub fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Each record as (first offset, offset after it, payload).
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, &[u8])> + '_ {
        self.records.iter().map(|r| {
            let payload = self.data.get(r.at..r.at + r.len).unwrap_or_default();
            (r.start, r.end, payload)
        })
    }
}

impl Cursor {
    pub fn new(from: u64) -> Cursor {
        Cursor {
            pos: from,
            open: None,
        }
    }

    /// Where the next record starts.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Up to `max_records` records (or `max_bytes` of payload) from the position on, appended
    /// to `out`; how many. A record that fails its checksum in a sealed segment (the disk
    /// changed it) ends that segment: the rest of it is skipped with a warning.
    pub fn next(
        &mut self,
        spool: &Spool,
        max_records: usize,
        max_bytes: usize,
        out: &mut SpoolReads,
    ) -> io::Result<usize> {
        let (segments, end) = {
            let st = spool.lock();
            (st.segments.iter().copied().collect::<Vec<_>>(), st.end)
        };
        let mut n = 0;
        let mut bytes = 0;
        while n < max_records && bytes < max_bytes && self.pos < end {
            let Some(seg) = segments
                .iter()
                .find(|s| s.start + s.len > self.pos)
                .copied()
            else {
                break;
            };
            if seg.start > self.pos {
                // Freed or never written (a checkpoint past the data): go on from there.
                self.pos = seg.start;
                self.open = None;
            }
            if self.open.as_ref().map(|(s, _)| *s) != Some(seg.start) {
                let mut f = File::open(segment_path(&spool.dir, seg.start))?;
                f.seek(SeekFrom::Start(self.pos - seg.start))?;
                self.open = Some((seg.start, io::BufReader::with_capacity(256 * 1024, f)));
            }
            let Some((_, r)) = self.open.as_mut() else {
                break;
            };
            while n < max_records && bytes < max_bytes && self.pos < seg.start + seg.len {
                let mut head = [0u8; HEADER as usize];
                let ok = read_full(r, &mut head)? == head.len();
                let [a, b, c, d, e, g, h, i] = head;
                let len = u64::from(u32::from_le_bytes([a, b, c, d]));
                let crc = u32::from_le_bytes([e, g, h, i]);
                let fits =
                    ok && len <= MAX_RECORD && self.pos + HEADER + len <= seg.start + seg.len;
                let at = out.data.len();
                out.data.resize(at + if fits { len as usize } else { 0 }, 0);
                let payload = out.data.get_mut(at..).unwrap_or_default();
                if !fits
                    || read_full(r, payload)? < payload.len()
                    || crc32fast::hash(payload) != crc
                {
                    out.data.truncate(at);
                    tracing::warn!(
                        spool = %spool.dir.display(),
                        segment = seg.start,
                        at = self.pos,
                        "spool record damaged (checksum or length): the rest of this segment is skipped"
                    );
                    self.pos = seg.start + seg.len;
                    self.open = None;
                    break;
                }
                let start = self.pos;
                self.pos += HEADER + len;
                bytes += len as usize;
                n += 1;
                out.records.push(SpoolRecord {
                    start,
                    end: self.pos,
                    at,
                    len: len as usize,
                });
            }
            if self.pos >= seg.start + seg.len {
                if segments.last().map(|s| s.start) != Some(seg.start) {
                    // This segment is done; the next one is opened on the next turn.
                    self.open = None;
                } else if let Some((_, r)) = self.open.as_mut() {
                    // Caught up with the writer: what the buffer holds past here may be a
                    // write still in progress; seeking drops it, the next read starts fresh.
                    r.seek(SeekFrom::Start(self.pos - seg.start))?;
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments_in(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref()))
            .count()
    }

    fn payloads(v: &[(u64, Vec<u8>)]) -> Vec<String> {
        v.iter()
            .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
            .collect()
    }

    #[test]
    fn append_read_ack_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 40, 1 << 20, 0).unwrap();
        let mut ends = Vec::new();
        for i in 0..10 {
            ends.push(s.append(format!("message {i}").as_bytes()).unwrap());
        }
        s.sync().unwrap();
        let segs = segments_in(dir.path());
        assert!(segs >= 4, "{segs} segments");
        let all = s.read_from(0, usize::MAX).unwrap();
        assert_eq!(
            payloads(&all),
            (0..10).map(|i| format!("message {i}")).collect::<Vec<_>>()
        );
        assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), ends);
        let from5 = s.read_from(ends[4], usize::MAX).unwrap();
        assert_eq!(payloads(&from5)[0], "message 5");
        assert_eq!(s.bytes(), ends[9]);
        s.ack(ends[6]);
        assert_eq!(s.bytes(), ends[9] - ends[6]);
        assert!(segments_in(dir.path()) < segs);
        assert_eq!(
            payloads(&s.read_from(ends[6], usize::MAX).unwrap())[0],
            "message 7"
        );
        s.ack(ends[9]);
        assert_eq!(s.bytes(), 0);
        assert!(segments_in(dir.path()) <= 1);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path()).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn reopened_after_a_torn_write_keeps_every_whole_record() {
        let dir = tempfile::tempdir().unwrap();
        let ends: Vec<u64>;
        {
            let s = Spool::open(dir.path(), 1 << 20, 1 << 20, 0).unwrap();
            ends = (0..5)
                .map(|i| s.append(format!("rec {i} é").as_bytes()).unwrap())
                .collect();
            s.sync().unwrap();
        }
        // A crash in the middle of the sixth record.
        let seg = segment_path(dir.path(), 0);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        drop(f);
        let s = Spool::open(dir.path(), 1 << 20, 1 << 20, ends[1]).unwrap();
        assert_eq!(s.end(), ends[4], "the torn record is cut");
        let rest = s.read_from(ends[1], usize::MAX).unwrap();
        assert_eq!(payloads(&rest), vec!["rec 2 é", "rec 3 é", "rec 4 é"]);
        // New records go after the cut, and read back whole.
        let e = s.append(b"after").unwrap();
        assert_eq!(
            payloads(&s.read_from(ends[4], usize::MAX).unwrap()),
            vec!["after"]
        );
        assert_eq!(e, ends[4] + HEADER + 5);
        // A flipped byte in a record's payload: it and what follows are not trusted.
        drop(s);
        let mut bytes = std::fs::read(&seg).unwrap();
        let at = (ends[2] + HEADER) as usize;
        bytes[at] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        let s = Spool::open(dir.path(), 1 << 20, 1 << 20, 0).unwrap();
        assert_eq!(s.end(), ends[2]);
    }

    #[test]
    fn a_checkpoint_past_the_data_drops_it_and_goes_on_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let end = {
            let s = Spool::open(dir.path(), 1 << 20, 1 << 20, 0).unwrap();
            s.append(b"a").unwrap();
            s.append(b"b").unwrap()
        };
        let s = Spool::open(dir.path(), 1 << 20, 1 << 20, end + 100).unwrap();
        assert_eq!(s.end(), end + 100);
        assert_eq!(s.bytes(), 0);
        assert_eq!(segments_in(dir.path()), 0);
        let e = s.append(b"c").unwrap();
        assert_eq!(
            payloads(&s.read_from(end + 100, usize::MAX).unwrap()),
            vec!["c"]
        );
        s.ack(e);
        assert_eq!(segments_in(dir.path()), 1, "the one being written stays");
    }

    #[test]
    fn full_refuses_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 64, 100, 0).unwrap();
        let mut last = 0;
        loop {
            match s.append(b"0123456789") {
                Ok(e) => last = e,
                Err(AppendError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(s.bytes() <= 100);
        s.ack(last);
        assert!(s.append(b"0123456789").is_ok());
        assert!(matches!(
            s.append(&vec![0u8; (MAX_RECORD + 1) as usize]),
            Err(AppendError::TooLarge)
        ));
    }

    #[test]
    fn cursor_follows_the_writer_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), 40, 1 << 20, 0).unwrap();
        let mut c = Cursor::new(0);
        let mut reads = SpoolReads::default();
        let mut got = Vec::new();
        assert_eq!(c.next(&s, 100, 1 << 20, &mut reads).unwrap(), 0);
        for round in 0..3 {
            // The same text repeated, and a multibyte character: records, not lines.
            for i in 0..5 {
                s.append(format!("r{round} é {}", i % 2).as_bytes())
                    .unwrap();
            }
            loop {
                reads.clear();
                if c.next(&s, 2, 1 << 20, &mut reads).unwrap() == 0 {
                    break;
                }
                assert!(reads.len() <= 2);
                got.extend(reads.iter().map(|(a, b, p)| (a, b, p.to_vec())));
            }
            assert_eq!(c.position(), s.end());
        }
        let texts: Vec<String> = got
            .iter()
            .map(|r| String::from_utf8(r.2.clone()).unwrap())
            .collect();
        let want: Vec<String> = (0..3)
            .flat_map(|r| (0..5).map(move |i| format!("r{r} é {}", i % 2)))
            .collect();
        assert_eq!(texts, want);
        assert!(got.windows(2).all(|w| w[0].1 == w[1].0));
        assert!(segments_in(dir.path()) > 3);
    }
}
