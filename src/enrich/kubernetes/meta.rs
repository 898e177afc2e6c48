//! What logship keeps of one pod (`PodMeta`), built from the API's `Pod` object: the
//! `kubernetes.*` fields as Filebeat names them, each container's image and id, the owning
//! workload from the owner references, and the `logship.io/*` annotations that steer how the
//! pod's logs are read (`Steer`).

use crate::event::Fields;
use crate::process::config::MultilinePreset;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Prefix of the annotations that steer logship.
pub const ANNOTATION_PREFIX: &str = "logship.io/";

/// How one container's logs are read, from the pod's `logship.io/*` annotations (a
/// `-<container>` suffixed one overrides the pod-wide one for that container).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Steer {
    /// `logship.io/exclude: "true"`: not shipped (still checkpointed).
    pub exclude: bool,
    /// `logship.io/multiline: java|python|go`.
    pub multiline: Option<MultilinePreset>,
    /// `logship.io/parser: json`: the message is decoded as JSON into the record.
    pub json: bool,
}

/// One pod, as the records of its containers show it.
#[derive(Debug)]
pub struct PodMeta {
    pub uid: String,
    pub name: String,
    pub namespace: String,
    /// `kubernetes.*` without the per-container and per-namespace parts.
    pub fields: Fields,
    /// Container name → image.
    pub images: BTreeMap<String, String>,
    /// (container id without the `containerd://` scheme, container name).
    pub container_ids: Vec<(String, String)>,
    /// The `logship.io/*` annotations, prefix removed.
    steering: BTreeMap<String, String>,
}

/// Which labels and annotations are kept.
pub struct Filters {
    pub label_include: Vec<glob::Pattern>,
    pub label_exclude: Vec<glob::Pattern>,
    pub annotations: Vec<glob::Pattern>,
}

impl Filters {
    pub fn keep_label(&self, key: &str) -> bool {
        self.label_include.iter().any(|p| p.matches(key))
            && !self.label_exclude.iter().any(|p| p.matches(key))
    }
}

/// `app.kubernetes.io/name` → `app_kubernetes_io/name` (Filebeat's `labels.dedot`).
pub fn dedot(key: &str) -> String {
    key.replace('.', "_")
}

/// The labels kept, dedotted, as a JSON object.
pub fn labels_object(labels: Option<&BTreeMap<String, String>>, f: &Filters) -> Fields {
    let mut out = Fields::new();
    for (k, v) in labels.into_iter().flatten() {
        if f.keep_label(k) {
            out.insert(dedot(k), Value::String(v.clone()));
        }
    }
    out
}

/// `containerd://abc` → `abc`.
fn strip_scheme(id: &str) -> &str {
    id.split_once("://").map_or(id, |(_, rest)| rest)
}

/// A Job made by a CronJob is named `<cronjob>-<scheduled time in minutes>`.
fn cronjob_of(job: &str) -> Option<&str> {
    let (cron, suffix) = job.rsplit_once('-')?;
    (suffix.len() >= 8 && suffix.bytes().all(|b| b.is_ascii_digit()) && !cron.is_empty())
        .then_some(cron)
}

