//! `enrich.kubernetes`: pod metadata from the Kubernetes API server on the records of `cri` and
//! `docker` files, on any node (containerd, CRI-O or Docker), and the pod annotations that
//! steer logship (`logship.io/exclude`, `logship.io/multiline`, `logship.io/parser`).
//!
//! - `config.rs`: the options (in-cluster defaults, kubeconfig, node, namespaces, filters).
//! - `meta.rs`: what is kept of a pod and the fields its records get.
//! - `store.rs`: the node's pods, indexed for a file's lookup; deleted pods kept for a grace.
//! - `watch.rs`: the kube-rs client and the watchers that keep the store current.
//! - `decoder.rs`: the per-file decoder wrapper that adds the fields and applies the steering.

pub mod config;
pub mod decoder;
pub mod meta;
pub mod store;
pub mod watch;

use config::KubernetesEnrichConfig;
use meta::Filters;
use std::sync::Arc;

/// The store and the watcher task for `cfg` (the caller runs the task under supervision).
pub fn start(
    cfg: &KubernetesEnrichConfig,
    host_name: &str,
) -> (
    Arc<store::PodStore>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let globs = |v: &[String]| {
        v.iter()
            .filter_map(|p| glob::Pattern::new(p).ok())
            .collect::<Vec<_>>()
    };
    let filters = Arc::new(Filters {
        label_include: globs(&cfg.labels.include),
        label_exclude: globs(&cfg.labels.exclude),
        annotations: globs(&cfg.annotations),
    });
    let store = store::PodStore::new(cfg.delete_grace.0, &watch::scopes(cfg));
    let node = cfg.node(host_name);
    tracing::info!(node = %node, "watching this node's pods for Kubernetes metadata");
    let task = watch::follow(store.clone(), cfg.clone(), node, filters);
    (store, task)
}
