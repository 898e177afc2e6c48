//! One line of a Docker json-file log (`{"log":"…","stream":"stdout","time":"…"}`) decoded.
//!
//! The json-file driver writes every line in that exact shape: keys in that order, no spaces,
//! `stream` `stdout` or `stderr`, `time` an RFC 3339 UTC time without escapes. `parse` reads that
//! shape in one pass (`fast`): the `log` text is borrowed from the line when it has no escape,
//! and otherwise unescaped straight into one buffer of the right size (serde_json's path grows a
//! scratch buffer from empty for every line, which was a tenth of the decoder's time). Anything
//! else (other key orders, extra keys, spaces, a lone surrogate, a byte serde_json would refuse)
//! goes to serde_json (`general`), so the result is always the one serde_json gives: the fuzz
//! entry point `docker_lines` and a property test check the two agree.

use crate::input::Stream;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What ends the `log` text in the driver's shape; built once (building a searcher per line
/// was a twentieth of the decoder's time).
static STREAM_KEY: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(br#"","stream":""#));

/// A decoded line.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub log: Cow<'a, str>,
    pub stream: Stream,
    pub time: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow, default)]
    time: Cow<'a, str>,
}

/// The line decoded, or None when it is not a json-file entry (shipped raw by the caller).
pub fn parse(line: &[u8]) -> Option<Entry<'_>> {
    fast(line).or_else(|| general(line))
}

/// serde_json's reading (any key order, extra keys, every escape). A `stream` other than
/// `stderr` counts as stdout, as the decoder always did.
pub fn general(line: &[u8]) -> Option<Entry<'_>> {
    let e = serde_json::from_slice::<JsonLine>(line).ok()?;
    Some(Entry {
        stream: if e.stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        log: e.log,
        time: e.time,
    })
}

