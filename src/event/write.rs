//! A record as JSON bytes: the compact writer (typed fields straight into the buffer, then the
//! record's own extra fields, then the file's shared `Fragment`), and the merge of a record's own
//! map with the shared one for records in the map form.

use super::shared::Fragment;
use super::{Fields, Record, StreamName};
use serde_json::Value;

/// `"key":` with the key escaped.
pub(super) fn write_key(out: &mut Vec<u8>, k: &str) {
    write_str(out, k);
    out.push(b':');
}

/// Nesting below which values are written here; deeper ones (which serde_json's parser, with
/// its own limit of 128, never makes) go to serde_json.
const MAX_WRITE_DEPTH: usize = 128;

/// A JSON value as serde_json writes it compactly, strings through `write_str`.
pub(super) fn write_value(out: &mut Vec<u8>, v: &Value) {
    write_nested(out, v, 0);
}

fn write_nested(out: &mut Vec<u8>, v: &Value, depth: usize) {
    match v {
        Value::String(s) => write_str(out, s),
        Value::Object(m) if depth < MAX_WRITE_DEPTH => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(out, k);
                write_nested(out, v, depth + 1);
            }
            out.push(b'}');
        }
        Value::Array(a) if depth < MAX_WRITE_DEPTH => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_nested(out, v, depth + 1);
            }
            out.push(b']');
        }
        v => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// Whether a byte must be escaped in a JSON string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// A JSON string, escaped exactly as serde_json escapes it. Text that needs no escaping is
/// copied whole after one vectorized test; other text is scanned 32 bytes at a time and the
/// runs between escaped bytes are copied whole (serde_json's byte-by-byte escaper was the largest
/// cost of writing a syslog record, and of JSON application logs as messages).
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    const BLOCK: usize = 32;
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most text needs no escaping at all: one test over the whole text, then one copy.
    if !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let (mut run, mut at) = (0, 0);
    while at < bytes.len() {
        if let Some(block) = bytes.get(at..at + BLOCK) {
            if !block.iter().fold(false, |any, &b| any | needs_escape(b)) {
                at += BLOCK;
                continue;
            }
        }
        let end = (at + BLOCK).min(bytes.len());
        for i in at..end {
            let Some(&b) = bytes.get(i) else { break };
            if needs_escape(b) {
                out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
                escape(out, b);
                run = i + 1;
            }
        }
        at = end;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}

/// One byte that `needs_escape`, escaped as serde_json escapes it.
fn escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
            out.extend_from_slice(b"\\u00");
            out.push(hex(b >> 4));
            out.push(hex(b & 0xf));
        }
    }
}

/// A compact record and its file's shared fragment, written as one JSON object.
pub(super) fn write_compact(out: &mut Vec<u8>, r: &Record, own: &Fields, frag: Option<&Fragment>) {
    out.extend_from_slice(b"{\"@timestamp\":");
    write_value(out, &r.timestamp);
    out.extend_from_slice(b",\"message\":");
    write_value(out, &r.message);
    if let Some(s) = r.stream {
        out.extend_from_slice(match s {
            StreamName::Stdout => b",\"stream\":\"stdout\"",
            StreamName::Stderr => b",\"stream\":\"stderr\"",
        });
    }
    out.extend_from_slice(b",\"log\":{\"offset\":");
    let _ = serde_json::to_writer(&mut *out, &r.offset);
    if let Some(flags) = r.flags() {
        out.extend_from_slice(b",\"flags\":");
        let _ = serde_json::to_writer(&mut *out, flags);
    }
    if let Some(syslog) = r.syslog() {
        out.extend_from_slice(b",\"syslog\":");
        out.extend_from_slice(syslog.json());
    }
    if let Some(f) = frag {
        out.extend_from_slice(&f.log_inner);
    }
    out.push(b'}');
    if let Some(e) = r.error() {
        out.extend_from_slice(b",\"error\":{\"message\":");
        write_value(out, e);
        out.push(b'}');
    }
    for (k, v) in own {
        out.push(b',');
        write_key(out, k);
        write_value(out, v);
    }
    if let Some(raw) = &r.raw {
        out.push(b',');
        out.extend_from_slice(raw.members().as_bytes());
    }
    if let Some(f) = frag {
        out.extend_from_slice(&f.rest);
    }
    out.push(b'}');
}

pub(super) fn lookup<'a>(map: &'a Fields, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Writes `own` merged over `shared` as one JSON object.
pub(super) fn write_merged(out: &mut Vec<u8>, own: &Fields, shared: &Fields) {
    out.push(b'{');
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>, k: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_key(out, k);
    };
    for (k, v) in own {
        sep(out, k);
        match (v, shared.get(k)) {
            (Value::Object(o), Some(Value::Object(s))) => write_merged(out, o, s),
            _ => write_value(out, v),
        }
    }
    for (k, v) in shared.iter().filter(|(k, _)| !own.contains_key(*k)) {
        sep(out, k);
        write_value(out, v);
    }
    out.push(b'}');
}

pub(super) fn merged(own: &Fields, shared: &Fields) -> Fields {
    let mut all = shared.clone();
    for (k, v) in own {
        let value = match (v, shared.get(k)) {
            (Value::Object(o), Some(Value::Object(s))) => Value::Object(merged(o, s)),
            _ => v.clone(),
        };
        all.insert(k.clone(), value);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any value: strings of any characters (control characters, quotes, backslashes,
    /// multibyte), numbers, and objects and arrays nesting them.
    fn value() -> impl Strategy<Value = Value> {
        let text = proptest::collection::vec(
            prop_oneof![
                any::<char>(),
                proptest::sample::select(vec!['"', '\\', '\n', '\t', '\u{1}', '\u{1f}', 'é', '😀']),
            ],
            0..120,
        )
        .prop_map(|c| c.into_iter().collect::<String>());
        let leaf = prop_oneof![
            text.clone().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((text.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The fast writer writes exactly what serde_json writes.
        #[test]
        fn writes_what_serde_json_writes(v in value()) {
            let mut ours = Vec::new();
            write_value(&mut ours, &v);
            prop_assert_eq!(String::from_utf8_lossy(&ours), serde_json::to_string(&v).unwrap());
        }
    }

    #[test]
    fn escapes_every_control_character_as_serde_json_does() {
        let all: String = (0u8..0x80)
            .map(char::from)
            .chain(['é', '\u{2028}'])
            .collect();
        let mut ours = Vec::new();
        write_str(&mut ours, &all);
        assert_eq!(ours, serde_json::to_vec(&all).unwrap());
    }

    /// Deeper than the writer's own limit: serde_json writes the rest, the same bytes.
    #[test]
    fn a_value_deeper_than_the_limit_is_still_written_whole() {
        let mut v = Value::String("end".into());
        for _ in 0..(MAX_WRITE_DEPTH + 5) {
            v = Value::Array(vec![v]);
        }
        let mut ours = Vec::new();
        write_value(&mut ours, &v);
        assert_eq!(ours, serde_json::to_vec(&v).unwrap());
    }
}
