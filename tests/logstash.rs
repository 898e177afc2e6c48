//! `type: logstash` end to end: the real binary against the beats protocol server of
//! tests/common/beats.rs (plain and mutual TLS): fields and `@metadata`, compression, no ACK,
//! partial ACK then a dropped connection, a half ACK frame, keepalives beyond `timeout`, two hosts
//! with one killed, load balancing.

mod common;
use common::beats::{BeatsServer, Mode, ServerTls};
use common::certs::{pki, Pki};
use common::*;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn file_input(log: &Path) -> String {
    format!(
        "  - type: file\n    paths: [{}]\n    read_from: beginning",
        log.display()
    )
}

fn write_lines(log: &Path, from: u64, to: u64) {
    let text: String = (from..to).map(line).collect();
    append(log, &text);
}

fn mtls_server(env: &Env, p: &Pki) -> BeatsServer {
    BeatsServer::start(
        &env.path("received.ndjson"),
        Some(ServerTls {
            cert: p.server.cert.clone(),
            key: p.server.key.clone(),
            client_ca: Some(p.ca.cert_path.clone()),
            tls12_only: false,
        }),
    )
}

fn tls_block(p: &Pki) -> String {
    format!(
        "    tls: {{ ca: {}, cert: {}, key: {} }}\n",
        p.ca.cert_path.display(),
        p.client.cert.display(),
        p.client.key.display()
    )
}

fn logstash_output(hosts: &[&str], options: &str) -> String {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "outputs:\n  - type: logstash\n    hosts: [{}]\n    backoff: {{ init: 50ms, max: 500ms }}\n{options}",
        hosts.join(", ")
    )
}

#[test]
fn records_arrive_over_mtls_with_fields_and_metadata_compressed() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls_server(&env, &p);
    let log = env.path("app.log");
    write_lines(&log, 0, 3000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(
            &[&server.addr.replace("127.0.0.1", "localhost")],
            &format!(
                "    compression_level: 3\n    beat: filebeat\n{}",
                tls_block(&p)
            ),
        ),
    );
    let agent = env.start(&cfg);
    let dups = wait_all_arrived(&agent, &server.out, 3000, LIMIT);
    assert_eq!(dups, 0);
    assert!(server.compressed_windows() > 0, "no 2C frames seen");
    let r = records(&server.out);
    let e = &r[0];
    assert_eq!(e["@metadata"]["beat"], "filebeat");
    assert_eq!(e["@metadata"]["type"], "_doc");
    assert_eq!(e["@metadata"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(e["log"]["file"]["path"], log.display().to_string());
    assert!(e["@timestamp"].is_string(), "{e}");
    assert!(e["host"]["name"].is_string(), "{e}");
    assert!(e["message"].as_str().unwrap().contains("request #"), "{e}");
    assert!(server.tls_errors().is_empty(), "{:?}", server.tls_errors());
}

#[test]
fn uncompressed_plain_tcp_and_checkpoint_follows_acks() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    let log = env.path("app.log");
    write_lines(&log, 0, 1000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    compression_level: 0\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 1000, LIMIT);
    assert_eq!(server.compressed_windows(), 0);
    assert!(server.windows() > 0);
    assert_eq!(records(&server.out)[0]["@metadata"]["beat"], "logship");
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(LIMIT, "checkpoint at end of file", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(size)
    });
}

#[test]
fn no_ack_holds_the_checkpoint_then_everything_arrives() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    server.set_mode(Mode::Withhold);
    let log = env.path("app.log");
    write_lines(&log, 0, 2000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    timeout: 1s\n"),
    );
    let agent = env.start(&cfg);
    // The agent gives up on the silent server at least twice (reconnecting in between).
    wait_for(LIMIT, "two ACK timeouts", || {
        agent.logs().matches("within 1s (timeout)").count() >= 2
    });
    assert!(server.events_received() > 0);
    assert_eq!(
        checkpoint_offset(&env.data_dir(), &log).unwrap_or(0),
        0,
        "checkpoint advanced without an ACK"
    );
    assert!(records(&server.out).is_empty());
    server.set_mode(Mode::Normal);
    wait_all_arrived(&agent, &server.out, 2000, LIMIT);
    assert_no_duplicates(&agent, &server.out);
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(LIMIT, "checkpoint at end of file", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(size)
    });
}

#[test]
fn partial_ack_then_drop_resends_only_the_rest() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    server.set_mode(Mode::PartialThenDrop(100));
    let log = env.path("app.log");
    write_lines(&log, 0, 2000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(
            &[&server.addr],
            "    bulk_max_size: 500\n    pipelining: 1\n",
        ),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 2000, LIMIT);
    // No acknowledged event came again (it would be recorded twice) ...
    assert_no_duplicates(&agent, &server.out);
    // ... and exactly the 400 unacknowledged events of the first window were sent twice.
    assert_eq!(
        server.events_received(),
        2000 + 400,
        "log:\n{}",
        agent.logs()
    );
    assert!(server.connections() >= 2);
}

#[test]
fn half_an_ack_frame_then_close_loses_nothing() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    server.set_mode(Mode::CloseMidFrame);
    let log = env.path("app.log");
    write_lines(&log, 0, 1500);
    let cfg = env.config(&file_input(&log), &logstash_output(&[&server.addr], ""));
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 1500, LIMIT);
    assert_no_duplicates(&agent, &server.out);
    assert!(
        agent.logs().contains("connection closed by"),
        "{}",
        agent.logs()
    );
}

