//! Frames of a syslog stream (TCP, TLS, Unix stream): octet counting (`LEN SP MSG`, RFC 6587
//! 3.4.1 and RFC 5425), a delimiter (newline by default, "non-transparent framing", RFC 6587
//! 3.4.2), or `auto`: each frame by its first byte, a digit for octet counting, anything else
//! for a delimited frame (rsyslog's imtcp accepts both on one connection the same way).
//!
//! Memory is bounded by `max_message`: a longer message is cut to its first `max_message`
//! bytes, flagged `truncated`, and the rest is read and thrown away, so a count of 999999999
//! or a line that never ends costs at most `max_message` bytes. Bytes arrive in any pieces; the
//! decoder keeps its state between them. A count that is not followed by a space cannot be
//! resynchronized in strict octet-counting mode: the connection is closed (`Err`); in `auto` the
//! bytes are read as a delimited frame. At the end of the stream, a frame cut short is given
//! as it is, flagged `truncated` (what arrived is kept).

/// How a stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    OctetCounting,
    Delimited(u8),
    Auto(u8),
}

/// One message of the stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    /// Longer than `max_message`, or cut short by the end of the stream.
    pub truncated: bool,
}

/// The longest count accepted (10 digits is more than any `max_message`).
const MAX_COUNT_DIGITS: usize = 10;

#[derive(Debug)]
enum State {
    /// Before a frame: separators (`\n`, `\r`, NUL) between frames are skipped.
    Start,
    /// Reading the digits of an octet count.
    Count(usize, usize),
    /// Reading a counted message: bytes still to come.
    Counted(usize),
    /// Reading a delimited message.
    Line,
    /// Throwing away the rest of a delimited message that was too long.
    SkipLine,
}

/// The decoder of one connection.
#[derive(Debug)]
pub struct Deframer {
    framing: Framing,
    max_message: usize,
    state: State,
    buf: Vec<u8>,
    truncated: bool,
}

impl Deframer {
    pub fn new(framing: Framing, max_message: usize) -> Deframer {
        Deframer {
            framing,
            max_message: max_message.max(1),
            state: State::Start,
            buf: Vec::new(),
            truncated: false,
        }
    }

