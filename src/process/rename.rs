//! `rename`: `fields: {from: to}` in order. A missing `from` is skipped (`ignore_missing`,
//! the default) or is an error; with `fail_on_error` an error leaves the record as it was and
//! says so in `error.message`.

use super::config::RenameConfig;
use crate::event::Event;
use serde_json::Value;

pub fn apply(cfg: &RenameConfig, e: &mut Event) {
    let before = cfg.fail_on_error.then(|| e.clone());
    for (from, to) in &cfg.fields.0 {
        match e.remove(from) {
            Some(v) => {
                if e.get(to).is_some() && cfg.fail_on_error {
                    if let Some(b) = before {
                        *e = b;
                    }
                    e.set(
                        "error.message",
                        Value::String(format!("rename: target field {to} already exists")),
                    );
                    return;
                }
                e.set(to, v);
            }
            None if !cfg.ignore_missing && cfg.fail_on_error => {
                if let Some(b) = before {
                    *e = b;
                }
                e.set(
                    "error.message",
                    Value::String(format!("rename: field {from} is missing")),
                );
                return;
            }
            None => {}
        }
    }
}
