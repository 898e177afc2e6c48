//! `decode_json`: a field holding JSON text (default `message`) becomes fields, under `target`
//! or (`target: ""`) merged into the record's root.
//!
//! As Filebeat's `decode_json_fields`: keys already in the record are kept unless
//! `overwrite_keys`; merged into the root, a `@timestamp` that parses as RFC 3339 replaces the
//! record's (normalized to UTC) and one that does not is left out (with `add_error_key`, said in
//! `error.message`); a `message` key replaces the record's message only with `overwrite_keys`.
//! Objects deeper than `max_depth` stay as JSON text. Keys are taken literally (`{"a.b": 1}` is
//! the key `a.b`) unless `expand_keys`. An object with more than `MAX_FIELDS` fields (counted at
//! every level) or a key longer than `MAX_KEY_BYTES` is not decoded: the text stays as it was and
//! the record is flagged `json_limits` (with `error.message`). Text that is not a JSON object never fails
//! the record: it is kept as it was (`on_error: keep`, with `error.message` and `error.type:
//! json` if `add_error_key`) or dropped (`on_error: drop`).
//!
//! The common case, a small object of plain values merged into the root with no key the record
//! has, is not parsed into a map: the record keeps the text (`Event::adopt_json_text`,
//! `event/raw.rs`) and writes it as it is; conditions find a field in it without parsing the
//! rest. It gives the same record as the map would.

use super::config::{DecodeJsonConfig, OnError};
use crate::event::Event;
use serde_json::{Map, Value};

/// Most fields one decoded object may bring into a record (every level counted).
pub const MAX_FIELDS: usize = 1000;
/// Longest key a decoded object may have.
pub const MAX_KEY_BYTES: usize = 1024;

/// The message for a key over `MAX_KEY_BYTES`, if `keys` has one.
fn long_key<'a>(mut keys: impl Iterator<Item = &'a String>) -> Option<String> {
    keys.find(|k| k.len() > MAX_KEY_BYTES).map(|k| {
        format!(
            "decode_json: a key of {} bytes (more than {MAX_KEY_BYTES}); kept as text",
            k.len()
        )
    })
}

/// Why `obj` is over the limits, if it is: counts fields iteratively (no recursion on input).
fn over_limits(obj: &Map<String, Value>) -> Option<String> {
    // The common case, an object of plain values, without a stack.
    if obj.len() <= MAX_FIELDS && is_flat(obj) {
        return long_key(obj.keys());
    }
    let mut fields = obj.len();
    if let Some(why) = long_key(obj.keys()) {
        return Some(why);
    }
    let mut stack: Vec<&Value> = obj.values().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                fields += m.len();
                if let Some(why) = long_key(m.keys()) {
                    return Some(why);
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
        if fields > MAX_FIELDS {
            return Some(format!(
                "decode_json: more than {MAX_FIELDS} fields; kept as text"
            ));
        }
    }
    None
}

pub struct DecodeJson {
    cfg: DecodeJsonConfig,
}

/// Whether no value of `m` is an object or an array.
fn is_flat(m: &Map<String, Value>) -> bool {
    m.values().all(|c| !c.is_object() && !c.is_array())
}

/// Objects and arrays below `depth` levels (of these children) become their JSON text.
fn limit_depth<'a>(children: impl Iterator<Item = &'a mut Value>, depth: usize) {
    for child in children {
        if depth <= 1 && (child.is_object() || child.is_array()) {
            *child = Value::String(child.to_string());
        } else {
            match child {
                Value::Object(m) => limit_depth(m.values_mut(), depth - 1),
                Value::Array(a) => limit_depth(a.iter_mut(), depth - 1),
                _ => {}
            }
        }
    }
}

impl DecodeJson {
    pub fn new(cfg: DecodeJsonConfig) -> DecodeJson {
        DecodeJson { cfg }
    }

    fn error(&self, e: &mut Event, msg: String) {
        if self.cfg.add_error_key {
            e.set("error.message", Value::String(msg));
            e.set("error.type", Value::String("json".into()));
        }
    }

