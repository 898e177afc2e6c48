//! The API client (kube-rs, from the in-cluster settings or a kubeconfig) and the task that
//! keeps the `PodStore` current: one kube-runtime watcher on the pods of this node (one per
//! namespace when `namespaces` is set), one on namespaces when their labels are wanted.
//!
//! The watcher lists, then watches from the list's resourceVersion with bookmarks; a `410
//! Gone` makes it list again (the store then marks the pods the new list lacks as deleted).
//! When the API server is down, slow or refuses the token, records keep the last known
//! metadata (or none), one warning is logged, and the watcher retries with exponential backoff;
//! the token file is re-read by kube-rs about every minute, so a rotated token is picked up.

use super::config::KubernetesEnrichConfig;
use super::meta::{labels_object, Filters, PodMeta};
use super::store::PodStore;
use anyhow::Context;
use futures_util::stream::{BoxStream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server ends each watch after this many seconds and the watcher starts the next one from
/// its last resourceVersion; a connection silent 5 s past it is taken as dead.
const WATCH_SECONDS: u32 = 60;
/// A response (a list) with no byte for this long is abandoned and retried.
const READ_TIMEOUT: Duration = Duration::from_secs(75);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often pods deleted past their grace are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The API server's address from the in-cluster environment.
fn in_cluster_url() -> anyhow::Result<String> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").context(
        "no enrich.kubernetes.api_server and KUBERNETES_SERVICE_HOST is not set (not in a pod?)",
    )?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Ok(format!("https://{host}:{port}"))
}

/// The kube-rs configuration `cfg` describes.
pub async fn client_config(cfg: &KubernetesEnrichConfig) -> anyhow::Result<kube::Config> {
    let mut config = if let Some(path) = &cfg.kubeconfig {
        let kc = kube::config::Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .with_context(|| format!("kubeconfig {}", path.display()))?
    } else {
        let url = match &cfg.api_server {
            Some(u) => u.clone(),
            None => in_cluster_url()?,
        };
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a URL"))?;
        let mut c = kube::Config::new(uri);
        if url.starts_with("https://") {
            let pem = std::fs::read(&cfg.ca_file)
                .with_context(|| format!("cannot read the CA file {}", cfg.ca_file.display()))?;
            let ders = crate::tls::pem_certificates(&pem)
                .with_context(|| format!("CA file {}", cfg.ca_file.display()))?;
            c.root_cert = Some(ders);
            c.root_cert_file = Some(cfg.ca_file.clone());
        }
        if !cfg.token_file.as_os_str().is_empty() {
            c.auth_info.token_file = Some(cfg.token_file.to_string_lossy().into_owned());
        }
        c
    };
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.reset_reader_on_write = true;
    Ok(config)
}

/// What one of the merged watch streams said.
enum Said {
    Pod(String, Box<Result<Event<Pod>, watcher::Error>>),
    Namespace(Box<Result<Event<Namespace>, watcher::Error>>),
}

/// Warns once per outage, says when it is over.
struct Outage {
    down: bool,
}

impl Outage {
    fn failed(&mut self, error: &dyn std::fmt::Display) {
        if !self.down {
            self.down = true;
            tracing::warn!(error = %error,
                "Kubernetes API unreachable or refusing; records ship with the last known pod metadata (or none) until it is back (retrying with backoff)");
        } else {
            tracing::debug!(error = %error, "Kubernetes API still failing");
        }
    }
    /// A watcher's error: 410 Gone (the version resumed from was compacted away; the watcher
    /// lists again) is routine, anything else an outage.
    fn error(&mut self, e: &watcher::Error) {
        match e {
            watcher::Error::WatchError(s) if s.code == 410 => {
                tracing::debug!(message = %s.message, "Kubernetes watch expired (410 Gone); listing again")
            }
            e => self.failed(e),
        }
    }

    fn ok(&mut self) {
        if self.down {
            self.down = false;
            tracing::info!("Kubernetes API reachable again");
        }
    }
}

