//! `type: console` (output): options.

use crate::config::{Problems, Value};
use crate::output::retry::BackoffConfig;
use crate::output::OutputKind;
use serde::Deserialize;

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

/// Types one `type: console` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, OutputKind)> {
    let c = p.typed::<ConsoleOutputConfig>(body, path)?;
    Some((c.name.clone(), OutputKind::Console(c)))
}