    /// False when the record is to be dropped.
    pub fn apply(&self, e: &mut Event) -> bool {
        // The common case, a small object of plain values merged into the root, kept as text.
        if self.cfg.target.is_empty()
            && !self.cfg.expand_keys
            && e.adopt_json_text(&self.cfg.field, MAX_KEY_BYTES)
        {
            return true;
        }
        let Some(text) = e.get(&self.cfg.field).and_then(|v| v.as_str()) else {
            return true;
        };
        let parsed: Result<Map<String, Value>, String> =
            match serde_json::from_str::<Value>(text.trim()) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => Err(format!(
                    "decode_json: field {} is JSON but not an object",
                    self.cfg.field
                )),
                Err(err) => Err(format!(
                    "decode_json: field {} is not valid JSON: {err}",
                    self.cfg.field
                )),
            };
        let mut obj = match parsed {
            Ok(m) => m,
            Err(msg) => {
                if self.cfg.on_error == OnError::Drop {
                    return false;
                }
                self.error(e, msg);
                return true;
            }
        };
        if let Some(why) = over_limits(&obj) {
            e.add_flag("json_limits");
            e.set("error.message", Value::String(why));
            return true;
        }
        if !is_flat(&obj) {
            limit_depth(obj.values_mut(), self.cfg.max_depth.max(1));
        }
        if !self.cfg.target.is_empty() {
            if self.cfg.overwrite_keys || e.get(&self.cfg.target).is_none() {
                e.set(&self.cfg.target, Value::Object(obj));
            }
            return true;
        }
        // Keys taken literally, none the record has: the parsed map becomes the record's own.
        let obj = if self.cfg.expand_keys {
            obj
        } else {
            match e.adopt_fields(obj) {
                Ok(()) => return true,
                Err(obj) => obj,
            }
        };
        for (k, v) in obj {
            if k == "@timestamp" {
                let parsed = v
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
                match parsed {
                    Some(t) => e.set(
                        "@timestamp",
                        Value::String(crate::event::timestamp(t.with_timezone(&chrono::Utc))),
                    ),
                    None => self.error(e, format!("decode_json: @timestamp {v} is not an RFC 3339 time; kept the record's")),
                }
                continue;
            }
            if self.cfg.expand_keys {
                if self.cfg.overwrite_keys || e.get(&k).is_none() {
                    e.set(&k, v);
                }
            } else if self.cfg.overwrite_keys || e.get_key(&k).is_none() {
                e.insert_key(k, v);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(yaml: &str, msg: &str) -> Option<Value> {
        let cfg: DecodeJsonConfig = crate::config::from_yaml(yaml).unwrap();
        let mut e = Event::new(
            json!({"message": msg, "@timestamp": "2026-01-01T00:00:00.000000000Z"})
                .as_object()
                .unwrap()
                .clone(),
            None,
        );
        DecodeJson::new(cfg).apply(&mut e).then(|| e.to_value())
    }

    /// A compact line record with shared `host` and `input` fields, through `decode_json`;
    /// its serialized bytes.
    fn compact_through(yaml: &str, msg: &str) -> Option<String> {
        let cfg: DecodeJsonConfig = crate::config::from_yaml(yaml).unwrap();
        let shared = std::sync::Arc::new(crate::event::Shared::new(
            json!({"host": {"name": "n1"}, "input": {"type": "docker"}})
                .as_object()
                .unwrap()
                .clone(),
        ));
        let mut e = Event::line(
            msg.into(),
            7,
            "2026-01-01T00:00:00.000000000Z".into(),
            shared,
            None,
        );
        DecodeJson::new(cfg).apply(&mut e).then(|| {
            let map = e.to_value();
            let mut out = Vec::new();
            e.write_json(&mut out);
            let keys = top_keys(&out);
            let mut unique = keys.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                keys.len(),
                "{}",
                String::from_utf8_lossy(&out)
            );
            let written: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(written, map, "written bytes and the map form differ");
            serde_json::to_string(&map).unwrap()
        })
    }

    /// The top-level keys of a JSON object, as many times as they are written.
    fn top_keys(json: &[u8]) -> Vec<String> {
        use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Vec<String>, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    m.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(keys)
            }
        }
        serde_json::Deserializer::from_slice(json)
            .deserialize_map(Keys)
            .unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Adopting the parsed map whole (`Event::adopt_fields`), or its text
        /// (`adopt_json_text`), gives the same record as inserting its keys one at a time, and
        /// writes it as that map (each key once): keys without dots decode the same with
        /// `expand_keys` (which never adopts), whatever keys collide with the record's own,
        /// the shared ones, or each other.
        #[test]
        fn adopted_map_is_the_key_by_key_record(
            keys in proptest::collection::vec(
                proptest::sample::select(vec![
                    "level", "svc", "msg", "host", "input", "message", "@timestamp", "stream",
                    "log", "error", "user", "é",
                ]),
                0..6,
            ),
            values in proptest::collection::vec(0u8..4, 6),
            overwrite in proptest::bool::ANY,
            spacing in 0u8..3,
        ) {
            let mut obj = serde_json::Map::new();
            for (k, v) in keys.iter().zip(&values) {
                let v = match v {
                    0 => json!("text \"q\""),
                    1 => json!(42),
                    2 => json!({"a": [1, {"b": null}]}),
                    _ => json!("2026-11-24T10:00:00+01:00"),
                };
                obj.insert((*k).to_string(), v);
            }
            let msg = serde_json::Value::Object(obj).to_string();
            // JSON whitespace inside, and the same key twice, as senders may write it.
            let msg = match spacing {
                0 => msg,
                1 => msg.replace(",\"", " ,\t\"").replace("{", "{ ").replace("}", "\n}"),
                _ => msg.replacen("{", "{\"level\":1,", 1),
            };
            let literal = compact_through(&format!("{{ overwrite_keys: {overwrite} }}"), &msg);
            let expanded = compact_through(
                &format!("{{ overwrite_keys: {overwrite}, expand_keys: true }}"),
                &msg,
            );
            proptest::prop_assert_eq!(literal, expanded);
        }
    }

    #[test]
    fn root_target_timestamp_depth_and_errors() {
        let v = run("{}", r#"{"level":"info","user":{"id":7},"@timestamp":"2026-11-24T10:00:00+01:00","message":"inner"}"#).unwrap();
        assert_eq!(v["level"], "info");
        assert_eq!(v["user"]["id"], 7);
        assert_eq!(v["@timestamp"], "2026-11-24T09:00:00.000000000Z");
        assert!(
            v["message"].as_str().unwrap().starts_with('{'),
            "message kept without overwrite_keys"
        );
        let v = run("{ overwrite_keys: true }", r#"{"message":"inner"}"#).unwrap();
        assert_eq!(v["message"], "inner");
        let v = run("{ target: app }", r#"{"a":1}"#).unwrap();
        assert_eq!(v["app"]["a"], 1);
        let v = run("{ max_depth: 1 }", r#"{"a":{"b":{"c":1}}}"#).unwrap();
        assert_eq!(v["a"], r#"{"b":{"c":1}}"#);
        let v = run("{ max_depth: 2 }", r#"{"a":{"b":{"c":1}}}"#).unwrap();
        assert_eq!(v["a"]["b"], r#"{"c":1}"#);
        let v = run("{ add_error_key: true }", "not json {").unwrap();
        assert_eq!(v["message"], "not json {");
        assert_eq!(v["error"]["type"], "json");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"));
        assert!(run("{ on_error: drop }", "[1,2]").is_none());
    }

    #[test]
    fn dotted_keys_stay_literal_unless_expanded() {
        let v = run("{}", r#"{"a.b": 1, "log.level": "info"}"#).unwrap();
        assert_eq!(v["a.b"], 1);
        assert_eq!(v["log.level"], "info");
        assert!(v.get("a").is_none());
        let v = run("{ expand_keys: true }", r#"{"a.b": 1}"#).unwrap();
        assert_eq!(v["a"]["b"], 1);
        // Regression: thousands of dots aborted the process (stack overflow in set_in).
        let key = "a.".repeat(5000) + "z";
        let doc = serde_json::to_string(&json!({ key.clone(): 1 })).unwrap();
        let v = run("{}", &doc).unwrap();
        assert!(v.get(&key).is_none(), "over MAX_KEY_BYTES: not decoded");
        assert_eq!(v["log"]["flags"], json!(["json_limits"]));
        let key = "a.".repeat(400) + "z";
        let doc = serde_json::to_string(&json!({ key.clone(): 1 })).unwrap();
        let v = run("{}", &doc).unwrap();
        assert_eq!(v[&key], 1, "literal key");
        let v = run("{ expand_keys: true }", &doc).unwrap();
        assert_eq!(v["log"]["flags"], json!(["path_capped"]));
    }

    #[test]
    fn too_many_fields_stay_text() {
        let many: serde_json::Map<String, Value> =
            (0..1500).map(|i| (format!("k{i}"), json!(i))).collect();
        let doc = Value::Object(many).to_string();
        let v = run("{}", &doc).unwrap();
        assert_eq!(v["message"], doc.as_str());
        assert!(v.get("k1").is_none());
        assert_eq!(v["log"]["flags"], json!(["json_limits"]));
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000 fields"));
        // Counted at every level: two objects of 600 under two keys, and a long key one level
        // down, are over the limits too.
        let half = |p: &str| -> Value {
            Value::Object((0..600).map(|i| (format!("{p}{i}"), json!(i))).collect())
        };
        let doc = json!({"a": half("x"), "b": half("y")}).to_string();
        let v = run("{}", &doc).unwrap();
        assert!(
            v.get("a").is_none(),
            "nested fields over the limit: not decoded"
        );
        assert_eq!(v["log"]["flags"], json!(["json_limits"]));
        let doc = json!({"a": {"k".repeat(MAX_KEY_BYTES + 1): 1}}).to_string();
        let v = run("{}", &doc).unwrap();
        assert!(v.get("a").is_none(), "a nested long key: not decoded");
        assert_eq!(v["log"]["flags"], json!(["json_limits"]));
        // Just under: decoded.
        let doc = json!({"a": half("x"), "b": {"k".repeat(MAX_KEY_BYTES): 1}}).to_string();
        let v = run("{}", &doc).unwrap();
        assert_eq!(v["a"]["x599"], 599);
        // Deep JSON past serde_json's own limit is not JSON to us: kept, never a crash.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let v = run("{ add_error_key: true }", &format!("{{\"a\":{deep}}}")).unwrap();
        assert_eq!(v["error"]["type"], "json");
    }
}
