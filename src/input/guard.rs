//! Defense in depth for the decoders: if a decoder or a processor panics on one line anyway,
//! only that line pays. It is shipped raw with `error.message` (and `log.flags: [decoder_panic]`),
//! counted in `logship_decoder_panics_total{input}`, the file's decoder is rebuilt (records it
//! held, such as a pending multiline group, are flushed first when that still works) and the
//! input goes on. The panic itself is logged once as one line by the panic hook
//! (`crate::logging`), not printed as a backtrace.

use super::file::{text, Common};
use crate::event::{Event, Fields};
use crate::metrics::metrics;
use crate::tail::reader::Line;
use crate::tail::tailer::{DecoderFactory, FileCtx, LineDecoder};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Guarded {
    inner: Box<dyn LineDecoder>,
    factory: DecoderFactory,
    path: PathBuf,
    common: Common,
    input: Arc<str>,
}

/// The text of a panic payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

impl Guarded {
    /// The decoder's `flush`, guarded: false (and nothing added to `out`) if it panicked.
    fn try_flush(&mut self, all: bool, out: &mut Vec<Event>) -> bool {
        let before = out.len();
        let inner = &mut self.inner;
        let ok = catch_unwind(AssertUnwindSafe(|| {
            crate::logging::in_guard(|| inner.flush(all, out))
        }))
        .is_ok();
        if !ok {
            out.truncate(before);
        }
        ok
    }

    /// Starts over with a new decoder for the file, and counts the panic.
    fn restart(&mut self) {
        self.inner = (self.factory)(&self.path);
        metrics()
            .decoder_panics
            .with_label_values(&[&self.input])
            .inc();
    }

    /// After a panic: keep what the old decoder held if it can still give it, then start over.
    fn recover(&mut self, out: &mut Vec<Event>) {
        self.try_flush(true, out);
        self.restart();
    }
}

impl LineDecoder for Guarded {
    fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
        let before = out.len();
        let inner = &mut self.inner;
        let result = catch_unwind(AssertUnwindSafe(|| {
            crate::logging::in_guard(|| {
                if crate::fault::active() {
                    crate::fault::decoder_line(line.bytes);
                }
                inner.decode(line, file, out)
            })
        }));
        let Err(payload) = result else { return };
        out.truncate(before);
        self.recover(out);
        let (message, bad_utf8) = text(line.bytes);
        let mut ev = self.common.record(message, line, file);
        ev.set(
            "error.message",
            Value::String(format!(
                "the decoder failed on this line ({}); shipped as raw text",
                panic_message(&*payload)
            )),
        );
        ev.add_flag("decoder_panic");
        if bad_utf8 {
            ev.add_flag("invalid_utf8");
        }
        if line.truncated {
            ev.add_flag("truncated");
        }
        out.push(ev);
    }

    fn flush(&mut self, all: bool, out: &mut Vec<Event>) {
        if !self.try_flush(all, out) {
            self.restart();
        }
    }
}

/// `factory` with every decoder it makes guarded; `input_type` and `host_name` fill the raw
/// records of failed lines.
pub fn guarded(
    factory: DecoderFactory,
    input: &str,
    input_type: &str,
    host_name: &str,
) -> DecoderFactory {
    let common = Common::new(host_name, input_type);
    let input: Arc<str> = Arc::from(input);
    Arc::new(move |path: &Path| {
        Box::new(Guarded {
            inner: factory(path),
            factory: factory.clone(),
            path: path.to_path_buf(),
            common: common.for_file(path, Fields::new()),
            input: input.clone(),
        }) as Box<dyn LineDecoder>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Position, SourceId};

    struct Bomb(usize);
    impl LineDecoder for Bomb {
        fn decode(&mut self, line: &Line<'_>, file: &FileCtx<'_>, out: &mut Vec<Event>) {
            out.push(Event::ack_only(Position {
                source: file.source,
                end: line.end,
                origin: 0,
                start: line.offset,
            }));
            self.0 += 1;
            if line.bytes.starts_with(b"boom") {
                panic!("bomb");
            }
        }
    }

    #[test]
    fn a_panicking_line_is_shipped_raw_and_the_next_ones_decoded() {
        let _quiet = crate::logging::quiet_panics();
        let f: DecoderFactory = Arc::new(|_| Box::new(Bomb(0)));
        let g = guarded(f, "in", "file", "h");
        let mut d = g(Path::new("/x.log"));
        let ctx = FileCtx {
            source: SourceId(1),
            origin: 0,
            read_time: "2026-01-01T00:00:00Z",
        };
        let mut out = Vec::new();
        for (i, b) in [&b"ok"[..], b"boom", b"ok"].iter().enumerate() {
            let line = Line {
                offset: i as u64 * 10,
                end: i as u64 * 10 + 10,
                bytes: b,
                truncated: false,
            };
            d.decode(&line, &ctx, &mut out);
        }
        assert_eq!(out.len(), 3);
        assert!(out[0].ack_only && out[2].ack_only);
        let raw = out[1].to_value();
        assert_eq!(raw["message"], "boom");
        assert_eq!(raw["log"]["flags"][0], "decoder_panic");
        assert!(raw["error"]["message"].as_str().unwrap().contains("bomb"));
        assert_eq!(out[1].position.unwrap().end, 20);
    }
}
