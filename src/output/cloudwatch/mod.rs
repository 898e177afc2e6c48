//! `type: cloudwatch`: records to AWS CloudWatch Logs with the AWS SDK, so the whole credential
//! chain works (environment, shared profile, web identity / IRSA, ECS and EC2 instance metadata
//! with IMDSv2).
//!
//! Each record (its JSON) goes to the group and stream its templates name (names.rs). Per
//! stream, the records are sorted by `@timestamp` and cut into PutLogEvents calls within the
//! service limits (limits.rs); an event over 256 KiB has its `message` cut and is flagged
//! `truncated` in `log.flags`. Streams of a batch are sent concurrently, one call at a time
//! each (the output takes one batch at a time). Calls already accepted are remembered, so a
//! retried batch sends only the rest. Events the service rejects as too old, too new or past
//! the retention go to the dead-letter file with the reason. Throttling, unavailability and
//! network errors are retried with backoff; a missing group or stream is (re)created when
//! `create_missing` is on.

pub mod config;
pub mod limits;
pub mod names;

use super::dead_letter::{DeadLetter, Rejected};
use super::{Output, OutputError};
use crate::event::Event;
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use config::CloudwatchOutputConfig;
use names::NameTemplate;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use tokio::sync::OnceCell;

/// One PutLogEvents call of a batch: its stream and the records in it, in time order.
struct Call {
    group: String,
    stream: String,
    /// (timestamp ms, record index)
    events: Vec<(i64, usize)>,
}

pub struct Cloudwatch {
    cfg: CloudwatchOutputConfig,
    group: NameTemplate,
    stream: NameTemplate,
    client: OnceCell<Client>,
    dead: DeadLetter,
    /// Groups and streams known to exist (created or used successfully).
    known_groups: Mutex<HashSet<String>>,
    known_streams: Mutex<HashSet<(String, String)>>,
    /// Calls of a batch (by batch seq) already accepted, by call number.
    done: Mutex<HashMap<u64, HashSet<usize>>>,
    /// Per batch: events CloudWatch rejected whose dead-letter write failed (written on retry).
    owed: Mutex<HashMap<u64, Vec<(usize, String)>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The record's `@timestamp` in ms since the epoch (now when it has none).
/// The events of one call (`(timestamp ms, index in the batch)`, in call order) that
/// `rejectedLogEventsInfo` names, with the reason, from its three indices (any may be absent,
/// negative or past the end: they are clamped).
///
/// The reference calls the end indices "exclusive"; some implementations (moto) report the last
/// too-old event instead. The event at the index is taken as too old only if its own timestamp
/// says so, so neither reading drops a good event or keeps a rejected one unreported.
pub fn rejected_events(
    events: &[(i64, usize)],
    too_old_end: Option<i32>,
    expired_end: Option<i32>,
    too_new_start: Option<i32>,
    now_ms: i64,
) -> Vec<(usize, String)> {
    let n = events.len();
    let old_before = now_ms.saturating_sub(14 * 24 * 3600 * 1000);
    let upto = |v: Option<i32>, old: bool| {
        v.map(|x| {
            let x = usize::try_from(x.max(0)).unwrap_or(0).min(n);
            let at_is_old = events.get(x).is_some_and(|e| e.0 < old_before);
            if old && at_is_old {
                x + 1
            } else {
                x
            }
        })
    };
    let mut rejected: Vec<(usize, String)> = Vec::new();
    if let Some(end) = upto(too_old_end, true) {
        for &(_, i) in events.iter().take(end) {
            rejected.push((i, "rejected by CloudWatch: too old (more than 14 days before now, or older than the group's retention)".to_string()));
        }
    }
    if let Some(end) = upto(expired_end, false) {
        for &(_, i) in events.iter().take(end) {
            if !rejected.iter().any(|(j, _)| *j == i) {
                rejected.push((
                    i,
                    "rejected by CloudWatch: expired (older than the log group's retention)"
                        .to_string(),
                ));
            }
        }
    }
    if let Some(start) = upto(too_new_start, false) {
        for &(_, i) in events.iter().skip(start) {
            rejected.push((
                i,
                "rejected by CloudWatch: too new (more than 2 hours in the future)".to_string(),
            ));
        }
    }
    rejected
}

/// Streams of one batch sent at once (each stream's calls stay in order).
const STREAMS_AT_ONCE: usize = 8;
/// Groups and streams remembered as existing; past this the memory starts over (one
/// `Create*` answered "already exists" per name brings it back).
const KNOWN_MAX: usize = 10_000;

/// Adds `key` to a bounded set of names known to exist.
fn remember<K: std::hash::Hash + Eq>(set: &mut HashSet<K>, key: K) {
    if set.len() >= KNOWN_MAX {
        set.clear();
    }
    set.insert(key);
}

fn timestamp_ms(e: &Event) -> i64 {
    e.get("@timestamp")
        .and_then(|v| v.as_str())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

/// The record's JSON, cut to fit one event: `message` shortened and `truncated` flagged.
fn message_of(event: &Event, doc: &[u8]) -> String {
    let limit = limits::MAX_EVENT_BYTES - limits::EVENT_OVERHEAD;
    if doc.len() <= limit {
        return String::from_utf8_lossy(doc).into_owned();
    }
    let mut e = event.clone();
    if let Some(m) = e.get("message").and_then(|m| m.as_str()).map(str::to_owned) {
        let excess = doc.len() - limit + 64;
        let mut keep = m.len().saturating_sub(excess);
        while !m.is_char_boundary(keep) {
            keep -= 1;
        }
        e.set("message", serde_json::Value::String(m[..keep].to_string()));
        e.add_flag("truncated");
    }
    let mut out = Vec::new();
    e.write_json(&mut out);
    if out.len() > limit {
        // Other fields are that large: the event is cut as bytes.
        let mut end = limit;
        while end > 0 && (out[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        out.truncate(end);
    }
    String::from_utf8_lossy(&out).into_owned()
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
            done: Mutex::new(HashMap::new()),
            owed: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                use aws_smithy_http_client::tls;
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let mut loader =
                    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
                if let Some(r) = &self.cfg.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                let sdk = loader.load().await;
                let mut b = aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_timeout(self.cfg.timeout.0)
                            .build(),
                    );
                if let Some(e) = self.cfg.endpoint.as_deref().filter(|e| !e.is_empty()) {
                    b = b.endpoint_url(e);
                }
                Client::from_conf(b.build())
            })
            .await
    }

