//! The `/status` report: per file (worst lag first) its identity, size, read and acknowledged
//! offsets, lag in bytes and seconds and the outputs holding its checkpoint back; per input its
//! state and totals; per output its state, batches owed, last success, last error and retries;
//! the spool's bytes; the agent's version, uptime and config path.

use crate::health::Health;
use crate::metrics::metrics;
use crate::pipeline::ledger::Ledger;
use crate::tail::checkpoint::CheckpointStore;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What the report is made from.
pub struct StatusSources {
    pub store: Arc<CheckpointStore>,
    pub ledger: Arc<Ledger>,
    pub health: Arc<Health>,
    /// (checkpoint key, name) of each input.
    pub inputs: Vec<(String, String)>,
    /// Output names, in index order.
    pub outputs: Vec<String>,
    pub config_path: PathBuf,
    pub started: Instant,
    pub started_at: SystemTime,
}

impl StatusSources {
    pub fn report(&self) -> Value {
        let held = self.ledger.held();
        let now = Instant::now();
        let mut files: Vec<Value> = Vec::new();
        let mut per_input: Map<String, Value> = Map::new();
        for (id, f) in self.store.status() {
            let input = self
                .inputs
                .iter()
                .find(|(key, _)| *key == f.input)
                .map_or(f.input.clone(), |(_, name)| name.clone());
            let lag_bytes = f.size.saturating_sub(f.acked);
            let h = held.get(&id);
            let lag_seconds = match h {
                Some(h) => Some(now.duration_since(h.oldest).as_secs_f64()),
                None if lag_bytes == 0 => Some(0.0),
                None => None,
            };
            let held_by: Vec<&str> = h
                .map(|h| {
                    h.by.iter()
                        .filter_map(|i| self.outputs.get(*i).map(String::as_str))
                        .collect()
                })
                .unwrap_or_default();
            // The path no longer names this file: deleted (or replaced) while still open.
            let deleted = match std::fs::metadata(&f.path) {
                Ok(m) => {
                    use std::os::unix::fs::MetadataExt;
                    (m.dev(), m.ino()) != (f.dev, f.ino)
                }
                Err(_) => true,
            };
            let entry = per_input
                .entry(input.clone())
                .or_insert_with(|| json!({ "files": 0, "lag_bytes": 0 }));
            entry["files"] = json!(entry["files"].as_u64().unwrap_or(0) + 1);
            entry["lag_bytes"] = json!(entry["lag_bytes"].as_u64().unwrap_or(0) + lag_bytes);
            files.push(json!({
                "input": input,
                "path": f.path,
                "identity": { "dev": f.dev, "ino": f.ino },
                "size": f.size,
                "read_offset": f.read,
                "acked_offset": f.acked,
                "lag_bytes": lag_bytes,
                "lag_seconds": lag_seconds,
                "held_by": held_by,
                "deleted": deleted,
            }));
        }
        files.sort_by(|a, b| {
            let key = |v: &Value| {
                (
                    v["lag_bytes"].as_u64().unwrap_or(0),
                    v["lag_seconds"].as_f64().unwrap_or(0.0),
                )
            };
            key(b)
                .partial_cmp(&key(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let (healthy, health) = self.health.report();
        let mut inputs = Map::new();
        if let Some(h) = health["inputs"].as_object() {
            for (name, v) in h {
                let mut v = v.clone();
                let totals = per_input
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| json!({ "files": 0, "lag_bytes": 0 }));
                v["files"] = totals["files"].clone();
                v["lag_bytes"] = totals["lag_bytes"].clone();
                inputs.insert(name.clone(), v);
            }
        }
        let owed = self.ledger.owed_by(self.outputs.len());
        let mut outputs = Map::new();
        for (i, name) in self.outputs.iter().enumerate() {
            let h = &health["outputs"][name];
            outputs.insert(
                name.clone(),
                json!({
                    "state": h["status"].as_str().unwrap_or("starting"),
                    "in_flight_batches": owed.get(i).copied().unwrap_or(0),
                    "last_success": h["last_success"],
                    "last_error": h["last_error"],
                    "failing_for_seconds": h["failing_for_seconds"],
                    "retries": h["retries"].as_u64().unwrap_or(0),
                }),
            );
        }
        let mut body = json!({
            "status": if healthy { "ok" } else { "unhealthy" },
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "started": crate::event::timestamp(self.started_at.into()),
            "config": self.config_path,
            "spool_bytes": metrics().spool_bytes.get(),
            "inputs": inputs,
            "outputs": outputs,
            "files": files,
        });
        if let Some(reason) = health.get("reason") {
            body["reason"] = reason.clone();
        }
        body
    }
}
