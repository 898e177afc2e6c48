//! `enrich.docker`: container metadata from the Docker daemon (bollard), added to records of the
//! `docker` input: `container.name`, `container.image.name`, `container.labels` (include/exclude
//! globs on the label keys, dots replaced by `_`), `container.env` (allowlisted names only) and
//! `kubernetes.*` from the `io.kubernetes.*` labels (Kubernetes on Docker).
//!
//! One inspect per container, not per record: a cache by container id, filled on first sight
//! and kept fresh from the Docker events stream (`start` prefetches, `rename` refreshes,
//! `destroy` keeps the entry a while longer so a removed container's unread lines still get
//! their metadata). When the daemon is unreachable, records ship without metadata, one warning is
//! logged, lookups pause with exponential backoff, and the events stream reconnects the same way.

use super::config::DockerEnrichConfig;
use crate::config::units::Dur;
use crate::event::{Event, Fields, Shared};
use crate::output::retry::BackoffConfig;
use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one inspect may take before the record ships without metadata.
const INSPECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A container that could not be found is asked about again after this long.
const MISSING_RETRY: Duration = Duration::from_secs(30);
/// A destroyed container's metadata is kept this long for its unread lines.
const DESTROYED_GRACE: Duration = Duration::from_secs(600);
/// Any container's metadata is looked up again after this long, so a missed `destroy` or
/// `rename` (the events stream reconnected) never keeps an entry forever or a stale name.
const CACHE_TTL: Duration = Duration::from_secs(600);
/// Most containers remembered; past it expired entries go, then any.
const CACHE_MAX: usize = 4096;
/// How often records trigger a sweep of expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

enum Entry {
    Found {
        meta: Arc<Meta>,
        /// Looked up again (or dropped) after this: `CACHE_TTL`, or `DESTROYED_GRACE` after
        /// a destroy event.
        expires: Instant,
    },
    Missing {
        retry_at: Instant,
    },
}

/// What is added to a record.
pub struct Meta {
    name: Value,
    image: Value,
    labels: Value,
    env: Option<Value>,
    kubernetes: Option<Value>,
}

struct DaemonState {
    down_until: Option<Instant>,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
}

pub struct DockerEnricher {
    /// Connected lazily and again after a failure, under the same backoff as lookups.
    client: Mutex<Option<Docker>>,
    socket: String,
    include: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
    env: Vec<String>,
    cache: Mutex<HashMap<String, Entry>>,
    last_sweep: Mutex<Instant>,
    daemon: Mutex<DaemonState>,
    warned: AtomicBool,
}

fn backoff() -> Box<dyn Iterator<Item = Duration> + Send> {
    Box::new(crate::output::retry::delays(BackoffConfig {
        init: Dur(Duration::from_secs(1)),
        max: Dur(Duration::from_secs(30)),
    }))
}

fn connect(socket: &str) -> Result<Docker, bollard::errors::Error> {
    let v = bollard::API_DEFAULT_VERSION;
    if socket.starts_with("tcp://") || socket.starts_with("http://") {
        Docker::connect_with_http(socket, INSPECT_TIMEOUT.as_secs(), v)
    } else {
        Docker::connect_with_unix(socket, INSPECT_TIMEOUT.as_secs(), v)
    }
}

impl Meta {
    /// `base` (a file's shared fields, holding `container.id`) with this metadata added.
    fn merge_into(&self, base: &Fields) -> Fields {
        let mut out = base.clone();
        let container = out
            .entry("container")
            .or_insert_with(|| Value::Object(Fields::new()));
        if let Value::Object(c) = container {
            c.insert("name".into(), self.name.clone());
            c.insert("image".into(), json!({ "name": self.image }));
            c.insert("labels".into(), self.labels.clone());
            if let Some(env) = &self.env {
                c.insert("env".into(), env.clone());
            }
        }
        // `enrich.kubernetes` (the API's fuller view) comes first: the labels' view only fills in.
        if let Some(k) = &self.kubernetes {
            out.entry("kubernetes").or_insert_with(|| k.clone());
        }
        out
    }
}

impl DockerEnricher {
    pub fn new(cfg: &DockerEnrichConfig) -> Arc<DockerEnricher> {
        let globs = |v: &[String]| {
            v.iter()
                .filter_map(|p| glob::Pattern::new(p).ok())
                .collect()
        };
        Arc::new(DockerEnricher {
            client: Mutex::new(None),
            socket: cfg.socket.clone(),
            include: globs(&cfg.labels.include),
            exclude: globs(&cfg.labels.exclude),
            env: cfg.env.clone(),
            cache: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
            daemon: Mutex::new(DaemonState {
                down_until: None,
                delays: backoff(),
            }),
            warned: AtomicBool::new(false),
        })
    }

