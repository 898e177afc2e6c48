//! Joining partial lines: the Docker json-file driver splits lines longer than 16 KiB into
//! entries without a trailing `\n`, and CRI runtimes mark them `P`. Pieces are joined per stream
//! (stdout and stderr never mix), up to `max_line_bytes`, past which the record is flagged
//! `truncated` and the rest of its pieces are dropped as they come.
//!
//! A record whose last piece never comes (a container's last `echo -n`, a process that exited
//! mid-line) is not held forever: it is shipped, flagged `partial`, once no piece came for
//! `partial_timeout` (as Fluent Bit's `docker_mode_flush`), when its file is released, and at
//! shutdown (`flush`).
//!
//! Acknowledgement: while a record is being joined, no other record of the file, parsed or raw,
//! may carry an offset past the joined record's first piece, or a crash in between would lose the
//! pieces already read. `ack_end` gives that capped offset.

use super::file::{text, Common};
use crate::event::{Event, Position, SourceId};
use crate::input::Stream;
use crate::tail::reader::Line;
use crate::tail::tailer::FileCtx;
use serde_json::Value;
use std::borrow::Cow;
use std::time::{Duration, Instant};

struct Pending {
    /// Offset of the first piece.
    offset: u64,
    /// End of the last piece.
    end: u64,
    text: String,
    truncated: bool,
    /// A piece had invalid UTF-8 (replaced).
    bad_utf8: bool,
    /// The first bytes of a character the last piece ended in (CRI runtimes cut long lines at
    /// a byte count, not between characters): the next piece of the stream starts with the rest.
    carry: Vec<u8>,
    /// The last piece's time, and where it was read, to ship the record if nothing follows.
    time: String,
    source: SourceId,
    origin: u64,
    updated: Instant,
}

pub struct Joiner {
    max: usize,
    pending: [Option<Pending>; 2],
}

/// A complete record made of one or more pieces.
pub struct Joined {
    pub offset: u64,
    pub text: String,
    pub truncated: bool,
    /// An earlier piece had invalid UTF-8 (replaced).
    pub bad_utf8: bool,
}

