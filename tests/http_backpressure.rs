//! `/metrics` and `/health` through the real binary, and backpressure: a stuck output makes the
//! input stop reading (bounded events in memory), and once it moves again nothing is lost.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn metrics_and_health_report_and_turn_503_when_an_output_keeps_failing() {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, (0..100).map(line).collect::<String>()).unwrap();
    let blocker = env.path("blocker");
    std::fs::write(&blocker, "").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!("  - type: file\n    paths: [{}]\n    read_from: beginning", log.display()),
        &format!(
            "http:\n  listen: {addr}\n  max_failing: 1s\noutputs:\n  - type: file\n    name: good\n    path: {}\n  - type: file\n    name: broken\n    path: {}/out.ndjson\n    backoff: {{ init: 100ms, max: 200ms }}\n",
            env.out().display(),
            blocker.display()
        ),
    );
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "/metrics to answer", || {
        http_get(&addr, "/metrics").is_some()
    });
    wait_for(
        Duration::from_secs(20),
        "records to reach the good output",
        || records(&env.out()).len() == 100,
    );
    // The file holds the records a moment before the output's counter moves.
    wait_for(Duration::from_secs(20), "the sent counter", || {
        http_get(&addr, "/metrics")
            .is_some_and(|(_, b)| b.contains("logship_events_sent_total{output=\"good\"} 100"))
    });
    let (code, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    for name in [
        "logship_events_received_total{input=\"file\"} 100",
        "logship_events_sent_total{output=\"good\"} 100",
        "logship_events_sent_total{output=\"broken\"} 0",
        "logship_output_errors_total{kind=\"io\",output=\"broken\"}",
        "logship_events_dropped_total{reason=\"rejected\"} 0",
        "logship_batch_latency_seconds_bucket",
        "logship_files_tailed 1",
        "logship_checkpoint_lag_bytes",
        "logship_spool_bytes 0",
    ] {
        assert!(body.contains(name), "missing `{name}` in /metrics:\n{body}");
    }
    wait_for(Duration::from_secs(20), "/health to turn 503", || {
        matches!(http_get(&addr, "/health"), Some((503, _)))
    });
    let (_, body) = http_get(&addr, "/health").unwrap();
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["outputs"]["broken"]["status"], "failed");
    assert!(health["outputs"]["broken"]["last_error"]
        .as_str()
        .unwrap()
        .contains("cannot create directory"));
    assert_eq!(health["outputs"]["good"]["status"], "ok");
    assert_eq!(health["inputs"]["file"]["status"], "running");
    // Liveness is not readiness: an output down keeps /live 200 (the kubelet must not
    // restart the agent for it).
    let (code, body) = http_get(&addr, "/live").unwrap();
    assert_eq!((code, body.as_str()), (200, r#"{"status":"alive"}"#));
    // Nothing is checkpointed while one output has not acknowledged.
    assert_eq!(checkpoint_offset(&env.data_dir(), &log), Some(0));
    // The broken output recovers: its records arrive and the checkpoint advances.
    std::fs::remove_file(&blocker).unwrap();
    wait_for(Duration::from_secs(20), "/health back to 200", || {
        matches!(http_get(&addr, "/health"), Some((200, _)))
    });
    let recovered = env.path("blocker/out.ndjson");
    wait_for(
        Duration::from_secs(20),
        "records at the recovered output",
        || records(&recovered).len() == 100,
    );
    wait_for(Duration::from_secs(20), "checkpoint at the end", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(std::fs::metadata(&log).unwrap().len())
    });
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

#[test]
fn a_stuck_output_stops_reading_and_memory_stays_bounded() {
    const LINES: u64 = 400_000;
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, (0..LINES).map(line).collect::<String>()).unwrap();
    // The output is a FIFO nobody reads yet: opening it for writing blocks, so it is stuck.
    let fifo = env.path("out.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!(
            "http:\n  listen: {addr}\noutputs:\n  - type: file\n    path: {}\n",
            fifo.display()
        ),
    );
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "reading to start", || {
        metric(&addr, "logship_events_received_total") > 0
    });
    // Reading stops: the count stays put across several looks.
    let mut last = 0;
    let mut same = 0;
    wait_for(Duration::from_secs(30), "the input to stop reading", || {
        let now = metric(&addr, "logship_events_received_total");
        same = if now == last { same + 1 } else { 0 };
        last = now;
        same >= 25
    });
    // Bounded by configuration: the input queue (8 chunks of <=1024 events), the chunk the
    // pipeline is working through, and batches of 500: the output's, in_flight_batches (4)
    // queued, and the one the pipeline waits to hand over.
    let bound = 8 * 1024 + 1024 + 500 * 6;
    assert!(
        last <= bound,
        "{last} events read while the output was stuck (bound {bound})"
    );
    assert!(last < LINES / 10);
    let rss = agent.rss();
    assert!(rss < 100 << 20, "RSS {rss} bytes with a stuck output");
    // Unstick it: read the FIFO; every line comes through.
    let reader = std::thread::spawn(move || std::fs::read(&fifo).unwrap());
    wait_for(
        Duration::from_secs(60),
        "every line through the FIFO",
        || metric(&addr, "logship_events_sent_total") >= LINES,
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    let bytes = reader.join().unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut seen = std::collections::HashSet::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        seen.insert(number(&v).unwrap());
    }
    assert_eq!(seen.len() as u64, LINES);
}
