//! A spooled message into the record: the syslog parts (`message.rs`) as `@timestamp` (the
//! sender's, else when it was received), `message`, `log.syslog.*` and `error.message`, plus
//! `source.ip` / `source.port` (ECS) and `tls.client.subject`, `log.flags: [truncated]` for a
//! message cut to `max_message_size`, `[invalid_utf8]` for one that was not UTF-8, and the
//! fields every record has (`host`, `agent`, `input.type: syslog`). `log.offset` is the
//! message's place in the input's spool. A `LineDecoder`, so processors and the panic guard
//! wrap it as they wrap a file's.

use super::{message, record};
use crate::event::Event;
use crate::input::file::Common;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder};
use serde_json::{json, Value};
use std::sync::Arc;

struct SyslogDecoder {
    common: Common,
}

impl LineDecoder for SyslogDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let Some(sp) = record::decode(line.bytes) else {
            let (text, _) = crate::input::file::text(line.bytes);
            let mut ev = self.common.record(text, line, file);
            ev.set(
                "error.message",
                Value::String("spool record of an unknown layout; shipped whole".into()),
            );
            out.push(ev);
            return;
        };
        let m = message::parse(sp.message, chrono::Local::now());
        let when = match m.timestamp {
            Some(t) => t.with_timezone(&chrono::Utc),
            None => chrono::DateTime::from_timestamp_nanos(sp.received_nanos),
        };
        let mut ev = self
            .common
            .record_at(m.message, line, file, crate::event::timestamp(when));
        if !m.syslog.is_empty() {
            ev.set("log.syslog", Value::Object(m.syslog));
        }
        if let Some(e) = m.error {
            ev.set("error.message", Value::String(e.into()));
        }
        if let Some(peer) = sp.peer {
            ev.set(
                "source",
                json!({ "ip": peer.ip().to_string(), "port": peer.port() }),
            );
        }
        if let Some(s) = sp.subject {
            ev.set("tls", json!({ "client": { "subject": s } }));
        }
        if sp.truncated {
            ev.add_flag("truncated");
        }
        if std::str::from_utf8(sp.message).is_err() {
            ev.add_flag("invalid_utf8");
        }
        out.push(ev);
    }
}

/// The decoders of a syslog input (one per spool; the path is not used).
pub fn factory(host_name: &str) -> DecoderFactory {
    let common = Common::new(host_name, "syslog");
    Arc::new(move |_| {
        Box::new(SyslogDecoder {
            common: common.clone(),
        })
    })
}
