//! The line reader: reads a file in large blocks with `pread`, splits lines with memchr, and
//! bounds memory by `max_line_bytes`. A longer line keeps only its first `max_line_bytes` and the
//! rest is skipped as it streams past (never buffered); it is handed out, flagged `truncated`,
//! once its end is found, so its position for the ack ledger is the end of the whole line.
//! A last line without `\n` is held back until it is completed (or the file is released). At the
//! end of the file a held-back line is kept in memory only when it is small (`KEEP_PARTIAL`);
//! a longer one, and a long line's kept prefix, is *parked*: its bytes are dropped and read
//! again from the file by the next `fill`, so thousands of files that each end in a partial line
//! hold no memory for it (before, each held up to `max_line_bytes`).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Bytes asked of the file per read.
pub const READ_BLOCK: usize = 64 * 1024;
/// The longest partial last line kept in memory at the end of a file (longer ones are parked).
pub const KEEP_PARTIAL: usize = 4 * 1024;

/// Appends up to `len` bytes of `file` at `at` to `buf` (fewer only at the end of the file);
/// on an error `buf` is left as it was.
fn pread_exact_into(file: &File, buf: &mut Vec<u8>, len: usize, at: u64) -> io::Result<usize> {
    let before = buf.len();
    let mut got = 0;
    while got < len {
        match pread_into(file, buf, len - got, at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(before);
                return Err(e);
            }
        }
    }
    Ok(got)
}

/// Reads up to `max` bytes at offset `at` into `buf`'s spare capacity and appends them: no
/// zeroing of the block first (a `resize` per read was 4% of the instructions of a Docker
/// line, callgrind).
fn pread_into(file: &File, buf: &mut Vec<u8>, max: usize, at: u64) -> io::Result<usize> {
    let at = libc::off_t::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: pread writes at most `len` bytes into the spare capacity, memory `buf` owns and
    // has allocated; the file descriptor is open for as long as `file` is borrowed.
    let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), len, at) };
    // pread returns -1 (errno set) or the bytes it wrote, never more than `len`.
    let n = usize::try_from(n)
        .map_err(|_| io::Error::last_os_error())?
        .min(len);
    // SAFETY: the first `n` bytes of the spare capacity were written by pread.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

#[derive(Debug, PartialEq)]
pub struct Line<'a> {
    /// Offset of the line's first byte.
    pub offset: u64,
    /// Offset just past the line's `\n` (where reading resumes).
    pub end: u64,
    /// The line without its `\n` (and a `\r` before it), at most `max_line_bytes`.
    pub bytes: &'a [u8],
    pub truncated: bool,
}

pub struct LineReader {
    buf: Vec<u8>,
    /// Unconsumed data is `buf[start..]`; it begins at file offset `pos`.
    start: usize,
    pos: u64,
    max_line: usize,
    /// A line longer than `max_line`: its start offset and kept prefix, while its rest streams by.
    long: Option<(u64, Vec<u8>)>,
    /// The finished long line's prefix, lent out by the last `next_line`/`take_rest`.
    long_done: Option<Vec<u8>>,
    /// Bytes of a partial last line at `pos` parked by `release_memory` (not in `buf`: read
    /// again by the next `fill`). Only ever non-zero while `buf` holds nothing unconsumed.
    parked: usize,
    /// The length of the long line's kept prefix, parked the same way (re-read at its offset).
    long_parked: Option<usize>,
}

