//! Processors (`processors:` under an input, then the top-level ones, in list order): one file
//! per processor, a shared condition type, and the chain that runs them inside each file's
//! decoder, on the tailer's thread, so stateful ones (`multiline`) keep their state per source.
//! A record a processor drops becomes ack-only: it still moves its source's checkpoint, and the
//! pipeline counts it in `logship_events_dropped_total{reason="filtered"}`.

pub mod add_fields;
pub mod condition;
pub mod config;
pub mod decode_json;
pub mod fields;
pub mod filter;
pub mod multiline;
pub mod rename;

use crate::config::{Problems, Value};
use crate::event::Event;
use crate::tail::tailer::{FileCtx, LineDecoder};
use condition::Condition;
use config::{ConditionConfig, ProcessorConfig};
use std::sync::Arc;

/// A processor ready to run (regexes compiled).
#[derive(Clone)]
pub enum Step {
    DecodeJson(Arc<decode_json::DecodeJson>, Option<Condition>),
    Multiline(multiline::MultilineRule),
    Filter(Arc<filter::Filter>),
    Rename(Arc<config::RenameConfig>, Option<Condition>),
    AddFields(Arc<config::AddFieldsConfig>, Option<Condition>),
    DropFields(Arc<config::FieldsConfig>, Option<Condition>),
    IncludeFields(Arc<config::FieldsConfig>, Option<Condition>),
}

fn when(
    c: &Option<ConditionConfig>,
    path: &str,
) -> Result<Option<Condition>, Vec<(String, String)>> {
    c.as_ref()
        .map(|c| Condition::build(c, &format!("{path}.when")))
        .transpose()
}

/// Builds one processor; errors are (YAML path, message).
pub fn build(p: &ProcessorConfig, path: &str) -> Result<Step, Vec<(String, String)>> {
    Ok(match p {
        ProcessorConfig::DecodeJson(c) => Step::DecodeJson(
            Arc::new(decode_json::DecodeJson::new(c.clone())),
            when(&c.when, &format!("{path}.decode_json"))?,
        ),
        ProcessorConfig::Multiline(c) => Step::Multiline(
            multiline::MultilineRule::build(c)
                .map_err(|(k, m)| vec![(format!("{path}.multiline.{k}"), m)])?,
        ),
        ProcessorConfig::Drop(w) | ProcessorConfig::Include(w) => {
            let keep = matches!(p, ProcessorConfig::Include(_));
            let name = if keep { "include" } else { "drop" };
            Step::Filter(Arc::new(filter::Filter {
                when: Condition::build(&w.when, &format!("{path}.{name}.when"))?,
                keep_matching: keep,
            }))
        }
        ProcessorConfig::Rename(c) => Step::Rename(
            Arc::new(c.clone()),
            when(&c.when, &format!("{path}.rename"))?,
        ),
        ProcessorConfig::AddFields(c) => Step::AddFields(
            Arc::new(c.clone()),
            when(&c.when, &format!("{path}.add_fields"))?,
        ),
        ProcessorConfig::DropFields(c) => Step::DropFields(
            Arc::new(c.clone()),
            when(&c.when, &format!("{path}.drop_fields"))?,
        ),
        ProcessorConfig::IncludeFields(c) => Step::IncludeFields(
            Arc::new(c.clone()),
            when(&c.when, &format!("{path}.include_fields"))?,
        ),
    })
}

/// Checks a `processors:` list (at `base`, `first` being the index of `list[0]` there): each
/// is built as `run` would, so a bad regex or condition is an error at its YAML path. A
/// `rename`'s pairs are put back in the order the document writes them (they are applied in
/// that order; the typed map came sorted).
pub fn check(list: &mut [ProcessorConfig], base: &str, first: usize, problems: &mut Problems) {
    for (i, p) in list.iter_mut().enumerate() {
        if let ProcessorConfig::Rename(r) = p {
            let path = format!("{base}[{}].rename.fields", first + i);
            if let Some(order) = problems.keys_in_order(&path) {
                r.fields
                    .0
                    .sort_by_key(|(from, _)| order.iter().position(|k| k == from));
            }
        }
    }
    for (i, p) in list.iter().enumerate() {
        if let Err(errors) = build(p, &format!("{base}[{}]", first + i)) {
            for (path, msg) in errors {
                problems.error(path, msg);
            }
        }
    }
}

/// Types and checks the top-level `processors:` list, one element at a time.
pub fn configure_top(raw: &[Value], problems: &mut Problems) -> Vec<ProcessorConfig> {
    let mut processors = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let path = format!("processors[{i}]");
        if let Some(config::ProcessorItem(mut p)) =
            problems.typed::<config::ProcessorItem>(v, &path)
        {
            check(std::slice::from_mut(&mut p), "processors", i, problems);
            processors.push(p);
        }
    }
    processors
}

/// The decoder factory of input `input` with its own processors (`own`), then the top-level
/// ones (`global`), after it.
pub fn with_processors(
    decoders: crate::tail::tailer::DecoderFactory,
    input: &str,
    own: &[ProcessorConfig],
    global: &[ProcessorConfig],
) -> anyhow::Result<crate::tail::tailer::DecoderFactory> {
    let mut steps = Vec::new();
    for (i, p) in own.iter().chain(global).enumerate() {
        steps.push(build(p, &format!("processors[{i}]")).map_err(|e| {
            anyhow::anyhow!(
                "input {}: {}",
                input,
                e.first().map(|x| x.1.clone()).unwrap_or_default()
            )
        })?);
    }
    if steps.is_empty() {
        return Ok(decoders);
    }
    let steps = Arc::new(steps);
    Ok(Arc::new(move |path: &std::path::Path| {
        Processed::wrap(decoders(path), &steps)
    }))
}

