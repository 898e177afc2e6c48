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
    /// The first line's record, its message taken out into `text`.
    first: Event,
    /// The lines joined so far (`\n` between them).
    text: String,
    lines: usize,
    truncated: bool,
    last: Option<crate::event::Position>,
    updated: Instant,
    /// The end of everything before the first line: the cap for other records meanwhile.
    floor: u64,
}

/// Most streams remembered per file (a slot is kept once made; past this, idle slots go).
const MAX_STREAMS: usize = 8;

pub struct Multiline {
    rule: MultilineRule,
    /// One slot per stream (`stream` field: Docker/CRI stdout and stderr, or none): a short list
    /// searched by name, so no key is allocated per line.
    /// (Boxed: a record is a few hundred bytes, and the group moves in and out of its slot
    /// for every line; the box of the last group emitted is kept for the next.)
    pending: Vec<(String, Option<Box<Pending>>)>,
    spare: Option<Box<Pending>>,
    /// End of the last record seen by this stage (any stream).
    seen_end: u64,
}

fn stream_of(e: &Event) -> &str {
    e.get("stream").and_then(|v| v.as_str()).unwrap_or("")
}

impl Multiline {
    pub fn new(rule: MultilineRule) -> Multiline {
        Multiline {
            rule,
            pending: Vec::new(),
            spare: None,
            seen_end: 0,
        }
    }

    /// The slot of `stream`, made when missing.
    fn slot(&mut self, stream: &str) -> usize {
        if let Some(i) = self.pending.iter().position(|(k, _)| k == stream) {
            return i;
        }
        if self.pending.len() >= MAX_STREAMS {
            self.pending.retain(|(_, p)| p.is_some());
        }
        self.pending.push((stream.to_string(), None));
        self.pending.len() - 1
    }

    fn finish(&mut self, mut p: Box<Pending>) -> Event {
        // The record out, a placeholder that allocates nothing in; the box kept for the next.
        let mut e = std::mem::replace(&mut p.first, Event::new(Default::default(), None));
        e.set("message", Value::String(std::mem::take(&mut p.text)));
        // Acknowledges up to its last line; keeps its first line's start as its identity.
        if let (Some(mut last), Some(first)) = (p.last, e.position) {
            last.start = first.start;
            e.position = Some(last);
        }
        if p.lines > 1 {
            e.add_flag("multiline");
        }
        if p.truncated {
            e.add_flag("truncated");
        }
        self.spare = Some(p);
        e
    }

    fn start(&mut self, e: Event, msg: String) -> Box<Pending> {
        let (last, floor, updated) = (e.position, self.seen_end, Instant::now());
        match self.spare.take() {
            Some(mut p) => {
                p.first = e;
                p.text = msg;
                p.lines = 1;
                p.last = last;
                p.truncated = false;
                p.updated = updated;
                p.floor = floor;
                p
            }
            None => Box::new(Pending {
                text: msg,
                lines: 1,
                last,
                first: e,
                truncated: false,
                updated,
                floor,
            }),
        }
    }

