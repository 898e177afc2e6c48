//! `type: docker`: the json-file logging driver's files (`<containers_path>/<id>/<id>-json.log`,
//! rotated to `-json.log.1`, `.2`... by `max-size`/`max-file`) through the tailing engine.
//! Each line is `{"log":"...\n","stream":"stdout","time":"<RFC 3339 nano>"}`; an entry whose
//! `log` has no trailing `\n` is a piece of a longer line and is joined with the next ones.
//! A line that is not such JSON is shipped as raw text with `error.message`, never fatal.

use super::file::{text, Common};
use super::partial::Joiner;
use crate::config::{DockerInputConfig, Stream};
use crate::event::{Event, Position};
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder, TailSettings};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow, default)]
    time: Cow<'a, str>,
}

/// The container id a json-file log belongs to, from its file name (`<id>-json.log[.N]`).
pub fn container_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let (id, _) = name.split_once("-json.log")?;
    (!id.is_empty()).then(|| id.to_string())
}

/// RFC 3339 with any number of fraction digits → the record's UTC nanosecond form.
pub fn normalize_time(t: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(crate::event::timestamp(parsed.with_timezone(&chrono::Utc)))
}

struct DockerDecoder {
    /// Common fields plus this file's `container.id`.
    common: Common,
    streams: Vec<Stream>,
    joiner: Joiner,
}

impl LineDecoder for DockerDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let parsed = if line.truncated {
            None // cut JSON cannot parse; shipped raw below
        } else {
            serde_json::from_slice::<JsonLine>(line.bytes).ok()
        };
        let Some(entry) = parsed else {
            let (message, bad_utf8) = text(line.bytes);
            let mut ev = self.common.record(message, line, file);
            ev.set("@timestamp", Value::String(file.read_time.to_string()));
            ev.set(
                "error.message",
                Value::String("not a Docker json-file line; shipped as raw text".into()),
            );
            self.finish(&mut ev, line.truncated, bad_utf8);
            out.push(ev);
            return;
        };
        let stream = match entry.stream.as_ref() {
            "stderr" => Stream::Stderr,
            _ => Stream::Stdout,
        };
        let position = |end| {
            Some(Position {
                source: file.source,
                end,
            })
        };
        let Some(piece) = entry.log.strip_suffix('\n') else {
            // A piece of a longer line: hold it; nothing to acknowledge yet.
            self.joiner.partial(stream, line.offset, &entry.log);
            return;
        };
        let joined = self.joiner.finish(stream, line.offset, piece);
        let end = self.joiner.ack_end(line.end);
        if !self.streams.contains(&stream) {
            out.push(Event::ack_only(Position {
                source: file.source,
                end,
            }));
            return;
        }
        let mut message = joined.text;
        if message.ends_with('\r') {
            message.pop();
        }
        let offset_line = Line {
            offset: joined.offset,
            end,
            bytes: &[],
            truncated: false,
        };
        let mut ev = self.common.record(message, &offset_line, file);
        ev.position = position(end);
        let ts = normalize_time(&entry.time).unwrap_or_else(|| file.read_time.to_string());
        ev.set("@timestamp", Value::String(ts));
        ev.set("stream", Value::String(stream.as_str().into()));
        self.finish(&mut ev, joined.truncated, false);
        out.push(ev);
    }
}

impl DockerDecoder {
    fn finish(&self, ev: &mut Event, truncated: bool, bad_utf8: bool) {
        if truncated {
            ev.add_flag("truncated");
        }
        if bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
    }
}

pub fn tail_settings(
    name: &str,
    c: &DockerInputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let common = Common::new(host_name, "docker");
    let streams = c.streams.clone();
    let factory: DecoderFactory = Arc::new(move |path| {
        let mut extra = crate::event::Fields::new();
        if let Some(id) = container_id(path) {
            extra.insert("container".into(), serde_json::json!({ "id": id }));
        }
        Box::new(DockerDecoder {
            common: common.for_file(path, extra),
            streams: streams.clone(),
            joiner: Joiner::new(max_line),
        })
    });
    // A JSON line carries its escaped message plus ~60 bytes: allow for the escaping so that a
    // message up to max_line_bytes still parses.
    let json_max = max_line.saturating_mul(2).saturating_add(4096);
    let pattern = c.containers_path.join("*").join("*-json.log");
    (
        TailSettings {
            input: name.to_string(),
            paths: vec![pattern.to_string_lossy().into_owned()],
            exclude: Vec::new(),
            read_from: c.read_from,
            scan_frequency: c.scan_frequency.0,
            rotate_wait: c.rotate_wait.0,
            max_line: json_max,
        },
        factory,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_times() {
        let id = "a".repeat(64);
        let p = format!("/var/lib/docker/containers/{id}/{id}-json.log.2");
        assert_eq!(container_id(Path::new(&p)), Some(id));
        assert_eq!(
            normalize_time("2026-11-24T10:00:00.1234Z").unwrap(),
            "2026-11-24T10:00:00.123400000Z"
        );
        assert!(normalize_time("yesterday").is_none());
    }
}
