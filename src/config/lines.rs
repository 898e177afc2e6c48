//! Each YAML path (`inputs[0].paths`) and the line it starts on, so configuration errors can
//! name both. Filled by the one parse in `tree.rs`.

use std::collections::HashMap;

/// Path → 1-based line number.
#[derive(Debug, Default)]
pub struct LineMap {
    lines: HashMap<String, usize>,
    /// The keys of each mapping (by its path), in the order they are written: the document is a
    /// `serde_json::Value`, whose maps are sorted, and a few options (`rename.fields`) are
    /// applied in the order written.
    keys: HashMap<String, Vec<String>>,
}

impl LineMap {
    pub fn new(lines: HashMap<String, usize>, keys: HashMap<String, Vec<String>>) -> LineMap {
        LineMap { lines, keys }
    }

    /// The keys of the mapping at `path`, in the order they are written.
    pub fn keys_of(&self, path: &str) -> Option<&[String]> {
        self.keys.get(path).map(Vec::as_slice)
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
