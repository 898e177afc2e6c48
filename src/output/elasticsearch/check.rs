//! What `test-output` runs: `GET /` on every host, with the same headers and TLS as the
//! requests; the cluster name, the product (Elasticsearch or OpenSearch) and version, or one
//! line per host that failed (no answer, 401/403 with the setting to check, not Elasticsearch).

use super::classify::{auth_failed, body_reason};
use super::Elasticsearch;
use crate::output::OutputError;

impl Elasticsearch {
    /// `GET /` on every host: what each one is, or why it failed.
    pub(super) async fn check_hosts(&self) -> Result<String, OutputError> {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for host in self.hosts.all() {
            let addr = &host.addr;
            let resp = match self
                .client
                .get(addr)
                .headers(self.headers_for(&host.extra))
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    failed.push(self.explain_failure(addr, &e).await);
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            if status == 401 || status == 403 {
                failed.push(auth_failed(addr, status, &body, &self.cfg.auth));
                continue;
            }
            let info: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            match info["version"]["number"].as_str() {
                Some(v) if status == 200 => {
                    let product = if info["version"]["distribution"] == "opensearch" {
                        "OpenSearch"
                    } else {
                        "Elasticsearch"
                    };
                    let cluster = info["cluster_name"].as_str().unwrap_or("?");
                    ok.push(format!("{addr}: cluster {cluster}, {product} {v}"));
                }
                _ => failed.push(OutputError::new(
                    "http",
                    format!(
                        "{addr}: not Elasticsearch: GET / answered HTTP {status}: {}",
                        body_reason(&body)
                    ),
                )),
            }
        }
        if failed.is_empty() {
            Ok(ok.join("; "))
        } else {
            let kind = failed[0].kind;
            Err(OutputError::new(
                kind,
                failed
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ))
        }
    }
}
