//! `enrich.kubernetes`: where the API server is and how logship authenticates to it, which pods
//! it watches (its node's, optionally only some namespaces), and which labels and annotations
//! become fields. Defaults are the in-cluster ones a DaemonSet pod has.

use crate::config::units::Dur;
use crate::config::Problems;
use crate::enrich::config::LabelFilter;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Where a pod's service-account files are mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct KubernetesEnrichConfig {
    /// A kubeconfig file (its current context) instead of the in-cluster settings below.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The API server's URL; default `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`.
    #[serde(default)]
    pub api_server: Option<String>,
    /// The bearer token, re-read about every minute (projected tokens rotate).
    #[serde(default = "default_token_file")]
    pub token_file: PathBuf,
    /// The CA bundle the API server's certificate is checked against (re-read as it rotates).
    #[serde(default = "default_ca_file")]
    pub ca_file: PathBuf,
    /// The node whose pods are watched (`spec.nodeName`); default `$NODE_NAME`, else the host
    /// name.
    #[serde(default)]
    pub node_name: Option<String>,
    /// Only pods of these namespaces (one watch each); empty: every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Which pod labels become `kubernetes.labels.*` (globs on the keys; dots become `_`).
    #[serde(default)]
    pub labels: LabelFilter,
    /// Globs on annotation keys copied to `kubernetes.annotations.*`; empty (the default): none.
    #[serde(default)]
    pub annotations: Vec<String>,
    /// Adds `kubernetes.namespace_labels.*` (watches namespaces too).
    #[serde(default)]
    pub namespace_labels: bool,
    /// A deleted pod's metadata is kept this long for its lines not yet read.
    #[serde(default = "default_delete_grace")]
    pub delete_grace: Dur,
    /// At start, inputs wait this long at most for the first list of pods, so the lines already
    /// on disk get their metadata too.
    #[serde(default = "default_sync_timeout")]
    pub sync_timeout: Dur,
}

fn default_token_file() -> PathBuf {
    PathBuf::from(SERVICE_ACCOUNT_DIR).join("token")
}
fn default_ca_file() -> PathBuf {
    PathBuf::from(SERVICE_ACCOUNT_DIR).join("ca.crt")
}
fn default_delete_grace() -> Dur {
    Dur(Duration::from_secs(300))
}
fn default_sync_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

impl KubernetesEnrichConfig {
    /// The node name: the option, else `$NODE_NAME`, else `host_name`.
    pub fn node(&self, host_name: &str) -> String {
        self.node_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| std::env::var("NODE_NAME").ok().filter(|n| !n.is_empty()))
            .unwrap_or_else(|| host_name.to_string())
    }
}

/// Checks `enrich.kubernetes` (globs, the URL's scheme).
pub fn check(k: &KubernetesEnrichConfig, p: &mut Problems) {
    for (j, pat) in k.labels.include.iter().chain(&k.labels.exclude).enumerate() {
        if let Err(e) = glob::Pattern::new(pat) {
            p.error(
                format!("enrich.kubernetes.labels[{j}]"),
                format!("bad glob `{pat}`: {e}"),
            );
        }
    }
    for (j, pat) in k.annotations.iter().enumerate() {
        if let Err(e) = glob::Pattern::new(pat) {
            p.error(
                format!("enrich.kubernetes.annotations[{j}]"),
                format!("bad glob `{pat}`: {e}"),
            );
        }
    }
    if let Some(url) = &k.api_server {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.parse::<http::Uri>().is_ok();
        if !ok {
            p.error(
                "enrich.kubernetes.api_server",
                format!("`{url}` is not an API server URL: expected https://host:port"),
            );
        }
    }
    if k.namespaces.iter().any(|n| n.is_empty()) {
        p.error(
            "enrich.kubernetes.namespaces",
            "a namespace name cannot be empty",
        );
    }
}
