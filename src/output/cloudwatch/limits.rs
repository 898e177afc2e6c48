//! PutLogEvents limits, applied exactly: at most 10,000 events and 1,048,576 bytes per call
//! (each event counts its UTF-8 size + 26 bytes), events sorted by time and spanning at most
//! 24 hours, an event at most 256 KiB (262,144 bytes with its 26).

pub const MAX_EVENTS: usize = 10_000;
pub const MAX_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
pub const MAX_EVENT_BYTES: usize = 262_144;
pub const MAX_SPAN_MS: i64 = 24 * 3600 * 1000;

/// Splits events already sorted by timestamp (`(timestamp ms, message bytes)`) into runs that
/// each fit one call; returns the runs as index ranges.
pub fn split(events: &[(i64, usize)]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &(ts, len)) in events.iter().enumerate() {
        let size = len + EVENT_OVERHEAD;
        let full = i - start >= MAX_EVENTS
            || bytes + size > MAX_BYTES
            || ts - events[start].0 > MAX_SPAN_MS;
        if i > start && full {
            runs.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        runs.push(start..events.len());
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_bytes_and_span() {
        let many: Vec<(i64, usize)> = (0..25_000).map(|i| (i, 10)).collect();
        let runs = split(&many);
        assert_eq!(runs, vec![0..10_000, 10_000..20_000, 20_000..25_000]);

        // 1,048,576 / (1000 + 26) = 1022.0: 1022 events per call.
        let big: Vec<(i64, usize)> = (0..3000).map(|i| (i, 1000)).collect();
        let runs = split(&big);
        assert_eq!(runs[0], 0..1022);
        for r in &runs {
            let bytes: usize = big[r.clone()].iter().map(|e| e.1 + EVENT_OVERHEAD).sum();
            assert!(bytes <= MAX_BYTES);
        }
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 3000);

        let span = vec![(0, 1), (MAX_SPAN_MS, 1), (MAX_SPAN_MS + 1, 1)];
        assert_eq!(split(&span), vec![0..2, 2..3]);
        assert!(split(&[]).is_empty());
    }
}
