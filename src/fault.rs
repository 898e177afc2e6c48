//! Test-only fault injection, so the end-to-end tests can prove that a dying task or a panicking
//! decoder is noticed. Read once from the `LOGSHIP_FAULT` environment variable; when it is unset
//! (always, in production) every hook is a no-op costing one atomic load.
//!
//! - `LOGSHIP_FAULT=decoder_panic:NEEDLE`: a decoder panics on every line containing NEEDLE.
//! - `LOGSHIP_FAULT=task_panic:TASK:NEEDLE`: TASK (`pipeline`, `output NAME`, `input`) panics when a
//!   record (or, for `input`, a line) containing NEEDLE passes it.
//! - `LOGSHIP_FAULT=task_exit:TASK`: TASK (`saver`, `http`, `docker`) ends right after it starts.

use std::sync::OnceLock;

#[derive(Debug, PartialEq)]
enum Fault {
    None,
    DecoderPanic(Vec<u8>),
    TaskPanic(String, Vec<u8>),
    TaskExit(String),
}

fn fault() -> &'static Fault {
    static F: OnceLock<Fault> = OnceLock::new();
    F.get_or_init(|| parse(std::env::var("LOGSHIP_FAULT").ok().as_deref()))
}

fn parse(v: Option<&str>) -> Fault {
    let Some(v) = v else { return Fault::None };
    let mut parts = v.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("decoder_panic"), Some(n), None) if !n.is_empty() => {
            Fault::DecoderPanic(n.as_bytes().to_vec())
        }
        (Some("task_panic"), Some(t), Some(n)) if !n.is_empty() => {
            Fault::TaskPanic(t.to_string(), n.as_bytes().to_vec())
        }
        (Some("task_exit"), Some(t), None) => Fault::TaskExit(t.to_string()),
        _ => Fault::None,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Panics when a decoder fault is set and `line` contains its needle.
pub fn decoder_line(line: &[u8]) {
    if let Fault::DecoderPanic(n) = fault() {
        if contains(line, n) {
            panic!("injected decoder fault (LOGSHIP_FAULT)");
        }
    }
}

/// Panics when task `task` is to panic and `data` contains the needle.
pub fn task_data(task: &str, data: &[u8]) {
    if let Fault::TaskPanic(t, n) = fault() {
        if t == task && contains(data, n) {
            panic!("injected {task} fault (LOGSHIP_FAULT)");
        }
    }
}

/// True when `task` is to end at once.
pub fn task_exits(task: &str) -> bool {
    matches!(fault(), Fault::TaskExit(t) if t == task)
}

/// True when any fault is set (the hot paths skip their checks otherwise).
pub fn active() -> bool {
    *fault() != Fault::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse(None), Fault::None);
        assert_eq!(parse(Some("nonsense")), Fault::None);
        assert_eq!(parse(Some("decoder_panic:")), Fault::None);
        assert_eq!(
            parse(Some("decoder_panic:BOOM")),
            Fault::DecoderPanic(b"BOOM".to_vec())
        );
        assert_eq!(
            parse(Some("task_panic:pipeline:X:Y")),
            Fault::TaskPanic("pipeline".into(), b"X:Y".to_vec())
        );
        assert_eq!(
            parse(Some("task_exit:saver")),
            Fault::TaskExit("saver".into())
        );
    }
}