/// The driver's own shape, or None (then `general` decides).
pub fn fast(line: &[u8]) -> Option<Entry<'_>> {
    let rest = line.strip_prefix(br#"{"log":""#)?;
    // The text ends at the first `","stream":"` (its quote is the first unescaped one), so
    // that is the size its unescaped buffer needs at most. A buffer sized to the whole line
    // instead cost the logstash output 6% more CPU per line (allocator size classes).
    let end = STREAM_KEY.find(rest)?;
    let (log, rest) = string(rest, end)?;
    let rest = rest.strip_prefix(br#","stream":""#)?;
    let (stream, rest) = if let Some(r) = rest.strip_prefix(br#"stdout""#) {
        (Stream::Stdout, r)
    } else {
        (Stream::Stderr, rest.strip_prefix(br#"stderr""#)?)
    };
    let rest = rest.strip_prefix(br#","time":""#)?;
    let (time, rest) = string(rest, rest.len())?;
    let rest = rest.strip_prefix(b"}")?;
    // serde_json allows only JSON whitespace after the value.
    if !rest
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    Some(Entry { log, stream, time })
}

/// The JSON string whose opening quote was just consumed, and what follows its closing quote.
/// None for what the fast path leaves to serde_json: lone surrogates, unknown escapes, control
/// characters, invalid UTF-8, no closing quote. `size`: what an unescaped copy needs at most.
fn string(s: &[u8], size: usize) -> Option<(Cow<'_, str>, &[u8])> {
    let mut owned: Option<Vec<u8>> = None;
    let mut from = 0;
    loop {
        let tail = s.get(from..)?;
        let at = from + memchr::memchr2(b'"', b'\\', tail)?;
        let segment = s.get(from..at)?;
        // A fold, not `any`: without the early exit the compiler tests 32 bytes at a time.
        if segment.iter().fold(false, |any, &b| any | (b < 0x20)) {
            return None;
        }
        if s.get(at) == Some(&b'"') {
            let after = s.get(at + 1..)?;
            return match owned {
                // simdutf8: std's check was 5% of the instructions of a Docker line.
                None => Some((
                    Cow::Borrowed(simdutf8::basic::from_utf8(s.get(..at)?).ok()?),
                    after,
                )),
                Some(mut buf) => {
                    buf.extend_from_slice(segment);
                    simdutf8::basic::from_utf8(&buf).ok()?;
                    // SAFETY: `buf` was checked to be UTF-8 just above (String::from_utf8 would
                    // check it again with std's slower check).
                    let text = unsafe { String::from_utf8_unchecked(buf) };
                    Some((Cow::Owned(text), after))
                }
            };
        }
        let buf = owned.get_or_insert_with(|| Vec::with_capacity(size));
        buf.extend_from_slice(segment);
        from = at + 2;
        buf.push(match s.get(at + 1)? {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'u' => {
                // `\uXXXX` (Docker writes `<`, `>`, `&` and control characters so), a surrogate
                // pair as two; a lone surrogate is left to serde_json (which refuses it).
                let unit = hex4(s.get(from..from + 4)?)?;
                from += 4;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        let low = hex4(s.get(from..from + 6)?.strip_prefix(b"\\u")?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        from += 6;
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(unit)?,
                };
                let mut utf8 = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            _ => return None,
        });
    }
}

/// Four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    if digits.len() != 4 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drivers_shape_is_read_without_serde_and_the_rest_by_serde() {
        let line = br#"{"log":"GET /a \"q\" \\ caf\u00e9 \ttab\n","stream":"stderr","time":"2026-11-24T10:00:00.000000001Z"}"#;
        let e = fast(line).unwrap();
        assert_eq!(Some(&e), general(line).as_ref());
        assert_eq!(e.log, "GET /a \"q\" \\ café \ttab\n");
        assert_eq!(e.stream, Stream::Stderr);
        let line =
            "{\"log\":\"Zoë \\\"x\\\"\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n".as_bytes();
        let e = fast(line).unwrap();
        assert_eq!(e.log, "Zoë \"x\"\n");
        assert!(matches!(e.log, Cow::Owned(_)));
        assert_eq!(Some(e), general(line));
        let plain = br#"{"log":"no escapes","stream":"stdout","time":"t"}"#;
        assert!(matches!(
            fast(plain).unwrap().log,
            Cow::Borrowed("no escapes")
        ));
        // Other shapes: serde_json decides, and the fast path says nothing.
        for other in [
            &br#"{"stream":"stdout","log":"x\n","time":"t"}"#[..],
            br#"{"log":"x\n","stream":"other","time":"t"}"#,
            br#"{"log":"x\n","stream":"stdout","time":"t","attrs":{}}"#,
            br#"{"log":"x\n", "stream":"stdout","time":"t"}"#,
            b"{\"log\":\"a\tb\",\"stream\":\"stdout\",\"time\":\"t\"}",
            b"{\"log\":\"\xff\",\"stream\":\"stdout\",\"time\":\"t\"}",
            br#"{"log":"x\q","stream":"stdout","time":"t"}"#,
            br#"{"log":"\ud800","stream":"stdout","time":"t"}"#,
            br#"{"log":"\udc00\ud800","stream":"stdout","time":"t"}"#,
            br#"{"log":"\ud800\u0041","stream":"stdout","time":"t"}"#,
            br#"{"log":"\u00g1","stream":"stdout","time":"t"}"#,
            br#"{"log":"\u+0ff","stream":"stdout","time":"t"}"#,
            br#"{"log":"x","stream":"stdout","time":"t"}x"#,
            br#"{"log":"x","stream":"stdout","time":"t"#,
        ] {
            assert!(fast(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
        assert_eq!(parse(br#"{"stream":"stderr","log":"x"}"#).unwrap().log, "x");
        let pair = fast(br#"{"log":"\ud834\udd1e \u003c\u0026","stream":"stdout","time":"t"}"#);
        assert_eq!(pair.unwrap().log, "𝄞 <&");
        assert!(parse(b"{\"log\":\"a\tb\",\"stream\":\"stdout\",\"time\":\"t\"}").is_none());
    }
}
