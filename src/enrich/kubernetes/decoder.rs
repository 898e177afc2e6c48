//! Pod metadata on the records of `cri` and `docker` files, and the pod annotations that steer
//! them: a decoder wrapper per file, on the tailer's thread, between the input's own decoder
//! and the processors (so `when:` conditions can use `kubernetes.labels.*`).
//!
//! The file's pod is looked up when the file opens and again only when the `PodStore` changed
//! (its generation moved): the metadata joins the file's shared fields once per change, not per
//! record. A record is read with the metadata known when it is read. Steering, from the pod's
//! `logship.io/*` annotations (see `meta::Steer`): `exclude` makes the records ack-only (their
//! offsets are still checkpointed), `multiline` and `parser: json` run the matching processors
//! on that container's records.

use super::meta::Steer;
use super::store::{FileKey, PodStore, View};
use crate::event::{Event, Fields, Shared};
use crate::process::config::{DecodeJsonConfig, MultilineConfig, MultilinePreset};
use crate::process::{Chain, Step};
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// The file's key, from its path, for the input types whose records belong to a pod.
fn key_of(input_type: &str, path: &Path) -> Option<FileKey> {
    match input_type {
        "cri" => {
            let p = crate::input::cri::pod_info(path)?;
            Some(FileKey {
                container_id: Some(p.container_id),
                pod_uid: p.pod_uid,
                namespace: Some(p.namespace),
                pod: Some(p.pod),
                container: Some(p.container),
            })
        }
        "docker" => Some(FileKey {
            container_id: Some(crate::input::docker::container_id(path)?),
            ..FileKey::default()
        }),
        _ => None,
    }
}

/// `decoders` with pod metadata and steering, for an input of `input_type` (others unchanged).
pub fn wrap(decoders: DecoderFactory, store: Arc<PodStore>, input_type: &str) -> DecoderFactory {
    if !matches!(input_type, "cri" | "docker") {
        return decoders;
    }
    let input_type = input_type.to_string();
    Arc::new(move |path: &Path| {
        let inner = decoders(path);
        match key_of(&input_type, path) {
            Some(key) => Box::new(PodDecoder {
                inner,
                store: store.clone(),
                key,
                seen: 0,
                view: None,
                merged: None,
                chain: None,
                scratch: Vec::new(),
            }),
            None => inner,
        }
    })
}

/// The processors a steer asks for.
fn steps(steer: &Steer) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(preset) = steer.multiline {
        let name = match preset {
            MultilinePreset::Java => "java",
            MultilinePreset::Python => "python",
            MultilinePreset::Go => "go",
        };
        let cfg: Option<MultilineConfig> = serde_json::from_value(json!({ "preset": name })).ok();
        if let Some(rule) =
            cfg.and_then(|c| crate::process::multiline::MultilineRule::build(&c).ok())
        {
            steps.push(Step::Multiline(rule));
        }
    }
    if steer.json {
        // As Fluent Bit's `Merge_Log`: the message's keys at the record's root.
        let cfg: Option<DecodeJsonConfig> =
            serde_json::from_value(json!({ "target": "", "add_error_key": true })).ok();
        if let Some(c) = cfg {
            steps.push(Step::DecodeJson(
                Arc::new(crate::process::decode_json::DecodeJson::new(c)),
                None,
            ));
        }
    }
    steps
}

struct PodDecoder {
    inner: Box<dyn LineDecoder>,
    store: Arc<PodStore>,
    key: FileKey,
    /// The store's generation `view` was looked up at (0: never).
    seen: u64,
    view: Option<Arc<View>>,
    /// The last (file's shared fields, with the view added) pair built.
    merged: Option<(Arc<Shared>, Arc<Shared>)>,
    /// The steering processors, when the pod asks for some.
    chain: Option<Chain>,
    scratch: Vec<Event>,
}

impl PodDecoder {
    /// Looks the pod up again if the store changed since; a changed steer first flushes what
    /// the previous processors held.
    fn refresh(&mut self, out: &mut Vec<Event>) {
        let generation = self.store.generation();
        if generation == self.seen {
            return;
        }
        self.seen = generation;
        let view = self.store.lookup(&self.key);
        let same = match (&self.view, &view) {
            (Some(a), Some(b)) => {
                a.kubernetes == b.kubernetes
                    && a.container_id == b.container_id
                    && a.steer == b.steer
            }
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        let old = self
            .view
            .as_ref()
            .map(|v| v.steer.clone())
            .unwrap_or_default();
        let new = view.as_ref().map(|v| v.steer.clone()).unwrap_or_default();
        if old != new {
            if let Some(chain) = &mut self.chain {
                chain.flush(true, out);
            }
            let steps = steps(&new);
            self.chain = (!steps.is_empty()).then(|| Chain::new(&steps));
        }
        self.view = view.map(Arc::new);
        self.merged = None;
    }

    /// The file's shared fields with the pod's metadata added.
    fn merge(view: &View, base: &Fields) -> Fields {
        let mut out = base.clone();
        out.insert("kubernetes".into(), view.kubernetes.clone());
        if let Some(id) = &view.container_id {
            let c = out
                .entry("container")
                .or_insert_with(|| Value::Object(Fields::new()));
            if let Value::Object(c) = c {
                c.entry("id").or_insert_with(|| Value::String(id.clone()));
            }
        }
        out
    }

    /// Enriches and steers what the decoder gave (in `scratch`) into `out`.
    fn finish(&mut self, out: &mut Vec<Event>) {
        self.refresh(out);
        let Some(view) = self.view.clone() else {
            out.append(&mut self.scratch);
            return;
        };
        if view.steer.exclude {
            for e in self.scratch.drain(..) {
                if let Some(p) = e.position {
                    out.push(Event::ack_only(p));
                }
            }
            return;
        }
        for ev in self.scratch.iter_mut() {
            if ev.ack_only {
                continue;
            }
            let Some(base) = ev.shared.clone() else {
                continue;
            };
            let merged = match &self.merged {
                Some((b, m)) if Arc::ptr_eq(b, &base) => m.clone(),
                _ => {
                    let m = Arc::new(Shared::new(Self::merge(&view, base.map())));
                    self.merged = Some((base, m.clone()));
                    m
                }
            };
            ev.shared = Some(merged);
        }
        match &mut self.chain {
            Some(chain) => chain.process(&mut self.scratch, out),
            None => out.append(&mut self.scratch),
        }
    }
}

impl LineDecoder for PodDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        self.inner.decode(line, file, &mut self.scratch);
        if !self.scratch.is_empty() {
            self.finish(out);
        }
    }

    fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        self.inner.flush(all, &mut self.scratch);
        if !self.scratch.is_empty() {
            self.finish(out);
        }
        if let Some(chain) = &mut self.chain {
            chain.flush(all, out);
        }
    }
}
