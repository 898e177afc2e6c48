//! A Kubernetes API server stand-in (no kube-apiserver can be installed here): HTTPS with a test
//! CA, bearer tokens, and the real list and watch protocol for pods and namespaces as kube-rs
//! (and client-go) use it: `GET /api/v1/pods` and `/api/v1/namespaces/<ns>/pods` with
//! `fieldSelector=spec.nodeName=<node>`, lists carrying `metadata.resourceVersion`, watches from
//! a resourceVersion as chunked JSON lines (`ADDED`/`MODIFIED`/`DELETED`, `BOOKMARK` when
//! asked), an `ERROR` event with a 410 Status when the version was compacted away, the watch
//! ended after `timeoutSeconds`. The objects are built from the k8s-openapi types, so the JSON
//! is the real shape.
//!
//! The test drives it: add, change and delete pods, compact the history (the next watch from an
//! older version gets 410 Gone), go down (connections refused, watches cut) and back, change
//! the accepted token.
#![allow(dead_code)]

use super::certs;
use super::server::handshake;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Namespace, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Pod,
    Namespace,
}

struct Change {
    rv: u64,
    kind: Kind,
    what: &'static str,
    object: Value,
}

#[derive(Default)]
struct State {
    rv: u64,
    pods: BTreeMap<(String, String), Value>,
    namespaces: BTreeMap<String, Value>,
    history: Vec<Change>,
    /// Watches from a version below this get 410 Gone.
    compacted: u64,
    tokens: Vec<String>,
    down: bool,
    /// Slow: requests are answered only once this is false again.
    slow: bool,
    /// Bumped when going down: running watches end.
    epoch: u64,
    /// Request lines seen (`GET /api/v1/pods?...`), with `401` appended when refused, and
    /// `410 <target>` for each watch answered 410 Gone.
    requests: Vec<String>,
}

pub struct KubeApi {
    pub url: String,
    pub ca_file: PathBuf,
    pub token_file: PathBuf,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.state.1.notify_all();
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    serde_json::to_value(Status {
        code: Some(code.into()),
        reason: Some(reason.into()),
        message: Some(message.into()),
        status: Some("Failure".into()),
        ..Status::default()
    })
    .expect("status json")
    .as_object()
    .cloned()
    .map(|mut m| {
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        Value::Object(m)
    })
    .expect("status object")
}

fn query(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let params = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            (k.to_string(), v)
        })
        .collect();
    (path.to_string(), params)
}

/// Which objects a request is about: pods (all, or of a namespace) or namespaces.
fn route(path: &str) -> Option<(Kind, Option<String>)> {
    match path.trim_end_matches('/') {
        "/api/v1/pods" => Some((Kind::Pod, None)),
        "/api/v1/namespaces" => Some((Kind::Namespace, None)),
        p => {
            let ns = p
                .strip_prefix("/api/v1/namespaces/")?
                .strip_suffix("/pods")?;
            Some((Kind::Pod, Some(ns.to_string())))
        }
    }
}

/// Whether `object` passes the request's namespace and `spec.nodeName` field selector.
fn selected(object: &Value, ns: &Option<String>, params: &BTreeMap<String, String>) -> bool {
    if let Some(ns) = ns {
        if object["metadata"]["namespace"].as_str() != Some(ns) {
            return false;
        }
    }
    match params.get("fieldSelector") {
        Some(sel) => sel.split(',').all(|term| match term.split_once('=') {
            Some(("spec.nodeName", node)) => object["spec"]["nodeName"].as_str() == Some(node),
            _ => true,
        }),
        None => true,
    }
}

