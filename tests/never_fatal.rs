//! Never fatal, through the real binary: the two crashes found by hand (a multibyte character
//! where the syslog parser sliced; a key of thousands of dots through `decode_json`), bad input
//! across every input type in one run, a decoder that panics anyway (one line pays), and a task
//! that dies (one log line, `/health` 503 with the reason, exit 1).

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// The agent is still running and nothing panicked (a caught panic is logged as
/// "internal error").
fn assert_alive_and_calm(agent: &mut Agent) {
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "the agent exited; log:\n{}",
        agent.logs()
    );
    let logs = agent.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains("internal error"), "{logs}");
}

#[test]
fn a_multibyte_character_where_the_syslog_parser_sliced() {
    let env = Env::new();
    let log = env.path("syslog");
    append_bytes(
        &log,
        "Nov 24 10:00:01 node-1 app[1]: good #0\nZoë is here now!\nNoë 24 10:00:01 h a: x\nNov 24 10:00:02 node-1 app[1]: good #1 Zoë\n"
            .as_bytes(),
    );
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    format: syslog\n    read_from: beginning",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(30), "the four lines", || {
        records(&out).len() == 4
    });
    // More lines read with and after the bad one still arrive.
    append_bytes(&log, b"Nov 24 10:00:03 node-1 app[1]: good #2\n");
    wait_for(Duration::from_secs(30), "the line written later", || {
        counts(&out).contains_key(&2)
    });
    let recs = records(&out);
    assert_eq!(recs[1]["message"], "Zoë is here now!");
    assert_eq!(
        recs[1]["error"]["message"],
        "not a syslog line; shipped as plain text"
    );
    assert_eq!(recs[3]["log"]["syslog"]["appname"], "app");
    assert_eq!(recs[3]["message"], "good #1 Zoë");
    assert_alive_and_calm(&mut agent);
}

#[test]
fn a_key_of_thousands_of_dots_through_decode_json() {
    let env = Env::new();
    let log = env.path("app.log");
    let dots = "a.".repeat(20_000) + "z";
    let shallow = "b.".repeat(300) + "z";
    append_bytes(
        &log,
        format!(
            "{{\"msg\":\"before #0\"}}\n{{\"{dots}\": 1, \"msg\": \"dots #1\"}}\n{{\"{shallow}\": 2, \"msg\": \"literal #2\"}}\n{{\"msg\":\"after #3\"}}\n"
        )
        .as_bytes(),
    );
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n    processors:\n      - decode_json: {{ target: '' }}",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(30), "the four records", || {
        records(&out).len() == 4
    });
    let recs = records(&out);
    assert_eq!(recs[0]["msg"], "before #0");
    // Over the key-length cap: shipped as text, flagged.
    assert!(recs[1]["message"].as_str().unwrap().contains(&dots));
    assert_eq!(recs[1]["log"]["flags"], serde_json::json!(["json_limits"]));
    // Dotted keys from JSON stay literal keys (no expand_keys).
    assert_eq!(recs[2][&shallow], 2);
    assert_eq!(recs[3]["msg"], "after #3");
    assert_alive_and_calm(&mut agent);
    // A restart reads nothing again and does not crash either.
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
    let mut again = env.start(&cfg);
    append_bytes(&log, b"{\"msg\":\"later #4\"}\n");
    wait_for(
        Duration::from_secs(30),
        "the line after the restart",
        || counts(&out).contains_key(&4),
    );
    assert_eq!(records(&out).len(), 5);
    assert_alive_and_calm(&mut again);
}

