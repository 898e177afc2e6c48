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

/// SIGHUP with a changed, valid configuration: the same process starts again with it (a second
/// input added: its directory is read from then on), and the lines a writer appends all along,
/// before, during and after the restart in place, arrive once each. SIGHUP with a configuration
/// that has a problem: one error line naming it, and the agent goes on with the one it runs.
#[test]
fn sighup_starts_again_with_a_valid_configuration_and_keeps_the_running_one_otherwise() {
    const N: u64 = 30_000;
    let env = Env::new();
    let (a, b) = (env.path("a"), env.path("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let input = |dir: &std::path::Path, name: &str| {
        format!(
            "  - type: file\n    name: {name}\n    paths: [{}/*.log]\n    read_from: beginning\n",
            dir.display()
        )
    };
    let cfg = env.config(&input(&a, "a"), "");
    let out = env.out();
    let mut agent = env.start(&cfg);
    let pid = agent.pid();
    let hup = || unsafe {
        libc::kill(pid, libc::SIGHUP);
    };
    let starts = |agent: &Agent| agent.logs().matches("logship started").count();

    // A writer appends lines 0..N to a/app.log, 300 every 20 ms (about 2 s in all).
    let app = a.join("app.log");
    let writer = {
        let app = app.clone();
        std::thread::spawn(move || {
            for chunk in (0..N).collect::<Vec<_>>().chunks(300) {
                append(&app, &chunk.iter().map(|n| line(*n)).collect::<String>());
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    wait_for(Duration::from_secs(20), "the first lines shipped", || {
        counts(&out).len() > 1_000
    });
    env.config(&format!("{}{}", input(&a, "a"), input(&b, "b")), "");
    hup();
    wait_for(Duration::from_secs(30), "a second start", || {
        starts(&agent) == 2
    });
    assert!(
        !writer.is_finished(),
        "the writer finished before the restart: the test proves nothing about lines written across it"
    );
    writer.join().unwrap();
    // The input added by the new configuration reads b/.
    append(
        &b.join("app.log"),
        &(N..N + 100).map(line).collect::<String>(),
    );
    let dups = wait_all_arrived(&agent, &out, N + 100, Duration::from_secs(60));
    assert_eq!(dups, 0, "a reload must not cause duplicates");
    assert_eq!(agent.child.try_wait().unwrap(), None, "the agent ended");
    assert_eq!(agent.pid(), pid);
    let logs = agent.logs();
    assert!(
        logs.contains("SIGHUP: the configuration is valid"),
        "log:\n{logs}"
    );

    // A configuration with a problem is refused; the running one goes on.
    std::fs::write(
        &cfg,
        format!(
            "data_dir: {}\ninputs:\n  - type: file\n    pahts: [{}/*.log]\noutputs:\n  - type: console\n",
            env.data_dir().display(),
            a.display()
        ),
    )
    .unwrap();
    hup();
    wait_for(Duration::from_secs(20), "the refusal logged", || {
        agent
            .logs()
            .contains("SIGHUP: the configuration has problems")
    });
    let logs = agent.logs();
    assert!(
        logs.contains("pahts"),
        "the problem is not named; log:\n{logs}"
    );
    append(&app, &(N + 100..N + 200).map(line).collect::<String>());
    let dups = wait_all_arrived(&agent, &out, N + 200, Duration::from_secs(30));
    assert_eq!(dups, 0);
    assert_eq!(
        starts(&agent),
        2,
        "the agent started again with a bad configuration"
    );
    assert_eq!(
        agent.term(Duration::from_secs(20)),
        0,
        "log:\n{}",
        agent.logs()
    );
}
