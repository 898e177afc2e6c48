//! `type: console` (output): options.

use crate::config::{Problems, Value};
use crate::output::retry::BackoffConfig;
use crate::output::{Output, OutputSpec};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// `type: console`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsoleOutputConfig {
    /// Label in metrics, health and logs (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// Retry timing after a failure (retries forever).
    #[serde(default)]
    pub backoff: BackoffConfig,
}

impl OutputSpec for ConsoleOutputConfig {
    fn backoff(&self) -> BackoffConfig {
        self.backoff
    }
    fn build(&self, _name: &str, _data_dir: &Path) -> Result<Arc<dyn Output>, String> {
        Ok(Arc::new(super::Console::new()))
    }
}

/// Types one `type: console` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn OutputSpec>)> {
    let c = p.typed::<ConsoleOutputConfig>(body, path)?;
    Some((c.name.clone(), Arc::new(c)))
}
