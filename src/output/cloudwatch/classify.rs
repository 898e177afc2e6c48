//! What an answer means: a failed call as one line with its class (`auth` with what to check,
//! `throttled`, `timeout`, `connect`, `http`), and, in an accepted call, which events
//! `rejectedLogEventsInfo` names (too old, expired, too new: to the dead-letter file).

use crate::output::OutputError;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::time::Duration;

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

/// One line for a failed call: the service's code and message, an HTTP status that says
/// "credentials", or the chain of causes (no credentials, no region, network).
pub fn explain<E>(what: &str, e: &SdkError<E, HttpResponse>, timeout: Duration) -> OutputError
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
            format!("{what}: no answer within {:?} (timeout)", timeout),
        ),
        other => OutputError::new("connect", format!("{what}: {}", DisplayErrorContext(other))),
    }
}
