//! `type: elasticsearch`: records to Elasticsearch or OpenSearch through `_bulk`.
//!
//! Every record is a `create` with a deterministic `_id` (bulk.rs), so a record sent twice (the
//! agent killed before its checkpoint, a response lost) is answered 409 and counted as done: no
//! duplicates. The response is read item by item: 429 and 5xx items are kept and only they are
//! sent again (after the output's backoff); other item errors (400 mapping errors, a missing
//! ingest pipeline) go to the dead-letter file and the stream goes on. A whole request answered
//! 429/5xx, 401/403, or not answered is retried with backoff on the next host.
//!
//! Versions: the same requests work on Elasticsearch 7 and 8 and OpenSearch 1 to 3. No `_type`
//! is ever sent (removed in 8; 7 defaults it to `_doc`); `_type` in 7's responses is ignored;
//! `create` is what data streams (7.9+) require; `GET /` answers with `version.distribution:
//! "opensearch"` on OpenSearch, which `test-output` reports.

pub mod bulk;
pub mod config;
pub mod index;

use super::dead_letter::{DeadLetter, Rejected};
use super::hosts::Hosts;
use super::{Output, OutputError};
use crate::pipeline::batch::Batch;
use crate::tls::TlsClient;
use crate::tls::TlsConfig;
use async_trait::async_trait;
use bulk::Outcome;
use config::ElasticsearchOutputConfig;
use index::{event_time, IndexTemplate};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Why a `hosts` entry is not usable, if it is not.
pub fn url_problem(h: &str, has_tls: bool) -> Option<String> {
    let h = &crate::secret::redact_url(h);
    if !h.contains("://") {
        return Some(format!(
            "{h} has no scheme: write http://{h} or https://{h}"
        ));
    }
    match reqwest::Url::parse(h) {
        Err(e) => Some(format!(
            "{h:?} is not a URL ({e}); expected e.g. https://es:9200"
        )),
        Ok(u) => match u.scheme() {
            "http" if has_tls => Some(format!(
                "{h}: `tls` is set but the URL is http://; use https://"
            )),
            "http" | "https" if u.host_str().is_some() => None,
            "http" | "https" => Some(format!("{h}: no host")),
            s => Some(format!("{h}: scheme `{s}` is not http or https")),
        },
    }
}

