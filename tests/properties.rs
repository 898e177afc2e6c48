//! Bounded property tests: every entry point of `logship::fuzzing` (the same ones the fuzz
//! targets in `fuzz/` call) gets a few thousand generated inputs on every CI run: random bytes,
//! and the committed seed corpora (`fuzz/corpus/TARGET/seed-*`) mutated with the bytes that
//! break parsers (multibyte characters where they slice, NUL, invalid UTF-8, lone surrogate
//! escapes, quotes, braces, dots, delimiters). Each must return without panicking. Longer
//! fuzzing runs are `scripts/fuzz.sh` (not part of CI).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

/// Bytes that break parsers, inserted or written over the seeds.
const NASTY: &[&[u8]] = &[
    "ë".as_bytes(),
    "€".as_bytes(),
    "𝄞".as_bytes(),
    b"\0",
    b"\xff",
    b"\xc3",
    b"\n",
    b"\r\n",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b": ",
    b" #",
    b".",
    b"..",
    b"${",
    b"}",
    b"<",
    b">",
    b"Nov ",
    b"2026-11-24T10:00:00",
    b"stdout ",
    b"stderr P ",
    b" F ",
    b"2A\0\0\0",
    b"\"status\":",
    b"9999999999999999999999",
    b"-1",
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out.sort();
    out
}

/// An edit: (position as a fraction of the length, what, which nasty bytes or raw byte).
type Edit = (u16, u8, u8);

fn mutate(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for &(at, op, pick) in edits {
        let pos = usize::from(at) * data.len() / usize::from(u16::MAX).max(1);
        let pos = pos.min(data.len());
        let nasty = NASTY[usize::from(pick) % NASTY.len()];
        match op % 5 {
            0 | 1 => {
                data.splice(pos..pos, nasty.iter().copied());
            }
            2 => {
                let end = (pos + nasty.len()).min(data.len());
                data.splice(pos..end, nasty.iter().copied());
            }
            3 => data.truncate(pos),
            _ => {
                if pos < data.len() {
                    data[pos] = pick;
                }
            }
        }
    }
    data
}

fn check(target: &str, cases: u32) {
    let seeds = seeds(target);
    let strategy = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        3 => (
            proptest::sample::select(seeds),
            proptest::collection::vec(any::<Edit>(), 0..12)
        )
            .prop_map(|(seed, edits)| mutate(seed, &edits)),
    ];
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |data| {
        logship::fuzzing::run(target, &data);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

macro_rules! property {
    ($name:ident, $cases:expr) => {
        #[test]
        fn $name() {
            check(stringify!($name), $cases);
        }
    };
}

property!(syslog_line, 4000);
property!(syslog_message, 4000);
property!(syslog_frames, 4000);
property!(spool_segment, 500);
property!(file_lines, 2000);
property!(docker_lines, 3000);
property!(cri_lines, 3000);
property!(joiner, 3000);
property!(multiline, 1000);
property!(decode_json, 2000);
property!(event_paths, 2000);
property!(conditions, 2000);
property!(config, 2000);
property!(beats_acks, 3000);
property!(bulk_response, 3000);
property!(cloudwatch_rejected, 3000);
property!(docker_api, 2000);
property!(kube_api, 2000);
property!(migrate, 1000);
property!(line_reader, 2000);
property!(file_output_tail, 300);

#[test]
fn every_entry_point_has_a_property_test_and_a_fuzz_target() {
    let this = include_str!("properties.rs");
    for (name, _) in logship::fuzzing::TARGETS {
        assert!(
            this.contains(&format!("property!({name},")),
            "{name}: no property test"
        );
        let target = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/fuzz_targets")
            .join(format!("{name}.rs"));
        assert!(target.exists(), "{name}: no fuzz target");
        seeds(name);
    }
}

proptest! {
    #![proptest_config(Config { cases: 3000, failure_persistence: None, ..Config::default() })]

    /// Lines in the json-file driver's own shape, with text full of what escaping and slicing
    /// get wrong, and written escapes of every kind: the one-pass reading must give what
    /// serde_json gives (`fuzzing::docker_line_agrees`), and read the text back exactly.
    #[test]
    fn docker_fast_path_reads_what_serde_json_reads(
        parts in proptest::collection::vec(
            prop_oneof![
                "[a-zé€𝄞 ]{0,6}",
                Just("\"".to_string()), Just("\\".to_string()), Just("/".to_string()),
                Just("\n".to_string()), Just("\t".to_string()), Just("\u{1}".to_string()),
                Just("\u{7f}".to_string()), Just("\u{2028}".to_string()),
            ],
            0..12,
        ),
        raw_escape in prop_oneof![
            Just(""), Just("\\/"), Just("\\b"), Just("\\f"), Just("\\u00e9"), Just("\\ud800"),
            Just("\\q"), Just("\\"), Just("\t"),
        ],
        stderr in any::<bool>(),
        tail in prop_oneof![Just(""), Just("\n"), Just(" \r\n"), Just("x"), Just(",")],
    ) {
        let text: String = parts.concat();
        let escaped = serde_json::to_string(&text).unwrap();
        let stream = if stderr { "stderr" } else { "stdout" };
        let inner = &escaped[1..escaped.len() - 1];
        let line = format!(
            "{{\"log\":\"{inner}{raw_escape}\",\"stream\":\"{stream}\",\"time\":\"2026-11-24T10:00:00.000000000Z\"}}{tail}"
        );
        logship::fuzzing::docker_line_agrees(line.as_bytes());
        if raw_escape.is_empty() && matches!(tail, "" | "\n" | " \r\n") {
            let e = logship::input::docker::line::fast(line.as_bytes());
            prop_assert!(e.is_some(), "the driver's shape takes the fast path: {line:?}");
            prop_assert_eq!(e.unwrap().log, text);
        }
    }
}