/// A checkpoint file the agent did not write as it is (edited by hand, damaged, written by a
/// tool): values no entry of its own has. Each file is read again from its start (at least
/// once), none stops the agent. A fingerprint length past the 256 bytes a fingerprint covers
/// panicked the input (`range end index 1000 out of range`) at every start: a crash loop.
#[test]
fn a_checkpoint_file_with_values_the_agent_never_writes() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let odd: [(&str, serde_json::Value); 6] = [
        ("fp_len", serde_json::json!(1000)),
        ("fp_len", serde_json::json!(u32::MAX)),
        ("offset", serde_json::json!(u64::MAX)),
        ("offset", serde_json::json!(1_000_000)),
        ("generation", serde_json::json!(u32::MAX)),
        ("birth", serde_json::json!(u64::MAX)),
    ];
    let mut entries = Vec::new();
    for (k, (key, value)) in odd.iter().enumerate() {
        let path = env.path(&format!("f{k}.log"));
        let first = k as u64 * 100;
        append(&path, &(first..first + 10).map(line).collect::<String>());
        let meta = std::fs::metadata(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let n = bytes.len().min(256);
        let mut entry = serde_json::json!({
            "input": "app", "path": path, "dev": meta.dev(), "ino": meta.ino(),
            "fp_len": n, "fp_hash": xxhash_rust::xxh3::xxh3_64(&bytes[..n]),
            "offset": 5 * line(first).len(), "updated": 0
        });
        entry[*key] = value.clone();
        entries.push(entry);
    }
    // The same file twice, at two offsets.
    let mut twice = entries[0].clone();
    twice["offset"] = serde_json::json!(0);
    entries.push(twice);
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(
        env.data_dir().join("checkpoints.json"),
        serde_json::json!({"version": 1, "entries": entries}).to_string(),
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    name: app\n    paths: [{}]\n    read_from: end",
            env.path("*.log").display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    let want = |c: &std::collections::BTreeMap<u64, usize>, upto: u64| {
        (0..odd.len() as u64).all(|k| (k * 100 + 5..k * 100 + upto).all(|n| c.contains_key(&n)))
    };
    wait_for(
        Duration::from_secs(30),
        "every file's lines after its offset",
        || want(&counts(&out), 10),
    );
    for k in 0..odd.len() as u64 {
        append(&env.path(&format!("f{k}.log")), &line(k * 100 + 10));
    }
    wait_for(Duration::from_secs(30), "the lines written later", || {
        want(&counts(&out), 11)
    });
    assert_alive_and_calm(&mut agent);
}

fn docker_line(log: &str, stream: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"log": log, "stream": stream, "time": "2026-11-24T10:00:00.000000001Z"})
    )
}

