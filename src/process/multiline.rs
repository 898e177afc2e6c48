//! `multiline`: consecutive lines of one source and stream become one record (stack traces).
//!
//! As Filebeat: with `match: after`, a line that matches `pattern` (or does not, with `negate`)
//! is appended to the record before it; with `match: before`, such a line is joined to the
//! lines after it, up to and including the first line that does not match. Presets (`java`,
//! `python`, `go`) fill `pattern`/`negate`/`match`. A pending record is emitted when the next one
//! starts, when no line came for `timeout`, at `max_lines` (further lines are dropped from the
//! message, flagged `truncated`) and when the file is released or the agent stops.
//!
//! State is kept per stream (`stream` field: Docker/CRI stdout and stderr separately) inside the
//! decoder of one file, so two sources never mix. The joined record carries the position of its
//! last line; while a record is pending, every other record of the file leaves this stage with
//! its position capped at the start of the pending one, so a checkpoint never passes a line that
//! has not been shipped: after a crash the whole group is read again.

use super::config::{MultilineConfig, MultilineMatch, MultilinePreset};
use crate::event::Event;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct MultilineRule {
    pattern: Regex,
    negate: bool,
    match_after: bool,
    max_lines: usize,
    max_bytes: usize,
    timeout: Duration,
}

/// The preset's (pattern, negate, match).
fn preset(p: MultilinePreset) -> (&'static str, bool, MultilineMatch) {
    match p {
        // Continuation lines: the exception after the log line ("java.lang.FooException: ..."),
        // "\tat ...", "\t... 12 more", "Caused by: ...", "Suppressed: ...".
        MultilinePreset::Java => (
            r"^\s+(at\s|\.\.\.\s+\d+\s+more)|^\s*(Caused by|Suppressed):|^[A-Za-z_$][\w$.]*(Exception|Error|Throwable)(:|\s|$)",
            false,
            MultilineMatch::After,
        ),
        // "Traceback (most recent call last):" starts; indented frames, the chained-exception
        // lines, blank lines and the final "SomeError: ..." line continue.
        MultilinePreset::Python => (
            r"^\s|^$|^During handling of the above exception|^The above exception was the direct cause|^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit|Interrupt|Warning)\b",
            false,
            MultilineMatch::After,
        ),
        // "panic: ..." starts; blank lines, "goroutine N [...]:", frames "pkg.Func(...)",
        // tab-indented file lines, "created by ..." and "exit status N" continue.
        MultilinePreset::Go => (
            r"^\s|^$|^goroutine \d+ \[|^created by |^exit status \d+|^[A-Za-z0-9_./*()\[\]-]+\(.*\)$|^\[signal ",
            false,
            MultilineMatch::After,
        ),
    }
}

impl MultilineRule {
    pub fn build(c: &MultilineConfig) -> Result<MultilineRule, (String, String)> {
        let (p, n, m) = match c.preset {
            Some(p) => {
                let (p, n, m) = preset(p);
                (Some(p.to_string()), n, m)
            }
            None => (None, false, MultilineMatch::After),
        };
        let pattern = c.pattern.clone().or(p).ok_or_else(|| {
            (
                "pattern".to_string(),
                "needs `pattern` or `preset` (java, python, go)".to_string(),
            )
        })?;
        let pattern = Regex::new(&pattern).map_err(|e| {
            (
                "pattern".to_string(),
                format!(
                    "invalid regex `{pattern}`: {}",
                    super::condition::one_line(&e.to_string())
                ),
            )
        })?;
        Ok(MultilineRule {
            pattern,
            negate: c.negate.unwrap_or(n),
            match_after: c.match_.unwrap_or(m) == MultilineMatch::After,
            max_lines: c.max_lines.max(1),
            max_bytes: c.max_bytes.0.max(1) as usize,
            timeout: c.timeout.0,
        })
    }
}