impl PodMeta {
    pub fn from_pod(pod: &Pod, f: &Filters) -> PodMeta {
        let md = &pod.metadata;
        let name = md.name.clone().unwrap_or_default();
        let namespace = md.namespace.clone().unwrap_or_default();
        let uid = md.uid.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();

        let mut pod_obj = json!({ "name": name, "uid": uid });
        if let Some(ip) = status.and_then(|s| s.pod_ip.as_ref()) {
            pod_obj["ip"] = Value::String(ip.clone());
        }
        let mut fields = Fields::new();
        fields.insert("pod".into(), pod_obj);
        fields.insert("namespace".into(), Value::String(namespace.clone()));
        if let Some(node) = spec.and_then(|s| s.node_name.as_ref()) {
            fields.insert("node".into(), json!({ "name": node }));
        }
        let labels = labels_object(md.labels.as_ref(), f);
        if !labels.is_empty() {
            fields.insert("labels".into(), Value::Object(labels));
        }
        let mut annotations = Fields::new();
        let mut steering = BTreeMap::new();
        for (k, v) in md.annotations.iter().flatten() {
            if f.annotations.iter().any(|p| p.matches(k)) {
                annotations.insert(dedot(k), Value::String(v.clone()));
            }
            if let Some(rest) = k.strip_prefix(ANNOTATION_PREFIX) {
                steering.insert(rest.to_string(), v.clone());
            }
        }
        if !annotations.is_empty() {
            fields.insert("annotations".into(), Value::Object(annotations));
        }
        for owner in md.owner_references.iter().flatten() {
            let workload = match owner.kind.as_str() {
                "ReplicaSet" => {
                    // The Deployment's name: the ReplicaSet's without its pod-template-hash.
                    let hash = md.labels.as_ref().and_then(|l| l.get("pod-template-hash"));
                    hash.and_then(|h| owner.name.strip_suffix(&format!("-{h}")))
                        .map(|d| ("deployment", d.to_string()))
                }
                "StatefulSet" => Some(("statefulset", owner.name.clone())),
                "DaemonSet" => Some(("daemonset", owner.name.clone())),
                "Job" => {
                    if let Some(cron) = cronjob_of(&owner.name) {
                        fields.insert("cronjob".into(), json!({ "name": cron }));
                    }
                    Some(("job", owner.name.clone()))
                }
                _ => None,
            };
            if let Some((kind, name)) = workload {
                fields.insert(kind.into(), json!({ "name": name }));
            }
        }
        let mut images = BTreeMap::new();
        if let Some(spec) = spec {
            let all = spec
                .containers
                .iter()
                .chain(spec.init_containers.iter().flatten());
            for c in all {
                images.insert(c.name.clone(), c.image.clone().unwrap_or_default());
            }
            for c in spec.ephemeral_containers.iter().flatten() {
                images.insert(c.name.clone(), c.image.clone().unwrap_or_default());
            }
        }
        let mut container_ids = Vec::new();
        if let Some(s) = status {
            let all = s
                .container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
                .chain(s.ephemeral_container_statuses.iter().flatten());
            for c in all {
                if let Some(id) = c.container_id.as_deref().map(strip_scheme) {
                    if !id.is_empty() {
                        container_ids.push((id.to_string(), c.name.clone()));
                    }
                }
            }
        }
        PodMeta {
            uid,
            name,
            namespace,
            fields,
            images,
            container_ids,
            steering,
        }
    }

