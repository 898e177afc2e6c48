//! Nothing lost, nothing merged: distinct records get distinct Elasticsearch ids (even while a
//! multiline group is pending on the other stream, even with the same text repeated), and the
//! same record read again after a crash gets the same id.

mod common;
use common::bulk::{BulkServer, Faults};
use common::*;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn docker_line(log: &str, stream: &str, n: u64) -> String {
    format!(
        "{}\n",
        serde_json::json!({
            "log": format!("{log}\n"),
            "stream": stream,
            "time": format!("2026-11-24T10:00:{:02}.{:09}Z", n / 1_000_000_000 % 60, n % 1_000_000_000),
        })
    )
}

/// A json-file log: `groups` Java traces on stdout, the same health-check line on stderr between
/// their lines. Returns (the log, the records the file should hold: one per trace, one per
/// health-check line).
fn trace_log(dir: &Path, groups: u64) -> (PathBuf, usize) {
    let id = "e".repeat(64);
    let cdir = dir.join("containers").join(&id);
    std::fs::create_dir_all(&cdir).unwrap();
    let path = cdir.join(format!("{id}-json.log"));
    let mut f = std::fs::File::create(&path).unwrap();
    let mut t = 0;
    let mut records = 0;
    for g in 0..groups {
        let lines = [
            format!("2026-11-24 ERROR payment failed #{g}"),
            "java.lang.IllegalStateException: boom".to_string(),
            "\tat com.shop.Orders.pay(Orders.java:42)".to_string(),
            "\tat com.shop.Api.handle(Api.java:7)".to_string(),
        ];
        records += 1;
        for l in &lines {
            t += 1;
            f.write_all(docker_line(l, "stdout", t).as_bytes()).unwrap();
            t += 1;
            f.write_all(docker_line("GET /health 200", "stderr", t).as_bytes())
                .unwrap();
            records += 1;
        }
    }
    (path, records)
}

#[test]
fn records_acknowledged_at_one_capped_offset_still_get_distinct_ids() {
    let env = Env::new();
    let (_, expected) = trace_log(env.dir.path(), 150);
    let server = BulkServer::start(&env.path("indexed.ndjson"), None, Faults::default());
    let cfg = env.config(
        &format!(
            "  - type: docker\n    containers_path: {}\n    read_from: beginning\n    processors:\n      - multiline: {{ preset: java }}",
            env.path("containers").display()
        ),
        &format!(
            "outputs:\n  - type: file\n    path: {}\n  - type: elasticsearch\n    name: es\n    hosts: [\"{}\"]\n    backoff: {{ init: 50ms, max: 500ms }}\n",
            env.out().display(),
            server.url
        ),
    );
    let agent = env.start(&cfg);
    wait_for(LIMIT, "every record at the file output", || {
        records(&env.out()).len() >= expected
    });
    wait_for(LIMIT, "every record indexed", || {
        records(&server.out).len() >= expected
    });
    let at_file = records(&env.out());
    let traces = at_file
        .iter()
        .filter(|r| r["message"].as_str().unwrap().contains("\tat com.shop.Api"))
        .count();
    assert_eq!(traces, 150, "traces joined");
    let indexed = records(&server.out);
    let ids: HashSet<&str> = indexed
        .iter()
        .map(|r| r["__id"].as_str().unwrap())
        .collect();
    assert_eq!(at_file.len(), expected, "{}", agent.logs());
    assert_eq!(indexed.len(), expected, "one document per record");
    assert_eq!(ids.len(), expected, "distinct ids");
}

#[test]
fn a_record_read_again_after_a_crash_gets_the_same_id() {
    let env = Env::new();
    let (log, expected) = trace_log(env.dir.path(), 300);
    let server = BulkServer::start(&env.path("indexed.ndjson"), None, Faults::default());
    let cfg = env.config(
        &format!(
            "  - type: docker\n    containers_path: {}\n    read_from: beginning\n    processors:\n      - multiline: {{ preset: java }}",
            env.path("containers").display()
        ),
        &format!(
            "outputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{}\"]\n    bulk_max_size: 50\n    backoff: {{ init: 50ms, max: 500ms }}\n",
            server.url
        ),
    );
    // Checkpoints only at the end: a kill -9 resends everything indexed so far.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("checkpoint_interval: 100ms", "checkpoint_interval: 1h"),
    )
    .unwrap();
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "some records indexed", || {
        records(&server.out).len() > 200
    });
    agent.kill9();
    let before = records(&server.out).len();
    assert!(before < expected, "killed before the end ({before})");
    let agent = env.start(&cfg);
    wait_for(LIMIT, "every record indexed", || {
        records(&server.out).len() >= expected
    });
    let resent = server.seen().values().filter(|n| **n > 1).count();
    assert!(resent > 0, "records were sent again after the crash");
    assert_eq!(
        records(&server.out).len(),
        expected,
        "no record indexed twice; {}",
        agent.logs()
    );
    let _ = log;
}