    /// One line for a failed call: the service's code and message, an HTTP status that says
    /// "credentials", or the chain of causes (no credentials, no region, network).
    fn explain<E>(&self, what: &str, e: &SdkError<E, HttpResponse>) -> OutputError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let code = e.code().unwrap_or("");
        let message = e.message().unwrap_or("");
        let auth_codes = [
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "AccessDeniedException",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "IncompleteSignature",
            "MissingAuthenticationToken",
        ];
        if auth_codes.contains(&code) || matches!(status, Some(401 | 403)) {
            let code = if code.is_empty() { "HTTP 403" } else { code };
            return OutputError::new(
                "auth",
                format!(
                    "{what}: the credentials were refused ({code}{}{message}): check the access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the profile, or the IRSA role) and that the clock is right",
                    if message.is_empty() { "" } else { ": " }
                ),
            );
        }
        match e {
            SdkError::ServiceError(_) => {
                let kind = if code.contains("Throttl") || code == "ServiceUnavailableException" {
                    "throttled"
                } else {
                    "http"
                };
                OutputError::new(kind, format!("{what}: {code}: {message}"))
            }
            SdkError::TimeoutError(_) => OutputError::new(
                "timeout",
                format!(
                    "{what}: no answer within {:?} (timeout)",
                    self.cfg.timeout.0
                ),
            ),
            other => OutputError::new("connect", format!("{what}: {}", DisplayErrorContext(other))),
        }
    }

    /// Creates the group (and sets its retention) and the stream unless known to exist.
    async fn ensure(&self, group: &str, stream: &str) -> Result<(), OutputError> {
        if !self.cfg.create_missing {
            return Ok(());
        }
        let client = self.client().await;
        if !lock(&self.known_groups).contains(group) {
            match client.create_log_group().log_group_name(group).send().await {
                Ok(_) => tracing::info!(group, "created log group"),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
                Err(e) => return Err(self.explain(&format!("CreateLogGroup {group}"), &e)),
            }
            if let Some(days) = self.cfg.retention_days {
                client
                    .put_retention_policy()
                    .log_group_name(group)
                    .retention_in_days(days)
                    .send()
                    .await
                    .map_err(|e| self.explain(&format!("PutRetentionPolicy {group}"), &e))?;
            }
            remember(&mut lock(&self.known_groups), group.to_string());
        }
        let key = (group.to_string(), stream.to_string());
        if !lock(&self.known_streams).contains(&key) {
            match client
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(stream)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
                Err(e) => {
                    return Err(self.explain(&format!("CreateLogStream {group}/{stream}"), &e))
                }
            }
            remember(&mut lock(&self.known_streams), key);
        }
        Ok(())
    }

    /// Sends one call; events the service rejects are returned with the reason.
    async fn put(
        &self,
        call: &Call,
        messages: &[String],
    ) -> Result<Vec<(usize, String)>, OutputError> {
        let what = format!("PutLogEvents {}/{}", call.group, call.stream);
        let events: Vec<InputLogEvent> = call
            .events
            .iter()
            .filter_map(|&(ts, i)| {
                InputLogEvent::builder()
                    .timestamp(ts)
                    .message(messages[i].clone())
                    .build()
                    .ok()
            })
            .collect();
        let mut recreated = false;
        loop {
            self.ensure(&call.group, &call.stream).await?;
            let r = self
                .client()
                .await
                .put_log_events()
                .log_group_name(&call.group)
                .log_stream_name(&call.stream)
                .set_log_events(Some(events.clone()))
                .send()
                .await;
            match r {
                Ok(out) => {
                    let rejected = match out.rejected_log_events_info() {
                        Some(info) => rejected_events(
                            &call.events,
                            info.too_old_log_event_end_index(),
                            info.expired_log_event_end_index(),
                            info.too_new_log_event_start_index(),
                            chrono::Utc::now().timestamp_millis(),
                        ),
                        None => Vec::new(),
                    };
                    return Ok(rejected);
                }
                Err(e)
                    if !recreated
                        && self.cfg.create_missing
                        && e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    // The group or stream was deleted behind our back: create it again.
                    tracing::warn!(group = %call.group, stream = %call.stream, "log group or stream not found; creating it again");
                    lock(&self.known_groups).remove(&call.group);
                    lock(&self.known_streams).remove(&(call.group.clone(), call.stream.clone()));
                    recreated = true;
                }
                Err(e) => return Err(self.explain(&what, &e)),
            }
        }
    }
}

