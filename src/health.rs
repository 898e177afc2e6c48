//! Health of each input and output, for `GET /health`: an output that has failed without a
//! success for longer than `http.max_failing` makes the agent unhealthy (503), and so does a
//! part of the agent that stopped when it should not have (`fatal`, set by the supervisor in
//! `crate::agent` just before the process exits 1).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

#[derive(Default)]
struct OutputState {
    failing_since: Option<Instant>,
    last_error: Option<String>,
    last_success: Option<SystemTime>,
    /// Failed attempts since the start.
    retries: u64,
}

pub struct Health {
    max_failing: Duration,
    inputs: Mutex<BTreeMap<String, &'static str>>,
    outputs: Mutex<BTreeMap<String, OutputState>>,
    fatal: Mutex<Option<String>>,
}

impl Health {
    pub fn new(max_failing: Duration) -> Health {
        Health {
            max_failing,
            inputs: Mutex::new(BTreeMap::new()),
            outputs: Mutex::new(BTreeMap::new()),
            fatal: Mutex::new(None),
        }
    }

    pub fn input(&self, name: &str, status: &'static str) {
        lock(&self.inputs).insert(name.to_string(), status);
    }

    pub fn output_ok(&self, name: &str) {
        let mut outs = lock(&self.outputs);
        let s = outs.entry(name.to_string()).or_default();
        s.failing_since = None;
        s.last_success = Some(SystemTime::now());
    }

    pub fn output_failed(&self, name: &str, error: &str) {
        let mut outs = lock(&self.outputs);
        let s = outs.entry(name.to_string()).or_default();
        s.failing_since.get_or_insert_with(Instant::now);
        s.last_error = Some(error.to_string());
        s.retries += 1;
    }

    /// A part of the agent stopped: unhealthy from now on, with `reason` in the report.
    pub fn fatal(&self, reason: &str) {
        lock(&self.fatal).get_or_insert_with(|| reason.to_string());
    }

    /// Liveness (`/live`): the process answers and none of its tasks or threads stopped. An
    /// output that is down does not count (that is `/health`): restarting the agent for it
    /// would only close the rotated files it keeps open.
    pub fn live(&self) -> (bool, Value) {
        match lock(&self.fatal).clone() {
            None => (true, json!({ "status": "alive" })),
            Some(reason) => (false, json!({ "status": "dead", "reason": reason })),
        }
    }

    /// (healthy, JSON body).
    pub fn report(&self) -> (bool, Value) {
        let fatal = lock(&self.fatal).clone();
        let mut healthy = fatal.is_none();
        let mut outputs = serde_json::Map::new();
        for (name, s) in lock(&self.outputs).iter() {
            let failing_for = s.failing_since.map(|t| t.elapsed());
            let status = match failing_for {
                Some(d) if d >= self.max_failing => {
                    healthy = false;
                    "failed"
                }
                Some(_) => "retrying",
                None => "ok",
            };
            outputs.insert(
                name.clone(),
                json!({
                    "status": status,
                    "failing_for_seconds": failing_for.map(|d| d.as_secs_f64()),
                    "last_error": s.last_error,
                    "last_success": s.last_success.map(|t| crate::event::timestamp(t.into())),
                    "retries": s.retries,
                }),
            );
        }
        let inputs: serde_json::Map<String, Value> = lock(&self.inputs)
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "status": v })))
            .collect();
        let mut body = json!({
            "status": if healthy { "ok" } else { "unhealthy" },
            "inputs": inputs,
            "outputs": outputs,
        });
        if let Some(reason) = fatal {
            body["reason"] = Value::String(reason);
        }
        (healthy, body)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
