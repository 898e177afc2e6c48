//! A spooled message into the record: the syslog parts (`message.rs`) as `@timestamp` (the
//! sender's, else when it was received), `message`, `log.syslog.*` and `error.message`, plus
//! `source.ip` / `source.port` (ECS) and `tls.client.subject`, `log.flags: [truncated]` for a
//! message cut to `max_message_size`, `[invalid_utf8]` for one that was not UTF-8, and the
//! fields every record has (`host`, `agent`, `input.type: syslog`). `log.offset` is the
//! message's place in the input's spool. A `LineDecoder`, so processors and the panic guard
//! wrap it as they wrap a file's. `source` and `tls` are the sender's shared fields (one
//! `Shared` per sender, serialized once), `log.syslog` the parser's JSON (`event::SyslogFields`):
//! no JSON map is built per message.

use super::{message, record};
use crate::event::{Event, Fields};
use crate::input::file::Common;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder};
use chrono::{DateTime, Local};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many senders' shared fields are kept (a UDP input hearing from more starts over).
const PEERS: usize = 4096;

/// How long the clock read for traditional timestamps' year is reused.
const CLOCK: Duration = Duration::from_millis(500);

struct SyslogDecoder {
    common: Common,
    /// Per sender (address and TLS subject): the input's shared fields plus `source` and `tls`,
    /// serialized once per sender instead of once per record.
    peers: HashMap<(Option<SocketAddr>, Option<Box<str>>), Common>,
    /// The local time, read at most every `CLOCK`.
    now: Option<(Instant, DateTime<Local>)>,
}

impl SyslogDecoder {
    fn now(&mut self) -> DateTime<Local> {
        let fresh = Instant::now();
        match self.now {
            Some((at, now)) if fresh.duration_since(at) < CLOCK => now,
            _ => {
                let now = Local::now();
                self.now = Some((fresh, now));
                now
            }
        }
    }

    /// The shared fields of the sender `peer` with the client certificate `subject`.
    fn common(&mut self, peer: Option<SocketAddr>, subject: Option<&str>) -> &Common {
        if peer.is_none() && subject.is_none() {
            return &self.common;
        }
        if self.peers.len() >= PEERS {
            self.peers.clear();
        }
        let base = &self.common;
        self.peers
            .entry((peer, subject.map(Box::from)))
            .or_insert_with(|| {
                let mut extra = Fields::new();
                if let Some(peer) = peer {
                    extra.insert(
                        "source".into(),
                        json!({ "ip": peer.ip().to_string(), "port": peer.port() }),
                    );
                }
                if let Some(s) = subject {
                    extra.insert("tls".into(), json!({ "client": { "subject": s } }));
                }
                base.extend(extra)
            })
    }
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
        let m = message::parse(sp.message, self.now());
        let when = match m.timestamp {
            Some(t) => t.with_timezone(&chrono::Utc),
            None => chrono::DateTime::from_timestamp_nanos(sp.received_nanos),
        };
        let mut ev = self.common(sp.peer, sp.subject).record_at(
            m.message,
            line,
            file,
            crate::event::timestamp(when),
        );
        if let Some(syslog) = m.syslog {
            ev.set_syslog(syslog);
        }
        if let Some(e) = m.error {
            ev.set("error.message", Value::String(e.into()));
        }
        if sp.truncated {
            ev.add_flag("truncated");
        }
        if m.invalid_utf8 {
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
            peers: HashMap::new(),
            now: None,
        })
    })
}