/// The error's causes, outermost first, without the URL-carrying top line.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// A short reason from an error response body (`error.type: error.reason`, or its start).
fn body_reason(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let e = &v["error"];
        if let (Some(t), Some(r)) = (e["type"].as_str(), e["reason"].as_str()) {
            return format!("{t}: {r}");
        }
        if let Some(s) = e.as_str() {
            return s.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

enum BulkError {
    /// Nothing of the request was done: retry it. Every whole-request failure is one (a 404 or
    /// 400 for the whole request is a proxy or a wrong path, not the records' fault: retried and
    /// reported, never dead-lettered in bulk).
    Retry(OutputError),
    /// 413: the request is larger than the server takes (`http.max_content_length`).
    TooLarge(OutputError),
}

pub struct Elasticsearch {
    name: String,
    cfg: ElasticsearchOutputConfig,
    /// Each host's address (without credentials) and the Authorization header its URL carried.
    hosts: Hosts<Option<HeaderValue>>,
    client: reqwest::Client,
    tls: Option<Arc<TlsClient>>,
    headers: HeaderMap,
    template: IndexTemplate,
    dead: DeadLetter,
    /// Records of a batch (by seq) still to send after an attempt that left some.
    pending: Mutex<HashMap<u64, Vec<usize>>>,
}

impl Elasticsearch {
    pub fn new(
        name: &str,
        cfg: &ElasticsearchOutputConfig,
        data_dir: &Path,
    ) -> Result<Elasticsearch, String> {
        let template = IndexTemplate::parse(&cfg.index).map_err(|e| format!("index: {e}"))?;
        let https = cfg.hosts.iter().any(|h| h.starts_with("https:"));
        let tls = match (&cfg.tls, https) {
            (Some(t), _) => Some(t.clone()),
            (None, true) => Some(TlsConfig::default()),
            (None, false) => None,
        };
        let tls = match tls {
            Some(t) => Some(Arc::new(TlsClient::build_one_line(&t)?)),
            None => None,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("logship/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = &tls {
            builder = builder.use_preconfigured_tls(t.client_config());
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", causes(&e)))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("headers: `{k}` is not a valid header name"))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| format!("headers.{k}: not a valid header value"))?;
            headers.insert(name, value);
        }
        if let Some(a) = &cfg.auth {
            let value = match (&a.username, &a.password, &a.api_key) {
                (_, _, Some(key)) => {
                    let key = key.expose();
                    // Elasticsearch hands out `id:key`; the header wants it base64-encoded.
                    let encoded = if key.contains(':') {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.encode(key)
                    } else {
                        key.to_string()
                    };
                    format!("ApiKey {encoded}")
                }
                (Some(u), p, None) => {
                    use base64::Engine;
                    let pair = format!("{u}:{}", p.as_ref().map(|p| p.expose()).unwrap_or(""));
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    )
                }
                _ => String::new(),
            };
            if !value.is_empty() {
                let mut v = HeaderValue::from_str(&value)
                    .map_err(|_| "auth: the credentials are not valid in a header".to_string())?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
        }
        // `https://user:pass@es:9200`: the address keeps no credentials (so no message can show
        // them); they become that host's Authorization header unless `auth` is set.
        let (clean, mut creds): (Vec<String>, Vec<Option<HeaderValue>>) = cfg
            .hosts
            .iter()
            .map(|h| {
                let (clean, pair) = crate::secret::split_credentials(h);
                let header = pair.and_then(|(u, p)| {
                    use base64::Engine;
                    let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                    let mut v = HeaderValue::from_str(&format!("Basic {b}")).ok()?;
                    v.set_sensitive(true);
                    Some(v)
                });
                (clean, header)
            })
            .unzip();
        creds.reverse();
        Ok(Elasticsearch {
            name: name.to_string(),
            hosts: Hosts::new(&clean, true, |_| creds.pop().flatten()),
            cfg: cfg.clone(),
            client,
            tls,
            headers,
            template,
            dead: DeadLetter::new(data_dir, name, cfg.dead_letter.max_size.0),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The request headers for a host: the configured ones, plus the credentials its URL had
    /// when `auth` does not set them.
    fn headers_for(&self, url_auth: &Option<HeaderValue>) -> HeaderMap {
        let mut h = self.headers.clone();
        if let Some(v) = url_auth {
            if !h.contains_key(AUTHORIZATION) {
                h.insert(AUTHORIZATION, v.clone());
            }
        }
        h
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<usize>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One line for a request that got no HTTP answer.
    fn explain(&self, host: &str, e: &reqwest::Error) -> OutputError {
        if let Some(t) = self.tls.as_ref().and_then(|t| t.explain_chain(e)) {
            return OutputError::new("tls", format!("{host}: TLS: {t}"));
        }
        if e.is_timeout() {
            return OutputError::new(
                "timeout",
                format!(
                    "{host}: no answer within {:?} (timeout)",
                    self.cfg.timeout.0
                ),
            );
        }
        let kind = if e.is_connect() { "connect" } else { "http" };
        let what = if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        OutputError::new(kind, format!("{host}: {what}: {}", causes(e)))
    }

    fn auth_failed(&self, host: &str, status: u16, body: &[u8]) -> OutputError {
        let how = match &self.cfg.auth {
            None => {
                "no credentials are configured (set auth.username + auth.password or auth.api_key)"
            }
            Some(a) if a.api_key.is_some() => "check auth.api_key",
            Some(_) => "check auth.username and auth.password",
        };
        let what = if status == 401 {
            "authentication failed (401)"
        } else {
            "not allowed (403): the user lacks the privileges to write these indices"
        };
        OutputError::new(
            "auth",
            format!("{host}: {what}: {how}; server said: {}", body_reason(body)),
        )
    }

    async fn post_bulk(&self, body: bytes::Bytes) -> Result<Vec<u8>, BulkError> {
        let host = self.hosts.pick();
        let url = format!("{}/_bulk", host.addr.trim_end_matches('/'));
        let mut req = self
            .client
            .post(&url)
            .headers(self.headers_for(&host.extra))
            .header(CONTENT_TYPE, "application/x-ndjson");
        if let Some(p) = &self.cfg.pipeline {
            req = req.query(&[("pipeline", p)]);
        }
        if self.cfg.compression_level > 0 {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                host.failed(self.cfg.backoff);
                return Err(BulkError::Retry(self.explain(&host.addr, &e)));
            }
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                host.failed(self.cfg.backoff);
                return Err(BulkError::Retry(self.explain(&host.addr, &e)));
            }
        };
        let addr = &host.addr;
        match status {
            200..=299 => {
                host.succeeded();
                Ok(body)
            }
            401 | 403 => {
                host.failed(self.cfg.backoff);
                Err(BulkError::Retry(self.auth_failed(addr, status, &body)))
            }
            429 => Err(BulkError::Retry(OutputError::new(
                "throttled",
                format!("{addr}: 429 Too Many Requests: {}", body_reason(&body)),
            ))),
            413 => Err(BulkError::TooLarge(OutputError::new(
                "http",
                format!(
                    "{addr}: 413 request too large for the server (its http.max_content_length)"
                ),
            ))),
            408 | 500..=599 => {
                host.failed(self.cfg.backoff);
                Err(BulkError::Retry(OutputError::new(
                    "http",
                    format!("{addr}: HTTP {status}: {}", body_reason(&body)),
                )))
            }
            s => {
                host.failed(self.cfg.backoff);
                Err(BulkError::Retry(OutputError::new(
                    "http",
                    format!(
                        "{addr}: HTTP {s} for the whole _bulk request (a proxy, or a wrong path in hosts?): {}",
                        body_reason(&body)
                    ),
                )))
            }
        }
    }

    fn encode(&self, body: Vec<u8>) -> Vec<u8> {
        if self.cfg.compression_level == 0 {
            return body;
        }
        let mut z = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::new(self.cfg.compression_level.min(9)),
        );
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&body);
        z.finish().unwrap_or_default()
    }
}

#[async_trait]
impl Output for Elasticsearch {
    fn concurrency(&self) -> usize {
        self.hosts.len().max(1)
    }

    async fn send(&self, batch: &Batch) -> Result<(), OutputError> {
        let docs: Vec<&[u8]> = batch.lines();
        let todo = self
            .pending()
            .remove(&batch.seq)
            .unwrap_or_else(|| (0..docs.len()).collect());

        // Index and id of each record; a record without an index is rejected now.
        let mut rejected = Vec::new();
        // Index names are shared (one allocation per distinct name and second, not per record).
        let mut ready: Vec<(usize, Arc<str>, Option<String>)> = Vec::with_capacity(todo.len());
        let mut last_day: Option<(String, Arc<str>)> = None;
        for &i in &todo {
            let (Some(event), Some(doc)) = (batch.events.get(i), docs.get(i)) else {
                continue;
            };
            let index: Result<Arc<str>, String> = if self.template.is_static() {
                match &last_day {
                    Some((_, name)) => Ok(name.clone()),
                    None => self.template.render(event, None).map(|n| {
                        let n: Arc<str> = n.into();
                        last_day = Some((String::new(), n.clone()));
                        n
                    }),
                }
            } else if !self.template.has_fields() {
                // Only a date: the same second gives the same name.
                let ts = event
                    .get("@timestamp")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let key = ts.get(..19).unwrap_or(ts);
                match &last_day {
                    Some((k, name)) if k == key && !key.is_empty() => Ok(name.clone()),
                    _ => {
                        let r: Result<Arc<str>, String> = self
                            .template
                            .render(event, event_time(event).as_ref())
                            .map(Arc::from);
                        if let Ok(name) = &r {
                            last_day = Some((key.to_string(), name.clone()));
                        }
                        r
                    }
                }
            } else {
                self.template
                    .render(event, event_time(event).as_ref())
                    .map(Arc::from)
            };
            match index {
                Ok(index) => {
                    let id = event.position.map(|p| {
                        let stream = event.get("stream").and_then(|m| m.as_str()).unwrap_or("");
                        bulk::doc_id(p.origin, p.start, stream.as_bytes())
                    });
                    ready.push((i, index, id));
                }
                Err(reason) => rejected.push(Rejected {
                    record: doc,
                    status: 0,
                    reason,
                }),
            }
        }
        let mut retry: Vec<usize> = Vec::new();
        let mut retry_reason = String::new();
        let mut dead_letter_failed = None;
        if let Err(e) = self.dead.write(&rejected) {
            // Not acknowledged: the batch comes back and these are rejected (and written) again.
            self.pending().insert(batch.seq, todo);
            return Err(OutputError::new("dead_letter", e));
        }
        // Requests of at most bulk_max_size records; one answered 413 is split in halves (a
        // single record too large for the server goes to the dead letters).
        type Item = (usize, Arc<str>, Option<String>);
        let mut work: std::collections::VecDeque<&[Item]> =
            ready.chunks(self.cfg.bulk_max_size.max(1)).collect();
        while let Some(chunk) = work.pop_front() {
            let mut body = Vec::new();
            for (i, index, id) in chunk.iter() {
                bulk::push_create(&mut body, index, id.as_deref(), docs[*i]);
            }
            // Bytes: a resend to the next host shares the buffer.
            let body = bytes::Bytes::from(self.encode(body));
            // A host that fails is set aside; the request goes to the next one at once.
            let mut answer = self.post_bulk(body.clone()).await;
            for _ in 1..self.hosts.len() {
                match &answer {
                    Err(BulkError::Retry(e)) => {
                        tracing::warn!(output = %self.name, error = %e, "host failed; trying the next");
                        answer = self.post_bulk(body.clone()).await;
                    }
                    _ => break,
                }
            }
            let outcomes = match answer {
                Ok(resp) => bulk::read_response(&resp, chunk.len())
                    .map_err(|m| OutputError::new("protocol", m)),
                Err(BulkError::TooLarge(_)) if chunk.len() > 1 => {
                    let (a, b) = chunk.split_at(chunk.len() / 2);
                    tracing::warn!(output = %self.name, records = chunk.len(),
                        "request too large (413); sending it in two halves");
                    work.push_front(b);
                    work.push_front(a);
                    continue;
                }
                Err(BulkError::TooLarge(e)) => Ok(vec![Outcome::Reject(413, e.message)]),
                Err(BulkError::Retry(e)) => Err(e),
            };
            let outcomes = match outcomes {
                Ok(o) => o,
                Err(e) => {
                    retry.extend(chunk.iter().map(|r| r.0));
                    retry.extend(work.iter().flat_map(|ch| ch.iter().map(|r| r.0)));
                    self.pending().insert(batch.seq, retry);
                    return Err(e);
                }
            };
            let mut rejected = Vec::new();
            let mut rejected_at = Vec::new();
            for ((i, _, _), outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    Outcome::Done => {}
                    Outcome::Retry(why) => {
                        retry.push(*i);
                        retry_reason = why;
                    }
                    Outcome::Reject(status, reason) => {
                        rejected_at.push(*i);
                        rejected.push(Rejected {
                            record: docs[*i],
                            status,
                            reason,
                        })
                    }
                }
            }
            if let Err(e) = self.dead.write(&rejected) {
                // Sent again, rejected again, and written then.
                retry.extend(rejected_at);
                dead_letter_failed = Some(e);
            }
        }
        if let Some(e) = dead_letter_failed {
            self.pending().insert(batch.seq, retry);
            return Err(OutputError::new("dead_letter", e));
        }
        if retry.is_empty() {
            return Ok(());
        }
        let msg = format!(
            "{} of {} records were answered {retry_reason}; sending only those again",
            retry.len(),
            todo.len()
        );
        self.pending().insert(batch.seq, retry);
        Err(OutputError::new("throttled", msg))
    }

    async fn check(&self) -> Result<String, OutputError> {
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
                    failed.push(self.explain(addr, &e));
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            if status == 401 || status == 403 {
                failed.push(self.auth_failed(addr, status, &body));
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

impl std::fmt::Debug for Elasticsearch {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Elasticsearch({})", self.name)
    }
}
