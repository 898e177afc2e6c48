//! The pods of this node as the watch last showed them (`PodStore`), indexed by uid, by
//! namespace and name, and by container id, plus the namespaces' labels. Readers (each file's
//! decoder) look a file up once and again only when `generation` moved, so a change costs one
//! lookup per open file and a record none.
//!
//! A deleted pod (a `Deleted` event, or absent from a relist) stays `delete_grace` longer, so
//! the lines its containers wrote before it went still get its metadata. Memory is bounded by
//! the pods on the node (and those deleted within the grace).

use super::meta::{PodMeta, Steer};
use crate::event::Fields;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// What a file's path says about whose logs it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileKey {
    pub container_id: Option<String>,
    pub pod_uid: Option<String>,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
}

/// One container's metadata as its records carry it.
#[derive(Debug)]
pub struct View {
    /// The `kubernetes` object.
    pub kubernetes: Value,
    /// The container id, when the file's path did not give it.
    pub container_id: Option<String>,
    pub steer: Steer,
}

struct Entry {
    meta: Arc<PodMeta>,
    deleted_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    pods: HashMap<String, Entry>,
    by_name: HashMap<(String, String), String>,
    by_container: HashMap<String, String>,
    namespace_labels: HashMap<String, Arc<Fields>>,
    /// Per watch scope (a namespace, or `""` for all): the uids seen since its relist began.
    relisting: HashMap<String, HashSet<String>>,
}

pub struct PodStore {
    state: RwLock<State>,
    generation: AtomicU64,
    grace: Duration,
    synced: tokio::sync::watch::Sender<bool>,
    /// Scopes whose first list is not done yet.
    unsynced: std::sync::Mutex<HashSet<String>>,
}

impl PodStore {
    /// A store for the watches of `scopes` (namespaces, or `[""]` for all).
    pub fn new(grace: Duration, scopes: &[String]) -> Arc<PodStore> {
        Arc::new(PodStore {
            state: RwLock::new(State::default()),
            generation: AtomicU64::new(1),
            grace,
            synced: tokio::sync::watch::Sender::new(false),
            unsynced: std::sync::Mutex::new(scopes.iter().cloned().collect()),
        })
    }

