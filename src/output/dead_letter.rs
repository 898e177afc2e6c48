//! Dead letters: records an output rejected for good (e.g. an Elasticsearch mapping error),
//! kept as NDJSON in `data_dir/dead_letter/<output>.ndjson`, one line per record:
//! `{"@timestamp", "output", "status", "reason", "record"}`. The file is rotated to `.1` when it
//! reaches `max_size` (the previous `.1` is dropped), so it never grows past twice that. Each
//! record is counted in `logship_events_dropped_total{reason="rejected"}`.

use crate::config::units::Size;
use crate::metrics::metrics;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct DeadLetter {
    output: String,
    path: PathBuf,
    max_size: u64,
    file: Mutex<Option<(std::fs::File, u64)>>,
}

/// One rejected record: its serialized JSON and why.
pub struct Rejected<'a> {
    /// The record as the output would have sent it.
    pub record: &'a [u8],
    /// The status the destination answered for it (0 when the agent rejected it).
    pub status: u16,
    /// Why, in the destination's words.
    pub reason: String,
}

impl DeadLetter {
    pub fn new(data_dir: &Path, output: &str, max_size: u64) -> DeadLetter {
        DeadLetter {
            output: output.to_string(),
            path: data_dir
                .join("dead_letter")
                .join(format!("{}.ndjson", output.replace(['/', '\\'], "_"))),
            max_size: max_size.max(4096),
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> std::io::Result<(std::fs::File, u64)> {
        if let Some(dir) = self.path.parent() {
            crate::tail::checkpoint::private_dir(dir)?;
        }
        let f = crate::tail::checkpoint::private_file(&self.path, true)?;
        let len = f.metadata()?.len();
        Ok((f, len))
    }

    /// Appends the records (and flushes them to disk) before the batch is acknowledged. When
    /// that fails the error says so and the caller must not acknowledge the batch: the records
    /// are written again when it is retried (nothing is lost because a disk is full).
    pub fn write(&self, rejected: &[Rejected<'_>]) -> Result<(), String> {
        if rejected.is_empty() {
            return Ok(());
        }
        let now = crate::event::timestamp(chrono::Utc::now());
        let mut text = Vec::new();
        for r in rejected {
            text.extend_from_slice(b"{\"@timestamp\":\"");
            text.extend_from_slice(now.as_bytes());
            text.extend_from_slice(b"\",\"output\":");
            let _ = serde_json::to_writer(&mut text, &self.output);
            text.extend_from_slice(format!(",\"status\":{},\"reason\":", r.status).as_bytes());
            let _ = serde_json::to_writer(&mut text, &r.reason);
            text.extend_from_slice(b",\"record\":");
            text.extend_from_slice(r.record);
            text.extend_from_slice(b"}\n");
        }
        let mut slot = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.append(&mut slot, &text) {
            *slot = None;
            return Err(format!(
                "cannot write {} rejected records to the dead-letter file {}: {e}; the batch is kept until they are written",
                rejected.len(),
                self.path.display()
            ));
        }
        metrics()
            .events_dropped
            .with_label_values(&["rejected"])
            .inc_by(rejected.len() as u64);
        tracing::warn!(output = %self.output, records = rejected.len(), file = %self.path().display(), first_reason = %rejected[0].reason, "records rejected by the destination were written to the dead-letter file");
        Ok(())
    }

    fn append(&self, slot: &mut Option<(std::fs::File, u64)>, text: &[u8]) -> std::io::Result<()> {
        if slot.as_ref().is_some_and(|(_, len)| *len >= self.max_size) {
            *slot = None;
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            std::fs::rename(&self.path, rotated)?;
        }
        if slot.is_none() {
            *slot = Some(self.open()?);
            if slot.as_ref().is_some_and(|(_, len)| *len >= self.max_size) {
                return self.append(slot, text);
            }
        }
        let Some((f, len)) = slot.as_mut() else {
            return Ok(());
        };
        f.write_all(text)?;
        f.sync_data()?;
        *len += text.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_output_reason_and_record_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let dl = DeadLetter::new(dir.path(), "es", 4096);
        let record = br#"{"message":"x"}"#;
        for _ in 0..40 {
            dl.write(&[Rejected {
                record,
                status: 400,
                reason: "mapper_parsing_exception: failed to parse [n]".into(),
            }])
            .unwrap();
        }
        let text = std::fs::read_to_string(dl.path()).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["output"], "es");
        assert_eq!(first["status"], 400);
        assert_eq!(first["record"]["message"], "x");
        assert!(first["reason"].as_str().unwrap().contains("mapper_parsing"));
        let rotated = dir.path().join("dead_letter/es.ndjson.1");
        assert!(rotated.exists(), "not rotated");
        assert!(std::fs::metadata(dl.path()).unwrap().len() < 4096 + 200);
    }
}

/// Where records an output rejects for good are kept: `data_dir/dead_letter/<output>.ndjson`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// The file is rotated (to `.1`, the previous `.1` removed) once it reaches this size.
    #[serde(default = "default_dead_letter_max")]
    pub max_size: Size,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        DeadLetterConfig {
            max_size: default_dead_letter_max(),
        }
    }
}

fn default_dead_letter_max() -> Size {
    Size(100 << 20)
}
