//! SIGTERM with records in flight: they reach the output, the checkpoint is written at exactly
//! what was delivered, exit code 0; a restart continues with no loss and no duplicate.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn sigterm_flushes_in_flight_records_and_writes_the_checkpoint() {
    const LINES: u64 = 600_000;
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, (0..LINES).map(line).collect::<String>()).unwrap();
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
    wait_for(Duration::from_secs(30), "records flowing", || {
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 1 << 20
    });
    assert_eq!(
        agent.term(Duration::from_secs(20)),
        0,
        "log:\n{}",
        agent.logs()
    );
    let delivered = records(&out);
    assert!(
        (delivered.len() as u64) < LINES,
        "the agent finished before SIGTERM; the test proves nothing"
    );
    // Everything read was delivered and acknowledged: the checkpoint is the end of the last
    // delivered line, and every line before it was delivered.
    let last = delivered.last().unwrap();
    let last_end =
        last["log"]["offset"].as_u64().unwrap() + line(number(last).unwrap()).len() as u64;
    let checkpoint =
        checkpoint_offset(&env.data_dir(), &log).expect("checkpoint written at shutdown");
    assert_eq!(
        checkpoint, last_end,
        "checkpoint is not where delivery stopped"
    );
    let n = delivered.len() as u64;
    assert_eq!(counts(&out).len() as u64, n);
    assert!(missing_ranges(&out, n).is_empty());

    let mut again = env.start(&cfg);
    let dups = wait_all_arrived(&again, &out, LINES, Duration::from_secs(60));
    assert_eq!(dups, 0, "a clean stop must not cause duplicates");
    assert_eq!(again.term(Duration::from_secs(15)), 0);
}
