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

fn checkpoint_offsets(env: &Env) -> Vec<u64> {
    let text = std::fs::read_to_string(env.data_dir().join("checkpoints.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["offset"].as_u64()).collect())
        .unwrap_or_default()
}

fn docker_env(partial_timeout: &str) -> (Env, PathBuf, PathBuf) {
    let env = Env::new();
    let id = "d".repeat(64);
    let cdir = env.path("containers").join(&id);
    std::fs::create_dir_all(&cdir).unwrap();
    let log = cdir.join(format!("{id}-json.log"));
    let cfg = env.config(
        &format!(
            "  - type: docker\n    containers_path: {}\n    read_from: beginning\n    partial_timeout: {partial_timeout}",
            env.path("containers").display()
        ),
        "",
    );
    (env, log, cfg)
}

fn piece(text: &str, stream: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"log": text, "stream": stream, "time": "2026-11-24T10:00:00.000000001Z"})
    )
}

#[test]
fn a_last_piece_without_newline_is_shipped_after_the_timeout_and_checkpointed() {
    let (env, log, cfg) = docker_env("1s");
    append(&log, &piece("complete #0\n", "stdout"));
    append(&log, &piece("the container's last echo -n #1", "stdout"));
    let size = std::fs::metadata(&log).unwrap().len();
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "the piece without its end", || {
        counts(&out).contains_key(&1)
    });
    let recs = records(&out);
    let last = recs.iter().find(|r| number(r) == Some(1)).unwrap();
    assert_eq!(last["message"], "the container's last echo -n #1");
    assert_eq!(last["log"]["flags"], serde_json::json!(["partial"]));
    wait_for(LIMIT, "the checkpoint to reach the end", || {
        checkpoint_offsets(&env) == vec![size]
    });
    assert_eq!(agent.term(LIMIT), 0);
    // Nothing is sent again.
    let agent = env.start(&cfg);
    append(&log, &piece("later #2\n", "stdout"));
    wait_for(LIMIT, "the later line", || counts(&out).contains_key(&2));
    assert_eq!(records(&out).len(), 3, "{}", agent.logs());
}

#[test]
fn a_raw_line_never_moves_the_checkpoint_past_a_pending_piece() {
    let (env, log, cfg) = docker_env("1h");
    append(&log, &piece("first half of #0 ", "stdout"));
    let piece_at = 0;
    append(&log, "this is not json #1\n");
    append(&log, &piece("stderr line #2\n", "stderr"));
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "the raw and the stderr line", || {
        let c = counts(&out);
        c.contains_key(&1) && c.contains_key(&2)
    });
    // A line of another container written now is acknowledged after the raw line (the ledger
    // applies batches in order): once its checkpoint is saved, the raw line's was applied too.
    let other = "b".repeat(64);
    let odir = env.path("containers").join(&other);
    std::fs::create_dir_all(&odir).unwrap();
    let olog = odir.join(format!("{other}-json.log"));
    append(&olog, &piece("other container #3\n", "stdout"));
    let osize = std::fs::metadata(&olog).unwrap().len();
    wait_for(LIMIT, "the other file's checkpoint", || {
        checkpoint_offsets(&env).contains(&osize)
    });
    let mut offsets = checkpoint_offsets(&env);
    offsets.sort();
    assert_eq!(offsets, vec![piece_at, osize], "not past the pending piece");
    agent.kill9();
    // After the crash the piece is read again, and its end joins it.
    append(&log, &piece("second half\n", "stdout"));
    let agent = env.start(&cfg);
    wait_for(LIMIT, "the joined line", || counts(&out).contains_key(&0));
    let joined = records(&out)
        .into_iter()
        .find(|r| number(r) == Some(0))
        .unwrap();
    assert_eq!(
        joined["message"],
        "first half of #0 second half",
        "{}",
        agent.logs()
    );
}

#[test]
fn a_pending_piece_is_shipped_at_shutdown() {
    let (env, log, cfg) = docker_env("1h");
    append(&log, &piece("complete #0\n", "stdout"));
    append(&log, &piece("pending at shutdown #1", "stderr"));
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "the complete line", || counts(&out).contains_key(&0));
    assert!(!counts(&out).contains_key(&1));
    assert_eq!(agent.term(LIMIT), 0);
    let recs = records(&out);
    let last = recs
        .iter()
        .find(|r| number(r) == Some(1))
        .expect("shipped at shutdown");
    assert_eq!(last["stream"], "stderr");
    assert_eq!(last["log"]["flags"], serde_json::json!(["partial"]));
}

