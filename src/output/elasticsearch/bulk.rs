//! The `_bulk` request and response: one `create` action per record with a deterministic `_id`
//! (so a record sent again after a crash or a lost response is answered 409, "already there",
//! instead of being indexed twice; data streams accept only `create` too), and the response
//! read item by item into what is done, what to retry and what to reject.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// 128 bits of xxh3 over the record's own identity, in base64url (22 characters): its file
/// (device, inode, birth time and generation: `Position::origin`), its first byte offset and its
/// stream. The same record read again (after a restart, from a checkpoint) gets the same id;
/// any other record gets another, even one with the same text, or one acknowledged at the same
/// (capped) offset as others while a multiline group or a partial line was pending.
pub fn doc_id(origin: u64, start: u64, stream: &[u8]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&origin.to_le_bytes());
    h.update(&start.to_le_bytes());
    h.update(stream);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.digest128().to_be_bytes())
}

/// Appends the action line and the document line of one record.
pub fn push_create(body: &mut Vec<u8>, index: &str, id: Option<&str>, doc: &[u8]) {
    body.extend_from_slice(b"{\"create\":{\"_index\":");
    let _ = serde_json::to_writer(&mut *body, index);
    if let Some(id) = id {
        body.extend_from_slice(b",\"_id\":\"");
        body.extend_from_slice(id.as_bytes());
        body.push(b'"');
    }
    body.extend_from_slice(b"}}\n");
    body.extend_from_slice(doc);
    body.push(b'\n');
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
    fn ids_are_stable_and_distinct() {
        let a = doc_id(1, 100, b"stdout");
        assert_eq!(a, doc_id(1, 100, b"stdout"));
        assert_eq!(a.len(), 22);
        assert_ne!(a, doc_id(1, 101, b"stdout"), "another offset");
        assert_ne!(a, doc_id(2, 100, b"stdout"), "another file or generation");
        assert_ne!(a, doc_id(1, 100, b"stderr"), "another stream");
    }

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
    fn create_lines() {
        let mut b = Vec::new();
        push_create(&mut b, "logs-\"x\"", Some("abc"), br#"{"m":1}"#);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "{\"create\":{\"_index\":\"logs-\\\"x\\\"\",\"_id\":\"abc\"}}\n{\"m\":1}\n"
        );
    }
}
