//! `type: elasticsearch` (also OpenSearch): options and checks. `Debug` hides credentials.

use crate::config::units::Dur;
use crate::config::{Problems, Value};
use crate::output::dead_letter::DeadLetterConfig;
use crate::output::retry::BackoffConfig;
use crate::output::{Output, OutputSpec};
use crate::tls::TlsConfig;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `auth:` of the elasticsearch output: `username` + `password`, or `api_key` (both secrets:
/// `Debug` prints them as `<redacted>`).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct EsAuth {
    /// Basic authentication user.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic authentication password (never logged).
    #[serde(default)]
    pub password: Option<crate::secret::Secret>,
    /// `id:key` as Elasticsearch returns it, or already base64-encoded.
    #[serde(default)]
    pub api_key: Option<crate::secret::Secret>,
}

/// `type: elasticsearch` (also OpenSearch): the `_bulk` API with `create` and deterministic ids.
/// `Debug` (below) hides credentials in `hosts` and the values of `headers`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchOutputConfig {
    /// Label in metrics, health and logs, and the dead-letter file's name (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// `http(s)://host:port[/path]`, one or more (round robin).
    pub hosts: Vec<String>,
    /// Index name: `%{+yyyy.MM.dd}` (Joda-style, from `@timestamp` in UTC) and
    /// `%{[field.path]}` / `%{[field.path]:default}` are replaced per record.
    #[serde(default = "default_index")]
    pub index: String,
    /// Ingest pipeline for every record.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Credentials: `username` + `password`, or `api_key` (`id:key`).
    #[serde(default)]
    pub auth: Option<EsAuth>,
    /// TLS options for https hosts (the system roots when unset).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// gzip level of request bodies, 0 (off) to 9.
    #[serde(default = "default_es_compression")]
    pub compression_level: u32,
    /// Most records in one `_bulk` request.
    #[serde(default = "default_es_bulk_max_size")]
    pub bulk_max_size: usize,
    /// Longest wait for one request, connection included.
    #[serde(default = "default_es_timeout")]
    pub timeout: Dur,
    /// Extra HTTP headers on every request.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Where records Elasticsearch rejects go (`data_dir/dead_letter/<name>.ndjson`).
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    /// Retry timing after a failure (retries forever).
    #[serde(default)]
    pub backoff: BackoffConfig,
}

impl OutputSpec for ElasticsearchOutputConfig {
    fn backoff(&self) -> BackoffConfig {
        self.backoff
    }
    fn timeout(&self) -> Option<Dur> {
        Some(self.timeout)
    }
    fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        self.tls.as_ref().map(|t| (t, self.hosts.as_slice()))
    }
    fn build(&self, name: &str, data_dir: &Path) -> Result<Arc<dyn Output>, String> {
        Ok(Arc::new(super::Elasticsearch::new(name, self, data_dir)?))
    }
}

impl std::fmt::Debug for ElasticsearchOutputConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| crate::secret::redact_url(h))
            .collect();
        let headers: Vec<&String> = self.headers.keys().collect();
        f.debug_struct("ElasticsearchOutputConfig")
            .field("name", &self.name)
            .field("hosts", &hosts)
            .field("index", &self.index)
            .field("pipeline", &self.pipeline)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("compression_level", &self.compression_level)
            .field("bulk_max_size", &self.bulk_max_size)
            .field("timeout", &self.timeout)
            .field("headers (values hidden)", &headers)
            .field("dead_letter", &self.dead_letter)
            .field("backoff", &self.backoff)
            .finish()
    }
}

fn default_index() -> String {
    "logship-%{+yyyy.MM.dd}".into()
}
fn default_es_compression() -> u32 {
    1
}
fn default_es_bulk_max_size() -> usize {
    1600
}
fn default_es_timeout() -> Dur {
    Dur(Duration::from_secs(90))
}

/// Types and checks one `type: elasticsearch` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn OutputSpec>)> {
    let c = p.typed::<ElasticsearchOutputConfig>(body, path)?;
    use super::index::IndexTemplate;
    if c.hosts.is_empty() {
        p.error(
            format!("{path}.hosts"),
            "needs at least one URL (e.g. https://es:9200)",
        );
    }
    for (i, h) in c.hosts.iter().enumerate() {
        if let Some(problem) = url_problem(h, c.tls.is_some()) {
            p.error(format!("{path}.hosts[{i}]"), problem);
        }
    }
    if let Err(e) = IndexTemplate::parse(&c.index) {
        p.error(format!("{path}.index"), e);
    }
    crate::output::check_sizes(c.compression_level, c.bulk_max_size, path, p);
    if let Some(a) = &c.auth {
        match (&a.username, &a.password, &a.api_key) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            (_, _, Some(_)) => p.error(
                format!("{path}.auth"),
                "set either username + password or api_key, not both",
            ),
            _ => p.error(
                format!("{path}.auth"),
                "needs username and password (or api_key)",
            ),
        }
    }
    if let Some(tls) = &c.tls {
        tls.validate(&format!("{path}.tls"), p);
    }
    Some((c.name.clone(), Arc::new(c)))
}

/// Why a `hosts` entry is not usable, if it is not.
pub fn url_problem(h: &str, has_tls: bool) -> Option<String> {
    let h = &crate::secret::redact_url(h);
    if !h.contains("://") {
        return Some(format!(
            "{h} has no scheme: write http://{h} or https://{h}"
        ));
    }
    match reqwest::Url::parse(h) {
        Err(e) => Some(format!(
            "{h:?} is not a URL ({e}); expected e.g. https://es:9200"
        )),
        Ok(u) => match u.scheme() {
            "http" if has_tls => Some(format!(
                "{h}: `tls` is set but the URL is http://; use https://"
            )),
            "http" | "https" if u.host_str().is_some() => None,
            "http" | "https" => Some(format!("{h}: no host")),
            s => Some(format!("{h}: scheme `{s}` is not http or https")),
        },
    }
}