    /// The container's name for a container id, if the pod's status lists it.
    pub fn container_named(&self, id: &str) -> Option<&str> {
        self.container_ids
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.as_str())
    }

    /// A steering annotation for `container`: `<key>-<container>`, else `<key>`.
    fn annotation(&self, key: &str, container: &str) -> Option<&str> {
        self.steering
            .get(&format!("{key}-{container}"))
            .or_else(|| self.steering.get(key))
            .map(|v| v.trim())
    }

    /// How `container`'s logs are read. Values not understood are ignored (and said once per
    /// pod change at debug level by the caller).
    pub fn steer(&self, container: &str) -> Steer {
        let exclude = self
            .annotation("exclude", container)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let multiline = match self
            .annotation("multiline", container)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("java") => Some(MultilinePreset::Java),
            Some("python") => Some(MultilinePreset::Python),
            Some("go") => Some(MultilinePreset::Go),
            _ => None,
        };
        let json = self
            .annotation("parser", container)
            .is_some_and(|v| v.eq_ignore_ascii_case("json"));
        Steer {
            exclude,
            multiline,
            json,
        }
    }

    /// The `kubernetes` object of `container`'s records.
    pub fn for_container(&self, container: &str, namespace_labels: Option<&Fields>) -> Value {
        let mut k = self.fields.clone();
        let mut c = json!({ "name": container });
        if let Some(image) = self.images.get(container) {
            c["image"] = Value::String(image.clone());
        }
        k.insert("container".into(), c);
        if let Some(ns) = namespace_labels {
            if !ns.is_empty() {
                k.insert("namespace_labels".into(), Value::Object(ns.clone()));
            }
        }
        Value::Object(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(annotations: &[&str]) -> Filters {
        Filters {
            label_include: vec![glob::Pattern::new("*").unwrap()],
            label_exclude: vec![glob::Pattern::new("secret*").unwrap()],
            annotations: annotations
                .iter()
                .map(|a| glob::Pattern::new(a).unwrap())
                .collect(),
        }
    }

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn fields_as_filebeat_names_them() {
        let p = pod(json!({
            "metadata": {
                "name": "web-7d9f8-abcde", "namespace": "shop", "uid": "u-1",
                "labels": { "app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8", "secret-x": "no" },
                "annotations": { "team.example.com/owner": "payments", "other": "x",
                                 "logship.io/multiline-api": "java", "logship.io/parser": "json" },
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8", "uid": "rs" }]
            },
            "spec": { "nodeName": "node-1", "containers": [
                { "name": "api", "image": "shop/api:1.2" }, { "name": "proxy", "image": "envoy:1" } ] },
            "status": { "podIP": "10.0.0.7", "containerStatuses": [
                { "name": "api", "containerID": "containerd://abc123", "image": "", "imageID": "",
                  "ready": true, "restartCount": 0 } ] }
        }));
        let m = PodMeta::from_pod(&p, &filters(&["team.*"]));
        let k = m.for_container("api", None);
        assert_eq!(k["pod"]["name"], "web-7d9f8-abcde");
        assert_eq!(k["pod"]["uid"], "u-1");
        assert_eq!(k["pod"]["ip"], "10.0.0.7");
        assert_eq!(k["namespace"], "shop");
        assert_eq!(k["node"]["name"], "node-1");
        assert_eq!(k["labels"]["app_kubernetes_io/name"], "web");
        assert!(k["labels"].get("secret-x").is_none());
        assert_eq!(k["annotations"]["team_example_com/owner"], "payments");
        assert!(k["annotations"].get("other").is_none());
        assert_eq!(k["deployment"]["name"], "web");
        assert_eq!(
            k["container"],
            json!({ "name": "api", "image": "shop/api:1.2" })
        );
        assert_eq!(m.container_named("abc123"), Some("api"));
        let api = m.steer("api");
        assert_eq!(api.multiline, Some(MultilinePreset::Java));
        assert!(api.json && !api.exclude);
        let proxy = m.steer("proxy");
        assert_eq!(proxy.multiline, None);
        assert!(proxy.json);
    }

    #[test]
    fn owners_and_odd_pods() {
        let job = |name: &str| {
            PodMeta::from_pod(
                &pod(json!({ "metadata": { "name": "p", "ownerReferences": [
                    { "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": "j" }] } })),
                &filters(&[]),
            )
        };
        let m = job("backup-29412345");
        assert_eq!(m.fields["job"]["name"], "backup-29412345");
        assert_eq!(m.fields["cronjob"]["name"], "backup");
        assert!(job("migrate-2").fields.get("cronjob").is_none());
        // A ReplicaSet without the pod-template-hash label: no guessed Deployment.
        let rs = PodMeta::from_pod(
            &pod(json!({ "metadata": { "name": "p", "ownerReferences": [
                { "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "r" }] } })),
            &filters(&[]),
        );
        assert!(rs.fields.get("deployment").is_none());
        // A pod with nothing but a name still gives fields, and no steering.
        let bare = PodMeta::from_pod(&pod(json!({ "metadata": { "name": "p" } })), &filters(&[]));
        assert_eq!(bare.steer("x"), Steer::default());
        let excluded = PodMeta::from_pod(
            &pod(json!({ "metadata": { "name": "p", "annotations": {
                "logship.io/exclude": "TRUE", "logship.io/exclude-sidecar": "false" } } })),
            &filters(&[]),
        );
        assert!(excluded.steer("app").exclude);
        assert!(!excluded.steer("sidecar").exclude);
    }
}