    /// Moves on every change a reader could see.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits until every scope's first list is in, or `limit`; true when it is.
    pub async fn wait_synced(&self, limit: Duration) -> bool {
        let mut rx = self.synced.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A pod added or changed.
    pub fn apply(&self, meta: PodMeta) {
        let mut s = self.write();
        s.unindex_uid(&meta.uid);
        let meta = Arc::new(meta);
        s.index(&meta);
        s.pods.insert(
            meta.uid.clone(),
            Entry {
                meta,
                deleted_at: None,
            },
        );
        drop(s);
        self.changed();
    }

    /// A pod deleted: kept for the grace period.
    pub fn delete(&self, uid: &str) {
        if let Some(e) = self.write().pods.get_mut(uid) {
            e.deleted_at.get_or_insert_with(Instant::now);
        }
        self.sweep(Instant::now());
    }

    /// A relist of `scope` begins: what it does not list again was deleted meanwhile.
    pub fn relist_begin(&self, scope: &str) {
        self.write()
            .relisting
            .insert(scope.to_string(), HashSet::new());
    }

    /// A pod listed during a relist of `scope`.
    pub fn relist_item(&self, scope: &str, meta: PodMeta) {
        if let Some(seen) = self.write().relisting.get_mut(scope) {
            seen.insert(meta.uid.clone());
        }
        self.apply(meta);
    }

    /// The relist of `scope` is complete.
    pub fn relist_done(&self, scope: &str) {
        let now = Instant::now();
        {
            let mut s = self.write();
            let seen = s.relisting.remove(scope).unwrap_or_default();
            for e in s.pods.values_mut() {
                let in_scope = scope.is_empty() || e.meta.namespace == scope;
                if in_scope && !seen.contains(&e.meta.uid) && e.deleted_at.is_none() {
                    e.deleted_at = Some(now);
                }
            }
        }
        self.changed();
        let mut unsynced = self.unsynced.lock().unwrap_or_else(|p| p.into_inner());
        unsynced.remove(scope);
        if unsynced.is_empty() {
            self.synced.send_replace(true);
        }
    }

    /// A namespace's labels (already filtered and dedotted); None: the namespace is gone.
    pub fn namespace(&self, name: &str, labels: Option<Fields>) {
        let mut s = self.write();
        match labels {
            Some(l) => s.namespace_labels.insert(name.to_string(), Arc::new(l)),
            None => s.namespace_labels.remove(name),
        };
        drop(s);
        self.changed();
    }

    /// Forgets the pods deleted more than the grace period before `now`.
    pub fn sweep(&self, now: Instant) {
        let grace = self.grace;
        let mut s = self.write();
        let gone: Vec<String> = s
            .pods
            .values()
            .filter(|e| e.deleted_at.is_some_and(|t| now.duration_since(t) >= grace))
            .map(|e| e.meta.uid.clone())
            .collect();
        for uid in &gone {
            s.unindex_uid(uid);
            s.pods.remove(uid);
        }
        drop(s);
        if !gone.is_empty() {
            self.changed();
        }
    }

    /// Pods known (live or within their grace).
    pub fn len(&self) -> usize {
        self.read().pods.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metadata of the container a file belongs to, if its pod is known.
    pub fn lookup(&self, key: &FileKey) -> Option<View> {
        let s = self.read();
        let by_id = key
            .container_id
            .as_ref()
            .and_then(|id| s.by_container.get(id))
            .and_then(|uid| s.pods.get(uid));
        // A path that names the pod's uid is that pod's only: another pod of the same name
        // (a StatefulSet's, made again) is not it.
        let by_uid_or_name = || match &key.pod_uid {
            Some(uid) => s.pods.get(uid),
            None => {
                let k = (key.namespace.clone()?, key.pod.clone()?);
                s.by_name.get(&k).and_then(|uid| s.pods.get(uid))
            }
        };
        let entry = by_id.or_else(by_uid_or_name)?;
        let meta = &entry.meta;
        let container = key
            .container
            .clone()
            .or_else(|| {
                let id = key.container_id.as_deref()?;
                meta.container_named(id).map(str::to_string)
            })
            .unwrap_or_default();
        let container_id = if key.container_id.is_some() {
            None
        } else {
            meta.container_ids
                .iter()
                .find(|(_, n)| *n == container)
                .map(|(id, _)| id.clone())
        };
        let ns_labels = s.namespace_labels.get(&meta.namespace);
        Some(View {
            kubernetes: meta.for_container(&container, ns_labels.map(|l| &**l)),
            container_id,
            steer: meta.steer(&container),
        })
    }
}

impl State {
    fn index(&mut self, meta: &Arc<PodMeta>) {
        self.by_name.insert(
            (meta.namespace.clone(), meta.name.clone()),
            meta.uid.clone(),
        );
        for (id, _) in &meta.container_ids {
            self.by_container.insert(id.clone(), meta.uid.clone());
        }
    }

    /// Removes `uid`'s index entries (those another pod took over stay).
    fn unindex_uid(&mut self, uid: &str) {
        let Some(old) = self.pods.get(uid).map(|e| e.meta.clone()) else {
            return;
        };
        let name = (old.namespace.clone(), old.name.clone());
        if self.by_name.get(&name).is_some_and(|u| u == uid) {
            self.by_name.remove(&name);
        }
        for (id, _) in &old.container_ids {
            if self.by_container.get(id).is_some_and(|u| u == uid) {
                self.by_container.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::meta::Filters;
    use super::*;
    use serde_json::json;

    fn meta(uid: &str, name: &str, app: &str, id: &str) -> PodMeta {
        let pod = serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": "ns", "uid": uid, "labels": { "app": app } },
            "spec": { "containers": [{ "name": "c", "image": "i" }] },
            "status": { "containerStatuses": [{ "name": "c", "containerID": format!("cri-o://{id}"),
                "image": "", "imageID": "", "ready": true, "restartCount": 0 }] }
        }))
        .unwrap();
        PodMeta::from_pod(
            &pod,
            &Filters {
                label_include: vec![glob::Pattern::new("*").unwrap()],
                label_exclude: vec![],
                annotations: vec![],
            },
        )
    }

    fn key_by_name(name: &str) -> FileKey {
        FileKey {
            namespace: Some("ns".into()),
            pod: Some(name.into()),
            container: Some("c".into()),
            ..FileKey::default()
        }
    }

    #[test]
    fn lookups_by_id_uid_and_name_and_a_recreated_pod_of_the_same_name() {
        let store = PodStore::new(Duration::from_secs(60), &["".into()]);
        let g0 = store.generation();
        store.apply(meta("u1", "db-0", "v1", "id1"));
        assert!(store.generation() > g0);
        let by_id = FileKey {
            container_id: Some("id1".into()),
            ..FileKey::default()
        };
        let v = store.lookup(&by_id).unwrap();
        assert_eq!(v.kubernetes["labels"]["app"], "v1");
        assert_eq!(v.kubernetes["container"]["name"], "c");
        let v = store.lookup(&key_by_name("db-0")).unwrap();
        assert_eq!(v.container_id.as_deref(), Some("id1"));
        // The StatefulSet pod is deleted and made again under the same name: the old one's
        // files (by uid or container id) keep the old metadata, the name finds the new pod.
        store.delete("u1");
        store.apply(meta("u2", "db-0", "v2", "id2"));
        assert_eq!(
            store.lookup(&by_id).unwrap().kubernetes["labels"]["app"],
            "v1"
        );
        let old_uid = FileKey {
            pod_uid: Some("u1".into()),
            ..key_by_name("db-0")
        };
        assert_eq!(
            store.lookup(&old_uid).unwrap().kubernetes["pod"]["uid"],
            "u1"
        );
        assert_eq!(
            store.lookup(&key_by_name("db-0")).unwrap().kubernetes["pod"]["uid"],
            "u2"
        );
        // Past the grace the deleted pod is gone, the live one stays.
        store.sweep(Instant::now() + Duration::from_secs(61));
        assert!(store.lookup(&by_id).is_none());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_relist_marks_the_pods_it_no_longer_lists_as_deleted_in_its_scope_only() {
        let store = PodStore::new(Duration::from_secs(60), &["ns".into(), "other".into()]);
        store.apply(meta("u1", "a", "v", "i1"));
        store.apply(meta("u2", "b", "v", "i2"));
        store.relist_begin("other");
        store.relist_done("other");
        // Scope `other` says nothing of pods in `ns`.
        store.sweep(Instant::now() + Duration::from_secs(61));
        assert_eq!(store.len(), 2);
        store.relist_begin("ns");
        store.relist_item("ns", meta("u1", "a", "v", "i1"));
        store.relist_done("ns");
        // `b` went while the watch was away: still there for the grace, then gone.
        assert!(store.lookup(&key_by_name("b")).is_some());
        store.sweep(Instant::now() + Duration::from_secs(61));
        assert!(store.lookup(&key_by_name("b")).is_none());
        assert!(store.lookup(&key_by_name("a")).is_some());
    }

    #[tokio::test]
    async fn synced_once_every_scope_listed() {
        let store = PodStore::new(Duration::from_secs(60), &["a".into(), "b".into()]);
        store.relist_begin("a");
        store.relist_done("a");
        assert!(!store.wait_synced(Duration::from_millis(20)).await);
        store.relist_begin("b");
        store.relist_done("b");
        assert!(store.wait_synced(Duration::from_millis(20)).await);
    }
}
