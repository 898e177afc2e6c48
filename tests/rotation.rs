//! Rotation under load, through the real binary: rename rotation (logrotate `create`, several
//! times, faster than the scan interval) and copytruncate. Every numbered line must arrive, and
//! with no restart there must be no duplicates.

mod common;
use common::*;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const LINES: u64 = 60_000;
const ROTATE_EVERY: u64 = 7_000;

fn writer(path: &std::path::Path, mut rotate: impl FnMut(u64)) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for n in 0..LINES {
        f.write_all(line(n).as_bytes()).unwrap();
        if n % 500 == 499 {
            // A busy but not unbounded writer: ~100k lines/s in bursts.
            std::thread::sleep(Duration::from_millis(5));
        }
        if n % ROTATE_EVERY == ROTATE_EVERY - 1 {
            drop(f);
            rotate(n);
            f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
        }
    }
}

/// Shifts `app.log.N` to `app.log.N+1` for N < `keep`.
fn shift(dir: &Path, keep: u32) {
    for i in (1..keep).rev() {
        let _ = std::fs::rename(
            dir.join(format!("app.log.{i}")),
            dir.join(format!("app.log.{}", i + 1)),
        );
    }
}

/// Runs the agent on `paths` (a glob under the test dir) while the writer appends LINES numbered
/// lines to app.log, calling `rotate(dir)` every ROTATE_EVERY lines; asserts that every line
/// arrived exactly once. Returns the agent's log.
fn rotate_under_load(paths: &str, rotate: impl Fn(&Path)) -> String {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, "").unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: ['{}/{paths}']\n    read_from: beginning\n    scan_frequency: 1s\n    rotate_wait: 300ms",
            env.dir.path().display()
        ),
        "",
    );
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "agent to open app.log", || {
        agent.logs().contains("reading file")
    });
    let dir = env.dir.path().to_path_buf();
    writer(&log, |_| rotate(&dir));
    let out = env.out();
    wait_all_arrived(&agent, &out, LINES, Duration::from_secs(60));
    assert_no_duplicates(&agent, &out);
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    agent.logs()
}

#[test]
fn rename_rotation_under_load_loses_nothing() {
    // logrotate `create`: shift app.log.N up, rename app.log to app.log.1, new app.log.
    rotate_under_load("app.log", |dir| {
        shift(dir, 4);
        std::fs::rename(dir.join("app.log"), dir.join("app.log.1")).unwrap();
    });
}

#[test]
fn copytruncate_under_load_loses_nothing() {
    // logrotate `copytruncate` with `rotate 9`: shift copies, copy app.log to app.log.1,
    // truncate app.log. (A copy deleted before the agent opened it is lost to any shipper:
    // keeping several lets a briefly stalled agent catch up.)
    let log = rotate_under_load("app.log", |dir| {
        shift(dir, 9);
        std::fs::copy(dir.join("app.log"), dir.join("app.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("app.log"))
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    assert!(
        log.contains("file truncated"),
        "truncation was not detected:\n{log}"
    );
}

#[test]
fn glob_matching_rotated_names_reads_each_file_once() {
    // `app.log*` matches the rotated files too: a renamed file is the same source, not new.
    rotate_under_load("app.log*", |dir| {
        shift(dir, 4);
        std::fs::rename(dir.join("app.log"), dir.join("app.log.1")).unwrap();
    });
}
