//! The beats (Lumberjack v2) wire format, as elastic/go-lumber and logstash-input-beats speak it:
//! a window frame `2W` + count, then one JSON frame `2J` + seq + length + document per event
//! (seq counts from 1 in every window), all of them inside one zlib frame `2C` + length when
//! compression is on; the server answers `2A` + the highest sequence it has (0 = keepalive).

use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::Write;

/// The start of every document: `{"@metadata":{"beat":..,"type":"_doc","version":..}` (no
/// closing brace: the event's own fields follow).
pub fn metadata_prefix(beat: &str) -> Vec<u8> {
    let beat = serde_json::to_string(beat).unwrap_or_else(|_| "\"logship\"".into());
    format!(
        "{{\"@metadata\":{{\"beat\":{beat},\"type\":\"_doc\",\"version\":\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// Appends the JSON frames of `events` (each a serialized JSON object) to `out`.
fn write_frames(out: &mut Vec<u8>, events: &[&[u8]], prefix: &[u8]) {
    for (i, doc) in events.iter().enumerate() {
        // `{...}` becomes `{"@metadata":{..},...}`; `{}` becomes `{"@metadata":{..}}`.
        let rest: &[u8] = if doc.len() > 2 { &doc[1..] } else { b"}" };
        let comma = usize::from(doc.len() > 2);
        let len = prefix.len() + comma + rest.len();
        out.extend_from_slice(b"2J");
        out.extend_from_slice(&(i as u32 + 1).to_be_bytes());
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(prefix);
        if comma == 1 {
            out.push(b',');
        }
        out.extend_from_slice(rest);
    }
}

/// One window ready to write: `2W`, then the frames, compressed at `level` (0 = plain).
pub fn encode_window(events: &[&[u8]], prefix: &[u8], level: u32) -> Vec<u8> {
    let size: usize = events.iter().map(|e| e.len() + prefix.len() + 11).sum();
    let mut out = Vec::with_capacity(6 + size / if level > 0 { 4 } else { 1 } + 16);
    out.extend_from_slice(b"2W");
    out.extend_from_slice(&(events.len() as u32).to_be_bytes());
    if level == 0 {
        write_frames(&mut out, events, prefix);
        return out;
    }
    let mut raw = Vec::with_capacity(size);
    write_frames(&mut raw, events, prefix);
    out.extend_from_slice(b"2C");
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut z = ZlibEncoder::new(out, Compression::new(level.min(9)));
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&raw);
    let mut out = z.finish().unwrap_or_default();
    let compressed = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&compressed.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::ZlibDecoder;
    use std::io::Read;

    fn frames(mut b: &[u8]) -> Vec<(u32, serde_json::Value)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            assert_eq!(&b[..2], b"2J");
            let seq = u32::from_be_bytes(b[2..6].try_into().unwrap());
            let len = u32::from_be_bytes(b[6..10].try_into().unwrap()) as usize;
            out.push((seq, serde_json::from_slice(&b[10..10 + len]).unwrap()));
            b = &b[10 + len..];
        }
        out
    }

    #[test]
    fn plain_and_compressed_windows_carry_metadata_and_sequence() {
        let prefix = metadata_prefix("filebeat");
        let events: Vec<&[u8]> = vec![br#"{"message":"a"}"#, b"{}"];
        let plain = encode_window(&events, &prefix, 0);
        assert_eq!(&plain[..6], b"2W\0\0\0\x02");
        let got = frames(&plain[6..]);
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1].0, 2);
        assert_eq!(got[0].1["message"], "a");
        assert_eq!(got[0].1["@metadata"]["beat"], "filebeat");
        assert_eq!(got[1].1["@metadata"]["type"], "_doc");

        let z = encode_window(&events, &prefix, 3);
        assert_eq!(&z[..8], b"2W\0\0\0\x022C");
        let len = u32::from_be_bytes(z[8..12].try_into().unwrap()) as usize;
        assert_eq!(z.len(), 12 + len);
        let mut raw = Vec::new();
        ZlibDecoder::new(&z[12..]).read_to_end(&mut raw).unwrap();
        assert_eq!(frames(&raw), got);
    }
}
