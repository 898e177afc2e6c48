//! Entry points for the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the bounded property tests
//! (`tests/properties.rs`): each takes arbitrary bytes, drives one parser or decoder the way the
//! agent does, and must return without panicking, whatever the bytes. They are the contract of
//! "bad input is never fatal": a new parser gets an entry here, a fuzz target and a property test.
//!
//! The decoders are driven without the panic guard (`input::guard`), so a panic is found here
//! instead of being caught.

use crate::event::{Event, Fields, Position, SourceId};
use crate::settings;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder};
use serde_json::Value;
use std::path::Path;

/// One entry point: it must return, whatever the bytes.
pub type Target = fn(&[u8]);

/// The entry points by name, for the fuzz targets and the property tests.
pub const TARGETS: &[(&str, Target)] = &[
    ("syslog_line", syslog_line),
    ("syslog_message", syslog_message),
    ("syslog_frames", syslog_frames),
    ("spool_segment", spool_segment),
    ("file_lines", file_lines),
    ("docker_lines", docker_lines),
    ("cri_lines", cri_lines),
    ("joiner", joiner),
    ("multiline", multiline),
    ("decode_json", decode_json),
    ("event_paths", event_paths),
    ("conditions", conditions),
    ("config", config),
    ("beats_acks", beats_acks),
    ("bulk_response", bulk_response),
    ("cloudwatch_rejected", cloudwatch_rejected),
    ("docker_api", docker_api),
    ("kube_api", kube_api),
    ("migrate", migrate),
    ("line_reader", line_reader),
    ("file_output_tail", file_output_tail),
];

/// Runs the entry point `name` on `data` (unknown names do nothing).
pub fn run(name: &str, data: &[u8]) {
    if let Some((_, f)) = TARGETS.iter().find(|(n, _)| *n == name) {
        f(data)
    }
}

/// A small deterministic reader of the fuzzer's bytes, for structured choices.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// The decoder factory of an input described in YAML, built once per description.
fn input_factory(yaml_input: &str, extra: &str) -> Option<DecoderFactory> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<DecoderFactory>>>> = OnceLock::new();
    let key = format!("{yaml_input}\0{extra}");
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(key)
        .or_insert_with(|| build_factory(yaml_input, extra))
        .clone()
}

fn build_factory(yaml_input: &str, extra: &str) -> Option<DecoderFactory> {
    let text =
        format!("inputs:\n  - {yaml_input}\noutputs:\n  - type: console\n{extra}data_dir: /tmp\n");
    let c = settings::parse(&text, |_| None).ok()?;
    let ic = c.inputs.first()?;
    let factory = match crate::input::plan(ic, c.max_line_bytes, "fuzz-host") {
        crate::input::Plan::Tail(_, factory) => factory,
        crate::input::Plan::Syslog(_) => crate::input::syslog::decode::factory("fuzz-host"),
    };
    crate::process::with_processors(factory, &ic.name, ic.processors(), &c.processors).ok()
}

