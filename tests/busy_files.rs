//! Several busy files of one input at once (writers appending to four files, the same text in
//! each, faster than the agent ships them), read in turns of `FILE_BUDGET` by the tailer:
//! - each file's lines arrive once each and in the file's order, while the files interleave;
//! - a copytruncate of one file while all four are being read loses and repeats nothing;
//! - `kill -9` while they are read loses nothing and repeats only the in-flight window.
//!
//! Written for a decode pool that spread a round over threads (not kept: README, Performance,
//! "Tried and not kept"); what they check holds for any way of reading several files.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FILES: u64 = 4;

/// Line `j` of file `k`: numbered `j * FILES + k` (all files' lines are 0..FILES*per), the same
/// text in every file, multibyte characters before and after the number.
fn numbered(k: u64, j: u64) -> String {
    format!(
        "2026-12-06T10:00:00Z INFO naïve café 日本語 request #{} same text in every file — {}\n",
        j * FILES + k,
        "x".repeat((j % 7) as usize * 13)
    )
}

fn log_path(env: &Env, k: u64) -> PathBuf {
    env.path(&format!("app-{k}.log"))
}

/// Appends lines `from..to` of file `k` in bursts of 500 lines (one write each).
fn write_lines(path: &Path, k: u64, from: u64, to: u64) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut j = from;
    while j < to {
        let end = (j + 500).min(to);
        let burst: String = (j..end).map(|j| numbered(k, j)).collect();
        f.write_all(burst.as_bytes()).unwrap();
        j = end;
    }
}

/// Appends lines `from..to` to every file at once, a writer thread per file (racing the agent
/// when it runs).
fn write_all_at_once(env: &Env, from: u64, to: u64) {
    let writers: Vec<_> = (0..FILES)
        .map(|k| {
            let p = log_path(env, k);
            std::thread::spawn(move || write_lines(&p, k, from, to))
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
}

fn config(env: &Env) -> PathBuf {
    env.config(
        &format!(
            "  - type: file\n    paths: [{}/app-*.log]\n    read_from: beginning",
            env.dir.path().display()
        ),
        "",
    )
}

/// Each file's line numbers (`j`) in the order the output holds them.
fn per_file_order(out: &Path) -> BTreeMap<u64, Vec<u64>> {
    let mut m: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for r in records(out) {
        if let Some(n) = number(&r) {
            m.entry(n % FILES).or_default().push(n / FILES);
        }
    }
    m
}

fn out_size(out: &Path) -> u64 {
    std::fs::metadata(out).map(|m| m.len()).unwrap_or(0)
}

/// Four files written at once while the agent reads them: every line once, each file's lines in
/// the file's order (the same text in each file, the files interleaved in the output).
#[test]
fn busy_files_interleaved_keep_each_files_order() {
    const PER_FILE: u64 = 60_000;
    let env = Env::new();
    write_all_at_once(&env, 0, PER_FILE / 2);
    let out = env.out();
    let mut agent = env.start(&config(&env));
    write_all_at_once(&env, PER_FILE / 2, PER_FILE);
    wait_all_arrived(&agent, &out, FILES * PER_FILE, Duration::from_secs(120));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    assert_no_duplicates(&agent, &out);
    let order = per_file_order(&out);
    for k in 0..FILES {
        let js = order.get(&k).cloned().unwrap_or_default();
        let expected: Vec<u64> = (0..PER_FILE).collect();
        if js != expected {
            let first_bad = js.iter().zip(&expected).position(|(a, b)| a != b);
            panic!(
                "file {k}: {} lines, first out of order at {first_bad:?}",
                js.len()
            );
        }
    }
}

/// One file copytruncated while it and three others are being read: its unread lines come from
/// the copy and the new ones from the file, each once; the other files are untouched.
#[test]
fn a_copytruncate_among_busy_files_loses_and_repeats_nothing() {
    const PER_FILE: u64 = 150_000;
    let env = Env::new();
    write_all_at_once(&env, 0, PER_FILE / 2);
    let out = env.out();
    let mut agent = env.start(&config(&env));
    // Some of each file read, not all: the truncation lands while the files are busy.
    wait_for(Duration::from_secs(60), "reading under way", || {
        out_size(&out) > 2 << 20
    });
    let f0 = log_path(&env, 0);
    std::fs::copy(&f0, env.path("app-0.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f0)
        .unwrap()
        .set_len(0)
        .unwrap();
    let delivered_at_cut = counts(&out).len() as u64;
    write_all_at_once(&env, PER_FILE / 2, PER_FILE);
    let dups = wait_all_arrived(&agent, &out, FILES * PER_FILE, Duration::from_secs(120));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    assert!(
        delivered_at_cut < FILES * PER_FILE / 2,
        "everything was read before the copytruncate: the test proved nothing"
    );
    assert_eq!(
        dups,
        0,
        "duplicated ranges: {:?}\n{}",
        duplicate_ranges(&out),
        agent.logs()
    );
}

/// `kill -9` while four busy files are read, then a restart: every line arrives,
/// and the only duplicates are records delivered past their file's checkpoint.
#[test]
fn kill_9_while_busy_files_are_read_loses_nothing() {
    const PER_FILE: u64 = 150_000;
    let env = Env::new();
    write_all_at_once(&env, 0, PER_FILE);
    let out = env.out();
    let cfg = config(&env);
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(60), "part delivered", || {
        out_size(&out) > 4 << 20
    });
    agent.kill9();
    let delivered = records(&out);
    assert!(
        (delivered.len() as u64) < FILES * PER_FILE,
        "everything was delivered before the kill: the test proved nothing"
    );
    // Per file: records at or past its checkpoint were in flight and may come again.
    let checkpoints: Vec<u64> = (0..FILES)
        .map(|k| checkpoint_offset(&env.data_dir(), &log_path(&env, k)).unwrap_or(0))
        .collect();
    let window = delivered
        .iter()
        .filter(|r| {
            let k = number(r).map_or(0, |n| n % FILES) as usize;
            r["log"]["offset"].as_u64().unwrap_or(0) >= checkpoints.get(k).copied().unwrap_or(0)
        })
        .count();
    let mut again = env.start(&cfg);
    let dups = wait_all_arrived(&again, &out, FILES * PER_FILE, Duration::from_secs(120));
    assert_eq!(again.term(Duration::from_secs(15)), 0);
    assert!(
        dups <= window,
        "{dups} duplicates, but only {window} records were in flight\n{}",
        again.logs()
    );
    assert!(
        (window as u64) < FILES * PER_FILE / 4,
        "in-flight window of {window} records is not bounded"
    );
}
