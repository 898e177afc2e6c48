//! `type: cloudwatch` end to end against moto's server (a real CloudWatch Logs
//! implementation): records in the groups and streams the templates name, in order, with their
//! timestamps; groups, streams and retention created; calls cut to the service limits (seen
//! through a recording proxy, since moto does not enforce them); too-old events to the dead
//! letters; kill -9 and restart; SigV4 with a right and a wrong secret.

mod common;
use common::moto::{Moto, Proxy};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// Syslog lines `#n` from `app` on `host`, `age` before now (one ms apart, in order).
fn syslog_lines(from: u64, to: u64, host: &str, app: &str, age: chrono::Duration) -> String {
    let base = chrono::Utc::now() - age;
    (from..to)
        .map(|n| {
            let t = base + chrono::Duration::milliseconds(n as i64);
            format!(
                "<13>{} {host} {app}[7]: event #{n} {}\n",
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                "x".repeat((n % 50) as usize)
            )
        })
        .collect()
}

fn config(env: &Env, log: &Path, endpoint: &str, options: &str, batch: usize) -> PathBuf {
    let text = format!(
        "data_dir: {}\npipeline:\n  batch_max_events: {batch}\n  batch_max_wait: 100ms\n  checkpoint_interval: 200ms\ninputs:\n  - type: file\n    paths: [{}]\n    read_from: beginning\n    format: syslog\noutputs:\n  - type: cloudwatch\n    name: cw\n    region: us-east-1\n    endpoint: {endpoint}\n    backoff: {{ init: 100ms, max: 1s }}\n{options}",
        env.data_dir().display(),
        log.display()
    );
    let p = env.path("logship.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(env: &Env, cfg: &Path, moto: &Moto) -> Agent {
    let vars = moto.env();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.start_with(cfg, &vars)
}

fn numbers(events: &[(i64, String)]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(m).ok()?;
            number(&v)
        })
        .collect()
}

#[test]
fn records_arrive_in_templated_groups_and_streams_in_order() {
    let moto = Moto::start(false);
    let env = Env::new();
    let log = env.path("syslog");
    let age = chrono::Duration::minutes(30);
    append(&log, &syslog_lines(0, 500, "web-1", "shop", age));
    append(&log, &syslog_lines(500, 800, "web-2", "cart", age));
    let cfg = config(
        &env,
        &log,
        &moto.endpoint,
        "    log_group: \"/logship/{log.syslog.appname:-none}\"\n    log_stream: \"{log.syslog.hostname}/{container.name:-host}\"\n    retention_days: 7\n",
        2048,
    );
    let agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "800 events in moto", || {
        moto.events("/logship/shop", "web-1/host").len() == 500
            && moto.events("/logship/cart", "web-2/host").len() == 300
    });
    let shop = moto.events("/logship/shop", "web-1/host");
    assert_eq!(numbers(&shop), (0..500).collect::<Vec<_>>(), "order");
    // Each event carries the record's own timestamp.
    let first: serde_json::Value = serde_json::from_str(&shop[0].1).unwrap();
    let ts = chrono::DateTime::parse_from_rfc3339(first["@timestamp"].as_str().unwrap()).unwrap();
    assert_eq!(shop[0].0, ts.timestamp_millis());
    assert_eq!(first["log"]["syslog"]["appname"], "shop");
    let groups = moto.groups();
    for g in ["/logship/shop", "/logship/cart"] {
        assert!(groups.contains(&(g.to_string(), Some(7))), "{groups:?}");
    }
    assert_eq!(
        moto.streams("/logship/cart"),
        vec!["web-2/host".to_string()]
    );
    assert!(
        agent.logs().contains("created log group"),
        "{}",
        agent.logs()
    );
}

#[test]
fn calls_respect_the_10000_event_and_1_mib_limits() {
    let moto = Moto::start(false);
    let proxy = Proxy::start(&moto.endpoint);
    let env = Env::new();
    let log = env.path("syslog");
    let n = 12_000;
    append(
        &log,
        &syslog_lines(0, n, "web-1", "bulk", chrono::Duration::minutes(20)),
    );
    let cfg = config(
        &env,
        &log,
        &proxy.endpoint,
        "    log_group: /big\n    log_stream: s\n",
        12_000,
    );
    let _agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "all events in moto", || {
        moto.events("/big", "s").len() == n as usize
    });
    let puts = proxy.puts();
    let mut total = 0;
    for p in &puts {
        let events = p["logEvents"].as_array().unwrap();
        let bytes: usize = events
            .iter()
            .map(|e| e["message"].as_str().unwrap().len() + 26)
            .sum();
        assert!(
            events.len() <= 10_000,
            "{} events in one call",
            events.len()
        );
        assert!(bytes <= 1_048_576, "{bytes} bytes in one call");
        let ts: Vec<i64> = events
            .iter()
            .map(|e| e["timestamp"].as_i64().unwrap())
            .collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "not in time order");
        total += events.len();
    }
    assert_eq!(total, n as usize);
    // 12,000 records of ~400 bytes (6 MB) cannot go in fewer than 5 calls.
    assert!(puts.len() >= 5, "{} calls", puts.len());
    assert_eq!(
        numbers(&moto.events("/big", "s")),
        (0..n).collect::<Vec<_>>()
    );
}

