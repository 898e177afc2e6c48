//! The configuration loader: a library every component uses and that uses no component.
//! Reading the file, `${VAR}` substitution (`env.rs`), one YAML parse into the document and the
//! line of every path (`tree.rs`, `lines.rs`),
//! durations and sizes (`units.rs`), and the `Problems` collector (`problems.rs`) that types a
//! part of the document as a component's serde struct and records every problem with its path
//! and line. What the document holds is `crate::settings`; each component's options are in its
//! own `config.rs` (`input/file/config.rs`, `output/logstash/config.rs`, ...).

mod env;
mod lines;
mod problems;
mod tree;
pub mod units;

pub use problems::{by_type, label, Configure, Problems};
pub use serde_json::Value;

use lines::LineMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// YAML path such as `inputs[0].paths`; empty for the document itself.
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        match self.line {
            Some(l) => write!(f, "{path} (line {l}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Everything wrong with one configuration file.
#[derive(Debug)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "configuration {} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Types a YAML text as `T` the way the loader types a part of the document (YAML → JSON value
/// → `T`), without its problem collection: for tests, fuzz targets and built-in defaults.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let v = tree::value(text).ok_or_else(|| "not valid YAML".to_string())?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Reads the file at `path` (the one problem when it cannot be read).
pub fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        file: path.to_path_buf(),
        errors: vec![ConfigError {
            path: String::new(),
            line: None,
            message: format!("cannot read {}: {e}", path.display()),
        }],
    })
}

/// Substitutes `${VAR}`s (`env` looks them up) and parses the YAML: the document tree and the
/// collector to check it with (already holding the variables that are not set). Err when the
/// text is not YAML at all.
pub fn parse_document(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Value, Problems), Vec<ConfigError>> {
    let env::Substituted {
        text,
        refs,
        missing,
    } = env::substitute(text, env);
    let (parsed, lines) = match tree::parse(&text) {
        Ok((root, lines)) => (Ok(root), lines),
        Err(e) => (Err(e), LineMap::default()),
    };
    let mut problems = Problems::new(lines, refs);
    for m in missing {
        let path = problems
            .lines()
            .path_at_line(m.line)
            .unwrap_or("")
            .to_string();
        problems.push(ConfigError {
            path,
            line: Some(m.line),
            message: format!(
                "environment variable {} is not set and has no default (write ${{{}:-value}} to give one)",
                m.name, m.name
            ),
        });
    }
    let mut root = match parsed {
        Ok(v) => v,
        Err(e) => {
            problems.push(ConfigError {
                path: String::new(),
                line: e.line,
                message: format!("not valid YAML: {}", e.message),
            });
            return Err(problems.into_errors());
        }
    };
    problems.resolve(&mut root);
    Ok((root, problems))
}
