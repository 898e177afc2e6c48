//! Tests of `Event`: the compact and map forms give the same JSON, shared fields, paths.

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
    let shared = Arc::new(Shared::new(shared));
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
    let mut e = Event::with_shared(own, Arc::new(Shared::new(shared)), None);
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

#[test]
fn fields_added_beside_a_compact_record_keep_it_compact_and_never_collide() {
    let mut shared = Fields::new();
    shared.insert("host".into(), json!({"name": "n1"}));
    shared.insert("log".into(), json!({"file": {"path": "/a.log"}}));
    let shared = Arc::new(Shared::new(shared));
    let mut e = Event::line("hi".into(), 7, "t".into(), shared.clone(), None);
    e.insert_key("level".into(), json!("info"));
    e.set("user.id", json!(7));
    e.insert_key("a.b".into(), json!(1));
    assert!(e.rec.is_some(), "still compact");
    assert_eq!(e.get("user.id"), Some(&json!(7)));
    assert_eq!(e.get_key("a.b"), Some(&json!(1)));
    let mut out = Vec::new();
    e.write_json(&mut out);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let want = json!({"@timestamp": "t", "message": "hi", "level": "info", "user": {"id": 7},
        "a.b": 1, "log": {"offset": 7, "file": {"path": "/a.log"}}, "host": {"name": "n1"}});
    assert_eq!(v, want);
    assert_eq!(v, e.to_value());
    // Each key written once (a duplicate would vanish in `Value`).
    assert_eq!(
        String::from_utf8_lossy(&out).matches("\"level\"").count(),
        1
    );
    // Keys the compact form or the shared map hold take the map form, merged as before.
    for (key, value) in [
        ("host", json!("h2")),
        ("log", json!("x")),
        ("error", json!({})),
    ] {
        let mut e = Event::line("hi".into(), 7, "t".into(), shared.clone(), None);
        e.insert_key("level".into(), json!("info"));
        e.insert_key(key.into(), value.clone());
        assert!(e.rec.is_none(), "{key}: materialized");
        let mut out = Vec::new();
        e.write_json(&mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[key], value, "{key}: the record's own value wins");
        assert_eq!(v["level"], "info");
        assert_eq!(v["message"], "hi");
        assert_eq!(v, e.to_value());
    }
    let mut e = Event::line("hi".into(), 7, "t".into(), shared, None);
    e.set("host.ip", json!("10.0.0.1"));
    assert_eq!(
        e.to_value()["host"],
        json!({"name": "n1", "ip": "10.0.0.1"})
    );
    assert_eq!(e.take_message().as_deref(), Some("hi"));
    assert_eq!(e.get("message"), Some(&json!("")));
}

#[test]
fn log_syslog_stays_compact_and_writes_as_the_map_form_does() {
    let shared = Arc::new(Shared::new(
        json!({"host": {"name": "h"}, "log": {"file": {"path": "/var/log/syslog"}}})
            .as_object()
            .unwrap()
            .clone(),
    ));
    let mut e = Event::line("m".into(), 5, "2026-12-03T10:00:00Z".into(), shared, None);
    e.set(
        "log.syslog",
        json!({"appname": "app", "facility": {"code": 1}}),
    );
    e.add_flag("truncated");
    assert!(e.rec.is_some(), "setting log.syslog kept the compact form");
    assert_eq!(e.get("log.syslog.appname"), Some(&json!("app")));
    assert_eq!(e.get("log.syslog.facility.code"), Some(&json!(1)));
    let mut compact = Vec::new();
    e.write_json(&mut compact);
    let mut m = e.clone();
    m.materialize();
    let mut map = Vec::new();
    m.write_json(&mut map);
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&compact).unwrap(),
        serde_json::from_slice(&map).unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a["log"]["syslog"]["appname"], "app");
    assert_eq!(a["log"]["file"]["path"], "/var/log/syslog");
    // A change under it turns the record into the map form, keeping the rest.
    e.set("log.syslog.appname", json!("other"));
    assert!(e.rec.is_none());
    assert_eq!(e.get("log.syslog.appname"), Some(&json!("other")));
    assert_eq!(e.get("log.syslog.facility.code"), Some(&json!(1)));
    assert_eq!(e.get("log.offset"), Some(&json!(5)));
}

#[test]
fn timestamps_are_written_as_chrono_writes_them() {
    use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
    let mut seen = 0;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut times: Vec<DateTime<Utc>> = vec![
        Utc.timestamp_opt(0, 0).unwrap(),
        Utc.timestamp_opt(-62_167_219_200, 0).unwrap(), // 0000-01-01
        Utc.timestamp_opt(253_402_300_799, 999_999_999).unwrap(), // 9999-12-31T23:59:59.999999999
        Utc.timestamp_opt(253_402_300_800, 0).unwrap(), // 10000-01-01: chrono's form
        Utc.timestamp_opt(-62_167_219_201, 5).unwrap(), // -0001
        Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // a leap second
    ];
    for _ in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let secs = (x % 400_000_000_000) as i64 - 100_000_000_000;
        times.push(
            Utc.timestamp_opt(secs, (x >> 20) as u32 % 1_000_000_000)
                .unwrap(),
        );
    }
    for t in times {
        assert_eq!(
            timestamp(t),
            t.to_rfc3339_opts(SecondsFormat::Nanos, true),
            "{t:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, 10_006);
}

#[test]
fn strings_are_written_as_serde_json_writes_them() {
    let mut cases: Vec<String> = vec![
        String::new(),
        "plain text".into(),
        "quote \" and backslash \\ and tab \t".into(),
        "\u{0}\u{1f}\u{7f}é😀".into(),
        "line\n".repeat(100),
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for len in 0..300 {
        let s: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly printable ASCII, sometimes a control, quote, backslash or non-ASCII.
                char::from_u32(match x % 16 {
                    0 => (x >> 8) as u32 % 0x20,
                    1 => u32::from(b'"'),
                    2 => u32::from(b'\\'),
                    3 => 0xa0 + (x >> 8) as u32 % 0x2000,
                    _ => 0x20 + (x >> 8) as u32 % 0x5f,
                })
                .unwrap_or('?')
            })
            .collect();
        cases.push(s);
    }
    for s in cases {
        let mut out = Vec::new();
        write::write_str(&mut out, &s);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&s).unwrap()
        );
    }
}

