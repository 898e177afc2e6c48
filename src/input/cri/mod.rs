//! `type: cri`: container logs as containerd and CRI-O write them, read through the
//! `/var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log` symlinks. Each line is
//! `<RFC 3339 nano> <stdout|stderr> <P|F>[:more tags] <message>`; `P` pieces are joined with the
//! following ones of the same stream. Kubernetes fields come from the file name, and the pod uid
//! from the link's target `/var/log/pods/<namespace>_<pod>_<uid>/<container>/N.log`.

pub mod config;

use crate::event::Event;
use crate::input::file::Common;
use crate::input::partial::{Joiner, StreamRecords};
use crate::input::Stream;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder, TailSettings};
use config::CriInputConfig;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// What the path says about the container.
#[derive(Debug, Default, PartialEq)]
pub struct PodInfo {
    pub pod: String,
    pub namespace: String,
    pub container: String,
    pub container_id: String,
    pub pod_uid: Option<String>,
}

/// Parses `<pod>_<namespace>_<container>-<id>.log`; reads the link for the pod uid.
pub fn pod_info(path: &Path) -> Option<PodInfo> {
    let name = path.file_name()?.to_str()?.strip_suffix(".log")?;
    let (left, id) = name.rsplit_once('-')?;
    let mut parts = left.splitn(3, '_');
    let (pod, namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    let pod_uid = std::fs::read_link(path).ok().and_then(|target| {
        target.components().find_map(|c| {
            let s = c.as_os_str().to_str()?;
            let mut p = s.splitn(3, '_');
            match (p.next(), p.next(), p.next()) {
                (Some(ns), Some(pd), Some(uid)) if ns == namespace && pd == pod => {
                    Some(uid.to_string())
                }
                _ => None,
            }
        })
    });
    Some(PodInfo {
        pod: pod.into(),
        namespace: namespace.into(),
        container: container.into(),
        container_id: id.into(),
        pod_uid,
    })
}

/// `<time> <stream> <tag> <message>` → (time, stream, partial?, message). The message stays
/// bytes: a runtime cuts a long line into pieces at a byte count, so a piece may end inside a
/// character that the next piece finishes.
fn parse(line: &[u8]) -> Option<(&str, Stream, bool, &[u8])> {
    let mut fields = line.splitn(4, |&b| b == b' ');
    let time = std::str::from_utf8(fields.next()?).ok()?;
    let stream = match fields.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let tag = fields.next()?;
    let msg = fields.next().unwrap_or_default();
    let partial = match tag.split(|&b| b == b':').next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some((time, stream, partial, msg))
}

struct CriDecoder {
    records: StreamRecords,
    partial_timeout: std::time::Duration,
}

impl LineDecoder for CriDecoder {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let parsed = (!line.truncated).then(|| parse(line.bytes)).flatten();
        let Some((time, stream, partial, msg)) = parsed else {
            self.records.raw(line, file, out);
            return;
        };
        self.records
            .piece_bytes(line, file, stream, partial, msg, time, out);
    }

    fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        self.records.flush(all, self.partial_timeout, out);
    }
}

pub fn tail_settings(
    name: &str,
    key: &str,
    c: &CriInputConfig,
    max_line: usize,
    host_name: &str,
) -> (TailSettings, DecoderFactory) {
    let common = Common::new(host_name, "cri");
    let streams = c.streams.clone();
    let partial_timeout = c.partial_timeout.0;
    let factory: DecoderFactory = Arc::new(move |path| {
        let mut extra = crate::event::Fields::new();
        if let Some(p) = pod_info(path) {
            let mut pod = json!({ "name": p.pod });
            if let Some(uid) = p.pod_uid {
                pod["uid"] = Value::String(uid);
            }
            extra.insert(
                "kubernetes".into(),
                json!({ "pod": pod, "namespace": p.namespace, "container": { "name": p.container } }),
            );
            extra.insert("container".into(), json!({ "id": p.container_id }));
        }
        Box::new(CriDecoder {
            records: StreamRecords {
                common: common.for_file(path, extra),
                streams: streams.clone(),
                joiner: Joiner::new(max_line),
                format: "CRI log",
            },
            partial_timeout,
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
            // The timestamp, stream and tag come before the message.
            max_line: max_line.saturating_add(64),
        },
        factory,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names() {
        assert_eq!(
            parse(b"2026-11-24T10:00:00.1Z stderr P part one"),
            Some((
                "2026-11-24T10:00:00.1Z",
                Stream::Stderr,
                true,
                &b"part one"[..]
            ))
        );
        assert_eq!(
            parse(b"2026-11-24T10:00:00.1Z stdout F"),
            Some(("2026-11-24T10:00:00.1Z", Stream::Stdout, false, &b""[..]))
        );
        assert_eq!(
            parse(b"2026-11-24T10:00:00.1Z stdout F:x \xc3"),
            Some((
                "2026-11-24T10:00:00.1Z",
                Stream::Stdout,
                false,
                &b"\xc3"[..]
            ))
        );
        assert!(parse(b"garbage").is_none());
        assert!(parse(b"t stdin F x").is_none());
        let id = "b".repeat(64);
        let p = pod_info(Path::new(&format!(
            "/var/log/containers/web-7d9_shop_nginx-{id}.log"
        )))
        .unwrap();
        assert_eq!(
            (p.pod.as_str(), p.namespace.as_str(), p.container.as_str()),
            ("web-7d9", "shop", "nginx")
        );
        assert_eq!(p.container_id, id);
    }
}
