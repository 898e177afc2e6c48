//! `type: file` (output): options and checks.

use crate::config::{Problems, Value};
use crate::output::retry::BackoffConfig;
use crate::output::OutputKind;
use serde::Deserialize;
use std::path::PathBuf;

/// `type: file` (output).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// Label in metrics, health and logs (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// NDJSON is appended here (parent directories are created).
    pub path: PathBuf,
    /// Retry timing after a failure (retries forever).
    #[serde(default)]
    pub backoff: BackoffConfig,
}

/// Types and checks one `type: file` output element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, OutputKind)> {
    let c = p.typed::<FileOutputConfig>(body, path)?;
    if c.path.as_os_str().is_empty() {
        p.error(format!("{path}.path"), "must not be empty");
    }
    Some((c.name.clone(), OutputKind::File(c)))
}
