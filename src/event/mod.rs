//! `Event`: one record (its JSON fields, ECS names) plus the `Source` position used for acks.
//! Inputs create events, processors change their fields, outputs serialize them.
//!
//! Two representations, one API:
//! - **compact** (`Record`): what every line of a file, Docker or CRI log has — `@timestamp`,
//!   `message`, `stream`, `log.offset`, `log.flags`, `error.message` — held as typed values, and
//!   serialized straight into the output buffer next to the file's shared fields, which are
//!   serialized once per file (`Shared`). No JSON map is built or freed per record: this is the
//!   hot path (README, Performance).
//!   Fields a processor adds under other top-level keys (`decode_json`'s `level`, `user`, …,
//!   `add_fields`) sit in the record's own map beside the typed ones and are written after them;
//!   the record stays compact.
//! - **fields**: a JSON map, the record's own fields. A `set` under a key the compact form writes
//!   itself (`log.*`, `error.type`) or under a shared key, a `remove`, or a `rename` turns the
//!   record into this form first (`materialize`), and from then on it works as a map.
//!
//! Fields that are the same for every record of a file (`host`, `agent`, `input`,
//! `log.file.path`, and the container or pod of a container log) live in one `Shared` map per
//! file instead of being copied into each record. A record's own fields and the shared ones are
//! merged key by key, recursively for objects, the record's own winning (so `log.offset` of the
//! record and `log.file.path` of the file form one `log` object); `set` copies a shared top-level
//! entry into the record before changing it (copy on write), and so does `remove`.

mod raw;
mod shared;
mod syslog;
mod write;

use raw::RawObject;
use serde_json::{Map, Value};
pub use shared::Shared;
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
pub use syslog::{SyslogBuilder, SyslogFields};
use write::{lookup, merged, write_compact, write_merged};

pub type Fields = Map<String, Value>;

/// Identifies one read of one file (a new id after truncation or inode reuse) in the ack ledger
/// and the checkpoint store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u64);

/// Where a record is in its source. `end` (exclusive byte offset) is what it acknowledges: once
/// every output acknowledged the record, the source may be checkpointed there (it may be capped
/// below the record's own end while an earlier record is still being joined). `start` and
/// `origin` are the record's own identity, for document ids (`output/elasticsearch/encode.rs`).
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

/// The stream a container line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamName {
    Stdout,
    Stderr,
}

static STDOUT: LazyLock<Value> = LazyLock::new(|| Value::String("stdout".into()));
static STDERR: LazyLock<Value> = LazyLock::new(|| Value::String("stderr".into()));

impl StreamName {
    fn value(self) -> &'static Value {
        match self {
            StreamName::Stdout => &STDOUT,
            StreamName::Stderr => &STDERR,
        }
    }
}

/// The fields every line-based record has, typed (the compact form).
#[derive(Debug, Clone)]
struct Record {
    /// `@timestamp` (a `Value::String`, so `get` can lend it).
    timestamp: Value,
    /// `message` (a `Value::String`).
    message: Value,
    stream: Option<StreamName>,
    /// `log.offset` (a `Value::Number`).
    offset: Value,
    /// `log.flags`, `error.message` and `log.syslog`, when any is set.
    more: Option<Box<More>>,
    /// Fields `decode_json` brought, still as their JSON text (`raw.rs`). While set, the
    /// record's own map is empty: anything that changes own fields parses these into it first.
    raw: Option<Box<RawObject>>,
}

/// The typed fields few line records have, boxed out of `Record`: every record is moved from
/// the decoder's chunk into a batch and sits in queues on its way, and at 112 bytes more per
/// record these were a third of a Docker record's size (heaptrack: the chunk and batch
/// vectors were half of the agent's peak heap).
#[derive(Debug, Clone, Default)]
struct More {
    /// `log.flags` (a `Value::Array` of strings).
    flags: Option<Value>,
    /// `error.message`.
    error: Option<Value>,
    /// `log.syslog`: written once by the decoder (`syslog.rs`).
    syslog: Option<SyslogFields>,
}

impl Record {
    fn flags(&self) -> Option<&Value> {
        self.more.as_ref()?.flags.as_ref()
    }
    fn error(&self) -> Option<&Value> {
        self.more.as_ref()?.error.as_ref()
    }
    fn syslog(&self) -> Option<&SyslogFields> {
        self.more.as_ref()?.syslog.as_ref()
    }
    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Box::default)
    }
}

