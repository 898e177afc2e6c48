//! The batch as `_bulk` request bodies: the index of each record (`index.rs` templates; one
//! name per distinct second, not per record), one `create` action per record with a
//! deterministic `_id` (so a record sent again after a crash or a lost response is answered 409,
//! "already there", instead of being indexed twice; data streams accept only `create` too), and
//! gzip when `compression_level` is above 0.

use super::index::{event_time, IndexTemplate};
use crate::event::Event;
use base64::Engine;
use std::io::Write;
use std::sync::Arc;

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

/// A record ready to send: its index in the batch, its index name and its `_id`.
pub type Ready = (usize, Arc<str>, Option<String>);

/// Names each record's index, remembering the last name so the same second (or a static
/// template) costs one allocation, not one per record.
pub struct Indexer<'a> {
    template: &'a IndexTemplate,
    last: Option<(String, Arc<str>)>,
}

impl<'a> Indexer<'a> {
    pub fn new(template: &'a IndexTemplate) -> Indexer<'a> {
        Indexer {
            template,
            last: None,
        }
    }

    /// The index of `event`, or why it has none (a field the template names is missing).
    pub fn index(&mut self, event: &Event) -> Result<Arc<str>, String> {
        if self.template.is_static() {
            if let Some((_, name)) = &self.last {
                return Ok(name.clone());
            }
            let n: Arc<str> = self.template.render(event, None)?.into();
            self.last = Some((String::new(), n.clone()));
            return Ok(n);
        }
        if self.template.has_fields() {
            return self
                .template
                .render(event, event_time(event).as_ref())
                .map(Arc::from);
        }
        // Only a date: the same second gives the same name.
        let ts = event
            .get("@timestamp")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let key = ts.get(..19).unwrap_or(ts);
        if let Some((k, name)) = &self.last {
            if k == key && !key.is_empty() {
                return Ok(name.clone());
            }
        }
        let name: Arc<str> = self
            .template
            .render(event, event_time(event).as_ref())?
            .into();
        self.last = Some((key.to_string(), name.clone()));
        Ok(name)
    }
}

/// The `_id` of a record: from its position, when it has one.
pub fn id_of(event: &Event) -> Option<String> {
    event.position.map(|p| {
        let stream = event.get("stream").and_then(|m| m.as_str()).unwrap_or("");
        doc_id(p.origin, p.start, stream.as_bytes())
    })
}

/// One request body for `records` (gzip at `level`, none at 0).
pub fn body(records: &[Ready], docs: &[&[u8]], level: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, index, id) in records {
        if let Some(doc) = docs.get(*i) {
            push_create(&mut body, index, id.as_deref(), doc);
        }
    }
    if level == 0 {
        return body;
    }
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(level.min(9)),
    );
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&body);
    z.finish().unwrap_or_default()
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
    fn create_lines() {
        let mut b = Vec::new();
        push_create(&mut b, "logs-\"x\"", Some("abc"), br#"{"m":1}"#);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "{\"create\":{\"_index\":\"logs-\\\"x\\\"\",\"_id\":\"abc\"}}\n{\"m\":1}\n"
        );
    }
}
