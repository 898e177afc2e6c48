//! What an answer means. The whole `_bulk` request's HTTP status (`request`): done, retry on
//! this or the next host, or too large (split); and, in a 200 body, each record's item
//! (`read_response`): done (indexed, or 409 "already there" for a `create`), retry (429, 5xx) or
//! reject (to the dead-letter file).

use super::config::EsAuth;
use crate::output::OutputError;
use serde::Deserialize;
use serde_json::Value;

pub enum BulkError {
    /// Nothing of the request was done: retry it. Every whole-request failure is one (a 404 or
    /// 400 for the whole request is a proxy or a wrong path, not the records' fault: retried and
    /// reported, never dead-lettered in bulk).
    Retry(OutputError),
    /// 413: the request is larger than the server takes (`http.max_content_length`).
    TooLarge(OutputError),
}

/// What the HTTP status of a whole `_bulk` request says; with an error, whether the host is at
/// fault (set aside for its backoff) rather than the cluster being busy.
pub fn request(
    addr: &str,
    status: u16,
    body: &[u8],
    auth: &Option<EsAuth>,
) -> Result<(), (BulkError, bool)> {
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err((
            BulkError::Retry(auth_failed(addr, status, body, auth)),
            true,
        )),
        429 => Err((
            BulkError::Retry(OutputError::new(
                "throttled",
                format!("{addr}: 429 Too Many Requests: {}", body_reason(body)),
            )),
            false,
        )),
        413 => Err((
            BulkError::TooLarge(OutputError::new(
                "http",
                format!(
                    "{addr}: 413 request too large for the server (its http.max_content_length)"
                ),
            )),
            false,
        )),
        408 | 500..=599 => Err((
            BulkError::Retry(OutputError::new(
                "http",
                format!("{addr}: HTTP {status}: {}", body_reason(body)),
            )),
            true,
        )),
        s => Err((
            BulkError::Retry(OutputError::new(
                "http",
                format!(
                    "{addr}: HTTP {s} for the whole _bulk request (a proxy, or a wrong path in hosts?): {}",
                    body_reason(body)
                ),
            )),
            true,
        )),
    }
}

/// One line for a 401 or 403, saying which setting to check.
pub fn auth_failed(addr: &str, status: u16, body: &[u8], auth: &Option<EsAuth>) -> OutputError {
    let how = match auth {
        None => "no credentials are configured (set auth.username + auth.password or auth.api_key)",
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
        format!("{addr}: {what}: {how}; server said: {}", body_reason(body)),
    )
}

/// A short reason from an error response body (`error.type: error.reason`, or its start).
pub fn body_reason(body: &[u8]) -> String {
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

/// What happened to one record of a request.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Indexed now, or already indexed (409 on `create`).
    Done,
    /// 429 or 5xx for this item: send it again.
    Retry(String),
    /// Any other error: to the dead-letter file.
    Reject(u16, String),
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    errors: bool,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: u16,
    #[serde(default)]
    error: Option<Value>,
}

/// `type: reason (caused by: type: reason)`, from an item's error object (or string, in old
/// versions).
fn describe(error: &Option<Value>) -> String {
    /// At most this many `caused_by` levels are followed (the body comes from the network).
    const MAX_CAUSES: usize = 8;
    let Some(mut v) = error.as_ref() else {
        return String::new();
    };
    let mut out = String::new();
    let mut opened = 0;
    for depth in 0..MAX_CAUSES {
        match v {
            Value::Object(o) => {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or("error");
                let reason = o.get("reason").and_then(Value::as_str).unwrap_or("");
                if depth > 0 {
                    out.push_str(" (caused by ");
                    opened += 1;
                }
                out.push_str(kind);
                out.push_str(": ");
                out.push_str(reason);
                match o.get("caused_by") {
                    Some(c) => v = c,
                    None => break,
                }
            }
            Value::String(s) => {
                out.push_str(s);
                break;
            }
            other => {
                out.push_str(&other.to_string());
                break;
            }
        }
    }
    out.extend(std::iter::repeat_n(')', opened));
    out
}

/// The outcome of each of `sent` records from a 200 response body; an error when the body is
/// not a bulk response for them.
pub fn read_response(body: &[u8], sent: usize) -> Result<Vec<Outcome>, String> {
    let head: Head =
        serde_json::from_slice(body).map_err(|e| format!("the _bulk response is not JSON: {e}"))?;
    if !head.errors {
        return Ok((0..sent).map(|_| Outcome::Done).collect());
    }
    let r: Response =
        serde_json::from_slice(body).map_err(|e| format!("unexpected _bulk response: {e}"))?;
    if r.items.len() != sent {
        return Err(format!(
            "the _bulk response has {} items for {sent} records",
            r.items.len()
        ));
    }
    Ok(r.items
        .into_iter()
        .map(|m| {
            let Some((action, item)) = m.into_iter().next() else {
                return Outcome::Retry("empty item in the _bulk response".into());
            };
            match item.status {
                200..=299 => Outcome::Done,
                409 if action == "create" => Outcome::Done,
                429 | 500..=599 => {
                    Outcome::Retry(format!("{}: {}", item.status, describe(&item.error)))
                }
                s => Outcome::Reject(s, describe(&item.error)),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_sorted_into_done_retry_reject() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"a","_id":"1","status":201}},
            {"create":{"_index":"a","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
            {"create":{"_index":"a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
            {"create":{"_index":"a","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n]","caused_by":{"type":"illegal_argument_exception","reason":"For input string"}}}},
            {"index":{"_index":"a","_type":"_doc","_id":"5","status":503,"error":"unavailable"}}
        ]}"#;
        let o = read_response(body, 5).unwrap();
        assert_eq!(o[0], Outcome::Done);
        assert_eq!(o[1], Outcome::Done);
        assert!(matches!(&o[2], Outcome::Retry(r) if r.contains("429")));
        assert_eq!(
            o[3],
            Outcome::Reject(400, "mapper_parsing_exception: failed to parse field [n] (caused by illegal_argument_exception: For input string)".into())
        );
        assert!(matches!(&o[4], Outcome::Retry(_)));
        assert!(read_response(body, 4).is_err());
        assert_eq!(
            read_response(br#"{"errors":false,"items":[]}"#, 2)
                .unwrap()
                .len(),
            2
        );
        assert!(read_response(b"<html>", 1).is_err());
    }

    #[test]
    fn whole_request_statuses() {
        assert!(request("h", 200, b"", &None).is_ok());
        assert!(matches!(
            request("h", 413, b"", &None),
            Err((BulkError::TooLarge(_), false))
        ));
        assert!(
            matches!(request("h", 429, b"", &None), Err((BulkError::Retry(e), false)) if e.kind == "throttled")
        );
        assert!(
            matches!(request("h", 401, b"", &None), Err((BulkError::Retry(e), true)) if e.kind == "auth" && e.message.contains("no credentials"))
        );
        assert!(
            matches!(request("h", 404, b"", &None), Err((BulkError::Retry(e), true)) if e.message.contains("wrong path"))
        );
    }
}