/// True when `bytes` is one JSON value. Checked with `IgnoredAny`, not `Value`: serde_json's
/// `Value` parser rejects valid documents whose key is its private raw-value token
/// (`$serde_json::private::RawValue`, found by the `event_paths` fuzz target).
fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// Feeds `data` to `decoder` as lines (split at `\n`, as the line reader does), flushing now and
/// then, and serializes every record it produces.
fn drive(decoder: &mut dyn LineDecoder, data: &[u8]) {
    let ctx = FileCtx {
        source: SourceId(1),
        origin: 7,
        read_time: "2026-11-24T10:00:00.000000000Z",
    };
    let mut out: Vec<Event> = Vec::new();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    for (i, piece) in data.split(|b| *b == b'\n').enumerate() {
        let end = offset + piece.len() as u64 + 1;
        let line = Line {
            offset,
            end,
            bytes: piece,
            truncated: piece.first() == Some(&0xff),
        };
        decoder.decode(&line, &ctx, &mut out);
        if i % 7 == 6 {
            decoder.flush(false, &mut out);
        }
        offset = end;
    }
    decoder.flush(true, &mut out);
    for ev in &out {
        buf.clear();
        ev.write_json(&mut buf);
        if !ev.ack_only {
            // Every record is one valid JSON object.
            let parsed: Result<Value, _> = serde_json::from_slice(&buf);
            assert!(
                parsed.is_ok(),
                "record is not JSON: {:?}",
                String::from_utf8_lossy(&buf)
            );
            // And it is the record's map form (fields `decode_json` kept as text included).
            if let Ok(parsed) = parsed {
                assert_eq!(
                    parsed,
                    ev.to_value(),
                    "written: {:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
        }
        if let Some(p) = ev.position {
            assert!(p.end <= offset.max(1), "position past the input");
        }
    }
}

fn drive_input(yaml_input: &str, extra: &str, data: &[u8]) {
    if let Some(f) = input_factory(yaml_input, extra) {
        drive(
            &mut *f(Path::new("/var/lib/docker/containers/abc/abc-json.log")),
            data,
        );
    }
}

/// One RFC 3164 line, both timestamp forms, PRI and tag.
pub fn syslog_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let now = chrono::TimeZone::timestamp_opt(&chrono::Local, 1_795_000_000, 0)
        .single()
        .unwrap_or_else(chrono::Local::now);
    let _ = crate::input::syslog::rfc3164::parse(&text, now);
}

/// One syslog message from the network (`input::syslog::message`): RFC 5424, RFC 3164, Cisco.
pub fn syslog_message(data: &[u8]) {
    let now = chrono::TimeZone::timestamp_opt(&chrono::Local, 1_795_000_000, 0)
        .single()
        .unwrap_or_else(chrono::Local::now);
    let m = crate::input::syslog::message::parse(data, now);
    // What is not parsed is shipped whole: never lost.
    if m.error.is_some() {
        assert!(!m.message.is_empty() || data.iter().all(|b| matches!(b, b'\n' | b'\r' | 0)));
    }
    // As a spool record (its metadata layout read from any bytes), and through the input's
    // decoder with each line as a record payload: never a panic, always a record.
    let _ = crate::input::syslog::record::decode(data);
    drive_input("type: syslog\n    listen: udp://127.0.0.1:9", "", data);
}

/// The stream framing of syslog over TCP (`input::syslog::framing`): the first byte picks the
/// framing and the limit, the rest arrives in pieces cut where the bytes say. The buffer never
/// holds more than the limit (plus a count), and no frame is longer than the limit.
pub fn syslog_frames(data: &[u8]) {
    use crate::input::syslog::framing::{Deframer, Framing};
    let mut b = Bytes(data);
    let mode = b.byte();
    let framing = match mode % 4 {
        0 => Framing::OctetCounting,
        1 => Framing::Delimited(b'\n'),
        2 => Framing::Delimited(0),
        _ => Framing::Auto(b'\n'),
    };
    let max = usize::from(b.byte() % 64) + 1;
    let mut d = Deframer::new(framing, max);
    let mut check = |f: crate::input::syslog::framing::Frame| assert!(f.bytes.len() <= max);
    let mut rest = b.0;
    while !rest.is_empty() {
        let cut = usize::from(rest.first().copied().unwrap_or(1) % 16) + 1;
        let (piece, after) = rest.split_at(cut.min(rest.len()));
        if d.push(piece, &mut check).is_err() {
            return;
        }
        assert!(d.buffered() <= max + 10);
        rest = after;
    }
    d.finish(&mut check);
}

/// A spool segment file with any bytes in it (a torn or corrupted disk): opening the spool cuts
/// it at the first bad record, and what is read back is whole records only; appending after
/// the cut works.
pub fn spool_segment(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUN: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "logship-fuzz-spool-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err()
        || std::fs::write(dir.join(format!("{:020}.seg", 0)), data).is_err()
    {
        return;
    }
    spool_segment_in(&dir, data);
    let _ = std::fs::remove_dir_all(&dir);
}

fn spool_segment_in(dir: &Path, data: &[u8]) {
    use crate::input::syslog::spool::Spool;
    let Ok(spool) = Spool::open(dir, 1 << 16, 1 << 20, 0) else {
        return;
    };
    let end = spool.end();
    assert!(end <= data.len() as u64);
    let records = spool.read_from(0, usize::MAX).unwrap_or_default();
    assert_eq!(records.last().map_or(0, |r| r.0), end);
    // The reader's cursor, a few records at a time, reads the same.
    let mut cursor = crate::input::syslog::spool::Cursor::new(0);
    let mut reads = crate::input::syslog::spool::SpoolReads::default();
    let mut read: Vec<(u64, Vec<u8>)> = Vec::new();
    while cursor.next(&spool, 3, 1 << 20, &mut reads).unwrap_or(0) > 0 {
        read.extend(reads.iter().map(|(_, end, p)| (end, p.to_vec())));
        reads.clear();
    }
    assert_eq!(read, records);
    if let Ok(after) = spool.append(b"after") {
        let again = spool.read_from(end, usize::MAX).unwrap_or_default();
        assert_eq!(
            again.first().map(|r| (r.0, r.1.as_slice())),
            Some((after, &b"after"[..]))
        );
    }
}

/// The `file` input's decoder, `format: syslog` and `plain`.
pub fn file_lines(data: &[u8]) {
    drive_input("type: file\n    paths: [/x]\n    format: syslog", "", data);
    drive_input("type: file\n    paths: [/x]\n    format: plain", "", data);
}

/// The Docker json-file decoder with partial-line joining; on every line, the one-pass reading
/// of the driver's own shape must agree with serde_json's.
pub fn docker_lines(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        docker_line_agrees(line);
    }
    drive_input("type: docker", "max_line_bytes: 64\n", data);
}

