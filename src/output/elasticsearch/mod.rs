//! `type: elasticsearch`: records to Elasticsearch or OpenSearch through `_bulk`. The files:
//! `config.rs` (options, checks), `encode.rs` (batch → request bodies), `service.rs` (send one
//! request), `classify.rs` (answer → done / retry / reject per record), `check.rs`
//! (`test-output`), `index.rs` (index name templates). This file sends a batch with them.
//!
//!
//! Every record is a `create` with a deterministic `_id` (encode.rs), so a record sent twice (the
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

pub mod check;
pub mod classify;
pub mod config;
pub mod encode;
pub mod index;
pub mod service;

use super::dead_letter::{DeadLetter, Rejected};
use super::hosts::Hosts;
use super::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use crate::tls::{TlsClient, TlsConfig};
use async_trait::async_trait;
use classify::{BulkError, Outcome};
use config::ElasticsearchOutputConfig;
use encode::{Indexer, Ready};
use index::IndexTemplate;
use reqwest::header::{HeaderMap, HeaderValue};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

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
        let client = service::client(cfg, tls.as_deref())?;
        let headers = service::headers(cfg)?;
        // `https://user:pass@es:9200`: the address keeps no credentials (so no message can show
        // them); they become that host's Authorization header unless `auth` is set.
        let (clean, mut creds) = service::split_hosts(&cfg.hosts);
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
        })
    }

    /// Sends one body, and at once to the next host while a host fails (one that fails is set
    /// aside for its backoff).
    async fn post_to_any(&self, body: bytes::Bytes) -> Result<Vec<u8>, BulkError> {
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
        answer
    }
}

#[async_trait]
impl Output for Elasticsearch {
    fn concurrency(&self) -> usize {
        self.hosts.len().max(1)
    }

    async fn send(&self, batch: &Arc<Batch>, todo: &mut Todo) -> Result<(), OutputError> {
        let docs: Vec<&[u8]> = batch.lines();
        let owed = todo.len();

        // Index and id of each record; a record without an index is rejected now.
        let mut rejected = Vec::new();
        let mut ready: Vec<Ready> = Vec::with_capacity(todo.len());
        let mut indexer = Indexer::new(&self.template);
        for &i in todo.indices() {
            let (Some(event), Some(doc)) = (batch.events.get(i), docs.get(i)) else {
                continue;
            };
            match indexer.index(event) {
                Ok(index) => ready.push((i, index, encode::id_of(event))),
                Err(reason) => rejected.push(Rejected {
                    record: doc,
                    status: 0,
                    reason,
                }),
            }
        }
        // Not written: `todo` stays, the batch comes back and these are rejected again.
        self.dead
            .write(&rejected)
            .map_err(|e| OutputError::new("dead_letter", e))?;
        // What is still owed after this attempt: none of the records yet.
        let mut retry: Vec<usize> = Vec::new();
        let mut retry_reason = String::new();
        let mut dead_letter_failed = None;
        // Requests of at most bulk_max_size records; one answered 413 is split in halves (a
        // single record too large for the server goes to the dead letters).
        let mut work: VecDeque<&[Ready]> = ready.chunks(self.cfg.bulk_max_size.max(1)).collect();
        while let Some(chunk) = work.pop_front() {
            // Bytes: a resend to the next host shares the buffer.
            let body = bytes::Bytes::from(encode::body(chunk, &docs, self.cfg.compression_level));
            let outcomes = match self.post_to_any(body).await {
                Ok(resp) => classify::read_response(&resp, chunk.len())
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
                    keep_only(todo, retry);
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
                        let Some(record) = docs.get(*i) else { continue };
                        rejected_at.push(*i);
                        rejected.push(Rejected {
                            record,
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
        let left = retry.len();
        keep_only(todo, retry);
        if let Some(e) = dead_letter_failed {
            return Err(OutputError::new("dead_letter", e));
        }
        if todo.is_empty() {
            return Ok(());
        }
        Err(OutputError::new(
            "throttled",
            format!(
                "{left} of {owed} records were answered {retry_reason}; sending only those again"
            ),
        ))
    }

    async fn check(&self) -> Result<String, OutputError> {
        self.check_hosts().await
    }
}

/// Narrows `todo` to the records in `left`.
fn keep_only(todo: &mut Todo, mut left: Vec<usize>) {
    left.sort_unstable();
    todo.retain(|i| left.binary_search(&i).is_ok());
}

impl std::fmt::Debug for Elasticsearch {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Elasticsearch({})", self.name)
    }
}
