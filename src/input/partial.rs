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
use crate::config::Stream;
use crate::event::{Event, Position, SourceId};
use crate::tail::reader::Line;
use crate::tail::tailer::FileCtx;
use serde_json::Value;
use std::time::{Duration, Instant};

struct Pending {
    /// Offset of the first piece.
    offset: u64,
    /// End of the last piece.
    end: u64,
    text: String,
    truncated: bool,
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
        self.partial_at(stream, offset, offset, piece, "", SourceId(0), 0);
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
    ) {
        let max = self.max;
        let p = self.pending[slot(stream)].get_or_insert_with(|| Pending {
            offset,
            end,
            text: String::new(),
            truncated: false,
            time: String::new(),
            source,
            origin,
            updated: Instant::now(),
        });
        append(&mut p.text, &mut p.truncated, piece, max);
        p.end = end.max(p.end);
        p.updated = Instant::now();
        time.clone_into(&mut p.time);
    }

    /// The last piece of a record: returns the whole record.
    pub fn finish(&mut self, stream: Stream, offset: u64, piece: &str) -> Joined {
        match self.pending[slot(stream)].take() {
            None => {
                let mut text = String::new();
                let mut truncated = false;
                append(&mut text, &mut truncated, piece, self.max);
                Joined {
                    offset,
                    text,
                    truncated,
                }
            }
            Some(mut p) => {
                append(&mut p.text, &mut p.truncated, piece, self.max);
                Joined {
                    offset: p.offset,
                    text: p.text,
                    truncated: p.truncated,
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
        piece: &str,
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
                piece,
                time,
                file.source,
                file.origin,
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
        if bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
        out.push(ev);
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
            let due = self.joiner.pending[slot(stream)]
                .as_ref()
                .is_some_and(|p| all || p.updated.elapsed() >= timeout);
            if !due {
                continue;
            }
            let Some(p) = self.joiner.pending[slot(stream)].take() else {
                continue;
            };
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
            out.push(ev);
        }
    }
}

/// RFC 3339 with any number of fraction digits → the record's UTC nanosecond form.
pub fn normalize_time(t: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(crate::event::timestamp(parsed.with_timezone(&chrono::Utc)))
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
        text.push_str(&piece[..cut]);
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
        let e = j.finish(Stream::Stderr, 200, "err");
        assert_eq!(
            (e.offset, e.text.as_str(), e.truncated),
            (200, "err", false)
        );
        j.partial(Stream::Stdout, 300, "defgh");
        let o = j.finish(Stream::Stdout, 400, "ijklmn");
        assert_eq!(
            (o.offset, o.text.as_str(), o.truncated),
            (100, "abcdefghij", true)
        );
        assert_eq!(j.ack_end(500), 500);
    }
}