#[test]
fn too_old_events_go_to_dead_letters_and_the_rest_arrives() {
    let moto = Moto::start(false);
    let env = Env::new();
    let log = env.path("syslog");
    append(
        &log,
        &syslog_lines(0, 40, "web-1", "old", chrono::Duration::days(20)),
    );
    append(
        &log,
        &syslog_lines(40, 100, "web-1", "old", chrono::Duration::minutes(5)),
    );
    let cfg = config(
        &env,
        &log,
        &moto.endpoint,
        "    log_group: /mixed\n    log_stream: s\n",
        2048,
    );
    let agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "60 recent events", || {
        moto.events("/mixed", "s").len() == 60
    });
    let dead = env.data_dir().join("dead_letter/cw.ndjson");
    wait_for(LIMIT, "40 dead letters", || records(&dead).len() == 40);
    let d = &records(&dead)[0];
    assert!(d["reason"].as_str().unwrap().contains("too old"), "{d}");
    assert_eq!(d["output"], "cw");
    assert_eq!(
        numbers(&moto.events("/mixed", "s")),
        (40..100).collect::<Vec<_>>()
    );
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(LIMIT, "checkpoint at the end", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(size)
    });
    drop(agent);
}

#[test]
fn kill9_and_restart_loses_nothing() {
    let moto = Moto::start(false);
    let env = Env::new();
    let log = env.path("syslog");
    let n = 20_000;
    append(
        &log,
        &syslog_lines(0, n, "web-1", "crash", chrono::Duration::minutes(40)),
    );
    let cfg = config(
        &env,
        &log,
        &moto.endpoint,
        "    log_group: /crash\n    log_stream: s\n",
        500,
    );
    let mut agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "some events", || {
        moto.events("/crash", "s").len() >= 2000
    });
    agent.kill9();
    let agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "every event", || {
        let got: std::collections::HashSet<u64> =
            numbers(&moto.events("/crash", "s")).into_iter().collect();
        got.len() == n as usize
    });
    drop(agent);
}

#[test]
fn sigv4_right_key_works_wrong_secret_is_one_line_then_no_loss() {
    let moto = Moto::start(true);
    let env = Env::new();
    let log = env.path("syslog");
    append(
        &log,
        &syslog_lines(0, 50, "web-1", "auth", chrono::Duration::minutes(3)),
    );
    let cfg = config(
        &env,
        &log,
        &moto.endpoint,
        "    log_group: /auth\n    log_stream: s\n",
        2048,
    );
    let mut vars = moto.env();
    vars[1].1 = "wrong-secret".into();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = Command::new(bin())
        .args(["test-output", "-c"])
        .arg(&cfg)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(
            "cw: FAILED: DescribeLogGroups (region us-east-1): the credentials were refused"
        ),
        "{out}"
    );
    let agent = env.start_with(&cfg, &vars);
    wait_for(LIMIT, "the refusal in the log", || {
        agent.logs().contains("the credentials were refused")
    });
    drop(agent);
    assert!(moto.events("/auth", "s").is_empty());
    // The right secret: test-output OK, and every event arrives.
    let right = moto.env();
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = Command::new(bin())
        .args(["test-output", "-c"])
        .arg(&cfg)
        .envs(right.iter().copied())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("credentials accepted"), "{out}");
    let _agent = env.start_with(&cfg, &right);
    wait_for(LIMIT, "all 50 events", || {
        moto.events("/auth", "s").len() == 50
    });
}

/// LESSONS.md: "a ThrottlingException stops all further output" (fluent-bit #4553). Here it is
/// retried with backoff and nothing is lost; a group deleted while running is created again;
/// an event over 256 KiB is cut and flagged.
#[test]
fn throttling_deleted_group_and_oversized_event() {
    let moto = Moto::start(false);
    let proxy = Proxy::start(&moto.endpoint);
    proxy.throttle_next(4);
    let env = Env::new();
    let log = env.path("syslog");
    append(
        &log,
        &syslog_lines(0, 300, "web-1", "t", chrono::Duration::minutes(10)),
    );
    let cfg = config(
        &env,
        &log,
        &proxy.endpoint,
        "    log_group: /thr\n    log_stream: s\n",
        100,
    );
    let agent = start(&env, &cfg, &moto);
    wait_for(LIMIT, "300 events despite throttling", || {
        moto.events("/thr", "s").len() == 300
    });
    assert!(
        agent.logs().contains("ThrottlingException"),
        "{}",
        agent.logs()
    );
    assert_eq!(
        numbers(&moto.events("/thr", "s")),
        (0..300).collect::<Vec<_>>()
    );

    moto.delete_group("/thr");
    append(
        &log,
        &syslog_lines(300, 400, "web-1", "t", chrono::Duration::minutes(1)),
    );
    wait_for(LIMIT, "events in the re-created group", || {
        moto.events("/thr", "s").len() == 100
    });
    assert!(
        agent.logs().contains("creating it again"),
        "{}",
        agent.logs()
    );

    let big = format!(
        "<13>{} web-1 t[7]: event #400 {}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        "y".repeat(300 << 10)
    );
    append(&log, &big);
    wait_for(LIMIT, "the oversized event", || {
        moto.events("/thr", "s").len() == 101
    });
    let last = moto.events("/thr", "s").pop().unwrap().1;
    assert!(last.len() + 26 <= 262_144, "{} bytes", last.len());
    let v: serde_json::Value = serde_json::from_str(&last).expect("still a JSON record");
    assert!(
        v["log"]["flags"].to_string().contains("truncated"),
        "{}",
        v["log"]
    );
    assert_eq!(number(&v), Some(400));
}