/// A compact Docker-like record with shared fields and `{"level":"DEBUG","n":3}` kept as text.
fn raw_record() -> Event {
    let shared = Arc::new(Shared::new(
        json!({"host": {"name": "h"}, "input": {"type": "docker"}})
            .as_object()
            .unwrap()
            .clone(),
    ));
    let mut e = Event::line(
        r#" {"level":"DEBUG", "n":3} "#.into(),
        9,
        "2026-01-01T00:00:00.000000000Z".into(),
        shared,
        None,
    );
    e.set_stream(StreamName::Stderr);
    assert!(e.adopt_json_text("message", 1024));
    e
}

fn written(e: &Event) -> Value {
    let mut out = Vec::new();
    e.write_json(&mut out);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn fields_kept_as_text_read_write_and_change_as_a_map() {
    let e = raw_record();
    let want = json!({
        "@timestamp": "2026-01-01T00:00:00.000000000Z",
        "message": r#" {"level":"DEBUG", "n":3} "#,
        "stream": "stderr",
        "log": {"offset": 9},
        "host": {"name": "h"},
        "input": {"type": "docker"},
        "level": "DEBUG",
        "n": 3,
    });
    assert_eq!(written(&e), want);
    assert_eq!(e.to_value(), want);
    assert_eq!(e.value("level").as_deref(), Some(&json!("DEBUG")));
    assert_eq!(e.value("n.x"), None);
    assert_eq!(e.value("host.name").as_deref(), Some(&json!("h")));
    assert_eq!(e.value("stream").as_deref(), Some(&json!("stderr")));
    assert_eq!(e.get("n"), Some(&json!(3)));
    assert_eq!(e.get_key("level"), Some(&json!("DEBUG")));
    assert!(e.size_hint() > 200);
    // Taken twice: the second is refused (the first's fields are the record's).
    let mut twice = e.clone();
    assert!(!twice.adopt_json_text("message", 1024));
    assert!(twice.adopt_fields(Map::new()).is_err());

    // Every change keeps the fields the text brought.
    let mut set = e.clone();
    set.set("user.id", json!(7));
    let mut w = want.clone();
    w["user"] = json!({"id": 7});
    assert_eq!(written(&set), w);
    let mut key = e.clone();
    key.insert_key("a.b".into(), json!(1));
    let mut w = want.clone();
    w["a.b"] = json!(1);
    assert_eq!(written(&key), w);
    let mut removed = e.clone();
    assert_eq!(removed.remove("level"), Some(json!("DEBUG")));
    let mut w = want.clone();
    w.as_object_mut().unwrap().remove("level");
    assert_eq!(written(&removed), w);
    let mut flagged = e.clone();
    flagged.add_flag("truncated");
    flagged.set("message", json!("m"));
    let mut w = want.clone();
    w["log"]["flags"] = json!(["truncated"]);
    w["message"] = json!("m");
    assert_eq!(written(&flagged), w);
    let mut shared_key = e.clone();
    shared_key.set("host.ip", json!("10.0.0.1"));
    let mut w = want;
    w["host"]["ip"] = json!("10.0.0.1");
    assert_eq!(written(&shared_key), w);
}

#[test]
fn only_a_plain_object_the_record_can_hold_is_kept_as_text() {
    let shared = Arc::new(Shared::new(
        json!({"host": {"name": "h"}}).as_object().unwrap().clone(),
    ));
    let line = |m: &str| Event::line(m.into(), 0, "t".into(), shared.clone(), None);
    for m in [
        r#"{"host":"x"}"#,
        r#"{"message":"x"}"#,
        r#"{"@timestamp":"x"}"#,
        r#"{"log":"x"}"#,
        r#"{"a":{"b":1}}"#,
        r#"{"a":1,"a":2}"#,
        "{}",
        "not json",
    ] {
        assert!(!line(m).adopt_json_text("message", 1024), "{m}");
    }
    let mut own = line(r#"{"a":1}"#);
    own.set("b", json!(2));
    assert!(!own.adopt_json_text("message", 1024), "own fields already");
    let mut map = Event::new(Map::new(), None);
    map.set("message", json!(r#"{"a":1}"#));
    assert!(!map.adopt_json_text("message", 1024), "not compact");
}

/// Every record sits in the input's chunk, then in a batch, and is moved between them: its
/// size is most of the agent's heap at full speed (README, Performance). A field added to
/// `Record` that most records do not have belongs in `More`.
#[test]
fn a_record_stays_small() {
    let size = std::mem::size_of::<Event>();
    assert!(size <= 200, "Event is {size} bytes");
}
