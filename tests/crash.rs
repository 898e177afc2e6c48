//! `kill -9` mid-stream, then restart: every line arrives, and the duplicates are exactly the
//! records that were delivered but not yet checkpointed (the in-flight window), never a re-read
//! from the start.

mod common;
use common::*;
use std::io::Write;
use std::time::Duration;

#[test]
fn kill_9_and_restart_loses_nothing_and_bounds_duplicates() {
    const LINES: u64 = 500_000;
    let env = Env::new();
    let log = env.path("app.log");
    {
        let mut f = std::fs::File::create(&log).unwrap();
        let mut buf = String::new();
        for n in 0..LINES {
            buf.push_str(&line(n));
        }
        f.write_all(buf.as_bytes()).unwrap();
    }
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    // Poll the output's size (cheap), not its records: the agent is fast.
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    wait_for(
        Duration::from_secs(30),
        "part of the file delivered",
        || size(&out) > 4 << 20,
    );
    agent.kill9();
    let delivered = records(&out);
    assert!(
        (delivered.len() as u64) < LINES,
        "the agent finished before it was killed; the test proves nothing"
    );
    let checkpoint = checkpoint_offset(&env.data_dir(), &log).expect("a checkpoint was written");
    // Records past the checkpoint were delivered but not checkpointed: they will come again.
    let window = delivered
        .iter()
        .filter(|r| r["log"]["offset"].as_u64().unwrap_or(0) >= checkpoint)
        .count();
    let mut again = env.start(&cfg);
    let dups = wait_all_arrived(&again, &out, LINES, Duration::from_secs(60));
    assert_eq!(again.term(Duration::from_secs(15)), 0);
    assert!(
        dups <= window,
        "{dups} duplicates, but only {window} records were in flight"
    );
    // The window itself is bounded by configuration: batches in flight plus what one
    // checkpoint interval acknowledges; a re-read from offset 0 would be ~all delivered lines.
    assert!(
        (window as u64) < LINES / 4,
        "in-flight window of {window} records is not bounded"
    );
}