#[async_trait]
impl Output for Cloudwatch {
    async fn send(&self, batch: &Batch) -> Result<(), OutputError> {
        let docs: Vec<&[u8]> = batch.lines();
        let owed = lock(&self.owed).remove(&batch.seq);
        if let Some(owed) = owed {
            let dead: Vec<Rejected> = owed
                .iter()
                .filter_map(|(i, reason)| {
                    Some(Rejected {
                        record: docs.get(*i)?,
                        status: 0,
                        reason: reason.clone(),
                    })
                })
                .collect();
            if let Err(e) = self.dead.write(&dead) {
                lock(&self.owed).insert(batch.seq, owed);
                return Err(OutputError::new("dead_letter", e));
            }
        }
        // Group by stream, sort by time, cut to the limits: the same calls on every attempt.
        let mut streams: BTreeMap<(String, String), Vec<(i64, usize)>> = BTreeMap::new();
        let mut messages = Vec::with_capacity(docs.len());
        for (i, (event, doc)) in batch.events.iter().zip(&docs).enumerate() {
            let key = (
                names::group_name(&self.group.render(event)),
                names::stream_name(&self.stream.render(event)),
            );
            streams
                .entry(key)
                .or_default()
                .push((timestamp_ms(event), i));
            messages.push(message_of(event, doc));
        }
        let mut calls = Vec::new();
        for ((group, stream), mut events) in streams {
            events.sort_by_key(|e| e.0);
            let sizes: Vec<(i64, usize)> = events
                .iter()
                .map(|&(ts, i)| (ts, messages[i].len()))
                .collect();
            for run in limits::split(&sizes) {
                calls.push(Call {
                    group: group.clone(),
                    stream: stream.clone(),
                    events: events[run].to_vec(),
                });
            }
        }
        let already = lock(&self.done).remove(&batch.seq).unwrap_or_default();
        // Streams concurrently, each stream's calls in order.
        let mut by_stream: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (n, c) in calls.iter().enumerate() {
            if !already.contains(&n) {
                by_stream.entry((&c.group, &c.stream)).or_default().push(n);
            }
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
                    match self.put(&calls[n], messages).await {
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
        let mut done = already;
        let mut first_error = None;
        let mut rejected = Vec::new();
        for (ok, r, err) in results {
            done.extend(ok);
            rejected.extend(r);
            if first_error.is_none() {
                first_error = err;
            }
        }
        let dead: Vec<Rejected> = rejected
            .iter()
            .map(|(i, reason)| Rejected {
                record: docs[*i],
                status: 0,
                reason: reason.clone(),
            })
            .collect();
        if let Err(e) = self.dead.write(&dead) {
            // The calls were accepted (not sent again); what they rejected is owed to the
            // dead-letter file, and the batch is not acknowledged until it is written.
            lock(&self.owed).insert(batch.seq, rejected);
            lock(&self.done).insert(batch.seq, done);
            return Err(OutputError::new("dead_letter", e));
        }
        match first_error {
            None => Ok(()),
            Some(e) => {
                lock(&self.done).insert(batch.seq, done);
                Err(e)
            }
        }
    }

    async fn check(&self) -> Result<String, OutputError> {
        let prefix = self.group.prefix();
        let client = self.client().await;
        let region = client
            .config()
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| {
                OutputError::new(
                    "config",
                    "no AWS region: set `region`, AWS_REGION, or a profile's region",
                )
            })?;
        let mut req = client.describe_log_groups().limit(5);
        if !prefix.is_empty() {
            req = req.log_group_name_prefix(&prefix);
        }
        let out = req
            .send()
            .await
            .map_err(|e| self.explain(&format!("DescribeLogGroups (region {region})"), &e))?;
        let n = out.log_groups().len();
        Ok(format!(
            "region {region}: credentials accepted; {n}{} log group(s) with prefix {prefix:?}",
            if out.next_token().is_some() { "+" } else { "" }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_bounded() {
        let mut set = HashSet::new();
        for i in 0..(KNOWN_MAX * 3 + 7) {
            remember(&mut set, i);
            assert!(set.len() <= KNOWN_MAX);
        }
        assert!(set.contains(&(KNOWN_MAX * 3 + 6)));
    }
}
