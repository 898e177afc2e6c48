//! Conditions shared by processors (`when:`), as Filebeat's read: `equals`, `contains`,
//! `regexp` (alias `regex`), `has_fields`, `range`, `and`, `or`, `not`, on dotted field paths.

use super::config::{ConditionConfig, RangeConfig};
use crate::event::Event;
use regex::Regex;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Condition {
    Equals(Vec<(String, Value)>),
    Contains(Vec<(String, String)>),
    Regexp(Vec<(String, Regex)>),
    HasFields(Vec<String>),
    Range(Vec<(String, RangeConfig)>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Compiles the regexes; errors are (YAML path below `path`, message).
    pub fn build(c: &ConditionConfig, path: &str) -> Result<Condition, Vec<(String, String)>> {
        Ok(match c {
            ConditionConfig::Equals(m) => Condition::Equals(m.clone().into_iter().collect()),
            ConditionConfig::Contains(m) => Condition::Contains(m.clone().into_iter().collect()),
            ConditionConfig::Regexp(m) => {
                let mut out = Vec::new();
                let mut errors = Vec::new();
                for (field, pattern) in m {
                    match Regex::new(pattern) {
                        Ok(r) => out.push((field.clone(), r)),
                        Err(e) => errors.push((
                            format!("{path}.regexp.{field}"),
                            format!("invalid regex `{pattern}`: {}", one_line(&e.to_string())),
                        )),
                    }
                }
                if !errors.is_empty() {
                    return Err(errors);
                }
                Condition::Regexp(out)
            }
            ConditionConfig::HasFields(f) => Condition::HasFields(f.clone()),
            ConditionConfig::Range(m) => Condition::Range(m.clone().into_iter().collect()),
            ConditionConfig::And(list) | ConditionConfig::Or(list) => {
                let key = if matches!(c, ConditionConfig::And(_)) {
                    "and"
                } else {
                    "or"
                };
                let mut out = Vec::new();
                let mut errors = Vec::new();
                for (i, c) in list.iter().enumerate() {
                    match Condition::build(c, &format!("{path}.{key}[{i}]")) {
                        Ok(c) => out.push(c),
                        Err(e) => errors.extend(e),
                    }
                }
                if !errors.is_empty() {
                    return Err(errors);
                }
                if key == "and" {
                    Condition::And(out)
                } else {
                    Condition::Or(out)
                }
            }
            ConditionConfig::Not(c) => {
                Condition::Not(Box::new(Condition::build(c, &format!("{path}.not"))?))
            }
        })
    }

    pub fn matches(&self, e: &Event) -> bool {
        match self {
            Condition::Equals(m) => m
                .iter()
                .all(|(f, want)| match (e.value(f).as_deref(), want) {
                    (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
                    (Some(v), want) => v == want,
                    (None, _) => false,
                }),
            Condition::Contains(m) => m.iter().all(|(f, want)| match e.value(f).as_deref() {
                Some(Value::String(s)) => s.contains(want.as_str()),
                Some(Value::Array(a)) => a
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.contains(want.as_str()))),
                _ => false,
            }),
            Condition::Regexp(m) => m.iter().all(|(f, r)| match e.value(f).as_deref() {
                Some(Value::String(s)) => r.is_match(s),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => r.is_match(&v.to_string()),
                _ => false,
            }),
            Condition::HasFields(f) => f.iter().all(|f| e.value(f).is_some()),
            Condition::Range(m) => m.iter().all(|(f, r)| {
                let Some(v) = e
                    .value(f)
                    .as_deref()
                    .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
                else {
                    return false;
                };
                r.gte.is_none_or(|x| v >= x)
                    && r.gt.is_none_or(|x| v > x)
                    && r.lte.is_none_or(|x| v <= x)
                    && r.lt.is_none_or(|x| v < x)
            }),
            Condition::And(list) => list.iter().all(|c| c.matches(e)),
            Condition::Or(list) => list.iter().any(|c| c.matches(e)),
            Condition::Not(c) => !c.matches(e),
        }
    }
}

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(yaml: &str) -> Condition {
        let c: ConditionConfig = crate::config::from_yaml(yaml).unwrap();
        Condition::build(&c, "when").unwrap()
    }

    #[test]
    fn every_kind_and_combinations() {
        let e = Event::new(
            json!({"http": {"code": 503, "path": "/healthz"}, "level": "WARN", "tags": ["a", "beta"]})
                .as_object()
                .unwrap()
                .clone(),
            None,
        );
        assert!(cond("equals: { http.code: 503 }").matches(&e));
        assert!(!cond("equals: { level: warn }").matches(&e));
        assert!(cond("contains: { http.path: health }").matches(&e));
        assert!(cond("contains: { tags: bet }").matches(&e));
        assert!(cond("regexp: { level: '^W' }").matches(&e));
        assert!(cond("regex: { http.code: '^5' }").matches(&e));
        assert!(cond("has_fields: [http.code, level]").matches(&e));
        assert!(!cond("has_fields: [http.method]").matches(&e));
        assert!(cond("range: { http.code: { gte: 500, lt: 600 } }").matches(&e));
        assert!(!cond("range: { http.code: { lt: 500 } }").matches(&e));
        assert!(cond(
            "and: [ { equals: { level: WARN } }, { not: { contains: { http.path: api } } } ]"
        )
        .matches(&e));
        assert!(cond(
            "or: [ { equals: { level: ERROR } }, { range: { http.code: { gt: 499 } } } ]"
        )
        .matches(&e));
        assert!(!cond("not: { has_fields: [level] }").matches(&e));
        let bad: ConditionConfig =
            crate::config::from_yaml("or: [ { regexp: { m: '(' } } ]").unwrap();
        let errs = Condition::build(&bad, "processors[0].drop.when").unwrap_err();
        assert_eq!(errs[0].0, "processors[0].drop.when.or[0].regexp.m");
    }
}