    fn append(&self, p: &mut Pending, e: &Event, msg: &str) {
        if p.lines < self.rule.max_lines && p.text.len() + msg.len() < self.rule.max_bytes {
            p.text.push('\n');
            p.text.push_str(msg);
            p.lines += 1;
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
        self.pending
            .iter()
            .filter_map(|(_, p)| p.as_ref().map(|p| p.floor))
            .min()
    }

    fn push_capped(&self, mut e: Event, out: &mut Vec<Event>) {
        if let (Some(cap), Some(pos)) = (self.cap(), e.position.as_mut()) {
            pos.end = pos.end.min(cap);
        }
        out.push(e);
    }

    pub fn process(&mut self, mut e: Event, out: &mut Vec<Event>) {
        let end = e.position.map(|p| p.end);
        let msg = if e.ack_only { None } else { e.take_message() };
        let Some(msg) = msg else {
            self.push_capped(e, out);
            if let Some(end) = end {
                self.seen_end = self.seen_end.max(end);
            }
            return;
        };
        let slot = self.slot(stream_of(&e));
        let matched = self.rule.pattern.is_match(&msg) != self.rule.negate;
        let previous = self.pending.get_mut(slot).and_then(|(_, p)| p.take());
        let mut keep = None;
        if self.rule.match_after {
            match previous {
                Some(mut p) if matched => {
                    self.append(&mut p, &e, &msg);
                    keep = Some(p);
                }
                previous => {
                    if let Some(p) = previous {
                        let done = self.finish(p);
                        self.push_capped(done, out);
                    }
                    keep = Some(self.start(e, msg));
                }
            }
        } else {
            match previous {
                Some(mut p) => {
                    self.append(&mut p, &e, &msg);
                    if matched {
                        keep = Some(p);
                    } else {
                        let done = self.finish(p);
                        self.push_capped(done, out);
                    }
                }
                None if matched => keep = Some(self.start(e, msg)),
                None => {
                    e.set("message", Value::String(msg));
                    self.push_capped(e, out);
                }
            }
        }
        if let Some((_, p)) = self.pending.get_mut(slot) {
            *p = keep;
        }
        if let Some(end) = end {
            self.seen_end = self.seen_end.max(end);
        }
    }

    /// Emits pending records idle for `timeout` (all of them with `all`).
    pub fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        for i in 0..self.pending.len() {
            let due = self
                .pending
                .get(i)
                .and_then(|(_, p)| p.as_ref())
                .is_some_and(|p| all || p.updated.elapsed() >= self.rule.timeout);
            if !due {
                continue;
            }
            if let Some(p) = self.pending.get_mut(i).and_then(|(_, p)| p.take()) {
                let e = self.finish(p);
                self.push_capped(e, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Position, Shared, SourceId, StreamName};
    use std::sync::Arc;

    fn rule(yaml: &str) -> Multiline {
        let c: MultilineConfig = crate::config::from_yaml(yaml).unwrap();
        Multiline::new(MultilineRule::build(&c).unwrap())
    }

    /// A line of `stream` covering bytes start..end.
    fn line(text: &str, stream: StreamName, start: u64, end: u64) -> Event {
        let pos = Position {
            source: SourceId(1),
            end,
            origin: 9,
            start,
        };
        let mut e = Event::line(
            text.into(),
            start,
            "t".into(),
            Arc::new(Shared::default()),
            Some(pos),
        );
        e.set_stream(stream);
        e
    }

    fn msgs(out: &[Event]) -> Vec<(String, u64, u64)> {
        out.iter()
            .map(|e| {
                let p = e.position.unwrap();
                let m = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                (m.to_string(), p.start, p.end)
            })
            .collect()
    }

    #[test]
    fn two_streams_interleaved_stay_apart_and_cap_each_other() {
        let mut m = rule("{ pattern: '^\\s' }");
        let mut out = Vec::new();
        let (o, e) = (StreamName::Stdout, StreamName::Stderr);
        m.process(line("Exception: boom", o, 0, 10), &mut out);
        m.process(line("health ok", e, 10, 20), &mut out);
        m.process(line("  at a", o, 20, 30), &mut out);
        m.process(line("health ok", e, 30, 40), &mut out);
        m.process(line("  at b", o, 40, 50), &mut out);
        m.process(line("next", o, 50, 60), &mut out);
        m.flush(true, &mut out);
        let got = msgs(&out);
        // Each stream joins only its own lines; while one stream holds a group, the other's
        // records acknowledge no further than that group's start (the checkpoint never passes
        // a held line), yet keep their own start as their identity.
        let trace = "Exception: boom\n  at a\n  at b";
        assert_eq!(
            got,
            vec![
                ("health ok".into(), 10, 0),
                (trace.into(), 0, 30),
                ("next".into(), 50, 30),
                ("health ok".into(), 30, 40),
            ]
        );
        assert!(out[1]
            .get("log.flags")
            .unwrap()
            .to_string()
            .contains("multiline"));
    }

    #[test]
    fn match_before_negate_and_the_same_text_repeated() {
        // Lines ending in `\` continue onto the next; the same text twice stays two records.
        let mut m = rule("{ pattern: '\\\\$', match: before }");
        let mut out = Vec::new();
        let o = StreamName::Stdout;
        for (i, t) in ["a \\", "b", "same", "same", "x \\", "y \\", "z"]
            .iter()
            .enumerate()
        {
            let i = i as u64;
            m.process(line(t, o, i * 10, i * 10 + 10), &mut out);
        }
        let got: Vec<String> = msgs(&out).into_iter().map(|g| g.0).collect();
        assert_eq!(got, ["a \\\nb", "same", "same", "x \\\ny \\\nz"]);
        assert_eq!(out[3].position.unwrap().start, 40);
        assert_eq!(out[3].position.unwrap().end, 70);
    }

    #[test]
    fn max_lines_cuts_and_flags_multibyte_text_whole() {
        let mut m = rule("{ pattern: '^\\s', max_lines: 2 }");
        let mut out = Vec::new();
        let o = StreamName::Stdout;
        m.process(line("Zoë é", o, 0, 8), &mut out);
        m.process(line(" ü 1", o, 8, 14), &mut out);
        m.process(line(" ü 2", o, 14, 20), &mut out);
        m.flush(true, &mut out);
        let got = msgs(&out);
        assert_eq!(got, vec![("Zoë é\n ü 1".into(), 0, 20)]);
        let flags = out[0].get("log.flags").unwrap().to_string();
        assert!(flags.contains("truncated") && flags.contains("multiline"));
    }
}
