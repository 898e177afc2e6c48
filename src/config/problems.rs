//! `Problems`: the collector every part of the configuration is checked with. It types a part
//! of the YAML tree as a component's serde struct, recording *every* problem serde finds with
//! its YAML path and line (not just the first), and takes the components' own checks
//! (`error`, `positive`). Messages never show the value of a `${VAR}`.
//!
//! How every problem is found: each list element (input, output) is typed on its own, and when
//! serde rejects a key we record the error, remove that key from a scratch copy and type it again,
//! so one typo does not hide the next.

use super::env;
use super::lines::LineMap;
use super::units;
use super::ConfigError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The problems found so far in one configuration file, and what is needed to place and word
/// them (line numbers, the `${VAR}` references whose values must not be shown).
pub struct Problems {
    lines: LineMap,
    errors: Vec<ConfigError>,
    /// The `${VAR}` references and where their values went: no message may show a value.
    refs: Vec<env::Reference>,
    placed: env::Placed,
}

impl Problems {
    pub(super) fn new(lines: LineMap, refs: Vec<env::Reference>) -> Problems {
        Problems {
            lines,
            errors: Vec::new(),
            refs,
            placed: env::Placed::default(),
        }
    }

    /// The keys of the mapping at `path`, in the order the document writes them (a typed map
    /// comes sorted; an option applied in order reads its order here).
    pub fn keys_in_order(&self, path: &str) -> Option<&[String]> {
        self.lines.keys_of(path)
    }

    pub(super) fn lines(&self) -> &LineMap {
        &self.lines
    }

    pub(super) fn push(&mut self, e: ConfigError) {
        self.errors.push(e);
    }

    /// Places the `${VAR}` values in the parsed tree (for `scrub` and for reading a whole
    /// reference as YAML where a number or a list is wanted).
    pub(super) fn resolve(&mut self, root: &mut Value) {
        self.placed = env::resolve(root, &self.refs);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    /// Records a problem at a YAML path (`outputs[0].hosts[1]`); its line is looked up.
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let line = self.lines.line_of(&path);
        let message = self.scrub(&path, message.into());
        self.errors.push(ConfigError {
            path,
            line,
            message,
        });
    }

    /// `message` without the value of any `${VAR}` placed at, in or around `path` (shown as
    /// `${VAR}` instead), nor of any longer value anywhere.
    fn scrub(&self, path: &str, mut message: String) -> String {
        let near: Vec<usize> = self.placed.near(path).collect();
        for (i, r) in self.refs.iter().enumerate() {
            if r.value.is_empty() || (r.value.len() < 4 && !near.contains(&i)) {
                continue;
            }
            let shown = format!("${{{}}}", r.name);
            let escaped = format!("{:?}", r.value);
            let escaped = escaped
                .get(1..escaped.len().saturating_sub(1))
                .unwrap_or("");
            for form in [r.value.as_str(), escaped] {
                if !form.is_empty() && message.contains(form) {
                    message = message.replace(form, &shown);
                }
            }
        }
        message
    }

    /// Types `value` (found at `base`) as `T`, recording every problem serde finds. Returns the
    /// value typed without the bad keys (so checking goes on), or None when it cannot be typed.
    pub fn typed<T: DeserializeOwned>(&mut self, value: &Value, base: &str) -> Option<T> {
        let mut scratch = value.clone();
        let mut removed: Vec<String> = Vec::new();
        let mut coerced: Vec<String> = Vec::new();
        for _ in 0..100 {
            let err = match serde_path_to_error::deserialize::<_, T>(scratch.clone()) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            let rel: Vec<Seg> = err.path().iter().map(Seg::from).collect();
            let message = tidy(&err.inner().to_string());
            // A scalar that was exactly one `${VAR}` is a string; where something else is
            // wanted (a number, a boolean, a list), its value is read as YAML there, once.
            let full = render(base, &rel);
            if message.starts_with("invalid type: string") && !coerced.contains(&full) {
                if let Some(i) = self.placed.whole(&full) {
                    let as_yaml = self
                        .refs
                        .get(i)
                        .and_then(|r| super::tree::value(&r.value))
                        .filter(|v| !v.is_string());
                    if let Some(v) = as_yaml {
                        if replace(&mut scratch, &rel, v) {
                            coerced.push(full);
                            continue;
                        }
                    }
                }
            }
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
            {
                // A required key we removed ourselves because its value was bad: already said.
                let mut p = rel.clone();
                p.push(Seg::Key(field.to_string()));
                if removed.contains(&render(base, &p)) {
                    return None;
                }
            }
            let path = render(base, &rel);
            self.error(path.clone(), message);
            if !remove(&mut scratch, &rel) {
                return None;
            }
            removed.push(path);
        }
        None
    }

    /// A duration that must be more than zero (a zero interval would spin or panic).
    pub fn positive(&mut self, path: &str, d: units::Dur) {
        if d.0.is_zero() {
            self.error(path, "must be more than 0 (e.g. 1s)");
        }
    }