    /// Bytes held for a frame not yet complete (at most `max_message` plus a count).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn delimiter(&self) -> u8 {
        match self.framing {
            Framing::Delimited(d) | Framing::Auto(d) => d,
            Framing::OctetCounting => b'\n',
        }
    }

    /// Feeds `data`; each complete frame goes to `out`. An error ends the connection.
    pub fn push(&mut self, mut data: &[u8], out: &mut impl FnMut(Frame)) -> Result<(), String> {
        while !data.is_empty() {
            match self.state {
                State::Start => {
                    let skip = data
                        .iter()
                        .take_while(|b| matches!(b, b'\n' | b'\r' | b'\0'))
                        .count();
                    data = data.get(skip..).unwrap_or_default();
                    let Some(&first) = data.first() else { break };
                    self.truncated = false;
                    self.state = match self.framing {
                        Framing::OctetCounting => State::Count(0, 0),
                        Framing::Auto(_) if first.is_ascii_digit() && first != b'0' => {
                            State::Count(0, 0)
                        }
                        _ => State::Line,
                    };
                }
                State::Count(n, digits) => {
                    let Some((&b, rest)) = data.split_first() else {
                        break;
                    };
                    match b {
                        b'0'..=b'9' if digits < MAX_COUNT_DIGITS => {
                            data = rest;
                            self.buf.push(b);
                            self.state =
                                State::Count(n * 10 + usize::from(b - b'0'), digits + 1);
                        }
                        b' ' if digits > 0 => {
                            data = rest;
                            self.buf.clear();
                            self.state = State::Counted(n);
                            if n == 0 {
                                self.emit(out);
                            }
                        }
                        _ if matches!(self.framing, Framing::Auto(_)) => {
                            // Not a count after all: the digits start a delimited frame.
                            self.state = State::Line;
                        }
                        _ => {
                            return Err(format!(
                                "octet-counting framing expected `LENGTH SPACE MESSAGE`, got {:?} after {:?}",
                                char::from(b),
                                String::from_utf8_lossy(&self.buf)
                            ))
                        }
                    }
                }
                State::Counted(left) => {
                    let take = left.min(data.len());
                    let (now, rest) = data.split_at(take);
                    let room = self.max_message.saturating_sub(self.buf.len());
                    if now.len() > room {
                        self.truncated = true;
                    }
                    self.buf
                        .extend_from_slice(now.get(..room.min(now.len())).unwrap_or(now));
                    data = rest;
                    self.state = State::Counted(left - take);
                    if left == take {
                        self.emit(out);
                    }
                }
                State::Line => {
                    let delim = self.delimiter();
                    let end = data.iter().position(|&b| b == delim);
                    let piece = end.map_or(data, |e| data.get(..e).unwrap_or(data));
                    let room = self.max_message.saturating_sub(self.buf.len());
                    if piece.len() > room {
                        self.buf
                            .extend_from_slice(piece.get(..room).unwrap_or(piece));
                        self.truncated = true;
                        self.emit(out);
                        self.state = State::SkipLine;
                        data = data.get(piece.len()..).unwrap_or_default();
                        continue;
                    }
                    self.buf.extend_from_slice(piece);
                    match end {
                        Some(e) => {
                            data = data.get(e + 1..).unwrap_or_default();
                            self.emit(out);
                        }
                        None => data = &[],
                    }
                }
                State::SkipLine => {
                    let delim = self.delimiter();
                    match data.iter().position(|&b| b == delim) {
                        Some(e) => {
                            data = data.get(e + 1..).unwrap_or_default();
                            self.state = State::Start;
                        }
                        None => data = &[],
                    }
                }
            }
        }
        Ok(())
    }

    /// The end of the stream: a frame cut short is given as it is, flagged.
    pub fn finish(&mut self, out: &mut impl FnMut(Frame)) {
        match self.state {
            State::Line if !self.buf.is_empty() => self.emit(out),
            State::Counted(_) => {
                self.truncated = true;
                self.emit(out);
            }
            State::Count(..) if matches!(self.framing, Framing::Auto(_)) => self.emit(out),
            _ => {}
        }
        self.state = State::Start;
        self.buf.clear();
    }

    fn emit(&mut self, out: &mut impl FnMut(Frame)) {
        let mut bytes = std::mem::take(&mut self.buf);
        // Digits read as a count, then found to start a delimited frame, count too.
        if bytes.len() > self.max_message {
            bytes.truncate(self.max_message);
            self.truncated = true;
        }
        if self.truncated {
            // The cut (or the end of the connection) may have fallen inside a character.
            let whole = bytes.len() - crate::utf8::incomplete_tail(&bytes);
            bytes.truncate(whole);
        }
        out(Frame {
            bytes,
            truncated: self.truncated,
        });
        self.truncated = false;
        self.state = State::Start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(
        framing: Framing,
        max: usize,
        pieces: &[&[u8]],
    ) -> (Vec<(String, bool)>, Option<String>) {
        let mut d = Deframer::new(framing, max);
        let mut got = Vec::new();
        let mut err = None;
        for p in pieces {
            if let Err(e) = d.push(p, &mut |f| {
                got.push((String::from_utf8_lossy(&f.bytes).into_owned(), f.truncated))
            }) {
                err = Some(e);
                break;
            }
            assert!(d.buffered() <= max + MAX_COUNT_DIGITS);
        }
        if err.is_none() {
            d.finish(&mut |f| {
                got.push((String::from_utf8_lossy(&f.bytes).into_owned(), f.truncated))
            });
        }
        (got, err)
    }

    fn whole(v: &[&str]) -> Vec<(String, bool)> {
        v.iter().map(|s| (s.to_string(), false)).collect()
    }

    #[test]
    fn octet_counting_in_any_pieces() {
        // A newline after a counted frame (some senders add one) is a separator.
        let stream = b"11 <13>1 - - a\n12 <13>1 - - ab9 <13>Zo\xc3\xab!";
        let want = whole(&["<13>1 - - a", "<13>1 - - ab", "<13>Zoë!"]);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                frames(Framing::OctetCounting, 100, &[a, b]),
                (want.clone(), None),
                "cut at {cut}"
            );
            assert_eq!(
                frames(Framing::Auto(b'\n'), 100, &[a, b]),
                (want.clone(), None),
                "auto, cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(Framing::OctetCounting, 100, &bytes).0, want);
    }

    #[test]
    fn newline_framing_and_auto_mixes_both() {
        let (got, _) = frames(
            Framing::Delimited(b'\n'),
            100,
            &[b"<13>a\n<13>b\r\n\n<13>", b"c"],
        );
        assert_eq!(got, whole(&["<13>a", "<13>b\r", "<13>c"]));
        let (got, _) = frames(Framing::Auto(b'\n'), 100, &[b"<13>a\n5 <13>b<13>c\n"]);
        assert_eq!(got, whole(&["<13>a", "<13>b", "<13>c"]));
        let (got, _) = frames(Framing::Delimited(0), 100, &[b"<13>a\n\0<13>b\0"]);
        assert_eq!(got, whole(&["<13>a\n", "<13>b"]));
        // A line that starts with digits but is no count, in auto.
        let (got, _) = frames(Framing::Auto(b'\n'), 100, &[b"2026-01-01 text\n"]);
        assert_eq!(got, whole(&["2026-01-01 text"]));
    }

    #[test]
    fn long_messages_are_cut_and_flagged_never_buffered() {
        let (got, _) = frames(Framing::Delimited(b'\n'), 4, &[b"abcdefgh", b"ijk\nxy\n"]);
        assert_eq!(got, vec![("abcd".into(), true), ("xy".into(), false)]);
        let (got, err) = frames(
            Framing::OctetCounting,
            4,
            &[b"999999999 abcdefgh", &[b'z'; 1000]],
        );
        assert_eq!(err, None);
        assert_eq!(
            got,
            vec![("abcd".into(), true)],
            "cut short by the end, flagged"
        );
        let (got, _) = frames(Framing::OctetCounting, 4, &[b"6 abcdef2 gh"]);
        assert_eq!(got, vec![("abcd".into(), true), ("gh".into(), false)]);
        // Found by the property test: digits that are no count, longer than the limit.
        let (got, _) = frames(Framing::Auto(b'\n'), 3, &[b"123456"]);
        assert_eq!(got, vec![("123".into(), true)]);
        let (got, _) = frames(Framing::Auto(b'\n'), 3, &[b"12345x\nab\n"]);
        assert_eq!(got, vec![("123".into(), true), ("ab".into(), false)]);
    }

    #[test]
    fn bad_counts_close_a_strict_connection() {
        let (_, err) = frames(Framing::OctetCounting, 100, &[b"12x <13>a"]);
        assert!(err.is_some());
        let (_, err) = frames(Framing::OctetCounting, 100, &[b"<13>a\n"]);
        assert!(err.is_some());
        let (_, err) = frames(Framing::OctetCounting, 100, &[b"12345678901 x"]);
        assert!(err.is_some(), "more digits than any message");
        let (got, _) = frames(Framing::OctetCounting, 100, &[b"0 3 abc"]);
        assert_eq!(got, whole(&["", "abc"]));
    }

    #[test]
    fn half_a_frame_then_close_keeps_what_arrived() {
        let (got, _) = frames(Framing::OctetCounting, 100, &[b"20 <13>half"]);
        assert_eq!(got, vec![("<13>half".into(), true)]);
        let (got, _) = frames(Framing::Delimited(b'\n'), 100, &[b"<13>no newline"]);
        assert_eq!(got, whole(&["<13>no newline"]));
    }
}
