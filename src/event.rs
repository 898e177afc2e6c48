//! `Event`: one record (its JSON fields, ECS names) plus the `Source` position used for acks.
//! Inputs create events, processors change their fields, outputs serialize them.
//!
//! Fields that are the same for every record of a file (`host`, `agent`, `input`, and the
//! container or pod of a container log) live in one `shared` map per file instead of being
//! copied into each record; `set` copies a shared top-level entry into the record before
//! changing it (copy on write), and `write_json` writes the union.

use serde_json::{Map, Value};
use std::sync::Arc;

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
    /// The record's own fields; they take precedence over `shared` ones with the same key.
    pub fields: Fields,
    /// Top-level fields shared by every record of one source.
    pub shared: Option<Arc<Fields>>,
    pub position: Option<Position>,
    /// Not to be shipped (a filtered stream, a dropped record): it only moves its source's
    /// acknowledged offset forward.
    pub ack_only: bool,
}

impl Event {
    #[allow(dead_code)] // records without a per-source map (network inputs, tests)
    pub fn new(fields: Fields, position: Option<Position>) -> Event {
        Event {
            fields,
            shared: None,
            position,
            ack_only: false,
        }
    }

    /// A record with per-source `shared` fields besides its own.
    pub fn with_shared(fields: Fields, shared: Arc<Fields>, position: Option<Position>) -> Event {
        Event {
            fields,
            shared: Some(shared),
            position,
            ack_only: false,
        }
    }

    /// A placeholder that acknowledges `position` without shipping anything.
    pub fn ack_only(position: Position) -> Event {
        Event {
            fields: Fields::new(),
            shared: None,
            position: Some(position),
            ack_only: true,
        }
    }

    /// The value at a dotted path (`log.file.path`), if there is one.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let top = parts.next()?;
        let mut cur = self
            .fields
            .get(top)
            .or_else(|| self.shared.as_ref()?.get(top))?;
        for p in parts {
            cur = cur.as_object()?.get(p)?;
        }
        Some(cur)
    }

    /// Sets the value at a dotted path, creating (or replacing non-object) parents.
    pub fn set(&mut self, path: &str, value: Value) {
        self.own(path.split('.').next().unwrap_or(path));
        set_in(&mut self.fields, path, value)
    }

    /// Copies the shared top-level entry `key` into the record's own fields (copy on write).
    fn own(&mut self, key: &str) {
        if self.fields.contains_key(key) {
            return;
        }
        if let Some(v) = self.shared.as_ref().and_then(|s| s.get(key)) {
            self.fields.insert(key.to_string(), v.clone());
        }
    }

    /// The record as one JSON object: its own fields, then the shared ones it does not override.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let Some(shared) = &self.shared else {
            // Serializing a map of JSON values into memory cannot fail.
            let _ = serde_json::to_writer(&mut *out, &self.fields);
            return;
        };
        out.push(b'{');
        let mut first = true;
        let own = self.fields.iter();
        let inherited = shared.iter().filter(|(k, _)| !self.fields.contains_key(*k));
        for (k, v) in own.chain(inherited) {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, v);
        }
        out.push(b'}');
    }

    /// The record as a JSON value (own and shared fields merged).
    #[allow(dead_code)] // for processors and tests
    pub fn to_value(&self) -> Value {
        let mut all = self.shared.as_deref().cloned().unwrap_or_default();
        all.extend(self.fields.clone());
        Value::Object(all)
    }

    /// Appends `flag` to `log.flags` (e.g. `truncated`, `invalid_utf8`).
    pub fn add_flag(&mut self, flag: &str) {
        self.own("log");
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

    #[test]
    fn shared_fields_are_copied_on_write_and_serialized_once() {
        let mut shared = Fields::new();
        shared.insert("host".into(), json!({"name": "n1"}));
        shared.insert("container".into(), json!({"id": "abc"}));
        let shared = Arc::new(shared);
        let mut e = Event::with_shared(Fields::new(), shared.clone(), None);
        e.set("message", json!("hi"));
        e.set("container.name", json!("web"));
        assert_eq!(e.get("host.name"), Some(&json!("n1")));
        assert_eq!(e.get("container.id"), Some(&json!("abc")));
        assert_eq!(
            shared["container"],
            json!({"id": "abc"}),
            "shared map untouched"
        );
        let mut out = Vec::new();
        e.write_json(&mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"message": "hi", "container": {"id": "abc", "name": "web"}, "host": {"name": "n1"}})
        );
        assert_eq!(v, e.to_value());
    }
}
