//! `type: docker`: the json-file logging driver's files (`<containers_path>/<id>/<id>-json.log`,
//! rotated to `-json.log.1`, `.2`... by `max-size`/`max-file`) through the tailing engine.
//! Each line is `{"log":"...\n","stream":"stdout","time":"<RFC 3339 nano>"}`; an entry whose
//! `log` has no trailing `\n` is a piece of a longer line and is joined with the next ones.
//! Lines are decoded by `line` (one pass for the driver's own shape, serde_json for any
//! other). A line that is not such JSON is shipped as raw text with `error.message`, never fatal.

pub mod config;
pub mod line;

use crate::event::Event;
use crate::input::file::Common;
use crate::input::partial::{Joiner, StreamRecords};
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder, TailSettings};
use config::DockerInputConfig;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// The container id a json-file log belongs to, from its file name (`<id>-json.log[.N]`).
pub fn container_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let (id, _) = name.split_once("-json.log")?;
    (!id.is_empty()).then(|| id.to_string())
}

struct DockerDecoder {
    records: StreamRecords,
    partial_timeout: std::time::Duration,
}

impl LineDecoder for DockerDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        // A cut JSON line cannot parse: it is shipped raw.
        let parsed = (!line.truncated).then(|| line::parse(line.bytes)).flatten();
        let Some(entry) = parsed else {
            self.records.raw(line, file, out);
            return;
        };
        // An entry without its final newline is a piece of a longer line.
        let mut piece = entry.log;
        let partial = !piece.ends_with('\n');
        if !partial {
            match &mut piece {
                Cow::Owned(s) => {
                    s.pop();
                }
                Cow::Borrowed(s) => *s = s.strip_suffix('\n').unwrap_or(s),
            }
        }
        self.records.piece(
            line,
            file,
            entry.stream,
            partial,
            piece,
            &entry.time,
            false,
            out,
        );
    }

    fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        self.records.flush(all, self.partial_timeout, out);
    }
}

pub fn tail_settings(
    name: &str,
    key: &str,
    c: &DockerInputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let common = Common::new(host_name, "docker");
    let streams = c.streams.clone();
    let partial_timeout = c.partial_timeout.0;
    let factory: DecoderFactory = Arc::new(move |path| {
        let mut extra = crate::event::Fields::new();
        if let Some(id) = container_id(path) {
            extra.insert("container".into(), serde_json::json!({ "id": id }));
        }
        Box::new(DockerDecoder {
            records: StreamRecords {
                common: common.for_file(path, extra),
                streams: streams.clone(),
                joiner: Joiner::new(max_line),
                format: "Docker json-file",
            },
            partial_timeout,
        })
    });
    // A JSON line carries its escaped message plus ~60 bytes: allow for the escaping so that a
    // message up to max_line_bytes still parses.
    let json_max = max_line.saturating_mul(2).saturating_add(4096);
    let pattern = c.containers_path.join("*").join("*-json.log");
    (
        TailSettings {
            input: name.to_string(),
            key: key.to_string(),
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
            crate::input::partial::normalize_time("2026-11-24T10:00:00.1234Z").unwrap(),
            "2026-11-24T10:00:00.123400000Z"
        );
        assert!(crate::input::partial::normalize_time("yesterday").is_none());
    }
}