    /// Adds metadata to the `docker` input's records in `events`.
    pub async fn enrich(&self, events: &mut [Event]) {
        let mut wanted: Vec<String> = Vec::new();
        for ev in events.iter() {
            if let Some(id) = docker_container_id(ev) {
                if !wanted.iter().any(|w| w == id) {
                    wanted.push(id.to_string());
                }
            }
        }
        if wanted.is_empty() {
            return;
        }
        let mut metas: HashMap<String, Arc<Meta>> = HashMap::new();
        for id in wanted {
            if let Some(m) = self.meta(&id).await {
                metas.insert(id, m);
            }
        }
        // The metadata joins the file's shared fields: one merged map per file and container
        // for the whole chunk, not a copy per record.
        let mut merged: HashMap<(*const Shared, *const Meta), Arc<Shared>> = HashMap::new();
        for ev in events.iter_mut() {
            let Some(meta) = docker_container_id(ev)
                .and_then(|id| metas.get(id))
                .cloned()
            else {
                continue;
            };
            let Some(base) = ev.shared.clone() else {
                continue;
            };
            let key = (Arc::as_ptr(&base), Arc::as_ptr(&meta));
            let shared = merged
                .entry(key)
                .or_insert_with(|| Arc::new(Shared::new(meta.merge_into(&base))))
                .clone();
            ev.shared = Some(shared);
        }
    }

    /// Cached metadata, or one inspect (an expired entry is used while the daemon does not
    /// answer).
    async fn meta(&self, id: &str) -> Option<Arc<Meta>> {
        let now = Instant::now();
        {
            let mut last = lock(&self.last_sweep);
            if now.duration_since(*last) >= SWEEP_EVERY {
                *last = now;
                drop(last);
                self.expire_at(now);
            }
        }
        let stale = {
            let cache = lock(&self.cache);
            match cache.get(id) {
                Some(Entry::Found { meta, expires }) if now < *expires => {
                    return Some(meta.clone())
                }
                Some(Entry::Found { meta, .. }) => Some(meta.clone()),
                Some(Entry::Missing { retry_at }) if now < *retry_at => return None,
                _ => None,
            }
        };
        self.lookup(id).await.or(stale)
    }

    /// The client, connecting first if needed; None while the daemon is in backoff.
    fn client(&self) -> Option<Docker> {
        if lock(&self.daemon)
            .down_until
            .is_some_and(|t| Instant::now() < t)
        {
            return None;
        }
        let mut c = lock(&self.client);
        if c.is_none() {
            match connect(&self.socket) {
                Ok(client) => *c = Some(client),
                Err(e) => {
                    drop(c);
                    self.daemon_down(&e.to_string());
                    return None;
                }
            }
        }
        c.clone()
    }

