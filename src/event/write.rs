//! A record as JSON bytes: the compact writer (typed fields straight into the buffer, then the
//! record's own extra fields, then the file's shared `Fragment`), and the merge of a record's own
//! map with the shared one for records in the map form.

use super::shared::Fragment;
use super::{Fields, Record, StreamName};
use serde_json::Value;

/// `"key":` with the key escaped.
pub(super) fn write_key(out: &mut Vec<u8>, k: &str) {
    let _ = serde_json::to_writer(&mut *out, k);
    out.push(b':');
}

/// A JSON value, strings through `write_str`'s fast path.
fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(out, s),
        v => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// A JSON string. Most messages need no escaping: one pass that the compiler vectorizes
/// finds that out and the text is copied whole; otherwise serde_json escapes it (its
/// byte-by-byte escaper was the largest cost of writing a syslog record).
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .as_bytes()
        .iter()
        .fold(true, |ok, &b| ok & (b >= 0x20 && b != b'"' && b != b'\\'));
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
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
    if let Some(flags) = &r.flags {
        out.extend_from_slice(b",\"flags\":");
        let _ = serde_json::to_writer(&mut *out, flags);
    }
    if let Some(syslog) = &r.syslog {
        out.extend_from_slice(b",\"syslog\":");
        out.extend_from_slice(syslog.json());
    }
    if let Some(f) = frag {
        out.extend_from_slice(&f.log_inner);
    }
    out.push(b'}');
    if let Some(e) = &r.error {
        out.extend_from_slice(b",\"error\":{\"message\":");
        let _ = serde_json::to_writer(&mut *out, e);
        out.push(b'}');
    }
    for (k, v) in own {
        out.push(b',');
        write_key(out, k);
        let _ = serde_json::to_writer(&mut *out, v);
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
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
    };
    for (k, v) in own {
        sep(out, k);
        match (v, shared.get(k)) {
            (Value::Object(o), Some(Value::Object(s))) => write_merged(out, o, s),
            _ => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
    for (k, v) in shared.iter().filter(|(k, _)| !own.contains_key(*k)) {
        sep(out, k);
        let _ = serde_json::to_writer(&mut *out, v);
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