/// Panics when the fast path reads `line` differently from serde_json.
pub fn docker_line_agrees(line: &[u8]) {
    use crate::input::docker::line::{fast, general};
    if let Some(f) = fast(line) {
        assert_eq!(
            Some(f),
            general(line),
            "fast path and serde_json differ on {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// The CRI decoder with `P`/`F` joining.
pub fn cri_lines(data: &[u8]) {
    drive_input(
        "type: cri\n    paths: [/var/log/containers/*.log]",
        "max_line_bytes: 64\n",
        data,
    );
}

/// The partial-line joiner alone: pieces of two streams, interleaved, with multibyte text.
pub fn joiner(data: &[u8]) {
    use crate::input::Stream;
    let mut b = Bytes(data);
    let max = usize::from(b.byte() % 64) + 1;
    let mut j = crate::input::partial::Joiner::new(max);
    let mut offset = 0u64;
    while !b.0.is_empty() {
        let op = b.byte();
        let len = usize::from(b.byte() % 16);
        let piece_bytes: Vec<u8> = (0..len).map(|_| b.byte()).collect();
        let piece = String::from_utf8_lossy(&piece_bytes);
        let stream = if op & 1 == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        offset += 1 + len as u64;
        if op & 2 == 0 {
            j.partial(stream, offset, &piece);
        } else {
            let r = j.finish(stream, offset, piece.clone());
            assert!(r.text.len() <= max, "joined past the cap");
            assert!(r.offset <= offset);
        }
        assert!(j.ack_end(offset) <= offset);
    }
}

/// `multiline` (both match kinds, a negated pattern, small caps) after the `plain` decoder.
pub fn multiline(data: &[u8]) {
    for rule in [
        "{ pattern: '^\\s', match: after, max_lines: 3, max_bytes: 40 }",
        "{ pattern: '^\\d', negate: true, match: after, max_lines: 50 }",
        "{ pattern: '\\\\$', match: before, max_lines: 4 }",
        "{ preset: java }",
    ] {
        drive_input(
            &format!("type: file\n    paths: [/x]\n    processors:\n      - multiline: {rule}"),
            "",
            data,
        );
    }
}

/// `decode_json` into the root, under a target, with `expand_keys`, followed by `rename` and
/// `add_fields` on the decoded keys, and by a `drop` condition reading them.
pub fn decode_json(data: &[u8]) {
    for p in [
        "- decode_json: { target: '', add_error_key: true }",
        "- decode_json: { target: 'a.b', overwrite_keys: true, max_depth: 2 }",
        "- decode_json: { target: '', expand_keys: true, overwrite_keys: true }\n      - rename: { fields: { 'a.b': c, message: m } }\n      - add_fields: { fields: { x: 1 }, target: 'a' }",
        // Plain objects kept as text, read by every condition, then changed.
        "- decode_json: { target: '' }\n      - drop: { when: { or: [ { equals: { a: 1 } }, { contains: { b: x } }, { regexp: { c: '^z' } }, { range: { d: { gte: 1 } } }, { has_fields: [e] } ] } }\n      - add_fields: { fields: { x: 1 }, target: '' }",
    ] {
        drive_input(
            &format!("type: file\n    paths: [/x]\n    processors:\n      {p}"),
            "",
            data,
        );
    }
}

/// `Event` get, set, remove and serialization on arbitrary dotted keys, with shared fields.
pub fn event_paths(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut shared = Fields::new();
    shared.insert(
        "log".into(),
        serde_json::json!({ "file": { "path": "/a" } }),
    );
    shared.insert("host".into(), serde_json::json!({ "name": "h" }));
    let mut e = Event::with_shared(
        Fields::new(),
        std::sync::Arc::new(crate::event::Shared::new(shared)),
        Some(Position {
            source: SourceId(1),
            end: 1,
            origin: 1,
            start: 0,
        }),
    );
    for (i, key) in text.split('\n').enumerate() {
        match i % 5 {
            0 | 1 => e.set(key, Value::String(key.to_string())),
            2 => {
                let _ = e.get(key);
            }
            3 => {
                let _ = e.remove(key);
            }
            _ => e.add_flag(key),
        }
    }
    let mut out = Vec::new();
    e.write_json(&mut out);
    assert!(
        is_json(&out),
        "not JSON: {:?}",
        String::from_utf8_lossy(&out)
    );
    let _ = e.to_value();
}

/// Every condition kind, with field names and values from the input, on records decoded from it.
pub fn conditions(data: &[u8]) {
    use crate::process::condition::Condition;
    use crate::process::config::ConditionConfig;
    let text = String::from_utf8_lossy(data);
    let (field, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let yaml = [
        format!(
            "equals: {{ {}: 1 }}",
            serde_json::to_string(field).unwrap_or_default()
        ),
        format!(
            "contains: {{ {}: x }}",
            serde_json::to_string(field).unwrap_or_default()
        ),
        format!(
            "regexp: {{ message: {} }}",
            serde_json::to_string(field).unwrap_or_default()
        ),
        format!(
            "has_fields: [{}]",
            serde_json::to_string(field).unwrap_or_default()
        ),
        format!(
            "range: {{ {}: {{ gte: 1, lt: 9 }} }}",
            serde_json::to_string(field).unwrap_or_default()
        ),
        "or: [ { equals: { stream: stderr } }, { not: { contains: { message: a } } } ]".to_string(),
        "and: [ { regexp: { message: '^\\d+' } }, { range: { 'n': { gt: 0 } } } ]".to_string(),
    ];
    let mut events = Vec::new();
    for line in rest.split('\n') {
        let mut e = Event::new(Fields::new(), None);
        e.set("message", Value::String(line.to_string()));
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(line) {
            for (k, v) in m {
                e.insert_key(k, v);
            }
        }
        events.push(e);
    }
    for y in &yaml {
        let Ok(c) = crate::config::from_yaml::<ConditionConfig>(y) else {
            continue;
        };
        let Ok(cond) = Condition::build(&c, "when") else {
            continue;
        };
        for e in &events {
            let _ = cond.matches(e);
        }
    }
}

/// The configuration loader: `${VAR}` substitution (every variable set to the bytes after the
/// first NUL), YAML, typing and validation.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (text, value) = text.split_once('\0').unwrap_or((&text, "v"));
    let value = value.to_string();
    let _ = settings::parse(text, |name| (!name.starts_with('U')).then(|| value.clone()));
}

/// The beats ACK reader: windows of sizes from the input, then the server's bytes.
pub fn beats_acks(data: &[u8]) {
    let mut b = Bytes(data);
    let windows: Vec<u32> = (0..(b.byte() % 4)).map(|_| b.u32() % 5000 + 1).collect();
    let (ended, dead) = crate::output::logstash::service::replay_acks(&windows, b.rest());
    for r in ended.iter().flatten() {
        if let Err(acked) = r {
            assert!(dead.is_some(), "a window failed on a live connection");
            let _ = acked;
        }
    }
}

/// The `_bulk` response reader for 0 to 7 records.
pub fn bulk_response(data: &[u8]) {
    let mut b = Bytes(data);
    let sent = usize::from(b.byte() % 8);
    if let Ok(outcomes) = crate::output::elasticsearch::classify::read_response(b.rest(), sent) {
        assert_eq!(outcomes.len(), sent);
    }
}

/// CloudWatch's `rejectedLogEventsInfo` indices applied to a call.
pub fn cloudwatch_rejected(data: &[u8]) {
    let mut b = Bytes(data);
    let n = usize::from(b.byte() % 32);
    let events: Vec<(i64, usize)> = (0..n).map(|i| (i64::from(b.u32()) * 1000, i)).collect();
    let idx = |b: &mut Bytes| {
        let v = b.u32() as i32;
        (v % 3 != 0).then_some(v % 40 - 5)
    };
    let (old, expired, new) = (idx(&mut b), idx(&mut b), idx(&mut b));
    let now = i64::from(b.u32()) * 1000;
    let r = crate::output::cloudwatch::rejected_events(&events, old, expired, new, now);
    for (i, _) in &r {
        assert!(*i < n.max(1), "rejected an event not in the call");
    }
}

/// The Docker API answers the enricher reads: container inspect and the events stream.
pub fn docker_api(data: &[u8]) {
    use crate::enrich::config::DockerEnrichConfig;
    if let Ok(info) = serde_json::from_slice::<bollard::models::ContainerInspectResponse>(data) {
        let cfg: DockerEnrichConfig = match crate::config::from_yaml(
            "{ labels: { include: ['*'], exclude: ['secret.*'] }, env: [A, B] }",
        ) {
            Ok(c) => c,
            Err(_) => return,
        };
        let e = crate::enrich::docker::DockerEnricher::new(&cfg);
        let _ = e.build(info);
    }
    if let Ok(msg) = serde_json::from_slice::<bollard::models::EventMessage>(data) {
        let _ = crate::enrich::docker::event_action(msg);
    }
}

/// What the Kubernetes API answers (a pod, a watch event, a namespace): the pod's fields and
/// steering, the store's indexes, and the lookups a file makes of it.
pub fn kube_api(data: &[u8]) {
    use crate::enrich::kubernetes::meta::{labels_object, Filters, PodMeta};
    use crate::enrich::kubernetes::store::{FileKey, PodStore};
    use k8s_openapi::api::core::v1::{Namespace, Pod};
    let globs = |v: &[&str]| {
        v.iter()
            .filter_map(|p| glob::Pattern::new(p).ok())
            .collect()
    };
    let filters = Filters {
        label_include: globs(&["*"]),
        label_exclude: globs(&["secret*"]),
        annotations: globs(&["*.example.com/*"]),
    };
    let pod = serde_json::from_slice::<Pod>(data).ok().or_else(|| {
        let ev: k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent<Pod> =
            serde_json::from_slice(data).ok()?;
        match ev {
            k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent::Added(p)
            | k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent::Modified(p)
            | k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent::Deleted(p) => Some(p),
            _ => None,
        }
    });
    if let Some(pod) = pod {
        let meta = PodMeta::from_pod(&pod, &filters);
        let store = PodStore::new(std::time::Duration::from_secs(1), &[String::new()]);
        let keys: Vec<FileKey> = meta
            .container_ids
            .iter()
            .map(|(id, _)| FileKey {
                container_id: Some(id.clone()),
                ..FileKey::default()
            })
            .chain(meta.images.keys().map(|c| FileKey {
                namespace: Some(meta.namespace.clone()),
                pod: Some(meta.name.clone()),
                container: Some(c.clone()),
                ..FileKey::default()
            }))
            .collect();
        let uid = meta.uid.clone();
        store.relist_begin("");
        store.relist_item("", meta);
        store.relist_done("");
        for k in &keys {
            if let Some(view) = store.lookup(k) {
                let _ = serde_json::to_vec(&view.kubernetes);
            }
        }
        store.delete(&uid);
        store.sweep(std::time::Instant::now() + std::time::Duration::from_secs(2));
        let _ = store.lookup(&FileKey::default());
    }
    if let Ok(ns) = serde_json::from_slice::<Namespace>(data) {
        let _ = labels_object(ns.metadata.labels.as_ref(), &filters);
    }
}

/// `logship migrate`'s readers: the bytes before the first NUL as a configuration to translate,
/// the rest as a Filebeat registry (snapshot, NUL, operations log).
pub fn migrate(data: &[u8]) {
    let (conf, rest) = match data.iter().position(|b| *b == 0) {
        Some(i) => (
            data.get(..i).unwrap_or(&[]),
            data.get(i + 1..).unwrap_or(&[]),
        ),
        None => (data, &[][..]),
    };
    if let Ok(text) = std::str::from_utf8(conf) {
        let _ = crate::migrate::translate(text);
    }
    let (snap, log) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (rest.get(..i), rest.get(i + 1..).unwrap_or(&[])),
        None => (None, rest),
    };
    let mut bad = 0;
    let _ = crate::migrate::registry::parse(snap, &String::from_utf8_lossy(log), &mut bad);
}

/// The line reader: a file of the input's bytes read in small blocks, lines capped.
pub fn line_reader(data: &[u8]) {
    use std::io::Write;
    let mut b = Bytes(data);
    let max = usize::from(b.byte() % 32) + 1;
    let body = b.rest();
    let Ok(mut f) = tempfile_in_memory() else {
        return;
    };
    if f.write_all(body).is_err() {
        return;
    }
    // Read twice: as it comes, and with the memory released (partial lines parked) after every
    // block: the same lines either way.
    let read = |park: bool| {
        let mut r = crate::tail::reader::LineReader::new(0, max);
        let mut lines = Vec::new();
        loop {
            let n = r.fill(&f).ok()?;
            while let Some(line) = r.next_line() {
                assert!(line.bytes.len() <= max, "line past max_line");
                assert!(line.end > line.offset || line.bytes.is_empty());
                lines.push((line.offset, line.end, line.bytes.to_vec(), line.truncated));
            }
            if park {
                r.release_memory();
            }
            if n == 0 {
                break;
            }
        }
        if let Some(rest) = r.take_rest(&f) {
            lines.push((rest.offset, rest.end, rest.bytes.to_vec(), rest.truncated));
        }
        Some(lines)
    };
    let (Some(plain), Some(parked)) = (read(false), read(true)) else {
        return;
    };
    assert_eq!(plain, parked, "parking changed the lines");
    assert!(plain.last().is_none_or(|l| l.1 <= body.len() as u64));
}

/// The `file` output's repair of the file it appends to (whatever a crash or another program
/// left there): its content, repeated to cross the 64 KiB blocks read backwards, must end up cut
/// after its last newline (or emptied when it has none), and nothing else changed.
pub fn file_output_tail(data: &[u8]) {
    use std::io::{Read, Seek, Write};
    let mut b = Bytes(data);
    let times = usize::from(b.byte() % 64) + 1;
    let content = b.rest().repeat(times);
    let Ok(mut f) = tempfile_in_memory() else {
        return;
    };
    if f.write_all(&content).is_err() {
        return;
    }
    let Ok(cut) = crate::output::file::cut_torn_line(&f) else {
        return;
    };
    let keep = match content.last() {
        None | Some(b'\n') => content.len(),
        Some(_) => memchr::memrchr(b'\n', &content).map_or(0, |i| i + 1),
    };
    assert_eq!(cut, Some((content.len() - keep) as u64).filter(|n| *n > 0));
    let mut after = Vec::new();
    if f.rewind().is_ok() && f.read_to_end(&mut after).is_ok() {
        assert_eq!(after.as_slice(), content.get(..keep).unwrap_or_default());
    }
}

/// An anonymous file (no name on disk).
fn tempfile_in_memory() -> std::io::Result<std::fs::File> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "logship-fuzz-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}