    async fn lookup(&self, id: &str) -> Option<Arc<Meta>> {
        let client = self.client()?;
        let result =
            tokio::time::timeout(INSPECT_TIMEOUT, client.inspect_container(id, None)).await;
        match result {
            Ok(Ok(info)) => {
                self.daemon_up();
                let meta = Arc::new(self.build(info));
                self.insert(
                    id,
                    Entry::Found {
                        meta: meta.clone(),
                        expires: Instant::now() + CACHE_TTL,
                    },
                );
                Some(meta)
            }
            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            })) => {
                self.daemon_up();
                tracing::debug!(container = id, "container not known to the daemon");
                self.insert(
                    id,
                    Entry::Missing {
                        retry_at: Instant::now() + MISSING_RETRY,
                    },
                );
                None
            }
            Ok(Err(e)) => {
                // Connect afresh next time: the socket may have been recreated.
                *lock(&self.client) = None;
                self.daemon_down(&e.to_string());
                None
            }
            Err(_) => {
                self.daemon_down("no answer within 3s");
                None
            }
        }
    }

    fn daemon_down(&self, why: &str) {
        let mut d = lock(&self.daemon);
        let wait = d.delays.next().unwrap_or(Duration::from_secs(30));
        d.down_until = Some(Instant::now() + wait);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(socket = %self.socket, error = why,
                "Docker daemon unreachable; records ship without container metadata until it is back (retrying with backoff)");
        }
    }

    fn daemon_up(&self) {
        let mut d = lock(&self.daemon);
        if d.down_until.take().is_some() || self.warned.swap(false, Ordering::Relaxed) {
            tracing::info!(socket = %self.socket, "Docker daemon reachable again");
        }
        d.delays = backoff();
    }

    /// The metadata kept for a container, from its inspect answer.
    pub fn build(&self, info: bollard::models::ContainerInspectResponse) -> Meta {
        let name = info
            .name
            .as_deref()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default();
        let config = info.config.unwrap_or_default();
        let raw_labels = config.labels.unwrap_or_default();
        let mut labels = Fields::new();
        for (k, v) in &raw_labels {
            if self.include.iter().any(|p| p.matches(k))
                && !self.exclude.iter().any(|p| p.matches(k))
            {
                labels.insert(k.replace('.', "_"), Value::String(v.clone()));
            }
        }
        let env = (!self.env.is_empty()).then(|| {
            let mut m = Fields::new();
            for kv in config.env.unwrap_or_default() {
                if let Some((k, v)) = kv.split_once('=') {
                    if self.env.iter().any(|a| a == k) {
                        m.insert(k.to_string(), Value::String(v.to_string()));
                    }
                }
            }
            Value::Object(m)
        });
        let kubernetes = raw_labels.get("io.kubernetes.pod.name").map(|pod| {
            let get = |k: &str| raw_labels.get(k).cloned().unwrap_or_default();
            json!({
                "pod": { "name": pod, "uid": get("io.kubernetes.pod.uid") },
                "namespace": get("io.kubernetes.pod.namespace"),
                "container": { "name": get("io.kubernetes.container.name") },
            })
        });
        Meta {
            name: Value::String(name),
            image: Value::String(config.image.unwrap_or_default()),
            labels: Value::Object(labels),
            env,
            kubernetes,
        }
    }

    /// Follows the daemon's container events until the process ends, reconnecting with backoff.
    pub async fn follow_events(self: Arc<Self>) {
        let mut filters = HashMap::new();
        filters.insert("type", vec!["container"]);
        filters.insert("event", vec!["start", "rename", "destroy"]);
        if crate::fault::task_exits("docker") {
            return;
        }
        let mut delays = backoff();
        loop {
            let Some(client) = self.client() else {
                let wait = lock(&self.daemon)
                    .down_until
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
                continue;
            };
            let mut stream =
                client.events(Some(EventsOptionsBuilder::new().filters(&filters).build()));
            while let Some(msg) = stream.next().await {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::debug!(error = %e, "Docker events stream ended");
                        break;
                    }
                };
                delays = backoff();
                let Some((id, action)) = event_action(msg) else {
                    continue;
                };
                match action {
                    Action::Refresh => {
                        // Refresh: later records get the new name.
                        lock(&self.cache).remove(&id);
                        self.lookup(&id).await;
                    }
                    Action::Destroyed => {
                        if let Some(Entry::Found { expires, .. }) = lock(&self.cache).get_mut(&id) {
                            *expires = (*expires).min(Instant::now() + DESTROYED_GRACE);
                        }
                    }
                }
                self.expire();
            }
            let wait = delays.next().unwrap_or(Duration::from_secs(30));
            tokio::time::sleep(wait).await;
        }
    }

    fn expire(&self) {
        self.expire_at(Instant::now());
    }

    /// Drops the entries expired at `now`.
    fn expire_at(&self, now: Instant) {
        lock(&self.cache).retain(|_, e| match e {
            Entry::Found { expires, .. } => now < *expires,
            Entry::Missing { retry_at } => now < *retry_at,
        });
    }

    /// Adds an entry, keeping the cache within `CACHE_MAX` (expired entries go first).
    fn insert(&self, id: &str, entry: Entry) {
        if lock(&self.cache).len() >= CACHE_MAX {
            self.expire();
        }
        let mut cache = lock(&self.cache);
        while cache.len() >= CACHE_MAX {
            let Some(k) = cache.keys().next().cloned() else {
                break;
            };
            cache.remove(&k);
        }
        cache.insert(id.to_string(), entry);
    }
}

/// What a Docker event asks of the cache.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// `start`, `rename`: look the container up again (later records get the new name).
    Refresh,
    /// `destroy`: keep its metadata for a grace period, then forget it.
    Destroyed,
}

/// The container and what to do, from one event of the daemon's stream (None: not ours).
pub fn event_action(msg: bollard::models::EventMessage) -> Option<(String, Action)> {
    let id = msg.actor.and_then(|a| a.id)?;
    let action = match msg.action.as_deref()? {
        "start" | "rename" => Action::Refresh,
        "destroy" => Action::Destroyed,
        _ => return None,
    };
    Some((id, action))
}

fn docker_container_id(ev: &Event) -> Option<&str> {
    if ev.get("input.type")?.as_str()? != "docker" {
        return None;
    }
    ev.get("container.id")?.as_str()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enricher() -> Arc<DockerEnricher> {
        let cfg: DockerEnrichConfig = crate::config::from_yaml("{}").unwrap();
        DockerEnricher::new(&cfg)
    }

    fn meta() -> Arc<Meta> {
        Arc::new(Meta {
            name: Value::Null,
            image: Value::Null,
            labels: Value::Null,
            env: None,
            kubernetes: None,
        })
    }

    #[test]
    fn entries_expire_by_time_without_a_destroy_event_and_the_cache_is_bounded() {
        let e = enricher();
        e.insert(
            "live",
            Entry::Found {
                meta: meta(),
                expires: Instant::now() + CACHE_TTL,
            },
        );
        e.expire();
        assert_eq!(lock(&e.cache).len(), 1);
        // Its destroy event was missed: it still goes once its time is up.
        e.expire_at(Instant::now() + CACHE_TTL + Duration::from_secs(1));
        assert!(lock(&e.cache).is_empty());
        for i in 0..CACHE_MAX * 2 {
            e.insert(
                &format!("c{i}"),
                Entry::Missing {
                    retry_at: Instant::now() + MISSING_RETRY,
                },
            );
            assert!(lock(&e.cache).len() <= CACHE_MAX);
        }
        assert!(lock(&e.cache).contains_key(&format!("c{}", CACHE_MAX * 2 - 1)));
    }
}
