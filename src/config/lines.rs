//! Maps each YAML path (`inputs[0].paths`) to the line it starts on, so configuration errors can
//! name both. serde_yaml's `Value` keeps no positions, so we walk yaml-rust2's marked events once.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Path → 1-based line number.
#[derive(Debug, Default)]
pub struct LineMap {
    lines: HashMap<String, usize>,
}

impl LineMap {
    pub fn build(text: &str) -> LineMap {
        let mut walker = Walker::default();
        let mut parser = Parser::new_from_str(text);
        // A syntax error is reported by serde_yaml with its own location; keep what we have.
        let _ = parser.load(&mut walker, false);
        LineMap {
            lines: walker.lines,
        }
    }

    /// The line of `path`, or of its nearest ancestor that has one.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// The outermost path that starts on `line` (names the key a `${VAR}` sits in).
    pub fn path_at_line(&self, line: usize) -> Option<&str> {
        self.lines
            .iter()
            .filter(|(_, l)| **l == line)
            .map(|(p, _)| p.as_str())
            .min_by_key(|p| (p.len(), *p))
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

impl Walker {
    /// Returns the path of the node now starting, or None when it is a mapping key.
    fn node_path(&mut self, key_text: Option<&str>, line: usize) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    // This node is a key.
                    let k = key_text.unwrap_or("?").to_string();
                    let full = join_key(path, &k);
                    self.lines.entry(full).or_insert(line);
                    *key = Some(k);
                    None
                }
                Some(k) => Some(join_key(path, &k)),
            },
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.lines.entry(p.clone()).or_insert(line);
                Some(p)
            }
        }
    }
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, ..) => {
                self.node_path(Some(&text), line);
            }
            Event::Alias(_) => {
                self.node_path(None, line);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.node_path(None, line) {
                    self.stack.push(Frame::Map { path, key: None });
                } else {
                    // A complex key: track it so the stack stays balanced.
                    self.stack.push(Frame::Map {
                        path: "?".into(),
                        key: None,
                    });
                }
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, line).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_lines() {
        let text = "data_dir: /x\ninputs:\n  - type: file\n    paths: [a, b]\n  - type: file\n    pahts:\n      - c\n";
        let m = LineMap::build(text);
        assert_eq!(m.line_of("data_dir"), Some(1));
        assert_eq!(m.line_of("inputs"), Some(2));
        assert_eq!(m.line_of("inputs[0]"), Some(3));
        assert_eq!(m.line_of("inputs[0].paths"), Some(4));
        assert_eq!(m.line_of("inputs[1].pahts"), Some(6));
        assert_eq!(m.line_of("inputs[1].pahts[0]"), Some(7));
        assert_eq!(m.line_of("inputs[1].nothing"), Some(5));
        assert_eq!(m.path_at_line(4), Some("inputs[0].paths"));
    }
}
