//! The real peer for the elasticsearch output: osmem-server, an independent in-memory server of
//! the OpenSearch API (`pip install osmem-server`, which scripts/test.sh does). Started per test
//! on a free port, stopped on drop (and when the test process goes away).
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Osmem {
    pub url: String,
    pub addr: String,
    child: Child,
}

fn binary() -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import osmem_server; print(osmem_server.resolve_binary())",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => panic!(
            "osmem-server is not installed: run ./scripts/test.sh (or `python3 -m pip install osmem-server`)"
        ),
    }
}

impl Osmem {
    pub fn start() -> Osmem {
        let addr = format!("127.0.0.1:{}", super::free_port());
        let child = Command::new(binary())
            .args(["-addr", &addr, "-no-stdin-watch", "-no-ja", "-parent-pid"])
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start osmem-server");
        let o = Osmem {
            url: format!("http://{addr}"),
            addr: addr.clone(),
            child,
        };
        super::wait_for(Duration::from_secs(20), "osmem-server to answer", || {
            super::http_get(&addr, "/").is_some_and(|(s, _)| s == 200)
        });
        o
    }

    pub fn get(&self, path: &str) -> Value {
        let (_, body) = super::http_get(&self.addr, path).unwrap_or_default();
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Documents in `index` (a name or pattern); 0 when it does not exist.
    pub fn count(&self, index: &str) -> u64 {
        self.get(&format!("/{index}/_count"))["count"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Up to `size` documents of `index` (their `_source`, with `_id` and `_index` added).
    pub fn docs(&self, index: &str, size: usize) -> Vec<Value> {
        let r = self.get(&format!("/{index}/_search?size={size}"));
        r["hits"]["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .map(|h| {
                        let mut s = h["_source"].clone();
                        s["_id"] = h["_id"].clone();
                        s["_index"] = h["_index"].clone();
                        s
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Osmem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
