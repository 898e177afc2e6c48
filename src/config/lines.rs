//! Each YAML path (`inputs[0].paths`) and the line it starts on, so configuration errors can
//! name both. Filled by the one parse in `tree.rs`.

use std::collections::HashMap;

/// Path → 1-based line number.
#[derive(Debug, Default)]
pub struct LineMap {
    lines: HashMap<String, usize>,
}

impl LineMap {
    pub fn new(lines: HashMap<String, usize>) -> LineMap {
        LineMap { lines }
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
