//! Log group and stream names from templates: `{field.path}` is a field of the record,
//! `{field.path:-default}` the same with a default; a field missing without a default gives
//! `unknown`. Characters CloudWatch does not allow are replaced by `_`: group names keep
//! `[A-Za-z0-9_./#-]`, stream names lose `:` and `*`; both are cut to 512 bytes.

use crate::event::Event;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field {
        path: String,
        default: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct NameTemplate {
    parts: Vec<Part>,
}

pub const MAX_NAME: usize = 512;

impl NameTemplate {
    pub fn parse(t: &str) -> Result<NameTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let after = &rest[i + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("`{t}`: `{{` without a closing `}}`"))?;
            let inner = &after[..end];
            let (path, default) = match inner.split_once(":-") {
                Some((p, d)) => (p, Some(d.to_string())),
                None => (inner, None),
            };
            if path.is_empty() {
                return Err(format!("`{t}`: empty field name in `{{{inner}}}`"));
            }
            parts.push(Part::Field {
                path: path.to_string(),
                default,
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if parts.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(NameTemplate { parts })
    }

    /// The text before the first field: what every name starts with.
    pub fn prefix(&self) -> String {
        match self.parts.first() {
            Some(Part::Text(t)) => t.clone(),
            _ => String::new(),
        }
    }

    pub fn render(&self, event: &Event) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field { path, default } => match event.value(path).as_deref() {
                    Some(Value::String(s)) if !s.is_empty() => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                    _ => out.push_str(default.as_deref().unwrap_or("unknown")),
                },
            }
        }
        out
    }
}

fn cut(mut s: String) -> String {
    if s.is_empty() {
        return "unknown".into();
    }
    if s.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

pub fn group_name(raw: &str) -> String {
    cut(raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-./#".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect())
}

pub fn stream_name(raw: &str) -> String {
    cut(raw
        .chars()
        .map(|c| if c == ':' || c == '*' { '_' } else { c })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_defaults_and_sanitizing() {
        let e = Event::new(
            json!({"host": {"name": "node-1"}, "kubernetes": {"namespace": "shop"}})
                .as_object()
                .unwrap()
                .clone(),
            None,
        );
        let g = NameTemplate::parse("/logship/{kubernetes.namespace:-docker}").unwrap();
        assert_eq!(g.render(&e), "/logship/shop");
        assert_eq!(g.prefix(), "/logship/");
        let s = NameTemplate::parse("{host.name}/{container.name}").unwrap();
        assert_eq!(s.render(&e), "node-1/unknown");
        let d = NameTemplate::parse("{container.name:-docker}").unwrap();
        assert_eq!(d.render(&e), "docker");
        assert_eq!(group_name("/a b:c*é"), "/a_b_c__");
        assert_eq!(stream_name("pod:x*y é"), "pod_x_y é");
        assert_eq!(group_name(&"x".repeat(600)).len(), 512);
        assert!(NameTemplate::parse("{open").is_err());
    }
}
