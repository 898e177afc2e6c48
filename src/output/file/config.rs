//! `type: file` (output): options and checks.

use crate::config::{Problems, Value};
use crate::output::retry::BackoffConfig;
use crate::output::{Output, OutputSpec};
use serde::Deserialize;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

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

impl OutputSpec for FileOutputConfig {
    fn backoff(&self) -> BackoffConfig {
        self.backoff
    }
    fn build(&self, _name: &str, _data_dir: &Path) -> Result<Arc<dyn Output>, String> {
        Ok(Arc::new(super::FileOutput::new(self.path.clone())))
    }
}

/// Types and checks one `type: file` output element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn OutputSpec>)> {
    let c = p.typed::<FileOutputConfig>(body, path)?;
    if c.path.as_os_str().is_empty() {
        p.error(format!("{path}.path"), "must not be empty");
    }
    Some((c.name.clone(), Arc::new(c)))
}
