//! Processors through the real binary: `decode_json` on JSON app logs, conditions with `drop`
//! and `include`, `rename`, `add_fields` with `${VAR}`; `multiline` on Java, Python and Go traces
//! from files and from real containers (stdout and stderr kept apart), flushed by `timeout` and
//! at shutdown, and whole again after `kill -9` in the middle of a group; a bad regex in the
//! configuration.

mod common;
use common::docker::*;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn input(log: &Path, processors: &str) -> String {
    format!(
        "  - type: file\n    paths: [{}]\n    read_from: beginning\n    processors:\n{processors}",
        log.display()
    )
}

fn wait_records(agent: &Agent, out: &Path, n: usize) -> Vec<serde_json::Value> {
    wait_for(LIMIT, &format!("{n} records"), || records(out).len() >= n);
    let r = records(out);
    assert_eq!(r.len(), n, "log:\n{}", agent.logs());
    r
}

#[test]
fn json_app_logs_conditions_rename_and_add_fields() {
    let env = Env::new();
    let log = env.path("app.log");
    append(
        &log,
        concat!(
            r#"{"level":"info","msg":"started","http":{"code":200,"path":"/api"},"@timestamp":"2026-11-24T10:00:00Z"}"#,
            "\n",
            r#"{"level":"info","msg":"probe","http":{"code":200,"path":"/healthz"}}"#,
            "\n",
            "not json at all {\n",
            // Plain values only: kept as text by decode_json (event/raw.rs) until the rename.
            r#"{"level":"info","msg":"flat \"q\" é","n":1.5,"ok":true}"#,
            "\n",
            r#"{"level":"error","msg":"boom","http":{"code":503,"path":"/api"},"deep":{"a":{"b":{"c":1}}}}"#,
            "\n",
            r#"{"level":"debug","msg":"noise"}"#,
            "\n",
        ),
    );
    let processors = "      - decode_json: { target: \"\", add_error_key: true, max_depth: 2 }
      - drop: { when: { contains: { http.path: health } } }
      - include: { when: { or: [ { has_fields: [error.message] }, { regexp: { level: \"^(info|error)$\" } } ] } }
      - rename: { fields: { msg: event.original_message } }
";
    // Top-level processors run after the input's own (the renamed field is already there).
    let global = "processors:
  - add_fields: { target: app, fields: { team: \"${TEAM:-payments}\", tier: 2 }, when: { range: { http.code: { gte: 500 } } } }
  - add_fields: { target: seen, fields: { renamed: true }, when: { has_fields: [event.original_message] } }
";
    let cfg = env.config(&input(&log, processors), global);
    let agent = env.start(&cfg);
    let r = wait_records(&agent, &env.out(), 4);
    // 1: decoded, its own @timestamp, renamed.
    assert_eq!(r[0]["level"], "info");
    assert_eq!(r[0]["http"]["code"], 200);
    assert_eq!(r[0]["@timestamp"], "2026-11-24T10:00:00.000000000Z");
    assert_eq!(r[0]["event"]["original_message"], "started");
    assert!(r[0].get("msg").is_none());
    assert!(
        r[0].get("app").is_none(),
        "add_fields only when code >= 500"
    );
    // 2: the health check was dropped; invalid JSON is kept with the error key.
    assert_eq!(r[1]["message"], "not json at all {");
    assert_eq!(r[1]["error"]["type"], "json");
    // 3: plain values, found by the condition, renamed.
    assert_eq!(r[2]["level"], "info");
    assert_eq!(r[2]["event"]["original_message"], "flat \"q\" é");
    assert_eq!(r[2]["n"], 1.5);
    assert_eq!(r[2]["ok"], true);
    assert!(r[2].get("msg").is_none());
    assert_eq!(r[2]["seen"]["renamed"], true);
    // 4: the error, with fields added and depth bounded.
    assert_eq!(r[3]["level"], "error");
    assert_eq!(r[3]["app"]["team"], "payments");
    assert_eq!(r[3]["app"]["tier"], 2);
    assert_eq!(r[3]["deep"]["a"], r#"{"b":{"c":1}}"#);
    assert_eq!(
        r[3]["seen"]["renamed"], true,
        "global processors see the input's renames"
    );
    // The debug line was not included, yet the checkpoint covers the whole file.
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(LIMIT, "checkpoint at end of file", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(size)
    });
}

const JAVA: &str = "2026-11-24 10:00:00 ERROR Request failed
java.lang.IllegalStateException: boom
\tat com.shop.Orders.pay(Orders.java:42)
\tat com.shop.Api.handle(Api.java:7)
Caused by: java.io.IOException: disk full
\tat com.shop.Store.write(Store.java:99)
\t... 12 more
";
const PYTHON: &str = "Traceback (most recent call last):
  File \"/app/main.py\", line 8, in <module>
    pay()
  File \"/app/main.py\", line 5, in pay
    1 / 0
ZeroDivisionError: division by zero
";
const GO: &str = "panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.main()
\t/app/main.go:8 +0x1d
exit status 2
";

#[test]
fn java_python_go_traces_from_files_each_one_record() {
    let env = Env::new();
    let (j, p, g) = (env.path("java.log"), env.path("py.log"), env.path("go.log"));
    append(&j, &format!("{JAVA}2026-11-24 10:00:01 INFO next\n"));
    append(&p, &format!("{PYTHON}after python\n"));
    append(&g, &format!("{GO}after go\n"));
    let inputs = format!(
        "{}\n{}\n{}",
        input(&j, "      - multiline: { preset: java, timeout: 500ms }\n")
            .replace("    paths", "    name: java\n    paths"),
        input(
            &p,
            "      - multiline: { preset: python, timeout: 500ms }\n"
        )
        .replace("    paths", "    name: python\n    paths"),
        input(&g, "      - multiline: { preset: go, timeout: 500ms }\n")
            .replace("    paths", "    name: go\n    paths"),
    );
    let cfg = env.config(&inputs, "");
    let agent = env.start(&cfg);
    let r = wait_records(&agent, &env.out(), 6);
    let by = |path: &Path| -> Vec<String> {
        r.iter()
            .filter(|x| x["log"]["file"]["path"] == path.display().to_string())
            .map(|x| x["message"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        by(&j),
        vec![
            JAVA.trim_end().to_string(),
            "2026-11-24 10:00:01 INFO next".into()
        ]
    );
    assert_eq!(
        by(&p),
        vec![PYTHON.trim_end().to_string(), "after python".into()]
    );
    assert_eq!(by(&g), vec![GO.trim_end().to_string(), "after go".into()]);
    let java = r
        .iter()
        .find(|x| x["message"].as_str().unwrap().contains("IllegalState"))
        .unwrap();
    assert!(
        java["log"]["flags"].to_string().contains("multiline"),
        "{java}"
    );
}

#[test]
fn pending_trace_is_flushed_by_timeout_and_at_shutdown() {
    let env = Env::new();
    let log = env.path("app.log");
    append(&log, JAVA);
    let cfg = env.config(
        &input(&log, "      - multiline: { preset: java, timeout: 1s }\n"),
        "",
    );
    let agent = env.start(&cfg);
    // No line follows the trace: only the timeout can end it.
    let r = wait_records(&agent, &env.out(), 1);
    assert_eq!(r[0]["message"], JAVA.trim_end());
    drop(agent);

    let env = Env::new();
    let log = env.path("app.log");
    append(&log, PYTHON);
    let cfg = env.config(
        &input(&log, "      - multiline: { preset: python, timeout: 1h }\n"),
        "",
    );
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "the file read", || {
        agent.logs().contains("reading file")
    });
    // Let the tailer read the lines (they are held), then stop: the group goes out whole.
    wait_for(LIMIT, "a checkpoint entry", || {
        std::fs::read_to_string(env.data_dir().join("checkpoints.json"))
            .is_ok_and(|s| s.contains("app.log"))
    });
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
    let r = records(&env.out());
    assert_eq!(r.len(), 1, "{}", agent.logs());
    assert_eq!(r[0]["message"], PYTHON.trim_end());
}

#[test]
fn kill9_mid_group_the_group_arrives_whole_after_restart() {
    let env = Env::new();
    let log = env.path("app.log");
    append(&log, "2026-11-24 09:59:59 INFO before\n");
    let cfg = env.config(
        &input(&log, "      - multiline: { preset: java, timeout: 1h }\n"),
        "",
    );
    let mut agent = env.start(&cfg);
    // The first half of a trace: held back, and the checkpoint must not pass its start.
    let half = JAVA
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let start = std::fs::metadata(&log).unwrap().len();
    append(&log, &half);
    append(&log, "2026-11-24 09:59:59 INFO unrelated-but-same-stream\n");
    // "before" went out when the trace started; the trace went out when "unrelated" started;
    // "unrelated" itself is now held.
    let r = wait_records(&agent, &env.out(), 2);
    assert_eq!(r[1]["message"], half.trim_end());
    // Now a real mid-group crash: a trace begins and the agent dies before it ends.
    let rest_start = std::fs::metadata(&log).unwrap().len();
    append(&log, &half);
    // "unrelated" goes out only once the new group's first line was read.
    wait_records(&agent, &env.out(), 3);
    wait_for(LIMIT, "the checkpoint to reach the held group", || {
        checkpoint_offset(&env.data_dir(), &log).is_some_and(|c| c >= start)
    });
    agent.kill9();
    let cp = checkpoint_offset(&env.data_dir(), &log).unwrap_or(0);
    assert!(
        cp <= rest_start,
        "checkpoint {cp} passed the start of the held group ({rest_start})"
    );
    append(
        &log,
        &JAVA
            .lines()
            .skip(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    append(&log, "2026-11-24 10:00:05 INFO after\n");
    let agent = env.start(&cfg);
    wait_for(LIMIT, "the whole group after the restart", || {
        records(&env.out()).iter().any(|r| {
            r["message"]
                == format!(
                    "{}\n{}",
                    half.trim_end(),
                    JAVA.lines().skip(3).collect::<Vec<_>>().join("\n")
                )
        })
    });
    drop(agent);
}

#[test]
fn bad_regex_is_a_configuration_error_with_path_and_line() {
    let env = Env::new();
    let log = env.path("app.log");
    let cfg = env.config(
        &input(
            &log,
            "      - drop: { when: { regexp: { message: \"(unclosed\" } } }\n",
        ),
        "processors:\n  - multiline: { pattern: \"[z-a]\" }\n",
    );
    let o = Command::new(bin())
        .args(["check-config", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "inputs[0].processors[0].drop.when.regexp.message (line 12): invalid regex `(unclosed`"
        ),
        "{err}"
    );
    assert!(
        err.contains("processors[0].multiline.pattern (line 15): invalid regex `[z-a]`"),
        "{err}"
    );
}

/// Real containers: a trace on stdout and another on stderr at the same time stay apart, each
/// one record.
#[test]
fn container_traces_one_record_each_streams_apart() {
    if !docker_available() {
        return;
    }
    let env = Env::new();
    let cfg = env.config(
        "  - type: docker\n    scan_frequency: 1s\n    processors:\n      - multiline: { preset: java, timeout: 1s }",
        "",
    );
    let agent = env.start(&cfg);
    let java = JAVA.replace('\t', "    ");
    // Interleave: stdout and stderr lines alternate.
    let mut script = String::new();
    let lines: Vec<&str> = java.lines().collect();
    for l in &lines {
        script += &format!("echo '{l}'; echo '{l} (err)' >&2; ");
    }
    script += "echo 'after-out'; echo 'after-err' >&2; sleep 30";
    let c = Container::run(&["--name", &unique("ml")], &script);
    wait_for(LIMIT, "4 records of the container", || {
        records(&env.out())
            .iter()
            .filter(|r| r["container"]["id"] == c.id)
            .count()
            >= 4
    });
    let mine: Vec<_> = records(&env.out())
        .into_iter()
        .filter(|r| r["container"]["id"] == c.id)
        .collect();
    let out: Vec<&str> = mine
        .iter()
        .filter(|r| r["stream"] == "stdout")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    let err: Vec<&str> = mine
        .iter()
        .filter(|r| r["stream"] == "stderr")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(out, vec![java.trim_end(), "after-out"], "{}", agent.logs());
    let err_trace: Vec<String> = lines.iter().map(|l| format!("{l} (err)")).collect();
    assert_eq!(err, vec![err_trace.join("\n").as_str(), "after-err"]);
}

/// A Python traceback and a Go panic printed by real containers: one record each.
#[test]
fn container_python_traceback_and_go_panic_one_record_each() {
    if !docker_available() {
        return;
    }
    for (preset, trace) in [("python", PYTHON), ("go", GO)] {
        let env = Env::new();
        let cfg = env.config(
            &format!("  - type: docker\n    scan_frequency: 1s\n    processors:\n      - multiline: {{ preset: {preset}, timeout: 1s }}"),
            "",
        );
        let agent = env.start(&cfg);
        let trace = trace.replace('\t', "    ");
        let script: String = trace
            .lines()
            .map(|l| format!("echo '{}'; ", l.replace('\'', "")))
            .collect::<String>()
            + "echo 'done'; sleep 30";
        let c = Container::run(&["--name", &unique(preset)], &script);
        wait_for(LIMIT, "2 records of the container", || {
            records(&env.out())
                .iter()
                .filter(|r| r["container"]["id"] == c.id)
                .count()
                >= 2
        });
        let msgs: Vec<String> = records(&env.out())
            .into_iter()
            .filter(|r| r["container"]["id"] == c.id)
            .map(|r| r["message"].as_str().unwrap_or("").to_string())
            .collect();
        let want = trace.replace('\'', "");
        assert_eq!(
            msgs,
            vec![want.trim_end().to_string(), "done".into()],
            "{preset}: {}",
            agent.logs()
        );
    }
}

#[test]
fn drop_fields_and_include_fields_with_a_condition() {
    let env = Env::new();
    let log = env.path("app.log");
    append(
        &log,
        concat!(
            r#"{"level":"info","msg":"kept whole","user":{"name":"ada","password":"x"}}"#,
            "\n",
            r#"{"level":"debug","msg":"trimmed","user":{"name":"bob","password":"y"},"extra":1}"#,
            "\n",
        ),
    );
    let cfg = env.config(
        &input(
            &log,
            "      - decode_json: { target: \"\" }\n      - drop_fields: { fields: [user.password, message] }\n      - include_fields: { fields: [msg, user], when: { equals: { level: debug } } }\n",
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    let r = wait_records(&agent, &out, 2);
    let whole = r.iter().find(|x| x["msg"] == "kept whole").unwrap();
    assert_eq!(whole["user"], serde_json::json!({ "name": "ada" }));
    assert!(whole.get("message").is_none(), "{whole}");
    assert_eq!(whole["level"], "info");
    assert!(whole["host"]["name"].is_string(), "{whole}");
    let trimmed = r.iter().find(|x| x["msg"] == "trimmed").unwrap();
    let mut keys: Vec<&str> = trimmed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["@timestamp", "msg", "user"], "{trimmed}");
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
