//! One parse of the YAML text into the document (a `serde_json::Value`, which every component's
//! options are typed from) and a map of each path to its line (`LineMap`), so problems can name
//! both. serde-saphyr parses: it promises not to panic on any input, reports the location of a
//! syntax error itself, and bounds depth (64), nodes and sizes with its budget, so the recursion
//! here is bounded too. YAML 1.2 core schema, as the serde_yaml 0.9 it replaces had: only `true`/`false` are
//! booleans (`yes`, `on`, `n` stay strings); `.inf` and `.nan` stay strings.

use super::lines::LineMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::fmt;

/// A syntax error: its line, when known, and the parser's message.
#[derive(Debug)]
pub struct SyntaxError {
    pub line: Option<usize>,
    pub message: String,
}

/// The document and its lines; an empty document is an empty mapping.
pub fn parse(text: &str) -> Result<(Value, LineMap), SyntaxError> {
    let (value, lines) = parse_node(text)?;
    let value = match value {
        Value::Null => Value::Object(Map::new()),
        v => v,
    };
    Ok((value, lines))
}

/// One value written as YAML (`5`, `[a, b]`, `true`), as a `${VAR}` used where a number or a
/// list is wanted holds it; None when it is not YAML.
pub fn value(text: &str) -> Option<Value> {
    parse_node(text).ok().map(|(v, _)| v)
}

fn parse_node(text: &str) -> Result<(Value, LineMap), SyntaxError> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    options.with_snippet = false;
    let root: Spanned<Node> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| SyntaxError {
            line: e.location().map(|l| l.line() as usize),
            message: e.without_snippet().to_string(),
        })?;
    let mut seen = Seen::default();
    let value = into_value(root.value, "", &mut seen);
    Ok((value, LineMap::new(seen.lines, seen.keys)))
}

/// A YAML node whose children keep their locations.
enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(i128::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = a.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

/// What the walk records beside the value: the line of every path, the keys of every mapping
/// in written order.
#[derive(Default)]
struct Seen {
    lines: HashMap<String, usize>,
    keys: HashMap<String, Vec<String>>,
}

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

/// The node as JSON, recording the line of every key and list element under `path`, and the
/// order of every mapping's keys.
fn into_value(node: Node, path: &str, seen: &mut Seen) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => int(i),
        Node::Float(f) => {
            Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let p = format!("{path}[{i}]");
                    seen.lines.entry(p.clone()).or_insert(line_of(&item));
                    into_value(item.value, &p, seen)
                })
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = Map::new();
            let mut order = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = key_text(&k.value);
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                seen.lines.entry(p.clone()).or_insert(line_of(&k));
                order.push(key.clone());
                map.insert(key, into_value(v.value, &p, seen));
            }
            seen.keys.insert(path.to_string(), order);
            Value::Object(map)
        }
    }
}

fn int(i: i128) -> Value {
    if let Ok(n) = i64::try_from(i) {
        Value::Number(n.into())
    } else if let Ok(n) = u64::try_from(i) {
        Value::Number(n.into())
    } else {
        Value::String(i.to_string())
    }
}

/// A mapping key as text (JSON keys are strings): `80: x` is the key "80".
fn key_text(k: &Node) -> String {
    match k {
        Node::Null => "null".into(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => f.to_string(),
        Node::Str(s) => s.clone(),
        Node::Seq(_) | Node::Map(_) => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_lines_from_one_parse() {
        let text = "data_dir: /x\ninputs:\n  - type: file\n    paths: [a, b]\n    n: yes\n    on: 5\n    f: .inf\n  - type: file\n    pahts:\n      - c\nbig: 99999999999999999999\n";
        let (v, m) = parse(text).unwrap();
        assert_eq!(v["inputs"][0]["paths"][1], "b");
        assert_eq!(v["inputs"][0]["n"], "yes", "YAML 1.2: yes is a string");
        assert_eq!(v["inputs"][0]["on"], 5);
        assert_eq!(v["inputs"][0]["f"], ".inf");
        assert!(v["big"].is_number() || v["big"].is_string());
        assert_eq!(m.line_of("data_dir"), Some(1));
        assert_eq!(m.line_of("inputs"), Some(2));
        assert_eq!(m.line_of("inputs[0]"), Some(3));
        assert_eq!(m.line_of("inputs[0].paths"), Some(4));
        assert_eq!(m.line_of("inputs[1].pahts"), Some(9));
        assert_eq!(m.line_of("inputs[1].pahts[0]"), Some(10));
        assert_eq!(m.line_of("inputs[1].nothing"), Some(8));
        assert_eq!(m.path_at_line(4), Some("inputs[0].paths"));
        assert_eq!(
            m.keys_of("inputs[0]").unwrap(),
            ["type", "paths", "n", "on", "f"],
            "written order, not sorted"
        );
    }

    #[test]
    fn empty_is_a_mapping_and_errors_have_lines() {
        assert_eq!(parse("").unwrap().0, Value::Object(Map::new()));
        assert_eq!(
            parse("# only a comment\n").unwrap().0,
            Value::Object(Map::new())
        );
        let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.line.is_some(), "{e:?}");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e:?}");
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        assert_eq!(value("5"), Some(Value::from(5)));
        assert_eq!(value(""), Some(Value::Null));
        assert_eq!(value("[a, b]"), Some(serde_json::json!(["a", "b"])));
    }
}
