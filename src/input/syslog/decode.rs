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
    /// Per sender address: its TLS subject and the input's shared fields plus `source` and
    /// `tls`, serialized once per sender instead of once per record. (An address is one
    /// connection at a time; a new subject at the same address replaces the entry.)
    peers: HashMap<Option<SocketAddr>, (Option<Box<str>>, Common)>,
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
        let known = self
            .peers
            .get(&peer)
            .is_some_and(|(s, _)| s.as_deref() == subject);
        if !known {
            if self.peers.len() >= PEERS {
                self.peers.clear();
            }
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
            let common = self.common.extend(extra);
            self.peers.insert(peer, (subject.map(Box::from), common));
        }
        match self.peers.get(&peer) {
            Some((_, common)) => common,
            None => &self.common,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SourceId;
    use crate::input::syslog::listen::Received;

    fn record(peer: Option<&str>, subject: Option<&str>, text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let m = Received {
            bytes: text.as_bytes().to_vec(),
            truncated: false,
            peer: peer.map(|p| p.parse().unwrap()),
            subject: subject.map(Arc::from),
        };
        record::encode(&m, 1_764_000_000_000_000_000, &mut out);
        out
    }

    /// Senders interleaved, the same address coming back with another certificate, and a Unix
    /// socket sender: each record carries its own sender's fields (they are cached per sender).
    #[test]
    fn each_record_carries_its_own_senders_fields() {
        let mut d = (factory("h"))(std::path::Path::new("/spool"));
        let read_time = "2026-12-03T10:00:00Z".to_string();
        let ctx = FileCtx {
            source: SourceId(1),
            origin: 0,
            read_time: &read_time,
        };
        let cases = [
            (
                Some("10.0.0.1:514"),
                Some("CN=a"),
                "<13>1 - h app - - - one",
            ),
            (Some("10.0.0.2:514"), None, "<13>1 - h app - - - two"),
            (
                Some("10.0.0.1:514"),
                Some("CN=a"),
                "<13>1 - h app - - - three",
            ),
            (
                Some("10.0.0.1:514"),
                Some("CN=b"),
                "<13>1 - h app - - - four",
            ),
            (None, None, "<13>1 - h app - - - five"),
            (Some("10.0.0.1:514"), None, "<13>1 - h app - - - six"),
        ];
        let mut out = Vec::new();
        for (i, (peer, subject, text)) in cases.iter().enumerate() {
            let bytes = record(*peer, *subject, text);
            let line = Line {
                offset: i as u64 * 100,
                end: i as u64 * 100 + 99,
                bytes: &bytes,
                truncated: false,
            };
            d.decode(&line, &ctx, &mut out);
        }
        assert_eq!(out.len(), cases.len());
        for (ev, (peer, subject, text)) in out.iter().zip(cases) {
            let v = ev.to_value();
            assert_eq!(v["message"], text.rsplit(' ').next().unwrap(), "{v}");
            let ip = peer.map(|p| p.split(':').next().unwrap());
            assert_eq!(v["source"]["ip"].as_str(), ip, "{v}");
            assert_eq!(v["tls"]["client"]["subject"].as_str(), subject, "{v}");
            assert_eq!(v["log"]["syslog"]["appname"], "app");
            assert_eq!(v["host"]["name"], "h");
        }
    }
}
