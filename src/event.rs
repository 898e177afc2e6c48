//! `Event`: one record (its JSON fields, ECS names) plus the `Source` position used for acks.
//! Inputs create events, processors change their fields, outputs serialize them.
//!
//! Fields that are the same for every record of a file (`host`, `agent`, `input`,
//! `log.file.path`, and the container or pod of a container log) live in one `shared` map per
//! file instead of being copied into each record. A record's own fields and the shared ones are
//! merged key by key, recursively for objects, the record's own winning (so `log.offset` of the
//! record and `log.file.path` of the file form one `log` object); `set` copies a shared top-level
//! entry into the record before changing it (copy on write). Removing a shared field (a future
//! processor) must copy on write the same way.

use serde_json::{Map, Value};
use std::sync::Arc;

pub type Fields = Map<String, Value>;

/// Identifies one read of one file (a new id after truncation or inode reuse) in the ack ledger
/// and the checkpoint store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u64);

/// Where a record is in its source. `end` (exclusive byte offset) is what it acknowledges: once
/// every output acknowledged the record, the source may be checkpointed there (it may be capped
/// below the record's own end while an earlier record is still being joined). `start` and
/// `origin` are the record's own identity, for document ids (`output/elasticsearch/bulk.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub source: SourceId,
    pub end: u64,
    /// The file's identity (device, inode, birth time) and its generation (bumped by a
    /// truncation or a new file at a reused inode) hashed: the same across restarts.
    pub origin: u64,
    /// The record's own first byte (for a joined record, its first line's).
    pub start: u64,
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
        lookup(&self.fields, path).or_else(|| lookup(self.shared.as_ref()?, path))
    }

    /// Sets the value at a dotted path, creating (or replacing non-object) parents.
    /// A path deeper than `MAX_PATH_DEPTH` keeps its tail as one literal key and flags the
    /// record `path_capped`.
    pub fn set(&mut self, path: &str, value: Value) {
        self.own(path.split('.').next().unwrap_or(path));
        if set_in(&mut self.fields, path, value) {
            self.add_flag("path_capped");
        }
    }

    /// The top-level field `key` taken literally (dots are part of the key).
    pub fn get_key(&self, key: &str) -> Option<&Value> {
        self.fields
            .get(key)
            .or_else(|| self.shared.as_ref()?.get(key))
    }

    /// Sets the top-level field `key` literally (dots are part of the key).
    pub fn insert_key(&mut self, key: String, value: Value) {
        self.fields.insert(key, value);
    }

    /// Removes the value at a dotted path. A field that lives in the shared map makes the
    /// record take its own copy of everything first (the merge would bring it back otherwise).
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let top = path.split('.').next().unwrap_or(path);
        if self.shared.as_ref().is_some_and(|s| s.contains_key(top)) {
            if let Some(shared) = self.shared.take() {
                self.fields = merged(&self.fields, &shared);
            }
        }
        let mut cur = &mut self.fields;
        let mut rest = path;
        while let Some((head, tail)) = rest.split_once('.') {
            cur = cur.get_mut(head)?.as_object_mut()?;
            rest = tail;
        }
        cur.remove(rest)
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
        match &self.shared {
            Some(shared) => write_merged(out, &self.fields, shared),
            // Serializing a map of JSON values into memory cannot fail.
            None => {
                let _ = serde_json::to_writer(&mut *out, &self.fields);
            }
        }
    }

    /// The record as a JSON value (own and shared fields merged).
    #[allow(dead_code)] // for processors and tests
    pub fn to_value(&self) -> Value {
        match &self.shared {
            Some(shared) => Value::Object(merged(&self.fields, shared)),
            None => Value::Object(self.fields.clone()),
        }
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

fn lookup<'a>(map: &'a Fields, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Writes `own` merged over `shared` as one JSON object.
fn write_merged(out: &mut Vec<u8>, own: &Fields, shared: &Fields) {
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

fn merged(own: &Fields, shared: &Fields) -> Fields {
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

/// How deep a dotted path may go (`a.b.c` is 3): past it the rest of the path stays one literal
/// key, so a key of ten thousand dots costs a loop of at most this many steps, not a stack.
pub const MAX_PATH_DEPTH: usize = 16;

/// Sets `value` at the dotted `path` in `map`, creating (or replacing non-object) parents.
/// Iterative, and at most `MAX_PATH_DEPTH` levels deep; true when the path was longer and its
/// tail was kept as one literal key.
pub fn set_in(map: &mut Fields, path: &str, value: Value) -> bool {
    let mut cur = map;
    let mut rest = path;
    let mut depth = 1;
    loop {
        let Some((head, tail)) = rest.split_once('.').filter(|_| depth < MAX_PATH_DEPTH) else {
            cur.insert(rest.to_string(), value);
            return rest.contains('.');
        };
        let child = cur.entry(head).or_insert_with(|| Value::Object(Map::new()));
        if !child.is_object() {
            *child = Value::Object(Map::new());
        }
        let Value::Object(obj) = child else {
            return false;
        };
        cur = obj;
        rest = tail;
        depth += 1;
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
    fn thousands_of_dots_neither_recurse_nor_fail() {
        // Regression: `set_in` recursed once per dot and overflowed the stack.
        let key = "a.".repeat(100_000) + "z";
        let mut e = Event::new(Map::new(), None);
        e.set(&key, json!(1));
        assert!(
            e.get(&key).is_none(),
            "the capped tail is one literal key, not a path"
        );
        let mut cur = e.fields.get("a").unwrap();
        for _ in 1..MAX_PATH_DEPTH - 1 {
            cur = cur.get("a").unwrap();
        }
        let tail = cur.as_object().unwrap().keys().next().unwrap().clone();
        assert!(tail.starts_with("a.a.") && tail.ends_with(".z"));
        assert_eq!(e.get("log.flags"), Some(&json!(["path_capped"])));
        assert!(e.remove(&key).is_none());
        let mut out = Vec::new();
        e.write_json(&mut out);
        serde_json::from_slice::<Value>(&out).unwrap();
        // A path within the cap is not flagged.
        let mut e = Event::new(Map::new(), None);
        e.set("a.b.c", json!(1));
        assert_eq!(e.remove("a.b.c"), Some(json!(1)));
        assert!(e.get("log.flags").is_none());
    }

    #[test]
    fn a_key_that_is_serde_jsons_private_token_still_serializes_as_json() {
        // Found by the `event_paths` fuzz target: the record is valid JSON, but serde_json's
        // own `Value` parser refuses it (its raw-value token as a key).
        let mut e = Event::new(Map::new(), None);
        e.set("$serde_json::private::RawValue", json!("x"));
        let mut out = Vec::new();
        e.write_json(&mut out);
        serde_json::from_slice::<serde::de::IgnoredAny>(&out).unwrap();
        assert_eq!(out, br#"{"$serde_json::private::RawValue":"x"}"#);
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

    #[test]
    fn own_and_shared_objects_merge() {
        let mut shared = Fields::new();
        shared.insert("log".into(), json!({"file": {"path": "/a.log"}}));
        let mut own = Fields::new();
        own.insert("log".into(), json!({"offset": 7}));
        let mut e = Event::with_shared(own, Arc::new(shared), None);
        assert_eq!(e.get("log.file.path"), Some(&json!("/a.log")));
        assert_eq!(e.get("log.offset"), Some(&json!(7)));
        e.add_flag("truncated");
        let mut out = Vec::new();
        e.write_json(&mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"log": {"offset": 7, "flags": ["truncated"], "file": {"path": "/a.log"}}})
        );
        assert_eq!(v, e.to_value());
    }
}
