//! `GET /status` and `logship status` against the running agent: a healthy one (lag 0), one
//! whose second output is stuck (the lag grows and the stuck output is named as what holds the
//! checkpoint back), a rotated file deleted while still open, and no agent at all.

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

fn status(addr: &str) -> Value {
    let (code, body) = http_get(addr, "/status").expect("/status answers");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("/status is JSON")
}

fn file_entry<'a>(s: &'a Value, path: &std::path::Path) -> Option<&'a Value> {
    s["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"].as_str() == path.to_str())
}

#[test]
fn a_healthy_agent_shows_no_lag() {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, (0..200).map(line).collect::<String>()).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!(
            "  - type: file\n    name: app\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!("http:\n  listen: {addr}\n"),
    );
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &env.out(), 200, Duration::from_secs(20));
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(Duration::from_secs(10), "lag 0 in /status", || {
        http_get(&addr, "/status").is_some_and(|(_, b)| {
            let s: Value = serde_json::from_str(&b).unwrap_or_default();
            file_entry(&s, &log).is_some_and(|f| f["lag_bytes"] == 0)
        })
    });
    let s = status(&addr);
    assert_eq!(s["status"], "ok");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["config"], cfg.to_str().unwrap());
    let f = file_entry(&s, &log).unwrap();
    assert_eq!(f["input"], "app");
    assert_eq!(f["size"], size);
    assert_eq!(f["read_offset"], size);
    assert_eq!(f["acked_offset"], size);
    assert_eq!(f["lag_seconds"], 0.0);
    assert_eq!(f["held_by"], serde_json::json!([]));
    assert_eq!(f["deleted"], false);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(f["identity"]["ino"], std::fs::metadata(&log).unwrap().ino());
    let out = &s["outputs"]["file"];
    assert_eq!(out["state"], "ok");
    assert_eq!(out["in_flight_batches"], 0);
    assert!(out["last_success"].is_string(), "{s}");
    assert_eq!(s["inputs"]["app"]["lag_bytes"], 0);
    // The command prints the same for a person.
    let (code, text) = logship("status", &cfg);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(": ok"), "{text}");
    assert!(text.contains(log.to_str().unwrap()), "{text}");
    assert!(!text.contains('\x1b'), "no colours off a terminal: {text}");
    let o = std::process::Command::new(bin())
        .args(["status", "--json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let (code, json) = (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    );
    assert_eq!(code, 0, "{json}");
    let parsed: Value = serde_json::from_str(json.trim()).expect("--json prints JSON");
    assert_eq!(parsed["outputs"]["file"]["state"], "ok");
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    // No agent: a clear message and exit 1.
    let (code, text) = logship("status", &cfg);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no logship agent answers"), "{text}");
}

#[test]
fn a_stuck_output_is_named_and_the_lag_grows_and_a_deleted_open_file_shows() {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, (0..100).map(line).collect::<String>()).unwrap();
    let blocker = env.path("blocker");
    std::fs::write(&blocker, "").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!(
            "  - type: file\n    name: app\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!(
            "http:\n  listen: {addr}\noutputs:\n  - type: file\n    name: good\n    path: {}\n  - type: file\n    name: stuck\n    path: {}/out.ndjson\n    backoff: {{ init: 100ms, max: 200ms }}\n",
            env.out().display(),
            blocker.display()
        ),
    );
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "the good output's records", || {
        records(&env.out()).len() == 100
    });
    wait_for(Duration::from_secs(10), "the stuck output named", || {
        http_get(&addr, "/status").is_some_and(|(_, b)| {
            let s: Value = serde_json::from_str(&b).unwrap_or_default();
            file_entry(&s, &log).is_some_and(|f| f["held_by"] == serde_json::json!(["stuck"]))
        })
    });
    let first = status(&addr);
    let f = file_entry(&first, &log).unwrap().clone();
    let size = std::fs::metadata(&log).unwrap().len();
    assert_eq!(f["lag_bytes"], size, "nothing acknowledged: {first}");
    assert_eq!(f["acked_offset"], 0);
    assert_eq!(f["read_offset"], size);
    assert_eq!(first["outputs"]["stuck"]["state"], "retrying");
    assert!(
        first["outputs"]["stuck"]["in_flight_batches"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(first["outputs"]["stuck"]["last_error"].is_string());
    assert_eq!(first["outputs"]["good"]["in_flight_batches"], 0);
    let lag0 = f["lag_seconds"].as_f64().unwrap();
    // More lines: the lag in bytes grows, and so does its age.
    append(&log, &(100..200).map(line).collect::<String>());
    let grown = std::fs::metadata(&log).unwrap().len();
    wait_for(Duration::from_secs(10), "the lag to grow", || {
        http_get(&addr, "/status").is_some_and(|(_, b)| {
            let s: Value = serde_json::from_str(&b).unwrap_or_default();
            file_entry(&s, &log).is_some_and(|f| {
                f["lag_bytes"] == grown && f["lag_seconds"].as_f64().unwrap_or(0.0) > lag0
            })
        })
    });
    let retries = status(&addr)["outputs"]["stuck"]["retries"]
        .as_u64()
        .unwrap();
    assert!(retries >= 1);
    let (code, text) = logship("status", &cfg);
    assert_eq!(code, 0, "{text}");
    let row = text
        .lines()
        .find(|l| l.contains(log.to_str().unwrap()))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("stuck"),
        "the file's row names the stuck output: {text}"
    );
    // More than the pipeline holds while the output is stuck: the reader stops part-way
    // (backpressure), the file stays open. Rotated away and deleted meanwhile, it is still
    // shown, flagged, with what is still owed.
    use std::os::unix::fs::MetadataExt;
    append(&log, &(200..40_000).map(line).collect::<String>());
    let ino = std::fs::metadata(&log).unwrap().ino();
    let total = std::fs::metadata(&log).unwrap().len();
    let by_ino = |s: &Value| -> Option<Value> {
        s["files"]
            .as_array()?
            .iter()
            .find(|f| f["identity"]["ino"] == ino)
            .cloned()
    };
    wait_for(
        Duration::from_secs(10),
        "the reader held back part-way",
        || {
            by_ino(&status(&addr)).is_some_and(|f| {
                f["size"] == total
                    && f["read_offset"]
                        .as_u64()
                        .is_some_and(|r| r > 0 && r < total)
            })
        },
    );
    let rotated = env.path("app.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    std::fs::remove_file(&rotated).unwrap();
    wait_for(Duration::from_secs(10), "the deleted file flagged", || {
        by_ino(&status(&addr)).is_some_and(|f| f["deleted"] == true && f["lag_bytes"] == total)
    });
    let (_, text) = logship("status", &cfg);
    assert!(text.contains("(deleted, still open)"), "{text}");
    agent.kill9();
}
