//! Sending one PutLogEvents call: the SDK client (the whole AWS credential chain, rustls, no SDK
//! retries: the worker retries), the group and stream created when missing (and again when
//! deleted behind our back), remembered in bounded sets.

use super::classify::{explain, rejected_events};
use super::encode::Call;
use super::Cloudwatch;
use crate::output::OutputError;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use std::collections::HashSet;
use std::sync::Mutex;

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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cloudwatch {
    pub(super) async fn client(&self) -> &Client {
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
                Err(e) => {
                    return Err(explain(
                        &format!("CreateLogGroup {group}"),
                        &e,
                        self.cfg.timeout.0,
                    ))
                }
            }
            if let Some(days) = self.cfg.retention_days {
                client
                    .put_retention_policy()
                    .log_group_name(group)
                    .retention_in_days(days)
                    .send()
                    .await
                    .map_err(|e| {
                        explain(
                            &format!("PutRetentionPolicy {group}"),
                            &e,
                            self.cfg.timeout.0,
                        )
                    })?;
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
                    return Err(explain(
                        &format!("CreateLogStream {group}/{stream}"),
                        &e,
                        self.cfg.timeout.0,
                    ))
                }
            }
            remember(&mut lock(&self.known_streams), key);
        }
        Ok(())
    }

    /// Sends one call; events the service rejects are returned with the reason.
    pub(super) async fn put(
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
                Err(e) => return Err(explain(&what, &e, self.cfg.timeout.0)),
            }
        }
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
