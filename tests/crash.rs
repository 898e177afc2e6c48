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

#[test]
fn a_record_torn_by_a_crash_in_the_file_output_is_cut_not_glued_to_the_next() {
    // What a `kill -9` in the middle of a batch write leaves: a last line without its end.
    let env = Env::new();
    let log = env.path("app.log");
    append(&log, &line(0));
    std::fs::write(
        env.out(),
        "{\"message\":\"whole\"}\n{\"message\":\"torn in the mid",
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        "",
    );
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &env.out(), 1, Duration::from_secs(20));
    let text = std::fs::read_to_string(env.out()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "{\"message\":\"whole\"}");
    assert!(
        serde_json::from_str::<serde_json::Value>(lines[1]).is_ok(),
        "{text}"
    );
    assert!(agent.logs().contains("last line was cut short"));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