fn respond(stream: &mut dyn Write, code: u16, body: &Value) {
    let text = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

fn chunk(stream: &mut dyn Write, line: &Value) -> bool {
    let mut text = line.to_string();
    text.push('\n');
    write!(stream, "{:x}\r\n{text}\r\n", text.len()).is_ok() && stream.flush().is_ok()
}

impl KubeApi {
    /// Serves on 127.0.0.1 with a CA and a token written under `dir`.
    pub fn start(dir: &std::path::Path) -> KubeApi {
        let ca = certs::ca(dir, "kube-ca");
        let server = certs::issue(
            dir,
            &ca,
            "kube-apiserver",
            &["127.0.0.1", "localhost"],
            false,
            certs::Validity::Now,
        );
        let tls = super::beats::server_config(&super::beats::ServerTls {
            cert: server.cert.clone(),
            key: server.key.clone(),
            client_ca: None,
            tls12_only: false,
        });
        let token_file = dir.join("token");
        std::fs::write(&token_file, "token-1").expect("token file");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind api");
        let url = format!("https://{}", listener.local_addr().expect("addr"));
        let state = Arc::new((
            Mutex::new(State {
                rv: 100,
                tokens: vec!["token-1".into()],
                ..State::default()
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        super::server::accept_loop(listener, stop.clone(), move |tcp| {
            let (st, sp, tls) = (st.clone(), sp.clone(), tls.clone());
            std::thread::spawn(move || serve(tcp, tls, st, sp));
        });
        KubeApi {
            url,
            ca_file: ca.cert_path.clone(),
            token_file,
            state,
            stop,
        }
    }

    fn change(&self, f: impl FnOnce(&mut State) -> Option<(Kind, &'static str, Value)>) {
        let (m, cv) = &*self.state;
        let mut s = m.lock().unwrap();
        s.rv += 1;
        let rv = s.rv;
        if let Some((kind, what, mut object)) = f(&mut s) {
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            match kind {
                Kind::Pod => {
                    let key = (
                        object["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        object["metadata"]["name"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    );
                    if what == "DELETED" {
                        s.pods.remove(&key);
                    } else {
                        s.pods.insert(key, object.clone());
                    }
                }
                Kind::Namespace => {
                    let key = object["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    s.namespaces.insert(key, object.clone());
                }
            }
            s.history.push(Change {
                rv,
                kind,
                what,
                object,
            });
        }
        cv.notify_all();
    }

    /// Adds or replaces a pod (ADDED or MODIFIED to the watches).
    pub fn put_pod(&self, pod: &Pod) {
        let mut object = serde_json::to_value(pod).expect("pod json");
        object["kind"] = json!("Pod");
        object["apiVersion"] = json!("v1");
        self.change(|s| {
            let key = (
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                object["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            let what = if s.pods.contains_key(&key) {
                "MODIFIED"
            } else {
                "ADDED"
            };
            Some((Kind::Pod, what, object))
        });
    }

    pub fn delete_pod(&self, namespace: &str, name: &str) {
        self.change(|s| {
            let object = s.pods.get(&(namespace.into(), name.into()))?.clone();
            Some((Kind::Pod, "DELETED", object))
        });
    }

    pub fn put_namespace(&self, name: &str, labels: &[(&str, &str)]) {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let mut object = serde_json::to_value(&ns).expect("ns json");
        object["kind"] = json!("Namespace");
        object["apiVersion"] = json!("v1");
        self.change(|s| {
            let what = if s.namespaces.contains_key(name) {
                "MODIFIED"
            } else {
                "ADDED"
            };
            Some((Kind::Namespace, what, object))
        });
    }

    /// Forgets the history: a watch from any version seen so far gets 410 Gone.
    pub fn compact(&self) {
        let mut s = self.state.0.lock().unwrap();
        s.compacted = s.rv;
        s.history.clear();
    }

    /// Down: connections are closed unanswered and running watches end. Up again with false.
    pub fn set_down(&self, down: bool) {
        let mut s = self.state.0.lock().unwrap();
        s.down = down;
        s.epoch += 1;
        self.state.1.notify_all();
    }

    /// Slow: requests wait for their answer until `set_slow(false)`.
    pub fn set_slow(&self, slow: bool) {
        self.state.0.lock().unwrap().slow = slow;
        self.state.1.notify_all();
    }

    /// The tokens accepted from now on.
    pub fn accept_tokens(&self, tokens: &[&str]) {
        let mut s = self.state.0.lock().unwrap();
        s.tokens = tokens.iter().map(|t| t.to_string()).collect();
        s.epoch += 1;
        self.state.1.notify_all();
    }

    /// The request lines seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.0.lock().unwrap().requests.clone()
    }
}

fn serve(
    tcp: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
) {
    if state.0.lock().unwrap().down {
        return;
    }
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(stream) = handshake(tcp, Some(tls)) else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut token = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                token = value.trim().strip_prefix("Bearer ").map(str::to_string);
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let stream = reader.get_mut();
    let (path, params) = query(target);
    let (epoch, authorized) = {
        let mut s = state.0.lock().unwrap();
        while s.slow && !stop.load(Ordering::SeqCst) {
            s = state
                .1
                .wait_timeout(s, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        let ok = token.as_ref().is_some_and(|t| s.tokens.contains(t));
        s.requests
            .push(format!("{method} {target}{}", if ok { "" } else { " 401" }));
        (s.epoch, ok)
    };
    if !authorized {
        respond(stream, 401, &status(401, "Unauthorized", "Unauthorized"));
        return;
    }
    let Some((kind, ns)) = route(&path).filter(|_| method == "GET") else {
        respond(
            stream,
            404,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
        return;
    };
    let watch = matches!(params.get("watch").map(String::as_str), Some("true" | "1"));
    if !watch {
        let s = state.0.lock().unwrap();
        let objects: Vec<Value> = match kind {
            Kind::Pod => s
                .pods
                .values()
                .filter(|o| selected(o, &ns, &params))
                .cloned()
                .collect(),
            Kind::Namespace => s.namespaces.values().cloned().collect(),
        };
        let list_kind = if kind == Kind::Pod {
            "PodList"
        } else {
            "NamespaceList"
        };
        let body = json!({
            "kind": list_kind, "apiVersion": "v1",
            "metadata": { "resourceVersion": s.rv.to_string() },
            "items": objects,
        });
        drop(s);
        respond(stream, 200, &body);
        return;
    }
    let from: u64 = params
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(290u64);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let gone = {
        let mut s = state.0.lock().unwrap();
        let gone = from < s.compacted;
        if gone {
            s.requests.push(format!("410 {target}"));
        }
        gone
    };
    if gone {
        let _ = chunk(
            stream,
            &json!({ "type": "ERROR", "object": status(410, "Expired", &format!("too old resource version: {from}")) }),
        );
        let _ = write!(stream, "0\r\n\r\n");
        return;
    }
    let ends = Instant::now() + Duration::from_secs(timeout);
    let mut sent = from;
    let mut last_bookmark = Instant::now();
    let (m, cv) = &*state;
    loop {
        let mut lines = Vec::new();
        {
            let mut s = m.lock().unwrap();
            if s.down || s.epoch != epoch || stop.load(Ordering::SeqCst) || Instant::now() >= ends {
                break;
            }
            let from = sent;
            for c in s.history.iter().filter(|c| c.rv > from && c.kind == kind) {
                if kind == Kind::Namespace || selected(&c.object, &ns, &params) {
                    lines.push(json!({ "type": c.what, "object": c.object }));
                }
                sent = c.rv;
            }
            if lines.is_empty() && bookmarks && last_bookmark.elapsed() >= Duration::from_secs(1) {
                last_bookmark = Instant::now();
                let k = if kind == Kind::Pod {
                    "Pod"
                } else {
                    "Namespace"
                };
                lines.push(json!({ "type": "BOOKMARK", "object": {
                    "kind": k, "apiVersion": "v1",
                    "metadata": { "resourceVersion": s.rv.to_string() } } }));
            }
            if lines.is_empty() {
                s = cv.wait_timeout(s, Duration::from_millis(100)).unwrap().0;
                drop(s);
                continue;
            }
        }
        for l in &lines {
            if !chunk(stream, l) {
                return;
            }
        }
    }
    let _ = write!(stream, "0\r\n\r\n");
    let _ = stream.flush();
}

/// A container of a test pod: name, image, and its id in the runtime (64 hex).
pub struct PodContainer<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub id: &'a str,
}

/// A pod as the API shows it once it runs on `node`.
pub fn pod(
    namespace: &str,
    name: &str,
    uid: &str,
    node: &str,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    containers: &[PodContainer<'_>],
) -> Pod {
    let map = |kv: &[(&str, &str)]| {
        Some(
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: Some(uid.into()),
            labels: map(labels),
            annotations: map(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            containers: containers
                .iter()
                .map(|c| Container {
                    name: c.name.into(),
                    image: Some(c.image.into()),
                    ..Container::default()
                })
                .collect(),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            pod_ip: Some("10.1.2.3".into()),
            phase: Some("Running".into()),
            container_statuses: Some(
                containers
                    .iter()
                    .map(|c| ContainerStatus {
                        name: c.name.into(),
                        container_id: Some(format!("containerd://{}", c.id)),
                        image: c.image.into(),
                        ready: true,
                        ..ContainerStatus::default()
                    })
                    .collect(),
            ),
            ..PodStatus::default()
        }),
    }
}

/// `pod` as it shows on a node whose runtime is Docker (`docker://<id>` container ids).
pub fn on_docker(mut p: Pod) -> Pod {
    for c in p
        .status
        .iter_mut()
        .flat_map(|s| s.container_statuses.iter_mut().flatten())
    {
        c.container_id = c
            .container_id
            .as_ref()
            .map(|id| id.replace("containerd://", "docker://"));
    }
    p
}

/// `pod` owned by a ReplicaSet of Deployment `deployment` (with its pod-template-hash label).
pub fn owned_by_deployment(mut p: Pod, deployment: &str, hash: &str) -> Pod {
    p.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert("pod-template-hash".into(), hash.into());
    p.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: format!("{deployment}-{hash}"),
        uid: "rs-uid".into(),
        controller: Some(true),
        ..OwnerReference::default()
    }]);
    p
}