fn slot(s: Stream) -> usize {
    match s {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl Joiner {
    pub fn new(max: usize) -> Joiner {
        Joiner {
            max,
            pending: [None, None],
        }
    }

    /// A piece that continues on the next line of the same stream.
    pub fn partial(&mut self, stream: Stream, offset: u64, piece: &str) {
        self.partial_at(stream, offset, offset, piece, "", SourceId(0), 0, false);
    }

    /// The bytes a stream's last piece ended in, the start of a character (taken out).
    fn take_carry(&mut self, stream: Stream) -> Vec<u8> {
        self.pending
            .get_mut(slot(stream))
            .and_then(Option::as_mut)
            .map(|p| std::mem::take(&mut p.carry))
            .unwrap_or_default()
    }

    fn set_carry(&mut self, stream: Stream, carry: Vec<u8>) {
        if let Some(p) = self.pending.get_mut(slot(stream)).and_then(Option::as_mut) {
            p.carry = carry;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn partial_at(
        &mut self,
        stream: Stream,
        offset: u64,
        end: u64,
        piece: &str,
        time: &str,
        source: SourceId,
        origin: u64,
        bad_utf8: bool,
    ) {
        let max = self.max;
        let Some(slot) = self.pending.get_mut(slot(stream)) else {
            return;
        };
        let p = slot.get_or_insert_with(|| Pending {
            offset,
            end,
            text: String::new(),
            truncated: false,
            bad_utf8: false,
            carry: Vec::new(),
            time: String::new(),
            source,
            origin,
            updated: Instant::now(),
        });
        append(&mut p.text, &mut p.truncated, piece, max);
        p.bad_utf8 |= bad_utf8;
        p.end = end.max(p.end);
        p.updated = Instant::now();
        time.clone_into(&mut p.time);
    }

    /// The last piece of a record: returns the whole record. A record of one piece takes the
    /// piece's own buffer when it has one (no copy).
    pub fn finish(&mut self, stream: Stream, offset: u64, piece: Cow<'_, str>) -> Joined {
        match self.pending.get_mut(slot(stream)).and_then(Option::take) {
            None if piece.len() <= self.max => Joined {
                offset,
                text: piece.into_owned(),
                truncated: false,
                bad_utf8: false,
            },
            None => {
                let mut text = String::new();
                let mut truncated = false;
                append(&mut text, &mut truncated, &piece, self.max);
                Joined {
                    offset,
                    text,
                    truncated,
                    bad_utf8: false,
                }
            }
            Some(mut p) => {
                append(&mut p.text, &mut p.truncated, &piece, self.max);
                Joined {
                    offset: p.offset,
                    text: p.text,
                    truncated: p.truncated,
                    bad_utf8: p.bad_utf8,
                }
            }
        }
    }

    /// The offset a record ending at `end` may acknowledge: not past a record still being joined.
    pub fn ack_end(&self, end: u64) -> u64 {
        self.pending
            .iter()
            .flatten()
            .map(|p| p.offset)
            .fold(end, u64::min)
    }
}

/// What the `docker` and `cri` decoders share: a file's common fields, the `streams` filter and
/// the joiner, and how a piece or a bad line becomes a record.
pub struct StreamRecords {
    pub common: Common,
    pub streams: Vec<Stream>,
    pub joiner: Joiner,
    /// Names the format in the `error.message` of lines that are not in it.
    pub format: &'static str,
}

impl StreamRecords {
    /// One piece of `stream` (`partial`: more pieces follow), with the entry's time;
    /// `bad_utf8`: the line had invalid UTF-8 (replaced).
    #[allow(clippy::too_many_arguments)]
    pub fn piece(
        &mut self,
        line: &Line<'_>,
        file: &FileCtx<'_>,
        stream: Stream,
        partial: bool,
        piece: Cow<'_, str>,
        time: &str,
        bad_utf8: bool,
        out: &mut Vec<Event>,
    ) {
        if partial {
            // Held until its last piece (or `partial_timeout`); nothing to acknowledge yet.
            self.joiner.partial_at(
                stream,
                line.offset,
                line.end,
                &piece,
                time,
                file.source,
                file.origin,
                bad_utf8,
            );
            return;
        }
        let joined = self.joiner.finish(stream, line.offset, piece);
        let end = self.joiner.ack_end(line.end);
        if !self.streams.contains(&stream) {
            out.push(Event::ack_only(Position {
                source: file.source,
                end,
                origin: file.origin,
                start: joined.offset,
            }));
            return;
        }
        let mut message = joined.text;
        if message.ends_with('\r') {
            message.pop();
        }
        let at = Line {
            offset: joined.offset,
            end,
            bytes: &[],
            truncated: false,
        };
        let ts = normalize_time(time).unwrap_or_else(|| file.read_time.to_string());
        let mut ev = self.common.record_at(message, &at, file, ts);
        ev.set_stream(stream.name());
        if joined.truncated {
            ev.add_flag("truncated");
        }
        if bad_utf8 || joined.bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
        out.push(ev);
    }

    /// One piece as bytes (the `cri` input's lines): as `piece`, but a character cut between
    /// two pieces of a stream is joined whole, not replaced twice.
    #[allow(clippy::too_many_arguments)]
    pub fn piece_bytes(
        &mut self,
        line: &Line<'_>,
        file: &FileCtx<'_>,
        stream: Stream,
        partial: bool,
        piece: &[u8],
        time: &str,
        out: &mut Vec<Event>,
    ) {
        let mut carry = self.joiner.take_carry(stream);
        let (text, bad_utf8) = piece_text(&mut carry, piece, partial);
        self.piece(line, file, stream, partial, text, time, bad_utf8, out);
        if partial {
            self.joiner.set_carry(stream, carry);
        }
    }

    /// A line that is not in the format: shipped as raw text with `error.message`, its
    /// acknowledgement capped like every other record's while a piece is pending.
    pub fn raw(&self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let (message, bad_utf8) = text(line.bytes);
        let capped = Line {
            end: self.joiner.ack_end(line.end),
            ..*line
        };
        let mut ev = self.common.record(message, &capped, file);
        ev.set(
            "error.message",
            Value::String(format!("not a {} line; shipped as raw text", self.format)),
        );
        if line.truncated {
            ev.add_flag("truncated");
        }
        if bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
        out.push(ev);
    }
}

impl StreamRecords {
    /// Ships the records whose last piece has not come for `timeout` (all with `all`), flagged
    /// `partial`.
    pub fn flush(&mut self, all: bool, timeout: Duration, out: &mut Vec<Event>) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let Some(pending) = self.joiner.pending.get_mut(slot(stream)) else {
                continue;
            };
            let due = pending
                .as_ref()
                .is_some_and(|p| all || p.updated.elapsed() >= timeout);
            if !due {
                continue;
            }
            let Some(mut p) = pending.take() else {
                continue;
            };
            if !p.carry.is_empty() {
                // A character whose rest never came.
                append(&mut p.text, &mut p.truncated, "\u{FFFD}", self.joiner.max);
                p.bad_utf8 = true;
            }
            let end = self.joiner.ack_end(p.end);
            let position = Position {
                source: p.source,
                end,
                origin: p.origin,
                start: p.offset,
            };
            if !self.streams.contains(&stream) {
                out.push(Event::ack_only(position));
                continue;
            }
            let at = Line {
                offset: p.offset,
                end,
                bytes: &[],
                truncated: false,
            };
            let ctx = FileCtx {
                source: p.source,
                origin: p.origin,
                read_time: "",
            };
            let ts = normalize_time(&p.time)
                .unwrap_or_else(|| crate::event::timestamp(chrono::Utc::now()));
            let mut ev = self.common.record_at(p.text, &at, &ctx, ts);
            ev.set_stream(stream.name());
            ev.add_flag("partial");
            if p.truncated {
                ev.add_flag("truncated");
            }
            if p.bad_utf8 {
                ev.add_flag("invalid_utf8");
            }
            out.push(ev);
        }
    }
}

/// RFC 3339 with any number of fraction digits → the record's UTC nanosecond form.
pub fn normalize_time(t: &str) -> Option<String> {
    if let Some(fast) = utc_nanos(t) {
        return Some(fast);
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(crate::event::timestamp(parsed.with_timezone(&chrono::Utc)))
}

/// The form Docker and CRI runtimes write (Go's RFC3339Nano in UTC: `…T10:00:00.123456789Z`,
/// trailing zeros of the fraction dropped) padded to nine digits without a date library; None
/// for anything else (a zone offset, a leap second, a bad digit), which `chrono` then handles.
fn utc_nanos(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let (head, rest) = (b.get(..19)?, b.get(19..)?);
    let digit = |i: usize| head.get(i).is_some_and(u8::is_ascii_digit);
    let shape = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .iter()
        .all(|&i| digit(i))
        && head[4] == b'-'
        && head[7] == b'-'
        && head[10] == b'T'
        && head[13] == b':'
        && head[16] == b':';
    let two = |i: usize| u32::from(head[i] - b'0') * 10 + u32::from(head[i + 1] - b'0');
    if !shape
        || !(1..=12).contains(&two(5))
        || !(1..=31).contains(&two(8))
        || two(11) > 23
        || two(14) > 59
        || two(17) > 59
    {
        return None;
    }
    let frac = match rest {
        [b'Z'] => &[][..],
        [b'.', f @ .., b'Z'] if (1..=9).contains(&f.len()) && f.iter().all(u8::is_ascii_digit) => f,
        _ => return None,
    };
    if frac.len() == 9 {
        return Some(t.to_owned()); // already the record's form
    }
    let mut out = *b"0000-00-00T00:00:00.000000000Z";
    out.get_mut(..19)?.copy_from_slice(head);
    out.get_mut(20..20 + frac.len())?.copy_from_slice(frac);
    String::from_utf8(out.to_vec()).ok()
}

/// A piece's bytes as text, after `carry` (the first bytes of a character the stream's last
/// piece ended in). With `more` (pieces follow), an incomplete character at the end goes back
/// into `carry`. Invalid bytes become U+FFFD; the bool says there were some.
fn piece_text<'a>(carry: &mut Vec<u8>, bytes: &'a [u8], more: bool) -> (Cow<'a, str>, bool) {
    if carry.is_empty() {
        if let Ok(s) = simdutf8::basic::from_utf8(bytes) {
            return (Cow::Borrowed(s), false);
        }
    }
    let mut all = std::mem::take(carry);
    all.extend_from_slice(bytes);
    let keep = if more {
        crate::utf8::incomplete_tail(&all)
    } else {
        0
    };
    *carry = all.split_off(all.len().saturating_sub(keep));
    match String::from_utf8(all) {
        Ok(s) => (Cow::Owned(s), false),
        Err(e) => (
            Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            true,
        ),
    }
}

fn append(text: &mut String, truncated: &mut bool, piece: &str, max: usize) {
    if *truncated {
        return;
    }
    let room = max.saturating_sub(text.len());
    if piece.len() <= room {
        text.push_str(piece);
    } else {
        let mut cut = room;
        while !piece.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(piece.get(..cut).unwrap_or_default());
        *truncated = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_per_stream_and_caps_acks() {
        let mut j = Joiner::new(10);
        j.partial(Stream::Stdout, 100, "abc");
        assert_eq!(j.ack_end(500), 100);
        let e = j.finish(Stream::Stderr, 200, "err".into());
        assert_eq!(
            (e.offset, e.text.as_str(), e.truncated),
            (200, "err", false)
        );
        j.partial(Stream::Stdout, 300, "defgh");
        let o = j.finish(Stream::Stdout, 400, "ijklmn".into());
        assert_eq!(
            (o.offset, o.text.as_str(), o.truncated),
            (100, "abcdefghij", true)
        );
        assert_eq!(j.ack_end(500), 500);
    }

    #[test]
    fn a_character_cut_between_pieces_is_joined_whole() {
        // CRI runtimes cut at a byte count: every character of 2, 3 and 4 bytes, cut at every
        // place inside it, in two pieces and in one piece per byte.
        for ch in ["é", "€", "😀"] {
            let whole = format!("ab{ch}cd");
            let bytes = whole.as_bytes();
            for cut in 3..2 + ch.len() {
                let mut carry = Vec::new();
                let (first, bad1) = piece_text(&mut carry, &bytes[..cut], true);
                let (rest, bad2) = piece_text(&mut carry, &bytes[cut..], false);
                assert_eq!(format!("{first}{rest}"), whole, "{ch} cut at {cut}");
                assert!(!bad1 && !bad2 && carry.is_empty());
            }
            let mut carry = Vec::new();
            let mut text = String::new();
            for (i, b) in bytes.iter().enumerate() {
                let (t, bad) = piece_text(&mut carry, std::slice::from_ref(b), i + 1 < bytes.len());
                assert!(!bad);
                text.push_str(&t);
            }
            assert_eq!(text, whole);
        }
        // Bytes that are not UTF-8 stay replaced and flagged; a last piece keeps no carry.
        let mut carry = Vec::new();
        let (t, bad) = piece_text(&mut carry, b"x\xffy\xc3", true);
        assert_eq!(
            (t.as_ref(), bad, carry.as_slice()),
            ("x\u{FFFD}y", true, &b"\xc3"[..])
        );
        let (t, bad) = piece_text(&mut carry, b"z", false);
        assert_eq!((t.as_ref(), bad, carry.len()), ("\u{FFFD}z", true, 0));
        let (t, bad) = piece_text(&mut carry, b"\xe2\x82", false);
        assert_eq!((t.as_ref(), bad), ("\u{FFFD}", true));
    }

    #[test]
    fn times_padded_without_a_date_library_agree_with_chrono() {
        let via_chrono = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|p| crate::event::timestamp(p.with_timezone(&chrono::Utc)))
        };
        for t in [
            "2026-11-24T10:00:00.123456789Z",
            "2026-11-24T10:00:00.1234Z",
            "2026-11-24T10:00:00.1Z",
            "2026-11-24T10:00:00Z",
            "2026-02-28T23:59:59.000000001Z",
        ] {
            assert_eq!(utc_nanos(t), via_chrono(t), "{t}");
        }
        // Not the fast form: left to chrono (which handles offsets) or refused.
        for t in [
            "2026-11-24T10:00:00.123+01:00",
            "2026-11-24T10:00:00.1234567890Z",
            "2026-13-24T10:00:00Z",
            "2026-11-24T10:00:00.Z",
            "2026-11-24 10:00:00Z",
            "2026-11-24T10:00:6xZ",
            "é026-11-24T10:00:00Z",
        ] {
            assert_eq!(utc_nanos(t), None, "{t}");
        }
        assert_eq!(
            normalize_time("2026-11-24T10:00:00.5+01:00").as_deref(),
            Some("2026-11-24T09:00:00.500000000Z")
        );
    }
}
