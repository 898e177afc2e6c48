//! `drop_fields` and `include_fields`, as Filebeat's: remove the listed fields (dotted paths),
//! or keep only them. `@timestamp` is always kept (a record needs its time), as in Filebeat.

use super::config::FieldsConfig;
use crate::event::{Event, Fields};
use serde_json::Value;

/// `drop_fields`: removes each listed field; a missing one is skipped (`ignore_missing`, the
/// default) or named in `error.message`.
pub fn drop(cfg: &FieldsConfig, e: &mut Event) {
    let mut missing = Vec::new();
    for f in &cfg.fields {
        if f == "@timestamp" {
            continue;
        }
        if e.remove(f).is_none() {
            missing.push(f.as_str());
        }
    }
    if !cfg.ignore_missing && !missing.is_empty() {
        e.set(
            "error.message",
            Value::String(format!("drop_fields: missing {}", missing.join(", "))),
        );
    }
}

/// `include_fields`: keeps only the listed fields (and `@timestamp`).
pub fn include(cfg: &FieldsConfig, e: &mut Event) {
    let all = e.to_value();
    e.materialize();
    e.fields = Fields::new();
    e.shared = None;
    let keep = cfg
        .fields
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("@timestamp"));
    for path in keep {
        let mut cur = Some(&all);
        for part in path.split('.') {
            cur = cur.and_then(|v| v.get(part));
        }
        if let Some(v) = cur {
            e.set(path, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Shared;
    use serde_json::json;
    use std::sync::Arc;

    fn event() -> Event {
        let own =
            json!({ "@timestamp": "t", "message": "m", "http": { "code": 200, "path": "/" } });
        let shared = json!({ "host": { "name": "h" }, "log": { "file": { "path": "/a" } } });
        Event::with_shared(
            own.as_object().unwrap().clone(),
            Arc::new(Shared::new(shared.as_object().unwrap().clone())),
            None,
        )
    }

    fn cfg(fields: &[&str], ignore_missing: bool) -> FieldsConfig {
        FieldsConfig {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            ignore_missing,
            when: None,
        }
    }

    #[test]
    fn drop_removes_own_and_shared_fields_and_keeps_the_time() {
        let mut e = event();
        drop(
            &cfg(&["http.path", "host", "@timestamp", "nope"], true),
            &mut e,
        );
        let v = e.to_value();
        assert_eq!(v["http"], json!({ "code": 200 }));
        assert!(v.get("host").is_none());
        assert_eq!(v["@timestamp"], "t");
        assert_eq!(v["log"]["file"]["path"], "/a");
        assert!(v.get("error").is_none());
        let mut e = event();
        drop(&cfg(&["nope"], false), &mut e);
        assert_eq!(
            e.to_value()["error"]["message"],
            "drop_fields: missing nope"
        );
    }

    #[test]
    fn include_keeps_only_the_listed_fields_and_the_time() {
        let mut e = event();
        include(
            &cfg(&["message", "http.code", "log.file.path", "absent"], true),
            &mut e,
        );
        assert_eq!(
            e.to_value(),
            json!({ "@timestamp": "t", "message": "m", "http": { "code": 200 },
                    "log": { "file": { "path": "/a" } } })
        );
    }
}