#[test]
fn a_cri_p_piece_without_its_f_is_shipped_after_the_timeout() {
    let env = Env::new();
    let pods = env.path("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let log = pods.join(format!("web-1_shop_nginx-{}.log", "a".repeat(64)));
    append(
        &log,
        "2026-11-24T10:00:00.1Z stdout F whole #0\n2026-11-24T10:00:00.2Z stdout P exiting mid-line #1\n",
    );
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: [{}/*.log]\n    read_from: beginning\n    partial_timeout: 1s",
            pods.display()
        ),
        "",
    );
    let out = env.out();
    let agent = env.start(&cfg);
    wait_for(LIMIT, "the P piece", || counts(&out).contains_key(&1));
    let recs = records(&out);
    let last = recs.iter().find(|r| number(r) == Some(1)).unwrap();
    assert_eq!(last["message"], "exiting mid-line #1");
    assert_eq!(last["log"]["flags"], serde_json::json!(["partial"]));
    assert_eq!(last["@timestamp"], "2026-11-24T10:00:00.200000000Z");
    drop(agent);
}

fn file_input(path: &Path, read_from: &str) -> String {
    format!(
        "  - type: file\n    paths: [{}]\n    read_from: {read_from}\n",
        path.display()
    )
}

#[test]
fn checkpoints_stay_with_their_files_when_inputs_are_added_and_reordered() {
    let env = Env::new();
    let a = env.path("a.log");
    let b = env.path("b.log");
    append(&a, &(0..10).map(line).collect::<String>());
    let out = env.out();
    // One unnamed input, read from the end: only what is written while it runs arrives.
    let cfg = env.config(&file_input(&a, "end"), "");
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "the checkpoint of a.log", || {
        !checkpoint_offsets(&env).is_empty()
    });
    append(&a, &(10..20).map(line).collect::<String>());
    wait_all_arrived_from(&agent, &out, 10, 20);
    assert_eq!(agent.term(LIMIT), 0);
    // Written while the agent is down.
    append(&a, &(20..30).map(line).collect::<String>());
    append(&b, &(100..105).map(line).collect::<String>());
    // A second unnamed file input added *before* the first: `file` would have become `file_2`.
    let cfg = env.config(
        &format!("{}{}", file_input(&b, "beginning"), file_input(&a, "end")),
        "",
    );
    let agent = env.start(&cfg);
    wait_all_arrived_from(&agent, &out, 20, 30);
    wait_all_arrived_from(&agent, &out, 100, 105);
    let c = counts(&out);
    assert!(
        (0..10).all(|i| !c.contains_key(&i)),
        "read_from: end still holds"
    );
    assert!(c.values().all(|n| *n == 1), "nothing sent twice: {c:?}");
}

#[test]
fn a_checkpoint_file_of_the_previous_version_is_taken_over() {
    let env = Env::new();
    let a = env.path("a.log");
    let body: String = (0..20).map(line).collect();
    append(&a, &body);
    let half: usize = (0..10).map(line).map(|l| l.len()).sum();
    // As the previous release wrote it: filed under the label `file`.
    let meta = std::fs::metadata(&a).unwrap();
    use std::os::unix::fs::MetadataExt;
    let fp = {
        let bytes = std::fs::read(&a).unwrap();
        let n = bytes.len().min(256);
        (n, xxhash_rust::xxh3::xxh3_64(&bytes[..n]))
    };
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(
        env.data_dir().join("checkpoints.json"),
        serde_json::json!({"version": 1, "entries": [{
            "input": "file", "path": a, "dev": meta.dev(), "ino": meta.ino(),
            "fp_len": fp.0, "fp_hash": fp.1, "offset": half, "updated": 0
        }]})
        .to_string(),
    )
    .unwrap();
    let cfg = env.config(&file_input(&a, "beginning"), "");
    let out = env.out();
    let agent = env.start(&cfg);
    wait_all_arrived_from(&agent, &out, 10, 20);
    let c = counts(&out);
    assert!(
        (0..10).all(|i| !c.contains_key(&i)),
        "resumed at the old offset: {c:?}"
    );
    assert_eq!(c.len(), 10);
}

#[test]
fn two_inputs_with_one_name_are_a_configuration_error() {
    let env = Env::new();
    let cfg = env.config(
        "  - type: file\n    name: app\n    paths: [/a]\n  - type: cri\n    name: app\n  - type: file\n    paths: [/b]\n  - type: file\n    paths: [/b]\n",
        "",
    );
    let o = std::process::Command::new(bin())
        .args(["check-config", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("two inputs are named `app`"), "{err}");
    assert!(err.contains("read the same paths (file:/b)"), "{err}");
}

/// Waits until lines from..to all arrived.
fn wait_all_arrived_from(agent: &Agent, out: &Path, from: u64, to: u64) {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let c = counts(out);
        if (from..to).all(|i| c.contains_key(&i)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lines {from}..{to} missing: {:?}\n{}",
            (from..to)
                .filter(|i| !c.contains_key(i))
                .collect::<Vec<_>>(),
            agent.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn es_env(faults: Faults, options: &str, lines: &str) -> (Env, BulkServer, PathBuf, String) {
    let env = Env::new();
    let server = BulkServer::start(&env.path("indexed.ndjson"), None, faults);
    let log = env.path("app.log");
    append(&log, lines);
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &file_input(&log, "beginning"),
        &format!(
            "http:\n  listen: {addr}\noutputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{}\"]\n    backoff: {{ init: 50ms, max: 300ms }}\n{options}",
            server.url
        ),
    );
    (env, server, cfg, addr)
}

#[test]
fn a_413_splits_the_request_and_a_single_record_too_large_is_a_dead_letter() {
    let mut text: String = (0..200).map(line).collect();
    text.push_str(&format!("huge #200 {}\n", "x".repeat(20_000)));
    let (env, server, cfg, _) = es_env(
        Faults {
            max_body: Some(8_000),
            ..Faults::default()
        },
        "    bulk_max_size: 100\n    compression_level: 0\n",
        &text,
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 200, LIMIT);
    let dead = env.data_dir().join("dead_letter").join("es.ndjson");
    wait_for(LIMIT, "the huge record in the dead letters", || {
        std::fs::read_to_string(&dead).is_ok_and(|t| t.contains("huge #200"))
    });
    let letters = std::fs::read_to_string(&dead).unwrap();
    assert_eq!(
        letters.lines().count(),
        1,
        "only the record too large: {letters}"
    );
    assert!(letters.contains("\"status\":413"), "{letters}");
    assert_eq!(records(&server.out).len(), 200, "each once");
    assert!(
        agent.logs().contains("sending it in two halves"),
        "{}",
        agent.logs()
    );
}

#[test]
fn a_whole_request_404_or_400_is_retried_not_dead_lettered() {
    for status in [404u16, 400] {
        let text: String = (0..50).map(line).collect();
        let (env, server, cfg, addr) = es_env(
            Faults {
                whole: Some((status, 4)),
                ..Faults::default()
            },
            "",
            &text,
        );
        let agent = env.start(&cfg);
        wait_all_arrived(&agent, &server.out, 50, LIMIT);
        assert!(
            !env.data_dir()
                .join("dead_letter")
                .join("es.ndjson")
                .exists(),
            "{status}: nothing dead-lettered"
        );
        let logs = agent.logs();
        assert!(
            logs.contains(&format!("HTTP {status} for the whole _bulk request")),
            "{status}: reported: {logs}"
        );
        let (_, m) = http_get(&addr, "/metrics").unwrap();
        assert!(
            m.contains("logship_events_dropped_total{reason=\"rejected\"} 0"),
            "{status}: {m}"
        );
    }
}

#[test]
fn a_dead_letter_write_that_fails_holds_the_batch_until_it_works() {
    let text: String = (0..30).map(line).collect();
    let (env, server, cfg, addr) = es_env(
        Faults {
            reject_containing: Some("request #7 ".into()),
            ..Faults::default()
        },
        "",
        &text,
    );
    // The dead-letter directory cannot be made: a file is in its way.
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let blocker = env.data_dir().join("dead_letter");
    std::fs::write(&blocker, "").unwrap();
    let size = std::fs::metadata(env.path("app.log")).unwrap().len();
    let agent = env.start(&cfg);
    wait_for(
        LIMIT,
        "the failing dead-letter write to be reported",
        || {
            agent
                .logs()
                .contains("cannot write 1 rejected records to the dead-letter file")
        },
    );
    wait_for(LIMIT, "the other records", || {
        records(&server.out).len() == 29
    });
    // Not acknowledged while the rejected record is not written.
    wait_for(LIMIT, "a checkpoint", || {
        !checkpoint_offsets(&env).is_empty()
    });
    assert!(checkpoint_offsets(&env).iter().all(|o| *o < size));
    let (_, m) = http_get(&addr, "/metrics").unwrap();
    assert!(
        m.contains("logship_output_errors_total{kind=\"dead_letter\",output=\"es\"}"),
        "{m}"
    );
    std::fs::remove_file(&blocker).unwrap();
    wait_for(LIMIT, "the checkpoint at the end", || {
        checkpoint_offsets(&env) == vec![size]
    });
    let letters = std::fs::read_to_string(env.data_dir().join("dead_letter/es.ndjson")).unwrap();
    assert_eq!(letters.lines().count(), 1);
    assert!(letters.contains("request #7 "));
    assert_eq!(records(&server.out).len(), 29);
}

#[test]
fn a_file_rewritten_while_down_with_the_same_header_is_read_from_its_start() {
    let env = Env::new();
    let log = env.path("app.log");
    // A long fixed header: the fingerprint (first 256 bytes) is the same in both versions.
    let header = format!("# {}\n", "fixed header ".repeat(30));
    append(&log, &header);
    append(&log, &(0..20).map(line).collect::<String>());
    let cfg = env.config(&file_input(&log, "beginning"), "");
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 20, LIMIT);
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(LIMIT, "the checkpoint at the end", || {
        checkpoint_offsets(&env) == vec![size]
    });
    assert_eq!(agent.term(LIMIT), 0);
    // Rewritten in place (same inode) while the agent is down: same header, longer lines.
    let body: String = (1000..1030)
        .map(|n| {
            format!(
                "rewritten line #{n} with much longer text than before {}\n",
                "y".repeat(40)
            )
        })
        .collect();
    std::fs::write(&log, format!("{header}{body}")).unwrap();
    assert!(std::fs::metadata(&log).unwrap().len() > size);
    let agent = env.start(&cfg);
    wait_all_arrived_from(&agent, &out, 1000, 1030);
    for r in records(&out) {
        let m = r["message"].as_str().unwrap();
        assert!(
            m.starts_with("2026-") || m.starts_with("rewritten line") || m.starts_with("# fixed"),
            "a line read from its middle: {m:?}"
        );
    }
}

#[test]
fn kill_9_after_a_copytruncate_with_acks_in_flight_loses_nothing() {
    use common::beats::{BeatsServer, Mode};
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    server.set_mode(Mode::Withhold);
    let log = env.path("app.log");
    append(&log, &(0..300).map(line).collect::<String>());
    let cfg = env.config(
        // The copy's name is not in the globs: it is found as the truncated file's copy.
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n",
            log.display()
        ),
        &format!(
            "outputs:\n  - type: logstash\n    hosts: ['{}']\n    timeout: 60s\n    backoff: {{ init: 50ms, max: 500ms }}\n",
            server.addr
        ),
    );
    let mut agent = env.start(&cfg);
    // Read and sent, not acknowledged.
    wait_for(LIMIT, "the lines at the server", || {
        server.events_received() >= 300
    });
    // copytruncate: copy, then truncate the original.
    std::fs::copy(&log, env.path("app.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &(300..310).map(line).collect::<String>());
    let copy = env.path("app.log.1");
    wait_for(LIMIT, "the copy's checkpoint", || {
        let text =
            std::fs::read_to_string(env.data_dir().join("checkpoints.json")).unwrap_or_default();
        text.contains(&*copy.to_string_lossy())
    });
    agent.kill9();
    server.set_mode(Mode::Normal);
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 310, LIMIT);
}
