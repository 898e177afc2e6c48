//! `Event`: one record (its JSON fields, ECS names) plus the `Source` position used for acks.
//! Inputs create events, processors change their fields, outputs serialize them.

use serde_json::{Map, Value};

pub type Fields = Map<String, Value>;

/// Identifies one read of one file (a new id after truncation or inode reuse) in the ack ledger
/// and the checkpoint store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u64);

/// The end (exclusive byte offset) of the record in its source: once every output acknowledged
/// the record, the source may be checkpointed there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub source: SourceId,
    pub end: u64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub fields: Fields,
    pub position: Option<Position>,
    /// Not to be shipped (a filtered stream, a dropped record): it only moves its source's
    /// acknowledged offset forward.
    pub ack_only: bool,
}

impl Event {
    pub fn new(fields: Fields, position: Option<Position>) -> Event {
        Event {
            fields,
            position,
            ack_only: false,
        }
    }

    /// A placeholder that acknowledges `position` without shipping anything.
    pub fn ack_only(position: Position) -> Event {
        Event {
            fields: Fields::new(),
            position: Some(position),
            ack_only: true,
        }
    }

    /// The value at a dotted path (`log.file.path`), if there is one.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut cur = self.fields.get(parts.next()?)?;
        for p in parts {
            cur = cur.as_object()?.get(p)?;
        }
        Some(cur)
    }

    /// Sets the value at a dotted path, creating (or replacing non-object) parents.
    pub fn set(&mut self, path: &str, value: Value) {
        set_in(&mut self.fields, path, value)
    }

    /// Appends `flag` to `log.flags` (e.g. `truncated`, `invalid_utf8`).
    pub fn add_flag(&mut self, flag: &str) {
        let log = self
            .fields
            .entry("log")
            .or_insert_with(|| Value::Object(Map::new()));
        if !log.is_object() {
            *log = Value::Object(Map::new());
        }
        if let Some(log) = log.as_object_mut() {
            let flags = log
                .entry("flags")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(a) = flags.as_array_mut() {
                a.push(Value::String(flag.to_string()));
            }
        }
    }
}

pub fn set_in(map: &mut Fields, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = map.entry(head).or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Some(obj) = child.as_object_mut() {
                set_in(obj, rest, value)
            }
        }
    }
}

/// Formats a time the way every record carries it: RFC 3339, UTC, nanoseconds.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths() {
        let mut e = Event::new(Map::new(), None);
        e.set("log.file.path", json!("/a"));
        e.set("log.offset", json!(7));
        e.add_flag("truncated");
        assert_eq!(e.get("log.file.path"), Some(&json!("/a")));
        assert_eq!(
            serde_json::to_value(&e.fields).unwrap(),
            json!({"log": {"file": {"path": "/a"}, "offset": 7, "flags": ["truncated"]}})
        );
        assert_eq!(e.get("log.nope"), None);
    }
}