impl LineReader {
    pub fn new(offset: u64, max_line: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            start: 0,
            pos: offset,
            max_line,
            long: None,
            long_done: None,
            parked: 0,
            long_parked: None,
        }
    }

    /// Offset of the first byte not yet handed out as part of a line.
    pub fn consumed(&self) -> u64 {
        match &self.long {
            Some((off, _)) => *off,
            None => self.pos,
        }
    }

    /// True when nothing read is waiting to be handed out.
    pub fn is_drained(&self) -> bool {
        self.start == self.buf.len() && self.long.is_none()
    }

    /// Offset of the next byte to read from the file.
    pub fn read_pos(&self) -> u64 {
        self.pos + (self.parked + self.buf.len() - self.start) as u64
    }

    /// Reads up to one block from `file`; returns the bytes read (0 at end of file). Parked
    /// bytes are read again first, and not counted.
    pub fn fill(&mut self, file: &File) -> io::Result<usize> {
        self.unpark(file)?;
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let at = self.read_pos();
        loop {
            match pread_into(file, &mut self.buf, READ_BLOCK, at) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                read => return read,
            }
        }
    }

    /// Up to `n` of the bytes read last (they end at `read_pos`).
    pub fn tail(&self, n: usize) -> &[u8] {
        self.buf
            .get(self.buf.len().saturating_sub(n)..)
            .unwrap_or_default()
    }

    /// Forgets the last `n` bytes `fill` brought (they were read from content that replaced the
    /// file's; see the tailer).
    pub fn unfill(&mut self, n: usize) {
        let keep = self.buf.len().saturating_sub(n).max(self.start);
        self.buf.truncate(keep);
    }

    /// The next complete line, if the buffer holds one.
    pub fn next_line(&mut self) -> Option<Line<'_>> {
        let data = self.buf.get(self.start..).unwrap_or_default();
        let Some(i) = memchr::memchr(b'\n', data) else {
            let pending = data.len();
            if self.long.is_some() {
                // Still inside a long line: drop what streamed by.
                self.pos += pending as u64;
                self.start = self.buf.len();
            } else if pending > self.max_line {
                self.long = Some((self.pos, crate::utf8::cut(data, self.max_line).to_vec()));
                self.pos += pending as u64;
                self.start = self.buf.len();
            }
            self.compact();
            return None;
        };
        let line_start = self.start;
        self.start += i + 1;
        let end = self.pos + (i + 1) as u64;
        let offset = self.pos;
        self.pos = end;
        if let Some((long_off, prefix)) = self.long.take() {
            self.long_done = Some(prefix);
            let bytes = self.long_done.as_deref().unwrap_or_default();
            return Some(Line {
                offset: long_off,
                end,
                bytes,
                truncated: true,
            });
        }
        let mut bytes = self.buf.get(line_start..line_start + i).unwrap_or_default();
        if let Some(b) = bytes.strip_suffix(b"\r") {
            bytes = b;
        }
        let truncated = bytes.len() > self.max_line;
        if truncated {
            bytes = crate::utf8::cut(bytes, self.max_line);
        }
        Some(Line {
            offset,
            end,
            bytes,
            truncated,
        })
    }

    /// Reads the parked bytes (and a long line's parked prefix) back from `file`. If the file
    /// holds fewer by now (truncated: the tailer's checks find that), what is there.
    fn unpark(&mut self, file: &File) -> io::Result<()> {
        if let (Some((off, prefix)), Some(len)) = (&mut self.long, self.long_parked) {
            pread_exact_into(file, prefix, len, *off)?;
            self.long_parked = None;
        }
        if self.parked > 0 {
            self.buf.clear();
            self.start = 0;
            pread_exact_into(file, &mut self.buf, self.parked, self.pos)?;
            self.parked = 0;
        }
        Ok(())
    }

    /// At release of a file: whatever is left without a final `\n`, as a last line.
    pub fn take_rest(&mut self, file: &File) -> Option<Line<'_>> {
        if let Err(e) = self.unpark(file) {
            // What was parked cannot be read: it is skipped (its offsets are handed out empty).
            tracing::warn!(error = %e, "cannot read a file's last partial line again");
            self.long_parked = None;
            self.pos += self.parked as u64;
            self.parked = 0;
        }
        if let Some((off, prefix)) = self.long.take() {
            let end = self.read_pos();
            self.pos = end;
            self.start = self.buf.len();
            self.long_done = Some(prefix);
            return Some(Line {
                offset: off,
                end,
                bytes: self.long_done.as_deref().unwrap_or_default(),
                truncated: true,
            });
        }
        let data = self.buf.get(self.start..).unwrap_or_default();
        if data.is_empty() {
            return None;
        }
        let offset = self.pos;
        let end = self.read_pos();
        let line_start = self.start;
        self.pos = end;
        self.start = self.buf.len();
        Some(Line {
            offset,
            end,
            bytes: self.buf.get(line_start..).unwrap_or_default(),
            truncated: false,
        })
    }

    /// Frees the buffer when nothing is pending (idle files then hold no memory).
    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > 2 * READ_BLOCK {
                self.buf = Vec::new();
            }
        }
    }

    /// At end of file: drop the read buffer; a partial line is kept only when it is short
    /// (`KEEP_PARTIAL`, in a buffer of its size), else parked, as is a long line's prefix.
    pub fn release_memory(&mut self) {
        let pending = self.buf.len() - self.start;
        if pending == 0 {
            self.buf = Vec::new();
            self.start = 0;
        } else if pending <= KEEP_PARTIAL {
            self.buf.drain(..self.start);
            self.start = 0;
            self.buf.shrink_to_fit();
        } else {
            self.parked += pending;
            self.buf = Vec::new();
            self.start = 0;
        }
        if let Some((_, prefix)) = &mut self.long {
            if self.long_parked.is_none() && !prefix.is_empty() {
                self.long_parked = Some(prefix.len());
                *prefix = Vec::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every complete line until the end of the file.
    fn lines(r: &mut LineReader, f: &File) -> Vec<(u64, u64, String, bool)> {
        let mut out = Vec::new();
        loop {
            let n = r.fill(f).unwrap();
            while let Some(l) = r.next_line() {
                let text = String::from_utf8_lossy(l.bytes).into_owned();
                out.push((l.offset, l.end, text, l.truncated));
            }
            if n == 0 {
                return out;
            }
        }
    }

    #[test]
    fn splits_truncates_and_holds_partial() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut w = std::fs::File::create(&p).unwrap();
        let long = "y".repeat(200_000);
        write!(w, "a\r\nbb\n{long}\nccc\npart").unwrap();
        let f = File::open(&p).unwrap();
        let mut r = LineReader::new(0, 1000);
        let got = lines(&mut r, &f);
        assert_eq!(got[0], (0, 3, "a".into(), false));
        assert_eq!(got[1], (3, 6, "bb".into(), false));
        assert_eq!(got[2], (6, 200_007, "y".repeat(1000), true));
        assert_eq!(got[3], (200_007, 200_011, "ccc".into(), false));
        assert_eq!(got.len(), 4);
        assert_eq!(r.consumed(), 200_011);
        // The partial line completes later.
        w.write_all(b"ial\n").unwrap();
        let got = lines(&mut r, &f);
        assert_eq!(got, vec![(200_011, 200_019, "partial".into(), false)]);
        // Resuming at an offset reads from there.
        let mut r2 = LineReader::new(200_007, 1000);
        assert_eq!(lines(&mut r2, &f).len(), 2);
    }

    #[test]
    fn take_rest_returns_unterminated_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"one\ntwo").unwrap();
        let f = File::open(&p).unwrap();
        let mut r = LineReader::new(0, 100);
        assert_eq!(lines(&mut r, &f).len(), 1);
        let rest = r.take_rest(&f).unwrap();
        assert_eq!((rest.offset, rest.end, rest.bytes), (4, 7, &b"two"[..]));
        assert!(r.take_rest(&f).is_none());
    }

    #[test]
    fn a_partial_line_at_the_end_is_parked_and_read_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut w = std::fs::File::create(&p).unwrap();
        // A short partial stays in memory (in a buffer of its size); a long one and a long
        // line's prefix are parked: no memory, the same lines once they complete.
        let part = "é".repeat(50_000);
        write!(w, "one\nshort").unwrap();
        let f = File::open(&p).unwrap();
        let mut r = LineReader::new(0, 300_000);
        assert_eq!(lines(&mut r, &f).len(), 1);
        r.release_memory();
        assert!(r.buf.capacity() <= KEEP_PARTIAL && r.parked == 0);
        write!(w, "\n{part}").unwrap();
        assert_eq!(lines(&mut r, &f), vec![(4, 10, "short".into(), false)]);
        let read_pos = r.read_pos();
        r.release_memory();
        assert_eq!(
            (r.buf.capacity(), r.parked, r.read_pos()),
            (0, 100_000, read_pos)
        );
        assert_eq!(r.consumed(), 10);
        write!(w, "{part}\nnext\n").unwrap();
        let got = lines(&mut r, &f);
        assert_eq!(got[0], (10, 200_011, part.repeat(2), false));
        assert_eq!(got[1], (200_011, 200_016, "next".into(), false));
        // A long line: its prefix parked, read again at its end, cut where it was.
        let mut r = LineReader::new(200_016, 1001);
        write!(w, "{part}").unwrap();
        assert!(lines(&mut r, &f).is_empty());
        r.release_memory();
        assert_eq!(r.long_parked, Some(1000));
        assert_eq!(r.long.as_ref().map(|l| l.1.capacity()), Some(0));
        writeln!(w, "tail").unwrap();
        let got = lines(&mut r, &f);
        assert_eq!(got, vec![(200_016, 300_021, "é".repeat(500), true)]);
        // A parked rest is read again for `take_rest` too.
        write!(w, "{part}").unwrap();
        assert!(lines(&mut r, &f).is_empty());
        r.release_memory();
        assert_eq!(r.long_parked, Some(1000));
        let rest = r.take_rest(&f).unwrap();
        assert_eq!((rest.offset, rest.end), (300_021, 400_021));
        assert_eq!(rest.bytes, "é".repeat(500).as_bytes());
        assert!(rest.truncated);
        // And a plain partial line parked, for `take_rest`.
        let mut r = LineReader::new(400_021, 300_000);
        write!(w, "\n{part}").unwrap();
        assert_eq!(lines(&mut r, &f).len(), 1);
        r.release_memory();
        assert_eq!(r.parked, 100_000);
        let rest = r.take_rest(&f).unwrap();
        assert_eq!((rest.offset, rest.end), (400_022, 500_022));
        assert_eq!(rest.bytes, part.as_bytes());
    }
}