#[test]
fn bad_input_across_every_input_type_in_one_run() {
    let env = Env::new();
    // file, plain and syslog.
    let plain = env.path("plain.log");
    let syslog = env.path("syslog.log");
    // docker: <containers>/<id>/<id>-json.log
    let id = "f".repeat(64);
    let cdir = env.path("containers").join(&id);
    std::fs::create_dir_all(&cdir).unwrap();
    let docker = cdir.join(format!("{id}-json.log"));
    // cri: /var/log/containers-like names.
    let pods = env.path("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let cri = pods.join(format!("web-1_shop_nginx-{}.log", "c".repeat(64)));

    let deep = "[".repeat(5000) + &"]".repeat(5000);
    let huge_key = "k".repeat(200_000);
    let mut expected = 0u64;
    let good = |n: &mut u64| {
        *n += 1;
        *n - 1
    };

    // Bad plain lines, each followed by a good one.
    for bad in [
        &b"multibyte \xc3"[..],
        b"\xff\xfe\xfd",
        b"nul \x00\x00 bytes",
        "é".repeat(5000).as_bytes(),
        b"",
    ] {
        append_bytes(&plain, bad);
        append_bytes(
            &plain,
            format!("\ngood #{}\n", good(&mut expected)).as_bytes(),
        );
    }
    // Bad syslog lines.
    for bad in [
        "Zoë is here now!",
        "Nov 2ë 10:00:01 h a: b",
        "<13>ëëëëëëëëëëëëëëëëëë",
        "<99999999999999999999>Nov 24 10:00:01 h a: b",
        "Nov 24 25:61:61 h a: b",
        "2026-13-45T99:99:99Z h a: b",
    ] {
        append_bytes(&syslog, bad.as_bytes());
        append_bytes(
            &syslog,
            format!("\nNov 24 10:00:01 h app: good #{}\n", good(&mut expected)).as_bytes(),
        );
    }
    // Bad Docker lines.
    for bad in [
        r#"{"log":"lone \ud800 surrogate\n","stream":"stdout","time":"2026-11-24T10:00:00Z"}"#
            .to_string(),
        r#"{"log":"\udc00\ud800\n","stream":"stdout","time":"2026-11-24T10:00:00Z"}"#.to_string(),
        r#"{"log":17,"stream":"stdout","time":"2026-11-24T10:00:00Z"}"#.to_string(),
        r#"{"log":"x\n","stream":["stdout"],"time":"2026-11-24T10:00:00Z"}"#.to_string(),
        r#"{"log":"x\n","stream":"stdout","time":12345}"#.to_string(),
        r#"{"log":"x\n","stream":"stdout","time":"yesterday"}"#.to_string(),
        r#"{"log":"truncated"#.to_string(),
        format!(r#"{{"log":"deep\n","stream":"stdout","x":{deep}}}"#),
        format!(r#"{{"{huge_key}":1,"log":"huge key\n","stream":"stdout"}}"#),
        "\u{0}\u{0}\u{0}".to_string(),
        "ë".repeat(10),
    ] {
        append_bytes(&docker, bad.as_bytes());
        append_bytes(&docker, b"\n");
        append_bytes(
            &docker,
            docker_line(&format!("good #{}\n", good(&mut expected)), "stdout").as_bytes(),
        );
    }
    // Bad CRI lines.
    for bad in [
        "2026-11-24T10:00:00Z stdout",
        "2026-11-24T10:00:00Z stdin F x",
        "2026-11-24T10:00:00Z stdout X x",
        "ë ë ë ë",
        "2026-11-24T10:00:00Z stdout F \u{0}\u{ffff}",
        "yesterday stdout F no time",
    ] {
        append_bytes(&cri, bad.as_bytes());
        append_bytes(
            &cri,
            format!(
                "\n2026-11-24T10:00:00.000000001Z stdout F good #{}\n",
                good(&mut expected)
            )
            .as_bytes(),
        );
    }
    let cfg = env.config(
        &format!(
            "  - type: file\n    name: plain\n    paths: [{}]\n    read_from: beginning\n    processors:\n      - decode_json: {{ target: '' }}\n  - type: file\n    name: syslog\n    paths: [{}]\n    format: syslog\n    read_from: beginning\n  - type: docker\n    containers_path: {}\n    read_from: beginning\n    processors:\n      - decode_json: {{ target: '', field: message }}\n  - type: cri\n    paths: [{}/*.log]\n    read_from: beginning",
            plain.display(),
            syslog.display(),
            env.path("containers").display(),
            pods.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, expected, Duration::from_secs(60));
    let recs = records(&out);
    for r in &recs {
        assert!(r["@timestamp"].is_string(), "{r}");
        assert!(r["message"].is_string(), "{r}");
    }
    let raw: Vec<&Value> = recs
        .iter()
        .filter(|r| r["error"]["message"].is_string())
        .collect();
    assert!(
        raw.len() >= 10,
        "bad lines are shipped raw with error.message: {raw:?}"
    );
    // A lone surrogate escape is not JSON serde accepts: that line is shipped as it was.
    assert!(recs.iter().any(|r| r["message"]
        .as_str()
        .unwrap()
        .contains(r"lone \ud800 surrogate")
        && r["error"]["message"].is_string()));
    assert_alive_and_calm(&mut agent);
}

#[test]
fn a_decoder_that_panics_anyway_costs_one_line() {
    let env = Env::new();
    let log = env.path("app.log");
    let text: String = (0..30)
        .map(|i| {
            if i % 10 == 5 {
                format!("BOOM line #{i}\n")
            } else {
                line(i)
            }
        })
        .collect();
    append_bytes(&log, text.as_bytes());
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n    processors:\n      - multiline: {{ pattern: '^\\s', match: after }}",
            log.display()
        ),
        &format!("http:\n  listen: {addr}\n"),
    );
    let out = env.out();
    let mut agent = env.start_with(&cfg, &[("LOGSHIP_FAULT", "decoder_panic:BOOM")]);
    wait_all_arrived(&agent, &out, 30, Duration::from_secs(30));
    let recs = records(&out);
    assert_eq!(recs.len(), 30);
    for r in recs
        .iter()
        .filter(|r| r["message"].as_str().unwrap().starts_with("BOOM"))
    {
        assert_eq!(
            r["log"]["flags"],
            serde_json::json!(["decoder_panic"]),
            "{r}"
        );
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected decoder fault"));
    }
    wait_for(Duration::from_secs(10), "the panic counter", || {
        http_get(&addr, "/metrics")
            .is_some_and(|(_, m)| m.contains("logship_decoder_panics_total{input=\"file\"} 3"))
    });
    let logs = agent.logs();
    assert_eq!(
        logs.matches("internal error (caught; the line is shipped raw)")
            .count(),
        3,
        "one line per panic:\n{logs}"
    );
    assert!(agent.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(http_get(&addr, "/health").unwrap().0, 200);
}

/// Starts an agent with a good and a forever-failing output (so stopping waits for
/// `shutdown_timeout` and `/health` can be read meanwhile) and `LOGSHIP_FAULT=fault`.
fn start_faulty(env: &Env, fault: &str, lines: u64) -> (Agent, String) {
    let log = env.path("app.log");
    append_bytes(&log, (0..lines).map(line).collect::<String>().as_bytes());
    let blocker = env.path("blocker");
    std::fs::write(&blocker, "").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!(
            "http:\n  listen: {addr}\noutputs:\n  - type: file\n    name: good\n    path: {}\n  - type: file\n    name: stuck\n    path: {}/out.ndjson\n    backoff: {{ init: 100ms, max: 200ms }}\n",
            env.out().display(),
            blocker.display()
        ),
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("shutdown_timeout: 10s", "shutdown_timeout: 4s"),
    )
    .unwrap();
    let agent = env.start_with(&cfg, &[("LOGSHIP_FAULT", fault)]);
    (agent, addr)
}

fn wait_exit(agent: &mut Agent, limit: Duration) -> i32 {
    let mut code = None;
    wait_for(limit, "the agent to exit", || {
        code = agent
            .child
            .try_wait()
            .unwrap()
            .map(|s| s.code().unwrap_or(-1));
        code.is_some()
    });
    code.unwrap_or(-1)
}

#[test]
fn a_task_that_dies_is_noticed_503_then_exit_1() {
    for (fault, what) in [
        (
            "task_panic:pipeline:#999 ",
            "pipeline panicked: injected pipeline fault",
        ),
        (
            "task_panic:output good:#999 ",
            "output good worker panicked: injected output good fault",
        ),
    ] {
        let env = Env::new();
        let (mut agent, addr) = start_faulty(&env, fault, 20);
        // Batches are in flight at the stuck output when the fault strikes.
        wait_all_arrived(&agent, &env.out(), 20, Duration::from_secs(20));
        assert_eq!(http_get(&addr, "/health").unwrap().0, 200);
        assert_eq!(http_get(&addr, "/live").unwrap().0, 200);
        append_bytes(&env.path("app.log"), line(999).as_bytes());
        wait_for(Duration::from_secs(20), "/health to turn 503", || {
            matches!(http_get(&addr, "/health"), Some((503, _)))
        });
        let (_, body) = http_get(&addr, "/health").unwrap();
        let health: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["status"], "unhealthy");
        assert!(
            health["reason"].as_str().unwrap().contains(what),
            "{fault}: {body}"
        );
        // A part that died is a dead agent for the liveness probe too (it may have exited
        // already: then nothing answers, which the kubelet counts as a failure as well).
        if let Some((code, body)) = http_get(&addr, "/live") {
            assert_eq!(code, 503, "{fault}: {body}");
            assert!(body.contains(what), "{fault}: {body}");
        }
        assert_eq!(wait_exit(&mut agent, Duration::from_secs(30)), 1, "{fault}");
        let logs = agent.logs();
        assert_eq!(
            logs.lines()
                .filter(|l| l.contains("ERROR") && l.contains(what) && l.contains("unexpectedly"))
                .count(),
            1,
            "{fault}: one clear line:\n{logs}"
        );
    }
}

#[test]
fn every_supervised_task_that_ends_makes_the_agent_exit_1() {
    for (fault, what) in [
        ("task_exit:saver", "checkpoint saver ended unexpectedly"),
        ("task_exit:http", "http server ended unexpectedly"),
        (
            "task_panic:input:#3 ",
            "input file panicked: injected input fault",
        ),
    ] {
        let env = Env::new();
        let (mut agent, _) = start_faulty(&env, fault, 10);
        assert_eq!(wait_exit(&mut agent, Duration::from_secs(30)), 1, "{fault}");
        let logs = agent.logs();
        assert!(logs.contains(what), "{fault}:\n{logs}");
    }
}

/// `n` files of `per` numbered lines each under `dir` (line numbers unique across files).
fn many_files(dir: &std::path::Path, n: u64, per: u64) {
    std::fs::create_dir_all(dir).unwrap();
    for f in 0..n {
        let text: String = (0..per).map(|i| line(f * per + i)).collect();
        append(&dir.join(format!("f{f}.log")), &text);
    }
}

#[test]
fn more_files_than_the_open_file_limit_starve_nothing_else() {
    // 200 files under a limit of 128 that cannot be raised: inputs may hold 64 of them, and the
    // output, checkpoints and `/health` keep descriptors. Files left unopened are read once held
    // ones are released (here: deleted once shipped, as a rotation deletes them).
    let env = Env::in_memory();
    let dir = env.path("logs");
    let (files, per) = (200u64, 3u64);
    many_files(&dir, files, per);
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.logs_config(
        &dir,
        "\n    scan_frequency: 200ms\n    rotate_wait: 200ms",
        &format!("http:\n  listen: {addr}\n"),
    );
    let out = env.out();
    let mut agent = start_with_open_file_limit(&env, &cfg, 128, 128);
    wait_for(Duration::from_secs(30), "the held files' lines", || {
        records(&out).len() as u64 >= 64 * per
    });
    let (code, health) = http_get(&addr, "/health").expect("/health answers");
    assert_eq!(code, 200, "{health}");
    wait_for(Duration::from_secs(10), "the warning", || {
        agent.logs().contains("files not opened")
    });
    assert_eq!(open_file_limit(agent.pid()), Some(128));
    wait_for(Duration::from_secs(120), "every file's lines", || {
        for r in records(&out) {
            if let Some(p) = r["log"]["file"]["path"].as_str() {
                let _ = std::fs::remove_file(p);
            }
        }
        records(&out).len() as u64 >= files * per
    });
    assert!(missing_ranges(&out, files * per).is_empty());
    assert_no_duplicates(&agent, &out);
    wait_for(Duration::from_secs(10), "the all-clear", || {
        agent.logs().contains("every matched file is open again")
    });
    assert!(checkpoint_offset(&env.data_dir(), &dir.join("f0.log")).is_none());
    assert_alive_and_calm(&mut agent);
}

#[test]
fn a_low_soft_open_file_limit_is_raised_to_the_hard_one() {
    let env = Env::in_memory();
    let dir = env.path("logs");
    let (files, per) = (200u64, 2u64);
    many_files(&dir, files, per);
    let cfg = env.logs_config(&dir, "", "");
    let out = env.out();
    let mut agent = start_with_open_file_limit(&env, &cfg, 128, 4096);
    wait_for(Duration::from_secs(30), "every file's lines", || {
        records(&out).len() as u64 >= files * per
    });
    assert_eq!(open_file_limit(agent.pid()), Some(4096));
    assert!(
        !agent.logs().contains("files not opened"),
        "{}",
        agent.logs()
    );
    assert_no_duplicates(&agent, &out);
    assert_alive_and_calm(&mut agent);
}

#[test]
fn a_fifo_the_glob_matches_blocks_no_open() {
    // Opening a FIFO waits for a writer: the opener (on inotify's thread) would wait forever, and
    // every file created after it would wait for a scan (here a minute away).
    let env = Env::in_memory();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    append(&dir.join("a.log"), &line(0));
    let cfg = env.logs_config(&dir, "\n    scan_frequency: 60s", "");
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(30), "the first line", || {
        counts(&out).contains_key(&0)
    });
    let fifo = std::ffi::CString::new(dir.join("p.log").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    append(&dir.join("b.log"), &line(1));
    wait_for(
        Duration::from_secs(20),
        "a file created after the FIFO",
        || counts(&out).contains_key(&1),
    );
    append(&dir.join("c.log"), &line(2));
    wait_for(Duration::from_secs(20), "another one", || {
        counts(&out).contains_key(&2)
    });
    assert_eq!(records(&out).len(), 3);
    assert_alive_and_calm(&mut agent);
}

#[test]
fn idle_connections_to_the_http_endpoint_take_no_descriptor_the_agent_needs() {
    // Hundreds of idle connections (a scanner, a client that never sends) under a limit of 128:
    // at most `MAX_CONNECTIONS` are accepted, the rest wait in the listen backlog, idle ones are
    // closed after 10 s, and the input and output keep their descriptors.
    let env = Env::in_memory();
    let dir = env.path("logs");
    let (files, per) = (20u64, 2u64);
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = env.logs_config(
        &dir,
        "\n    scan_frequency: 200ms",
        &format!("http:\n  listen: {addr}\n"),
    );
    let out = env.out();
    std::fs::create_dir_all(&dir).unwrap();
    let mut agent = start_with_open_file_limit(&env, &cfg, 128, 128);
    wait_for(Duration::from_secs(30), "the endpoint", || {
        http_get(&addr, "/live").is_some()
    });
    let mut idle = Vec::new();
    for _ in 0..300 {
        match std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)) {
            Ok(c) => idle.push(c),
            Err(_) => break,
        }
    }
    assert!(idle.len() >= 100, "only {} connections", idle.len());
    many_files(&dir, files, per);
    wait_for(
        Duration::from_secs(30),
        "every line, beside the idle connections",
        || records(&out).len() as u64 >= files * per,
    );
    let fds = std::fs::read_dir(format!("/proc/{}/fd", agent.pid()))
        .unwrap()
        .count();
    assert!(fds < 100, "{fds} descriptors open");
    drop(idle);
    wait_for(Duration::from_secs(30), "/health again", || {
        http_get(&addr, "/health").is_some_and(|(code, _)| code == 200)
    });
    assert_no_duplicates(&agent, &out);
    assert_alive_and_calm(&mut agent);
}

