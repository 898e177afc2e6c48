//! `enrich:` in the configuration: which metadata is added to records and from where:
//! `docker` (`enrich/docker.rs`, its options here) and `kubernetes` (`enrich/kubernetes/`,
//! which owns its options).

use crate::config::{Problems, Value};
use serde::Deserialize;

/// `enrich:`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// Docker metadata for container records (on by default when the socket answers).
    #[serde(default)]
    pub docker: Option<DockerEnrichConfig>,
    /// Pod metadata from the Kubernetes API server (`enrich/kubernetes`).
    #[serde(default)]
    pub kubernetes: Option<super::kubernetes::config::KubernetesEnrichConfig>,
}

/// `enrich.docker`: container metadata from the Docker socket.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DockerEnrichConfig {
    /// `unix:///var/run/docker.sock`, a bare socket path, or `tcp://host:port` / `http://...`.
    #[serde(default = "default_docker_socket")]
    pub socket: String,
    /// Which container labels become `container.labels.*` (dots become `_`).
    #[serde(default)]
    pub labels: LabelFilter,
    /// Names of environment variables to copy into `container.env`; empty = none.
    #[serde(default)]
    pub env: Vec<String>,
}

fn default_docker_socket() -> String {
    "unix:///var/run/docker.sock".to_string()
}

/// Glob lists on label keys (as written by Docker, before dots become `_`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    /// Globs on label keys to keep.
    #[serde(default = "default_label_include")]
    pub include: Vec<String>,
    /// Globs on label keys to drop, after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Default for LabelFilter {
    fn default() -> Self {
        LabelFilter {
            include: default_label_include(),
            exclude: Vec::new(),
        }
    }
}

fn default_label_include() -> Vec<String> {
    vec!["*".to_string()]
}

/// Types and checks the `enrich:` block (absent or null: nothing is enriched).
pub fn configure(raw: Option<&Value>, p: &mut Problems) -> EnrichConfig {
    let enrich = match raw {
        Some(v) if !v.is_null() => p.typed::<EnrichConfig>(v, "enrich").unwrap_or_default(),
        _ => EnrichConfig::default(),
    };
    if let Some(d) = &enrich.docker {
        for (j, pat) in d.labels.include.iter().chain(&d.labels.exclude).enumerate() {
            if let Err(e) = glob::Pattern::new(pat) {
                p.error(
                    format!("enrich.docker.labels[{j}]"),
                    format!("bad glob `{pat}`: {e}"),
                );
            }
        }
        let s = d.socket.as_str();
        if !(s.starts_with("unix://")
            || s.starts_with('/')
            || s.starts_with("tcp://")
            || s.starts_with("http://"))
        {
            p.error(
                "enrich.docker.socket",
                format!("`{s}` is not a Docker address: expected unix:///path, /path, tcp://host:port or http://host:port"),
            );
        }
    }
    if let Some(k) = &enrich.kubernetes {
        super::kubernetes::config::check(k, p);
    }
    enrich
}