/// Keeps `store` current until the process ends.
pub async fn follow(
    store: Arc<PodStore>,
    cfg: KubernetesEnrichConfig,
    node: String,
    filters: Arc<Filters>,
) {
    if crate::fault::task_exits("kubernetes") {
        return;
    }
    let mut outage = Outage { down: false };
    let mut delays = crate::output::retry::delays(crate::output::retry::BackoffConfig {
        init: crate::config::units::Dur(Duration::from_secs(1)),
        max: crate::config::units::Dur(Duration::from_secs(30)),
    });
    let client = loop {
        let made = match client_config(&cfg).await {
            Ok(c) => kube::Client::try_from(c).map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match made {
            Ok(c) => break c,
            Err(e) => {
                outage.failed(&format!("{e:#}"));
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(30))).await;
            }
        }
    };
    let scopes = scopes(&cfg);
    let wc = watcher::Config::default()
        .fields(&format!("spec.nodeName={node}"))
        .timeout(WATCH_SECONDS);
    let mut streams: Vec<BoxStream<'static, Said>> = Vec::new();
    for scope in scopes {
        let api: Api<Pod> = if scope.is_empty() {
            Api::all(client.clone())
        } else {
            Api::namespaced(client.clone(), &scope)
        };
        streams.push(
            watcher::watcher(api, wc.clone())
                .default_backoff()
                .map(move |e| Said::Pod(scope.clone(), Box::new(e)))
                .boxed(),
        );
    }
    if cfg.namespace_labels {
        let api: Api<Namespace> = Api::all(client.clone());
        let nwc = watcher::Config::default().timeout(WATCH_SECONDS);
        streams.push(
            watcher::watcher(api, nwc)
                .default_backoff()
                .map(|e| Said::Namespace(Box::new(e)))
                .boxed(),
        );
    }
    let mut merged = futures_util::stream::select_all(streams);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        let said = tokio::select! {
            s = merged.next() => s,
            _ = sweep.tick() => {
                store.sweep(Instant::now());
                continue;
            }
        };
        let Some(said) = said else {
            // The watchers never end on their own; if they did, nothing would be current.
            tracing::error!("Kubernetes watch streams ended");
            return;
        };
        match said {
            Said::Pod(scope, said) => {
                let ev = match *said {
                    Ok(ev) => ev,
                    Err(e) => {
                        outage.error(&e);
                        continue;
                    }
                };
                outage.ok();
                match ev {
                    Event::Init => store.relist_begin(&scope),
                    Event::InitApply(p) => {
                        store.relist_item(&scope, PodMeta::from_pod(&p, &filters))
                    }
                    Event::InitDone => {
                        store.relist_done(&scope);
                        tracing::debug!(scope, pods = store.len(), "Kubernetes pods listed");
                    }
                    Event::Apply(p) => store.apply(PodMeta::from_pod(&p, &filters)),
                    Event::Delete(p) => store.delete(p.metadata.uid.as_deref().unwrap_or("")),
                }
            }
            Said::Namespace(said) => {
                let ev = match *said {
                    Ok(ev) => ev,
                    Err(e) => {
                        outage.error(&e);
                        continue;
                    }
                };
                outage.ok();
                match ev {
                    Event::InitApply(n) | Event::Apply(n) => {
                        let name = n.metadata.name.clone().unwrap_or_default();
                        store.namespace(
                            &name,
                            Some(labels_object(n.metadata.labels.as_ref(), &filters)),
                        );
                    }
                    Event::Delete(n) => {
                        store.namespace(n.metadata.name.as_deref().unwrap_or(""), None)
                    }
                    Event::Init | Event::InitDone => {}
                }
            }
        }
    }
}

/// The watch scopes: the namespaces asked for, or `""` for all.
pub fn scopes(cfg: &KubernetesEnrichConfig) -> Vec<String> {
    if cfg.namespaces.is_empty() {
        vec![String::new()]
    } else {
        let mut n = cfg.namespaces.clone();
        n.sort();
        n.dedup();
        n
    }
}
