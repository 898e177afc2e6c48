//! The translated configuration as YAML text: lines at an indent, values written in YAML's flow
//! style (JSON scalars, lists and maps are valid YAML), and a `# not translated:` comment for
//! every setting with no equivalent, counted, at the place it belongs.

use serde_json::Value;

#[derive(Default)]
pub struct Out {
    lines: Vec<String>,
    /// Settings not translated (each is a comment in the text).
    pub skipped: usize,
}

/// A value in YAML's flow style (`${VAR}` references stay as they are, inside the string).
pub fn flow(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Out {
    pub fn line(&mut self, indent: usize, text: impl AsRef<str>) {
        self.lines
            .push(format!("{}{}", " ".repeat(indent), text.as_ref()));
    }

    /// `key: value` in flow style.
    pub fn kv(&mut self, indent: usize, key: &str, v: &Value) {
        self.line(indent, format!("{key}: {}", flow(v)));
    }

    /// A comment kept from the source or explaining the translation.
    pub fn note(&mut self, indent: usize, text: impl AsRef<str>) {
        for l in text.as_ref().lines() {
            self.line(indent, format!("# {l}"));
        }
    }

    /// A setting with no equivalent: `what` was `value`, not translated because `why`.
    pub fn skip(&mut self, indent: usize, what: &str, value: &Value, why: &str) {
        self.skipped += 1;
        let v = flow(value);
        let v = if v.len() > 300 {
            let cut = v
                .char_indices()
                .take_while(|(i, _)| *i < 300)
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8());
            format!("{}...", v.get(..cut).unwrap_or(""))
        } else {
            v
        };
        self.line(
            indent,
            format!("# not translated: {what}: {v} ({why})").replace('\n', " "),
        );
    }

    /// Appends `other`'s lines (and its count) at its own indents.
    pub fn append(&mut self, other: Out) {
        self.skipped += other.skipped;
        self.lines.extend(other.lines);
    }

    /// `kubernetes:` under `enrich:` (at indent 2) with the options found: `{}` for the
    /// in-cluster defaults.
    pub fn kubernetes(&mut self, options: &serde_json::Map<String, Value>) {
        if options.is_empty() {
            self.line(
                2,
                "kubernetes: {}   # in-cluster defaults (service account, $NODE_NAME)",
            );
        } else {
            self.line(2, "kubernetes:");
            for (key, v) in options {
                self.kv(4, key, v);
            }
        }
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

/// `new` merged into `existing`: maps key by key (deeply, capped), anything else replaced.
fn merge(existing: &mut Value, new: Value, depth: usize) {
    match (existing, new) {
        (Value::Object(e), Value::Object(n)) if depth < 64 => {
            for (k, v) in n {
                match e.get_mut(&k) {
                    Some(slot) => merge(slot, v, depth + 1),
                    None => {
                        e.insert(k, v);
                    }
                }
            }
        }
        (slot, new) => *slot = new,
    }
}

/// Puts `val` at `parts` under `map`, merging maps met on the way.
fn insert_path(map: &mut serde_json::Map<String, Value>, parts: &[&str], val: Value) {
    match parts {
        [] => {}
        [last] => match map.get_mut(*last) {
            Some(existing) => merge(existing, val, 0),
            None => {
                map.insert(last.to_string(), val);
            }
        },
        [first, rest @ ..] => {
            let slot = map
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(next) = slot {
                insert_path(next, rest, val);
            }
        }
    }
}

/// Dotted keys as nested maps (`ssl.certificate: x` is `ssl: {certificate: x}`), as Filebeat's
/// configuration library reads them; recursive on the value's depth, capped.
pub fn expand_dots(v: &Value) -> Value {
    fn go(v: &Value, depth: usize) -> Value {
        if depth > 64 {
            return v.clone();
        }
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, val) in m {
                    let val = go(val, depth + 1);
                    let parts: Vec<&str> = k.split('.').collect();
                    insert_path(&mut out, &parts, val);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| go(x, depth + 1)).collect()),
            other => other.clone(),
        }
    }
    go(v, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_keys_nest_and_merge() {
        let v = json!({ "output.logstash": { "hosts": ["a"], "ssl.key": "k" },
                        "output": { "logstash": { "ssl": { "certificate": "c" } } } });
        let e = expand_dots(&v);
        assert_eq!(e["output"]["logstash"]["hosts"], json!(["a"]));
        assert_eq!(e["output"]["logstash"]["ssl"]["key"], "k");
        assert_eq!(e["output"]["logstash"]["ssl"]["certificate"], "c");
    }

    #[test]
    fn skipped_settings_are_counted_comments() {
        let mut o = Out::default();
        o.skip(
            2,
            "close_inactive",
            &json!("5m"),
            "files are closed at EOF after rotation",
        );
        assert_eq!(o.skipped, 1);
        assert!(o
            .text()
            .starts_with("  # not translated: close_inactive: \"5m\""));
    }
}
