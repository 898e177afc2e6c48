//! Cutting bytes that are UTF-8 text without cutting a character in two: where a line or a
//! message is cut to a size (`max_line_bytes`, `max_message_size`, a runtime's piece), the cut
//! moves back to the start of the character it fell in, so the kept text stays valid and is
//! not flagged `invalid_utf8` for a character that was whole in the input.

/// The length (0 to 3) of the incomplete character `bytes` end in: the first bytes of a
/// character whose rest is not there.
pub fn incomplete_tail(bytes: &[u8]) -> usize {
    for k in 1..=3 {
        let Some(&b) = bytes.len().checked_sub(k).and_then(|i| bytes.get(i)) else {
            return 0;
        };
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: the character starts further back
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > k { k } else { 0 };
    }
    0
}

/// The first `max` bytes of `bytes` (all of them if fewer), less a character cut at the end.
pub fn cut(bytes: &[u8], max: usize) -> &[u8] {
    match bytes.get(..max) {
        Some(head) if head.len() < bytes.len() => head
            .get(..head.len() - incomplete_tail(head))
            .unwrap_or(head),
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_between_characters_only() {
        let text = "ab€😀é";
        for max in 0..=text.len() + 1 {
            let kept = cut(text.as_bytes(), max);
            let s = std::str::from_utf8(kept).expect("whole characters");
            assert!(text.starts_with(s) && s.len() <= max && max - s.len().min(max) < 4);
        }
        // Bytes that are not UTF-8 are cut as bytes, never panic.
        assert_eq!(cut(b"\x80\x80\x80\x80", 2), b"\x80\x80");
        assert_eq!(cut(b"a\xff\xfe", 2), b"a\xff");
        assert_eq!(incomplete_tail(b""), 0);
        assert_eq!(incomplete_tail(b"\xf0\x9f\x98"), 3);
        assert_eq!(incomplete_tail(b"\xf0\x9f\x98\x80"), 0);
        assert_eq!(incomplete_tail(b"\x80\x80\x80"), 0);
    }
}
