//! The batch as PutLogEvents calls: each record's group and stream from the templates
//! (`names.rs`), per stream the records sorted by `@timestamp` and cut within the service limits
//! (`limits.rs`), each record's JSON cut to one event (`message` shortened, flagged `truncated`).

use super::{limits, names};
use crate::event::Event;
use crate::output::Todo;
use names::NameTemplate;
use std::collections::BTreeMap;

/// One PutLogEvents call of a batch: its stream and the records in it, in time order.
pub struct Call {
    pub group: String,
    pub stream: String,
    /// (timestamp ms, record index)
    pub events: Vec<(i64, usize)>,
}

/// The calls for the records `todo` lists, and every record's message (by batch index; empty
/// for records not in `todo`).
pub fn calls(
    events: &[Event],
    docs: &[&[u8]],
    todo: &Todo,
    group: &NameTemplate,
    stream: &NameTemplate,
) -> (Vec<Call>, Vec<String>) {
    let mut streams: BTreeMap<(String, String), Vec<(i64, usize)>> = BTreeMap::new();
    let mut messages = vec![String::new(); events.len()];
    for &i in todo.indices() {
        let (Some(event), Some(doc), Some(slot)) =
            (events.get(i), docs.get(i), messages.get_mut(i))
        else {
            continue;
        };
        let key = (
            names::group_name(&group.render(event)),
            names::stream_name(&stream.render(event)),
        );
        streams
            .entry(key)
            .or_default()
            .push((timestamp_ms(event), i));
        *slot = message_of(event, doc);
    }
    let mut calls = Vec::new();
    for ((group, stream), mut events) in streams {
        events.sort_by_key(|e| e.0);
        let sizes: Vec<(i64, usize)> = events
            .iter()
            .map(|&(ts, i)| (ts, messages.get(i).map_or(0, String::len)))
            .collect();
        for run in limits::split(&sizes) {
            calls.push(Call {
                group: group.clone(),
                stream: stream.clone(),
                events: events[run].to_vec(),
            });
        }
    }
    (calls, messages)
}

/// The record's `@timestamp` in ms since the epoch (now when it has none).
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
