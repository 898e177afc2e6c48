//! `type: file`: plain-text and syslog-format files through the tailing engine. This module owns
//! turning one line into the record: `message`, `@timestamp`, `log.file.path`, `log.offset`,
//! `log.flags`, `log.syslog.*`, plus the fields every record carries (`host`, `agent`, `input`).

pub mod config;

use crate::event::{Event, Fields, Position, Shared, SyslogBuilder};
use crate::input::syslog::message::pri_fields;
use crate::input::syslog::rfc3164;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder, TailSettings};
use config::{FileFormat, FileInputConfig};
use serde_json::{json, Value};
use std::sync::Arc;

/// The fields every record of one file starts with, shared (not copied) by its records:
/// `host`, `agent`, `input`, plus whatever a decoder adds for the whole file (`extra`).
#[derive(Clone)]
pub struct Common {
    shared: Arc<Shared>,
}

impl Common {
    pub fn new(host_name: &str, input_type: &str) -> Common {
        Common::with(host_name, input_type, Fields::new())
    }

    pub fn with(host_name: &str, input_type: &str, extra: Fields) -> Common {
        let mut shared = extra;
        shared.insert("host".into(), json!({ "name": host_name }));
        shared.insert(
            "agent".into(),
            json!({ "type": "logship", "version": env!("CARGO_PKG_VERSION") }),
        );
        shared.insert("input".into(), json!({ "type": input_type }));
        Common {
            shared: Arc::new(Shared::new(shared)),
        }
    }

    /// The same common fields plus `extra` (for one file).
    pub fn extend(&self, extra: Fields) -> Common {
        let mut shared = self.shared.map().clone();
        shared.extend(extra);
        Common {
            shared: Arc::new(Shared::new(shared)),
        }
    }

    /// The common fields of one file: these plus `log.file.path` and `extra`.
    pub fn for_file(&self, path: &std::path::Path, mut extra: Fields) -> Common {
        extra.insert(
            "log".into(),
            json!({ "file": { "path": path.to_string_lossy() } }),
        );
        self.extend(extra)
    }

    /// A record with the common fields, `message`, `log.offset` and, as its `@timestamp`, when
    /// it was read.
    pub fn record(&self, message: String, line: &Line<'_>, file: &FileCtx<'_>) -> Event {
        self.record_at(message, line, file, file.read_time.to_string())
    }

    /// A record with the common fields, `message`, `log.offset` and `@timestamp` (RFC 3339).
    pub fn record_at(
        &self,
        message: String,
        line: &Line<'_>,
        file: &FileCtx<'_>,
        timestamp: String,
    ) -> Event {
        Event::line(
            message,
            line.offset,
            timestamp,
            self.shared.clone(),
            Some(Position {
                source: file.source,
                end: line.end,
                origin: file.origin,
                start: line.offset,
            }),
        )
    }
}

/// The line as text; invalid UTF-8 is replaced (U+FFFD) and reported. (simdutf8: std's check
/// was 8% of the instructions of a plain-file line.)
pub fn text(bytes: &[u8]) -> (String, bool) {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

struct FileDecoder {
    common: Common,
    format: FileFormat,
}

impl LineDecoder for FileDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let (message, bad_utf8) = text(line.bytes);
        let mut ev = match self.format {
            FileFormat::Plain => self.common.record(message, line, file),
            FileFormat::Syslog => self.syslog(message, line, file),
        };
        if line.truncated {
            ev.add_flag("truncated");
        }
        if bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
        out.push(ev);
    }
}

impl FileDecoder {
    fn syslog(&self, raw: String, line: &Line<'_>, file: &FileCtx<'_>) -> Event {
        let Some(p) = rfc3164::parse(&raw, chrono::Local::now()) else {
            let mut ev = self.common.record(raw, line, file);
            ev.set(
                "error.message",
                Value::String("not a syslog line; shipped as plain text".into()),
            );
            return ev;
        };
        let mut syslog = match p.pri {
            Some(pri) => pri_fields(usize::from(pri >> 3), usize::from(pri & 7)),
            None => SyslogBuilder::new(),
        };
        syslog
            .str("hostname", p.hostname)
            .str("appname", p.appname.unwrap_or(""))
            .str("procid", p.procid.unwrap_or(""));
        let ts = crate::event::timestamp(p.timestamp.with_timezone(&chrono::Utc));
        let message = p.message.to_string();
        let mut ev = self.common.record_at(message, line, file, ts);
        if let Some(syslog) = syslog.finish() {
            ev.set_syslog(syslog);
        }
        ev
    }
}

/// What the tailer needs to run a `file` input.
pub fn tail_settings(
    name: &str,
    key: &str,
    c: &FileInputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let common = Common::new(host_name, "file");
    let format = c.format;
    let factory: DecoderFactory = Arc::new(move |path| {
        Box::new(FileDecoder {
            common: common.for_file(path, Fields::new()),
            format,
        })
    });
    (
        TailSettings {
            input: name.to_string(),
            key: key.to_string(),
            paths: c.paths.clone(),
            exclude: c.exclude.clone(),
            read_from: c.read_from,
            scan_frequency: c.scan_frequency.0,
            rotate_wait: c.rotate_wait.0,
            max_line,
        },
        factory,
    )
}
