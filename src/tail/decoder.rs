//! What the tailing engine asks of an input: a `LineDecoder` per file that turns lines into
//! events (and may hold some back, as a partial Docker line or a multiline group), the
//! `FileCtx` it is given with each line, and the `TailSettings` an input builds from its config.

use super::reader::Line;
use crate::event::{Event, SourceId};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What a decoder knows about the line's file.
pub struct FileCtx<'a> {
    pub source: SourceId,
    /// Stable identity of the file (see `Position::origin`).
    pub origin: u64,
    /// When this block was read, RFC 3339: the `@timestamp` of formats that carry none.
    pub read_time: &'a str,
}

/// Turns lines of one file into events (one decoder per file, so it may keep state such as a
/// partial Docker line).
pub trait LineDecoder: Send {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>);
    /// Records held back (a pending multiline group): those due (idle past their timeout), or
    /// all of them with `all` (the file is released, the agent stops).
    fn flush(&mut self, _all: bool, _out: &mut Vec<Event>) {}
}

pub type DecoderFactory = Arc<dyn Fn(&Path) -> Box<dyn LineDecoder> + Send + Sync>;

pub struct TailSettings {
    /// The input's name, for logs and metrics.
    pub input: String,
    /// The input's checkpoint identity (`InputConfig::key`).
    pub key: String,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub read_from: ReadFrom,
    pub scan_frequency: Duration,
    pub rotate_wait: Duration,
    pub max_line: usize,
}

/// `read_from:` of a file-based input: where a file never seen before is read from.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    Beginning,
    #[default]
    End,
}