/// A chain instance for one file: the steps with their per-file state.
enum Stage {
    Stateless(Step),
    Multiline(multiline::Multiline),
}

pub struct Chain {
    stages: Vec<Stage>,
    buf_a: Vec<Event>,
    buf_b: Vec<Event>,
}

impl Chain {
    pub fn new(steps: &[Step]) -> Chain {
        Chain {
            stages: steps
                .iter()
                .map(|s| match s {
                    Step::Multiline(r) => Stage::Multiline(multiline::Multiline::new(r.clone())),
                    other => Stage::Stateless(other.clone()),
                })
                .collect(),
            buf_a: Vec::new(),
            buf_b: Vec::new(),
        }
    }

    /// Applies a stateless step to a record in place; false when the record is to be dropped.
    fn apply(step: &Step, e: &mut Event) -> bool {
        let applies = |c: &Option<Condition>, e: &Event| c.as_ref().is_none_or(|c| c.matches(e));
        match step {
            Step::Filter(f) => f.keeps(e),
            Step::DecodeJson(d, c) => !applies(c, e) || d.apply(e),
            Step::Rename(r, c) => {
                if applies(c, e) {
                    rename::apply(r, e);
                }
                true
            }
            Step::AddFields(a, c) => {
                if applies(c, e) {
                    add_fields::apply(a, e);
                }
                true
            }
            Step::DropFields(f, c) => {
                if applies(c, e) {
                    fields::drop(f, e);
                }
                true
            }
            Step::IncludeFields(f, c) => {
                if applies(c, e) {
                    fields::include(f, e);
                }
                true
            }
            Step::Multiline(_) => true,
        }
    }

    /// Runs `events` (drained, its allocation kept) through the stages from `from` on. Two
    /// buffers kept between calls: no allocation per line once warm. Stateless steps change
    /// the records where they are (a dropped one becomes its acknowledgement in place); only
    /// `multiline` takes them out and gives them back (records are a few hundred bytes, and
    /// moving each through every stage was 6% of a `decode_json` + `multiline` + `drop` run).
    fn run_from(&mut self, from: usize, events: &mut Vec<Event>, out: &mut Vec<Event>) {
        let mut cur = std::mem::take(&mut self.buf_a);
        let mut next = std::mem::take(&mut self.buf_b);
        cur.append(events);
        for stage in self.stages.iter_mut().skip(from) {
            match stage {
                Stage::Multiline(m) => {
                    next.clear();
                    for e in cur.drain(..) {
                        m.process(e, &mut next);
                    }
                    std::mem::swap(&mut cur, &mut next);
                }
                Stage::Stateless(step) => {
                    let mut gone = false;
                    for e in cur.iter_mut().filter(|e| !e.ack_only) {
                        if !Self::apply(step, e) {
                            match e.position {
                                Some(p) => *e = Event::ack_only(p),
                                None => {
                                    // Nothing to acknowledge: removed below.
                                    e.ack_only = true;
                                    gone = true;
                                }
                            }
                        }
                    }
                    if gone {
                        cur.retain(|e| !(e.ack_only && e.position.is_none()));
                    }
                }
            }
        }
        out.append(&mut cur);
        self.buf_a = cur;
        self.buf_b = next;
    }

    pub fn process(&mut self, events: &mut Vec<Event>, out: &mut Vec<Event>) {
        self.run_from(0, events, out);
    }

    /// Pending multiline records: those idle past their timeout, or all with `all`.
    pub fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        for i in 0..self.stages.len() {
            let mut flushed = Vec::new();
            if let Stage::Multiline(m) = &mut self.stages[i] {
                m.flush(all, &mut flushed);
            }
            if !flushed.is_empty() {
                self.run_from(i + 1, &mut flushed, out);
            }
        }
    }
}

/// A file's decoder followed by the processor chain.
pub struct Processed {
    pub inner: Box<dyn LineDecoder>,
    pub chain: Chain,
    scratch: Vec<Event>,
}

impl Processed {
    pub fn wrap(inner: Box<dyn LineDecoder>, steps: &[Step]) -> Box<dyn LineDecoder> {
        if steps.is_empty() {
            return inner;
        }
        Box::new(Processed {
            inner,
            chain: Chain::new(steps),
            scratch: Vec::new(),
        })
    }
}

impl LineDecoder for Processed {
    fn decode(
        &mut self,
        line: &crate::tail::reader::Line<'_>,
        file: &FileCtx<'_>,
        out: &mut Vec<Event>,
    ) {
        self.inner.decode(line, file, &mut self.scratch);
        if !self.scratch.is_empty() {
            self.chain.process(&mut self.scratch, out);
        }
    }

    /// What the decoder held (a partial line past its timeout) goes through the chain first,
    /// then what the chain held (a multiline group).
    fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        self.inner.flush(all, &mut self.scratch);
        if !self.scratch.is_empty() {
            self.chain.process(&mut self.scratch, out);
        }
        self.chain.flush(all, out);
    }
}
