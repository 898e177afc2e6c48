//! Joining partial lines: the Docker json-file driver splits lines longer than 16 KiB into
//! entries without a trailing `\n`, and CRI runtimes mark them `P`. Pieces are joined per stream
//! (stdout and stderr never mix), up to `max_line_bytes`, past which the record is flagged
//! `truncated` and the rest of its pieces are dropped as they come.
//!
//! Acknowledgement: while a record is being joined, no other record of the file may carry an
//! offset past the joined record's first piece, or a crash in between would lose the pieces
//! already read. `ack_end` gives that capped offset.

use crate::config::Stream;

struct Pending {
    /// Offset of the first piece.
    offset: u64,
    text: String,
    truncated: bool,
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
        let max = self.max;
        let p = self.pending[slot(stream)].get_or_insert_with(|| Pending {
            offset,
            text: String::new(),
            truncated: false,
        });
        append(&mut p.text, &mut p.truncated, piece, max);
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