    /// Reads `type` of a list element and returns it with the element minus that key.
    pub fn kind_of(&mut self, v: &Value, path: &str) -> Option<(String, Value)> {
        let Value::Object(map) = v else {
            self.error(path, "expected a mapping with a `type` key");
            return None;
        };
        let Some(kind) = map.get("type") else {
            self.error(path, "missing key `type`");
            return None;
        };
        let Some(kind) = kind.as_str() else {
            self.error(format!("{path}.type"), "expected a string");
            return None;
        };
        let mut rest = map.clone();
        rest.remove("type");
        Some((kind.to_string(), Value::Object(rest)))
    }
}

/// How a component type is configured from its part of the document (at its YAML path): its
/// `name`, if set, and its options. A registry is a list of (`type:` name, this).
pub type Configure<T> = fn(&Value, &str, &mut Problems) -> Option<(Option<String>, T)>;

/// Types each element of the list `list` (`inputs`, `outputs`) by its `type:` through the
/// registry `types`; a type in `planned` is "not supported yet", any other unknown one is
/// named with the supported ones. Each element kept: (name, type, options).
pub fn by_type<T>(
    raw: &[Value],
    list: &str,
    what: &str,
    types: &[(&'static str, Configure<T>)],
    planned: &[&str],
    p: &mut Problems,
) -> Vec<(Option<String>, &'static str, T)> {
    let supported: Vec<&str> = types.iter().map(|(t, _)| *t).collect();
    let mut out = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let path = format!("{list}[{i}]");
        let Some((kind, body)) = p.kind_of(v, &path) else {
            continue;
        };
        match types.iter().find(|(t, _)| *t == kind) {
            Some((t, configure)) => {
                if let Some((name, c)) = configure(&body, &path, p) {
                    out.push((name, *t, c));
                }
            }
            None if planned.contains(&kind.as_str()) => p.error(
                format!("{path}.type"),
                format!(
                    "{what} type `{kind}` is not supported yet in this release (supported: {})",
                    supported.join(", ")
                ),
            ),
            None => {
                let planned = if planned.is_empty() {
                    String::new()
                } else {
                    format!(" (planned: {})", planned.join(", "))
                };
                p.error(
                    format!("{path}.type"),
                    format!(
                        "unknown {what} type `{kind}`, expected one of: {}{planned}",
                        supported.join(", ")
                    ),
                )
            }
        }
    }
    out
}

/// Names each element: its `name`, else its type, with `_N` added when the type repeats.
pub fn label<K>(items: Vec<(Option<String>, &'static str, K)>) -> Vec<(String, K)> {
    let count = |t: &str| {
        items
            .iter()
            .filter(|(n, k, _)| n.is_none() && *k == t)
            .count()
    };
    let counts: Vec<usize> = items.iter().map(|(_, t, _)| count(t)).collect();
    let mut index = std::collections::HashMap::<&str, usize>::new();
    let mut out = Vec::new();
    for ((name, t, k), n) in items.into_iter().zip(counts) {
        let name = name.unwrap_or_else(|| {
            let i = index.entry(t).or_insert(0);
            *i += 1;
            if n > 1 {
                format!("{t}_{i}")
            } else {
                t.to_string()
            }
        });
        out.push((name, k));
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
    Other,
}

impl From<&serde_path_to_error::Segment> for Seg {
    fn from(s: &serde_path_to_error::Segment) -> Seg {
        match s {
            serde_path_to_error::Segment::Map { key } => Seg::Key(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Seg::Index(*index),
            _ => Seg::Other,
        }
    }
}

fn render(base: &str, segs: &[Seg]) -> String {
    let mut s = base.to_string();
    for seg in segs {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Other => {}
        }
    }
    s
}

/// Removes the node at `path` when it is a mapping key; false when it cannot be removed.
fn remove(root: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    match (last, node_mut(root, parents)) {
        (Seg::Key(k), Some(Value::Object(m))) => m.remove(k.as_str()).is_some(),
        _ => false,
    }
}

/// The node at `path`, if there is one.
fn node_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k.as_str())?,
            (Seg::Index(i), Value::Array(s)) => s.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Replaces the node at `path` with `v`; false when there is no such node.
fn replace(root: &mut Value, path: &[Seg], v: Value) -> bool {
    match node_mut(root, path) {
        Some(node) => {
            *node = v;
            true
        }
        None => false,
    }
}

/// serde's wording, made to read like a config checker's.
fn tidy(msg: &str) -> String {
    let msg = msg.replace("unknown field", "unknown key");
    match msg.split_once(", expected one of ") {
        Some((head, list)) if head.starts_with("unknown key") => {
            format!("{head}, expected one of: {}", list.replace('`', ""))
        }
        _ => match msg.split_once(", expected ") {
            Some((head, exp)) if head.starts_with("unknown key") => {
                format!("{head}, expected: {}", exp.replace('`', ""))
            }
            _ => msg,
        },
    }
}
