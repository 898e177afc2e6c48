//! `type: cloudwatch`: records to AWS CloudWatch Logs with the AWS SDK, so the whole credential
//! chain works (environment, shared profile, web identity / IRSA, ECS and EC2 instance metadata
//! with IMDSv2).
//!
//! Each record (its JSON) goes to the group and stream its templates name (names.rs). Per
//! stream, the records are sorted by `@timestamp` and cut into PutLogEvents calls within the
//! service limits (limits.rs); an event over 256 KiB has its `message` cut and is flagged
//! `truncated` in `log.flags`. Streams of a batch are sent concurrently, one call at a time
//! each (the output takes one batch at a time). Records of accepted calls leave the batch's
//! `Todo` (kept by the worker), so a retried batch sends only the rest. Events the service rejects as too old, too new or past
//! the retention go to the dead-letter file with the reason. Throttling, unavailability and
//! network errors are retried with backoff; a missing group or stream is (re)created when
//! `create_missing` is on.
//!
//! The files: `config.rs` (options, checks), `encode.rs` (batch → calls: `names.rs`,
//! `limits.rs`), `service.rs` (client, create group and stream, send one call), `classify.rs`
//! (errors as one line, rejected events), `check.rs` (`test-output`). This file sends a batch.

pub mod check;
pub mod classify;
pub mod config;
pub mod encode;
pub mod limits;
pub mod names;
pub mod service;

use super::dead_letter::{DeadLetter, Rejected};
use super::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use config::CloudwatchOutputConfig;
use names::NameTemplate;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub use classify::rejected_events;

/// Streams of one batch sent at once (each stream's calls stay in order).
const STREAMS_AT_ONCE: usize = 8;

pub struct Cloudwatch {
    cfg: CloudwatchOutputConfig,
    group: NameTemplate,
    stream: NameTemplate,
    client: OnceCell<Client>,
    dead: DeadLetter,
    /// Groups and streams known to exist (created or used successfully).
    known_groups: Mutex<HashSet<String>>,
    known_streams: Mutex<HashSet<(String, String)>>,
}

impl Cloudwatch {
    pub fn new(
        name: &str,
        cfg: &CloudwatchOutputConfig,
        data_dir: &Path,
    ) -> Result<Cloudwatch, String> {
        Ok(Cloudwatch {
            group: NameTemplate::parse(&cfg.log_group).map_err(|e| format!("log_group: {e}"))?,
            stream: NameTemplate::parse(&cfg.log_stream).map_err(|e| format!("log_stream: {e}"))?,
            cfg: cfg.clone(),
            client: OnceCell::new(),
            dead: DeadLetter::new(data_dir, name, cfg.dead_letter.max_size.0),
            known_groups: Mutex::new(HashSet::new()),
            known_streams: Mutex::new(HashSet::new()),
        })
    }
}

#[async_trait]
impl Output for Cloudwatch {
    async fn send(&self, batch: &Arc<Batch>, todo: &mut Todo) -> Result<(), OutputError> {
        let docs: Vec<&[u8]> = batch.lines();
        let (calls, messages) =
            encode::calls(&batch.events, &docs, todo, &self.group, &self.stream);
        // Streams concurrently, each stream's calls in order.
        let mut by_stream: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (n, c) in calls.iter().enumerate() {
            by_stream.entry((&c.group, &c.stream)).or_default().push(n);
        }
        // At most STREAMS_AT_ONCE streams at a time, however many a batch touches.
        use futures_util::stream::StreamExt;
        let results: Vec<_> = futures_util::stream::iter(by_stream.into_values().map(|nums| {
            let calls = &calls;
            let messages = &messages;
            async move {
                let mut ok = Vec::new();
                let mut rejected = Vec::new();
                for n in nums {
                    let Some(call) = calls.get(n) else { continue };
                    match self.put(call, messages).await {
                        Ok(r) => {
                            ok.push(n);
                            rejected.extend(r);
                        }
                        Err(e) => return (ok, rejected, Some(e)),
                    }
                }
                (ok, rejected, None)
            }
        }))
        .buffer_unordered(STREAMS_AT_ONCE)
        .collect()
        .await;
        let mut accepted = HashSet::new();
        let mut first_error = None;
        let mut rejected = Vec::new();
        for (ok, r, err) in results {
            for n in ok {
                if let Some(call) = calls.get(n) {
                    accepted.extend(call.events.iter().map(|&(_, i)| i));
                }
            }
            rejected.extend(r);
            if first_error.is_none() {
                first_error = err;
            }
        }
        let dead: Vec<Rejected> = rejected
            .iter()
            .filter_map(|(i, reason)| {
                Some(Rejected {
                    record: docs.get(*i)?,
                    status: 0,
                    reason: reason.clone(),
                })
            })
            .collect();
        let dead_letter = self.dead.write(&dead);
        if dead_letter.is_err() {
            // Not written: those records stay owed; sent again, they are rejected again and
            // written then.
            for (i, _) in &rejected {
                accepted.remove(i);
            }
        }
        todo.retain(|i| !accepted.contains(&i));
        if let Err(e) = dead_letter {
            return Err(OutputError::new("dead_letter", e));
        }
        match first_error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    async fn check(&self) -> Result<String, OutputError> {
        self.check_region().await
    }
}