struct Pending {
    first: Event,
    lines: Vec<String>,
    bytes: usize,
    truncated: bool,
    last: Option<crate::event::Position>,
    updated: Instant,
    /// The end of everything before the first line: the cap for other records meanwhile.
    floor: u64,
}

pub struct Multiline {
    rule: MultilineRule,
    pending: HashMap<String, Pending>,
    /// End of the last record seen by this stage (any stream).
    seen_end: u64,
}

fn stream_of(e: &Event) -> String {
    e.get("stream")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

impl Multiline {
    pub fn new(rule: MultilineRule) -> Multiline {
        Multiline {
            rule,
            pending: HashMap::new(),
            seen_end: 0,
        }
    }

    fn finish(&mut self, p: Pending) -> Event {
        let mut e = p.first;
        let n = p.lines.len();
        e.set("message", Value::String(p.lines.join("\n")));
        // Acknowledges up to its last line; keeps its first line's start as its identity.
        if let (Some(mut last), Some(first)) = (p.last, e.position) {
            last.start = first.start;
            e.position = Some(last);
        }
        if n > 1 {
            e.add_flag("multiline");
        }
        if p.truncated {
            e.add_flag("truncated");
        }
        e
    }

    fn start(&self, e: Event, msg: String) -> Pending {
        Pending {
            bytes: msg.len(),
            lines: vec![msg],
            last: e.position,
            first: e,
            truncated: false,
            updated: Instant::now(),
            floor: self.seen_end,
        }
    }

    fn append(&self, p: &mut Pending, e: &Event, msg: String) {
        if p.lines.len() < self.rule.max_lines && p.bytes + msg.len() < self.rule.max_bytes {
            p.bytes += msg.len() + 1;
            p.lines.push(msg);
        } else {
            p.truncated = true;
        }
        if e.position.is_some() {
            p.last = e.position;
        }
        p.updated = Instant::now();
    }

    /// The lowest start of a pending record: no record may be acknowledged past it.
    fn cap(&self) -> Option<u64> {
        self.pending.values().map(|p| p.floor).min()
    }

    fn push_capped(&self, mut e: Event, out: &mut Vec<Event>) {
        if let (Some(cap), Some(pos)) = (self.cap(), e.position.as_mut()) {
            pos.end = pos.end.min(cap);
        }
        out.push(e);
    }

    pub fn process(&mut self, e: Event, out: &mut Vec<Event>) {
        let end = e.position.map(|p| p.end);
        let msg = match e.get("message") {
            Some(Value::String(s)) if !e.ack_only => Some(s.clone()),
            _ => None,
        };
        let Some(msg) = msg else {
            self.push_capped(e, out);
            if let Some(end) = end {
                self.seen_end = self.seen_end.max(end);
            }
            return;
        };
        let key = stream_of(&e);
        let matched = self.rule.pattern.is_match(&msg) != self.rule.negate;
        if self.rule.match_after {
            match self.pending.remove(&key) {
                Some(mut p) if matched => {
                    self.append(&mut p, &e, msg);
                    self.pending.insert(key, p);
                }
                previous => {
                    if let Some(p) = previous {
                        let done = self.finish(p);
                        self.push_capped(done, out);
                    }
                    let p = self.start(e, msg);
                    self.pending.insert(key, p);
                }
            }
        } else {
            match self.pending.remove(&key) {
                Some(mut p) => {
                    self.append(&mut p, &e, msg);
                    if matched {
                        self.pending.insert(key, p);
                    } else {
                        let done = self.finish(p);
                        self.push_capped(done, out);
                    }
                }
                None if matched => {
                    let p = self.start(e, msg);
                    self.pending.insert(key, p);
                }
                None => self.push_capped(e, out),
            }
        }
        if let Some(end) = end {
            self.seen_end = self.seen_end.max(end);
        }
    }

    /// Emits pending records idle for `timeout` (all of them with `all`).
    pub fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| all || p.updated.elapsed() >= self.rule.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            if let Some(p) = self.pending.remove(&k) {
                let e = self.finish(p);
                self.push_capped(e, out);
            }
        }
    }
}
