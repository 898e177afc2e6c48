//! Index names from a template, as Filebeat writes them: `%{+yyyy.MM.dd}` is the record's
//! `@timestamp` (UTC) in a Joda-style pattern, `%{[field.path]}` (or `%{[a][b]}`) a field of the
//! record, `%{[field.path]:default}` the same with a default when the field is missing. The
//! result is lowercased (Elasticsearch accepts only lowercase index names).

use crate::event::Event;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    /// A chrono format string converted from the Joda pattern.
    Date(String),
    Field {
        path: String,
        default: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct IndexTemplate {
    parts: Vec<Part>,
}

/// Joda tokens people use in index names, longest first, and their chrono equivalents.
const JODA: &[(&str, &str)] = &[
    ("yyyy", "%Y"),
    ("xxxx", "%G"),
    ("YYYY", "%G"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("ww", "%V"),
];

fn joda_to_chrono(p: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = p;
    'next: while let Some(c) = rest.chars().next() {
        for (joda, fmt) in JODA {
            if let Some(r) = rest.strip_prefix(joda) {
                out.push_str(fmt);
                rest = r;
                continue 'next;
            }
        }
        if c.is_ascii_alphabetic() {
            return Err(format!(
                "date pattern `{p}`: `{c}` is not supported (use yyyy, yy, xxxx, MM, dd, HH, mm, ss, ww)"
            ));
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

impl IndexTemplate {
    pub fn parse(t: &str) -> Result<IndexTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = t;
        while let Some(i) = rest.find("%{") {
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("`{t}`: `%{{` without a closing `}}`"))?;
            let inner = &after[..end];
            if let Some(pattern) = inner.strip_prefix('+') {
                parts.push(Part::Date(joda_to_chrono(pattern)?));
            } else if inner.starts_with('[') {
                let (field, default) = match inner.rfind("]:") {
                    Some(k) => (&inner[..=k], Some(inner[k + 2..].to_string())),
                    None => (inner, None),
                };
                let path = field
                    .strip_prefix('[')
                    .and_then(|f| f.strip_suffix(']'))
                    .ok_or_else(|| format!("`{t}`: `%{{{inner}}}` is not `%{{[field]}}`"))?
                    .replace("][", ".");
                if path.is_empty() {
                    return Err(format!("`{t}`: empty field name in `%{{{inner}}}`"));
                }
                parts.push(Part::Field { path, default });
            } else {
                return Err(format!(
                    "`{t}`: `%{{{inner}}}` is neither a date (`%{{+yyyy.MM.dd}}`) nor a field (`%{{[field.path]}}`)"
                ));
            }
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(IndexTemplate { parts })
    }

    /// True when every record gets the same name.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    pub fn has_fields(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field { .. }))
    }

    /// The index of `event`, or why there is none (a field missing without a default).
    pub fn render(&self, event: &Event, time: Option<&DateTime<Utc>>) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Date(f) => {
                    let now;
                    let t = match time {
                        Some(t) => t,
                        None => {
                            now = Utc::now();
                            &now
                        }
                    };
                    out.push_str(&t.format(f).to_string());
                }
                Part::Field { path, default } => match (event.value(path).as_deref(), default) {
                    (Some(Value::String(s)), _) => out.push_str(s),
                    (Some(v @ (Value::Number(_) | Value::Bool(_))), _) => {
                        out.push_str(&v.to_string())
                    }
                    (_, Some(d)) => out.push_str(d),
                    (_, None) => {
                        return Err(format!(
                        "index: field [{path}] is missing (give a default: %{{[{path}]:default}})"
                    ))
                    }
                },
            }
        }
        Ok(out.to_lowercase())
    }
}

/// The record's `@timestamp` (RFC 3339) as UTC, if it has a valid one.
pub fn event_time(event: &Event) -> Option<DateTime<Utc>> {
    let s = event.get("@timestamp")?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: Value) -> Event {
        Event::new(v.as_object().unwrap().clone(), None)
    }

    #[test]
    fn dates_and_fields() {
        let e = event(json!({
            "@timestamp": "2026-11-24T23:30:00.5+00:00",
            "kubernetes": {"namespace": "Shop"}
        }));
        let t = event_time(&e);
        let tpl = IndexTemplate::parse("logs-%{[kubernetes.namespace]}-%{+yyyy.MM.dd}").unwrap();
        assert_eq!(tpl.render(&e, t.as_ref()).unwrap(), "logs-shop-2026.11.24");
        let tpl = IndexTemplate::parse("x-%{[kubernetes][namespace]}-%{+xxxx.ww}").unwrap();
        assert_eq!(tpl.render(&e, t.as_ref()).unwrap(), "x-shop-2026.48");
        // A timestamp with an offset lands on its UTC day.
        let e2 = event(json!({"@timestamp": "2026-11-25T01:00:00+02:00"}));
        let tpl = IndexTemplate::parse("l-%{+yyyy.MM.dd}").unwrap();
        assert_eq!(
            tpl.render(&e2, event_time(&e2).as_ref()).unwrap(),
            "l-2026.11.24"
        );
        let tpl = IndexTemplate::parse("l-%{[container.name]:none}").unwrap();
        assert_eq!(tpl.render(&e2, None).unwrap(), "l-none");
        let tpl = IndexTemplate::parse("l-%{[container.name]}").unwrap();
        assert!(tpl
            .render(&e2, None)
            .unwrap_err()
            .contains("[container.name] is missing"));
        assert!(IndexTemplate::parse("static").unwrap().is_static());
    }

    #[test]
    fn bad_templates_say_why() {
        assert!(IndexTemplate::parse("a-%{+yyyy.QQ}")
            .unwrap_err()
            .contains("`Q`"));
        assert!(IndexTemplate::parse("a-%{+yyyy")
            .unwrap_err()
            .contains("closing"));
        assert!(IndexTemplate::parse("a-%{foo}")
            .unwrap_err()
            .contains("neither"));
    }
}