#[test]
fn keepalive_acks_beyond_timeout_do_not_abandon_the_batch() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    server.set_mode(Mode::Keepalive(Duration::from_secs(3)));
    let log = env.path("app.log");
    write_lines(&log, 0, 300);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    timeout: 1s\n    pipelining: 1\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 300, LIMIT);
    assert_no_duplicates(&agent, &server.out);
    assert_eq!(
        server.connections(),
        1,
        "the agent reconnected:\n{}",
        agent.logs()
    );
    assert_eq!(server.events_received(), 300, "events were resent");
    assert!(!agent.logs().contains("timeout"), "{}", agent.logs());
}

#[test]
fn two_hosts_load_balanced_one_killed_mid_stream() {
    let env = Env::new();
    let out = env.path("received.ndjson");
    let a = BeatsServer::start(&out, None);
    let b = BeatsServer::start(&out, None);
    let log = env.path("app.log");
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(
            &[&a.addr, &b.addr],
            "    loadbalance: true\n    timeout: 2s\n",
        ),
    );
    let agent = env.start(&cfg);
    let mut n = 0;
    // Feed until both hosts have taken batches.
    while a.windows() == 0 || b.windows() == 0 {
        write_lines(&log, n, n + 500);
        n += 500;
        wait_all_arrived(&agent, &out, n, LIMIT);
        assert!(n < 200_000, "load balancing never used both hosts");
    }
    // Kill one host while lines keep coming.
    for i in 0..20 {
        if i == 5 {
            b.kill();
        }
        write_lines(&log, n, n + 500);
        n += 500;
    }
    let before = a.windows();
    let dups = wait_all_arrived(&agent, &out, n, LIMIT);
    assert!(a.windows() > before, "the surviving host took no load");
    // At least once: only what the killed host had recorded but not acknowledged may repeat.
    assert!(dups <= 2048, "{dups} duplicates");
}

#[test]
fn failover_sticks_to_one_host_until_it_fails() {
    let env = Env::new();
    let out = env.path("received.ndjson");
    let a = BeatsServer::start(&out, None);
    let b = BeatsServer::start(&out, None);
    let log = env.path("app.log");
    write_lines(&log, 0, 3000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&a.addr, &b.addr], "    loadbalance: false\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 3000, LIMIT);
    assert!(a.windows() > 0);
    assert_eq!(
        b.windows(),
        0,
        "without loadbalance only the first host is used"
    );
    a.kill();
    write_lines(&log, 3000, 6000);
    wait_all_arrived(&agent, &out, 6000, LIMIT);
    assert!(b.windows() > 0, "no failover to the second host");
}

#[test]
fn slow_start_grows_the_window() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    let log = env.path("app.log");
    write_lines(&log, 0, 4000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    slow_start: true\n    pipelining: 1\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 4000, LIMIT);
    // The window starts at 10 events and doubles after each acknowledged window.
    let sizes = server.window_sizes();
    assert_eq!(&sizes[..5], &[10, 20, 40, 80, 160], "{sizes:?}");
    assert!(sizes.iter().any(|&s| s > 300), "{sizes:?}");
}

/// LESSONS.md "OOM when the upstream fails": with Logstash down, reading stops at the bound the
/// configuration sets (the files are the buffer), memory stays flat, and all arrive once it is back.
#[test]
fn logstash_down_memory_stays_bounded_then_everything_arrives() {
    let env = Env::new();
    let out = env.path("received.ndjson");
    let server = BeatsServer::start(&out, None);
    let port = server.port();
    let log = env.path("app.log");
    write_lines(&log, 0, 1000);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    timeout: 2s\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 1000, LIMIT);
    server.kill();
    drop(server);
    let n = 300_000;
    write_lines(&log, 1000, n);
    wait_for(LIMIT, "three failed connection attempts", || {
        agent.logs().matches("cannot connect").count() >= 3
    });
    let rss = agent.rss();
    assert!(rss < 100 << 20, "RSS {} MiB with Logstash down", rss >> 20);
    let back = BeatsServer::start_on(&out, None, port);
    wait_all_arrived(&agent, &back.out, n, Duration::from_secs(120));
    assert_no_duplicates(&agent, &back.out);
    assert!(
        agent.peak_rss() < 150 << 20,
        "peak RSS {} MiB",
        agent.peak_rss() >> 20
    );
}

#[test]
fn ttl_reconnects_when_idle() {
    let env = Env::new();
    let server = BeatsServer::start(&env.path("received.ndjson"), None);
    let log = env.path("app.log");
    write_lines(&log, 0, 10);
    let cfg = env.config(
        &file_input(&log),
        &logstash_output(&[&server.addr], "    ttl: 300ms\n"),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 10, LIMIT);
    assert_eq!(server.connections(), 1);
    // Keep lines coming: once the connection is older than ttl, the next batch opens another.
    let mut n = 10;
    wait_for(LIMIT, "a second connection after ttl", || {
        write_lines(&log, n, n + 1);
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
        server.connections() >= 2
    });
    wait_all_arrived(&agent, &server.out, n, LIMIT);
    assert_no_duplicates(&agent, &server.out);
}