impl Record {
    /// The typed field at `path`, if it is one and set.
    fn typed(&self, path: &str) -> Option<&Value> {
        match path {
            "message" => Some(&self.message),
            "@timestamp" => Some(&self.timestamp),
            "stream" => self.stream.map(StreamName::value),
            "log.offset" => Some(&self.offset),
            "log.flags" => self.flags(),
            "error.message" => self.error(),
            "log.syslog" => self.syslog().map(SyslogFields::value),
            _ => match (path.strip_prefix("log.syslog."), self.syslog()) {
                (Some(rest), Some(s)) => s.value().as_object().and_then(|m| lookup(m, rest)),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    /// The compact form, until the record is materialized.
    rec: Option<Record>,
    /// The record's own fields; they take precedence over `shared` ones with the same key.
    pub fields: Fields,
    /// Top-level fields shared by every record of one source.
    pub shared: Option<Arc<Shared>>,
    pub position: Option<Position>,
    /// Not to be shipped (a filtered stream, a dropped record): it only moves its source's
    /// acknowledged offset forward.
    pub ack_only: bool,
}

impl Event {
    #[allow(dead_code)] // records without a per-source map (network inputs, tests)
    pub fn new(fields: Fields, position: Option<Position>) -> Event {
        Event {
            rec: None,
            fields,
            shared: None,
            position,
            ack_only: false,
        }
    }

    /// A record with per-source `shared` fields besides its own.
    pub fn with_shared(fields: Fields, shared: Arc<Shared>, position: Option<Position>) -> Event {
        Event {
            rec: None,
            fields,
            shared: Some(shared),
            position,
            ack_only: false,
        }
    }

    /// A line-based record in the compact form: `message`, `log.offset` and an `@timestamp`
    /// (each may be changed with `set` without leaving the compact form).
    pub fn line(
        message: String,
        offset: u64,
        timestamp: String,
        shared: Arc<Shared>,
        position: Option<Position>,
    ) -> Event {
        Event {
            rec: Some(Record {
                timestamp: Value::String(timestamp),
                message: Value::String(message),
                stream: None,
                offset: Value::from(offset),
                more: None,
                raw: None,
            }),
            fields: Fields::new(),
            shared: Some(shared),
            position,
            ack_only: false,
        }
    }

    /// A placeholder that acknowledges `position` without shipping anything.
    pub fn ack_only(position: Position) -> Event {
        Event {
            rec: None,
            fields: Fields::new(),
            shared: None,
            position: Some(position),
            ack_only: true,
        }
    }

    /// Sets `stream` (compact records keep it typed).
    pub fn set_stream(&mut self, stream: StreamName) {
        match self.rec.as_mut() {
            Some(r) => r.stream = Some(stream),
            None => self.set("stream", stream.value().clone()),
        }
    }

    /// Sets `log.syslog` (compact records keep the decoder's JSON as it is).
    pub fn set_syslog(&mut self, syslog: SyslogFields) {
        match self.rec.as_mut() {
            Some(r) => r.more().syslog = Some(syslog),
            None => self.set("log.syslog", syslog.into_value()),
        }
    }

    /// Turns a compact record into its map of own fields (what processors work on).
    pub fn materialize(&mut self) {
        let Some(r) = self.rec.take() else {
            return;
        };
        let mut own = Fields::new();
        own.insert("@timestamp".into(), r.timestamp);
        own.insert("message".into(), r.message);
        if let Some(s) = r.stream {
            own.insert("stream".into(), s.value().clone());
        }
        let mut log = Fields::new();
        log.insert("offset".into(), r.offset);
        let more = r.more.map(|m| *m).unwrap_or_default();
        if let Some(flags) = more.flags {
            log.insert("flags".into(), flags);
        }
        if let Some(syslog) = more.syslog {
            log.insert("syslog".into(), syslog.into_value());
        }
        own.insert("log".into(), Value::Object(log));
        if let Some(e) = more.error {
            let mut error = Fields::new();
            error.insert("message".into(), e);
            own.insert("error".into(), Value::Object(error));
        }
        if let Some(raw) = r.raw {
            own.extend(raw.into_fields());
        }
        // Fields set on the map form already (none, as the compact form is left on the first
        // such `set`) would win; keep the record's own values.
        for (k, v) in std::mem::take(&mut self.fields) {
            own.insert(k, v);
        }
        self.fields = own;
    }

    /// The value at a dotted path (`log.file.path`), if there is one. (A compact record lends
    /// its leaves — `message`, `@timestamp`, `stream`, `log.offset`, `log.flags`,
    /// `error.message` — but not a whole `log` or `error` object: materialize it first.)
    pub fn get(&self, path: &str) -> Option<&Value> {
        if let Some(r) = self.rec.as_ref() {
            if let Some(v) = r.typed(path) {
                return Some(v);
            }
            if let Some(v) = r.raw.as_ref().and_then(|raw| lookup(raw.fields(), path)) {
                return Some(v);
            }
        }
        self.own_or_shared(path)
    }

    /// The value at a dotted path, as `get`, without parsing the fields `decode_json` kept as
    /// text to find it (what conditions read).
    pub fn value(&self, path: &str) -> Option<Cow<'_, Value>> {
        if let Some(r) = self.rec.as_ref() {
            if let Some(v) = r.typed(path) {
                return Some(Cow::Borrowed(v));
            }
            // A raw object's values are plain: only a path of one key can be in it.
            if let Some(raw) = r.raw.as_ref().filter(|_| !path.contains('.')) {
                if let Some(v) = raw.find(path) {
                    return Some(Cow::Owned(v));
                }
            }
        }
        self.own_or_shared(path).map(Cow::Borrowed)
    }

    fn own_or_shared(&self, path: &str) -> Option<&Value> {
        lookup(&self.fields, path).or_else(|| lookup(self.shared.as_deref()?, path))
    }

    /// Moves fields kept as text into the record's own map (before it changes).
    fn unraw(&mut self) {
        if let Some(raw) = self.rec.as_mut().and_then(|r| r.raw.take()) {
            let mut fields = raw.into_fields();
            fields.extend(std::mem::take(&mut self.fields));
            self.fields = fields;
        }
    }

    /// Sets the value at a dotted path, creating (or replacing non-object) parents.
    /// A path deeper than `MAX_PATH_DEPTH` keeps its tail as one literal key and flags the
    /// record `path_capped`.
    pub fn set(&mut self, path: &str, value: Value) {
        if let Some(r) = self.rec.as_mut() {
            match (path, value) {
                ("@timestamp", v @ Value::String(_)) => return r.timestamp = v,
                ("message", v @ Value::String(_)) => return r.message = v,
                ("error.message", v) => return r.more().error = Some(v),
                ("log.syslog", v @ Value::Object(_)) => {
                    return r.more().syslog = Some(SyslogFields::from_value(v))
                }
                ("stream", Value::String(s)) if s == "stdout" || s == "stderr" => {
                    r.stream = Some(if s == "stdout" {
                        StreamName::Stdout
                    } else {
                        StreamName::Stderr
                    });
                    return;
                }
                (_, v) => {
                    let top = path.split('.').next().unwrap_or(path);
                    if self.compact_may_hold(top) {
                        self.unraw();
                        if set_in(&mut self.fields, path, v) {
                            self.add_flag("path_capped");
                        }
                        return;
                    }
                    self.materialize();
                    return self.set(path, v);
                }
            }
        }
        self.own(path.split('.').next().unwrap_or(path));
        if set_in(&mut self.fields, path, value) {
            self.add_flag("path_capped");
        }
    }

    /// The top-level field `key` taken literally (dots are part of the key).
    pub fn get_key(&self, key: &str) -> Option<&Value> {
        if self.rec.is_some() && matches!(key, "message" | "@timestamp" | "stream") {
            return self.get(key);
        }
        if let Some(v) = self
            .rec
            .as_ref()
            .and_then(|r| r.raw.as_ref()?.fields().get(key))
        {
            return Some(v);
        }
        self.fields
            .get(key)
            .or_else(|| self.shared.as_ref()?.get(key))
    }

    /// Sets the top-level field `key` literally (dots are part of the key).
    pub fn insert_key(&mut self, key: String, value: Value) {
        if !self.compact_may_hold(&key) {
            self.materialize();
        }
        self.unraw();
        self.fields.insert(key, value);
    }

    /// Takes `obj` whole as the record's own fields when that is what inserting its keys one by
    /// one (`insert_key`) would give: a compact record with no fields of its own yet, and no key
    /// of `obj` that the compact form or the shared fields hold. Otherwise gives `obj` back.
    /// (`decode_json`'s common case, without rebuilding the map it just parsed.)
    pub fn adopt_fields(&mut self, obj: Fields) -> Result<(), Fields> {
        let raw = self.rec.as_ref().is_some_and(|r| r.raw.is_some());
        if !raw && self.fields.is_empty() && obj.keys().all(|k| self.compact_may_hold(k)) {
            self.fields = obj;
            Ok(())
        } else {
            Err(obj)
        }
    }

    /// Takes the JSON text in the field `field` as the record's own fields without parsing it
    /// into a map, when it is what `adopt_fields` would take whole and a small object of plain
    /// values (`raw.rs`); false, changing nothing, when it is not.
    pub fn adopt_json_text(&mut self, field: &str, max_key: usize) -> bool {
        if self.rec.as_ref().is_none_or(|r| r.raw.is_some()) || !self.fields.is_empty() {
            return false;
        }
        let Some(text) = self.get(field).and_then(Value::as_str) else {
            return false;
        };
        let Some(raw) = RawObject::check(text.trim(), max_key, |k| self.compact_may_hold(k)) else {
            return false;
        };
        if let Some(r) = self.rec.as_mut() {
            r.raw = Some(Box::new(raw));
        }
        true
    }

    /// Whether a compact record can keep the top-level field `key` in its own map beside the
    /// typed fields (what `decode_json` and `add_fields` add: `level`, `user`, …) and stay
    /// compact: not a key the compact form writes itself, nor one of the file's shared fields
    /// (those need the merge).
    fn compact_may_hold(&self, key: &str) -> bool {
        self.rec.is_some()
            && !matches!(key, "@timestamp" | "message" | "stream" | "log" | "error")
            && !self.shared.as_ref().is_some_and(|s| s.has_key(key))
    }

    /// Takes the record's `message` text out (leaving it empty), when it is a string of its
    /// own: for processors that build a new message from it (`multiline`).
    pub fn take_message(&mut self) -> Option<String> {
        let message = match self.rec.as_mut() {
            Some(r) => &mut r.message,
            None => self.fields.get_mut("message")?,
        };
        match message {
            Value::String(s) => Some(std::mem::take(s)),
            _ => None,
        }
    }

    /// Removes the value at a dotted path. A field that lives in the shared map makes the
    /// record take its own copy of everything first (the merge would bring it back otherwise).
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        self.materialize();
        let top = path.split('.').next().unwrap_or(path);
        if self.shared.as_ref().is_some_and(|s| s.has_key(top)) {
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

    /// About how many bytes `write_json` writes (for sizing buffers; exact for none).
    pub fn size_hint(&self) -> usize {
        let message = self
            .get("message")
            .and_then(Value::as_str)
            .map_or(0, str::len);
        let shared = self
            .shared
            .as_deref()
            .and_then(|s| s.fragment_if_built())
            .map_or(256, |f| f.rest.len() + f.log_inner.len());
        let syslog = self
            .rec
            .as_ref()
            .and_then(|r| r.syslog())
            .map_or(0, |s| s.json().len());
        let raw = self
            .rec
            .as_ref()
            .and_then(|r| r.raw.as_ref())
            .map_or(0, |raw| raw.text_len());
        message + message / 8 + shared + syslog + raw + 128
    }

    /// The record as one JSON object: its own fields, then the shared ones it does not override.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if let Some(r) = self.rec.as_ref() {
            let frag = self.shared.as_deref().map(Shared::fragment);
            // Own fields beside the compact ones never collide with them (`compact_may_hold`).
            if frag.is_none_or(|f| f.compact_ok) {
                return write_compact(out, r, &self.fields, frag);
            }
            let mut e = self.clone();
            e.materialize();
            return e.write_json(out);
        }
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
        if self.rec.is_some() {
            let mut e = self.clone();
            e.materialize();
            return e.to_value();
        }
        match &self.shared {
            Some(shared) => Value::Object(merged(&self.fields, shared)),
            None => Value::Object(self.fields.clone()),
        }
    }

    /// Appends `flag` to `log.flags` (e.g. `truncated`, `invalid_utf8`).
    pub fn add_flag(&mut self, flag: &str) {
        if let Some(r) = self.rec.as_mut() {
            let flags = r
                .more()
                .flags
                .get_or_insert_with(|| Value::Array(Vec::new()));
            if let Some(a) = flags.as_array_mut() {
                a.push(Value::String(flag.to_string()));
            }
            return;
        }
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

/// Formats a time the way every record carries it: RFC 3339, UTC, nanoseconds
/// (`2026-12-03T10:00:00.123456789Z`). Digits written directly (chrono's formatter was 5% of a
/// syslog record's cost); chrono's for what the fixed layout does not hold (years outside
/// 0..=9999, a leap second).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (t.year(), t.nanosecond());
    let (Ok(year @ 0..=9999), 0..=999_999_999) = (u32::try_from(year), nanos) else {
        return t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    };
    let mut b = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            if let Some(d) = b.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 9, nanos);
    match std::str::from_utf8(&b) {
        Ok(s) => s.to_owned(),
        Err(_) => t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    }
}

#[cfg(test)]
mod tests;