/// Checkpoints that cannot be written (here `checkpoints.json.tmp` is a directory; on a node, a
/// full disk) are retried every `checkpoint_interval` (100 ms here) and logged once, not once
/// per attempt (the full disk is often the one the agent's logs go to); lines go on shipping;
/// once the way is clear the checkpoint is written and that is said once.
#[test]
fn checkpoints_that_cannot_be_written_are_logged_once_and_written_when_they_can() {
    let env = Env::in_memory();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = env.data_dir().join("checkpoints.json.tmp");
    std::fs::create_dir_all(&blocker).unwrap();
    let log = dir.join("a.log");
    append(&log, &(0..100).map(line).collect::<String>());
    let cfg = env.logs_config(&dir, "", "");
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 100, Duration::from_secs(20));
    wait_for(Duration::from_secs(10), "the first failure logged", || {
        agent.logs().contains("cannot write checkpoints")
    });
    // The window observed: about 20 more attempts at 100 ms, which the store retries while
    // nothing was written. More lines meanwhile: shipping goes on.
    append(&log, &(100..200).map(line).collect::<String>());
    std::thread::sleep(Duration::from_secs(2));
    wait_all_arrived(&agent, &out, 200, Duration::from_secs(20));
    let logs = agent.logs();
    assert_eq!(
        logs.matches("cannot write checkpoints").count(),
        1,
        "one line for a failure that goes on; log:\n{logs}"
    );
    assert!(checkpoint_offset(&env.data_dir(), &log).is_none());
    std::fs::remove_dir(&blocker).unwrap();
    wait_for(Duration::from_secs(10), "the checkpoint written", || {
        checkpoint_offset(&env.data_dir(), &log) == std::fs::metadata(&log).ok().map(|m| m.len())
    });
    wait_for(Duration::from_secs(10), "the recovery logged", || {
        agent.logs().contains("checkpoints written again")
    });
    assert_alive_and_calm(&mut agent);
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
}

/// The `file` output's disk fills up (here a file size limit, `RLIMIT_FSIZE`, which fails a
/// write past it with `EFBIG` as a full disk fails one with `ENOSPC`, and would end the agent
/// with SIGXFSZ if it did not ignore it): the writes are retried, and once there is room again
/// every line is in the file exactly once, with no torn line. A write that failed part way
/// through a pass had left its first lines in the file, and the retry wrote them again.
#[test]
fn a_full_disk_under_the_file_output_then_room_again_writes_every_line_once() {
    const N: u64 = 3_000;
    let env = Env::in_memory();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    append(&dir.join("a.log"), &(0..N).map(line).collect::<String>());
    let cfg = env.logs_config(&dir, "", "");
    let out = env.out();
    let mut agent = start_with_limit(
        &env,
        &cfg,
        libc::RLIMIT_FSIZE,
        256 << 10,
        libc::RLIM_INFINITY,
    );
    wait_for(
        Duration::from_secs(20),
        "the output's writes failing",
        || agent.logs().contains("File too large") || agent.child.try_wait().unwrap().is_some(),
    );
    assert_alive_and_calm(&mut agent);
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert!(size <= 256 << 10, "{size}");
    assert!(
        (counts(&out).len() as u64) < N,
        "every line fit under the limit: the test proves nothing"
    );
    set_soft_limit(agent.pid(), libc::RLIMIT_FSIZE, libc::RLIM_INFINITY);
    let dups = wait_all_arrived(&agent, &out, N, Duration::from_secs(60));
    assert_eq!(dups, 0, "duplicated: {:?}", duplicate_ranges(&out));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        N,
        "a torn or extra line in the output"
    );
    assert_alive_and_calm(&mut agent);
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
}
