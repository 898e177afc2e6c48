//! `type: elasticsearch` end to end. Against osmem-server (a real, independent OpenSearch-API
//! server): daily indices from `@timestamp`, the SPEC's fields, gzip bodies, kill -9 and
//! restart indexing every record exactly once, a missing ingest pipeline rejected per item into
//! the dead-letter file, `test-output`. Against the fault-injecting bulk server of
//! tests/common/bulk.rs: per-item 400 and 429, whole-request 503, a response cut in the middle,
//! wrong credentials, API keys, mutual TLS, `pipeline` and `headers` on the wire.

mod common;
use common::beats::ServerTls;
use common::bulk::{BulkServer, Faults};
use common::certs::pki;
use common::osmem::Osmem;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn file_input(log: &Path, format: &str) -> String {
    format!(
        "  - type: file\n    paths: [{}]\n    read_from: beginning\n    format: {format}",
        log.display()
    )
}

fn es_output(url: &str, options: &str) -> String {
    format!(
        "outputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{url}\"]\n    backoff: {{ init: 50ms, max: 500ms }}\n{options}"
    )
}

fn write_lines(log: &Path, from: u64, to: u64) {
    append(log, &(from..to).map(line).collect::<String>());
}

fn dead_letters(env: &Env) -> Vec<serde_json::Value> {
    records(&env.data_dir().join("dead_letter/es.ndjson"))
}

#[test]
fn osmem_daily_indices_fields_and_gzip() {
    let os = Osmem::start();
    let env = Env::new();
    let log = env.path("syslog");
    let mut text = String::new();
    for n in 0..300u64 {
        let day = if n < 100 { 22 } else { 23 };
        text += &format!(
            "<13>2026-11-{day}T23:59:{:02}.5+00:00 web-1 shop[42]: order #{n} paid\n",
            n % 60
        );
    }
    append(&log, &text);
    let cfg = env.config(
        &file_input(&log, "syslog"),
        &es_output(
            &os.url,
            "    index: \"logship-%{+yyyy.MM.dd}\"\n    compression_level: 3\n",
        ),
    );
    let agent = env.start(&cfg);
    wait_for(LIMIT, "300 documents in osmem", || {
        os.count("logship-*") == 300
    });
    assert_eq!(os.count("logship-2026.11.22"), 100);
    assert_eq!(os.count("logship-2026.11.23"), 200);
    let docs = os.docs("logship-2026.11.22", 5);
    let d = &docs[0];
    assert!(d["message"].as_str().unwrap().starts_with("order #"), "{d}");
    assert_eq!(d["log"]["syslog"]["appname"], "shop");
    assert_eq!(d["log"]["file"]["path"], log.display().to_string());
    assert!(d["host"]["name"].is_string(), "{d}");
    assert!(
        d["@timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-22T23:59:"),
        "{d}"
    );
    assert_eq!(
        d["_id"].as_str().unwrap().len(),
        22,
        "deterministic base64url id"
    );
    assert!(dead_letters(&env).is_empty());
    drop(agent);
}

/// kill -9 with records indexed past the last checkpoint, restart: each record indexed once.
#[test]
fn osmem_kill9_and_restart_indexes_every_record_exactly_once() {
    let os = Osmem::start();
    let env = Env::new();
    let log = env.path("app.log");
    let n = 30_000;
    write_lines(&log, 0, n);
    let text = format!(
        "data_dir: {}\npipeline:\n  batch_max_events: 500\n  batch_max_wait: 50ms\n  checkpoint_interval: 30s\ninputs:\n{}\n{}",
        env.data_dir().display(),
        file_input(&log, "plain"),
        es_output(&os.url, "    index: logship-crash\n    bulk_max_size: 500\n")
    );
    let cfg = env.path("crash.yaml");
    std::fs::write(&cfg, text).unwrap();
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "some documents indexed", || {
        os.count("logship-crash") >= 2000
    });
    agent.kill9();
    let indexed_at_kill = os.count("logship-crash");
    let checkpoint = checkpoint_offset(&env.data_dir(), &log).unwrap_or(0);
    let content = std::fs::read(&log).unwrap();
    let checkpointed_lines = content[..checkpoint as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    assert!(
        indexed_at_kill > checkpointed_lines,
        "the test needs records indexed past the checkpoint ({indexed_at_kill} indexed, {checkpointed_lines} checkpointed)"
    );
    let mut agent = env.start(&cfg);
    wait_for(LIMIT, "every record indexed", || {
        os.count("logship-crash") >= n
    });
    // A clean stop writes the checkpoint: everything was acknowledged.
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
    assert_eq!(
        checkpoint_offset(&env.data_dir(), &log),
        Some(content.len() as u64)
    );
    assert_eq!(os.count("logship-crash"), n, "duplicates or losses");
}

/// A real per-item 400 (the ingest pipeline does not exist in osmem): every record goes to the
/// dead-letter file with the reason, the stream goes on, the drop is counted.
#[test]
fn osmem_item_rejections_go_to_the_dead_letter_file() {
    let os = Osmem::start();
    let env = Env::new();
    let log = env.path("app.log");
    write_lines(&log, 0, 50);
    let port = free_port();
    let cfg = env.config(
        &file_input(&log, "plain"),
        &format!(
            "http:\n  listen: 127.0.0.1:{port}\n{}",
            es_output(&os.url, "    pipeline: no-such-pipeline\n")
        ),
    );
    let agent = env.start(&cfg);
    wait_for(LIMIT, "50 dead letters", || dead_letters(&env).len() == 50);
    let d = &dead_letters(&env)[0];
    assert_eq!(d["output"], "es");
    assert_eq!(d["status"], 400);
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("pipeline with id [no-such-pipeline] does not exist"),
        "{d}"
    );
    assert!(
        d["record"]["message"]
            .as_str()
            .unwrap()
            .contains("request #"),
        "{d}"
    );
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for(
        LIMIT,
        "checkpoint at end of file (the stream goes on)",
        || checkpoint_offset(&env.data_dir(), &log) == Some(size),
    );
    let addr = format!("127.0.0.1:{port}");
    wait_for(LIMIT, "the drop counted", || {
        http_get(&addr, "/metrics").is_some_and(|(_, m)| {
            m.contains("logship_events_dropped_total{reason=\"rejected\"} 50")
        })
    });
    assert_eq!(os.count("logship-*"), 0);
    assert!(
        agent.logs().contains("dead-letter file"),
        "{}",
        agent.logs()
    );
}

#[test]
fn osmem_test_output_names_cluster_and_version() {
    let os = Osmem::start();
    let env = Env::new();
    let log = env.path("app.log");
    write_lines(&log, 0, 1);
    let cfg = env.config(&file_input(&log, "plain"), &es_output(&os.url, ""));
    let (code, out) = logship("test-output", &cfg);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("es: OK") && out.contains("cluster osmem, OpenSearch "),
        "{out}"
    );
    assert_eq!(os.count("logship-*"), 0, "test-output sent records");
}

fn bulk_env(faults: Faults, options: &str, n: u64) -> (Env, BulkServer, PathBuf, PathBuf) {
    let env = Env::new();
    let server = BulkServer::start(&env.path("indexed.ndjson"), None, faults);
    let log = env.path("app.log");
    write_lines(&log, 0, n);
    let cfg = env.config(&file_input(&log, "plain"), &es_output(&server.url, options));
    (env, server, log, cfg)
}

#[test]
fn item_400_to_dead_letters_item_429_only_those_retried() {
    let n = 2000;
    let (env, server, _log, cfg) = bulk_env(
        Faults {
            reject_containing: Some("request #13".into()),
            throttle_containing: Some("request #7".into()),
            ..Faults::default()
        },
        "",
        n,
    );
    let rejected: Vec<u64> = (0..n)
        .filter(|i| line(*i).contains("request #13"))
        .collect();
    let agent = env.start(&cfg);
    wait_for(LIMIT, "dead letters for the rejected records", || {
        dead_letters(&env).len() == rejected.len()
    });
    let want: Vec<u64> = (0..n).filter(|i| !rejected.contains(i)).collect();
    wait_for(LIMIT, "all other records indexed", || {
        let c = counts(&server.out);
        want.iter().all(|i| c.contains_key(i))
    });
    assert_no_duplicates(&agent, &server.out);
    let d = &dead_letters(&env)[0];
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("mapper_parsing_exception: failed to parse field"),
        "{d}"
    );
    // Only the throttled records were sent twice; every other one exactly once.
    let seen = server.seen();
    let twice = seen.values().filter(|&&c| c == 2).count();
    let throttled = (0..n)
        .filter(|i| line(*i).contains("request #7") && !rejected.contains(i))
        .count();
    assert_eq!(
        twice,
        throttled,
        "{:?}",
        seen.values().filter(|&&c| c > 1).count()
    );
    assert!(seen.values().all(|&c| c <= 2));
    assert!(
        agent.logs().contains("sending only those again"),
        "{}",
        agent.logs()
    );
}

#[test]
fn whole_request_503_then_recovery_and_a_cut_response_lose_nothing() {
    let n = 3000;
    let (env, server, _log, cfg) = bulk_env(
        Faults {
            whole: Some((503, 6)),
            drop_mid_response: 2,
            ..Faults::default()
        },
        "    compression_level: 0\n",
        n,
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, n, LIMIT);
    assert_no_duplicates(&agent, &server.out);
    let logs = agent.logs();
    assert!(logs.contains("HTTP 503"), "{logs}");
    // The cut responses made the agent send indexed records again: answered 409, not doubled.
    assert!(
        server.seen().values().any(|&c| c > 1),
        "no record was sent twice"
    );
    assert!(server
        .requests()
        .iter()
        .all(|r| !r.headers.contains_key("content-encoding")));
}

#[test]
fn wrong_password_is_one_clear_line_then_api_key_and_basic_auth_work() {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("elastic:s3cret")
    );
    let (env, server, _log, cfg) = bulk_env(
        Faults {
            authorization: Some(basic),
            ..Faults::default()
        },
        "    auth: { username: elastic, password: wrong }\n",
        10,
    );
    let (code, out) = logship("test-output", &cfg);
    assert_eq!(code, 1);
    let expected = format!(
        "es: FAILED: {}: authentication failed (401): check auth.username and auth.password; server said: security_exception: unable to authenticate user [elastic]",
        server.url
    );
    assert!(out.starts_with(&expected), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let agent = env.start(&cfg);
    wait_for(LIMIT, "the auth failure in the log", || {
        agent.logs().contains("authentication failed (401)")
    });
    drop(agent);
    // The right password.
    let cfg = env.config(
        &file_input(&env.path("app.log"), "plain"),
        &es_output(
            &server.url,
            "    auth: { username: elastic, password: s3cret }\n",
        ),
    );
    assert_eq!(logship("test-output", &cfg).0, 0);
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 10, LIMIT);
    // An API key `id:key` goes out base64-encoded.
    server.set_faults(Faults {
        authorization: Some(format!(
            "ApiKey {}",
            base64::engine::general_purpose::STANDARD
                .encode("VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw")
        )),
        ..Faults::default()
    });
    let cfg = env.config(
        &file_input(&env.path("app.log"), "plain"),
        &es_output(
            &server.url,
            "    auth: { api_key: \"VuaCfGcBCdbkQm:ui2lp2axTNmsyakw9tvNnw\" }\n",
        ),
    );
    let (code, out) = logship("test-output", &cfg);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("cluster bulk-test, Elasticsearch 8.15.0"),
        "{out}"
    );
}

#[test]
fn pipeline_headers_gzip_and_field_index_on_the_wire() {
    let (env, server, _log, cfg) = bulk_env(
        Faults::default(),
        "    pipeline: logs-parse\n    compression_level: 5\n    headers: { X-Tenant: team-a }\n    index: \"app-%{[input.type]}-%{[kubernetes.namespace]:none}-%{+yyyy.MM}\"\n",
        100,
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 100, LIMIT);
    let month = chrono::Utc::now().format("%Y.%m").to_string();
    let r = records(&server.out);
    assert_eq!(r[0]["__index"], format!("app-file-none-{month}"));
    let bulk: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|q| q.target.starts_with("/_bulk"))
        .collect();
    assert!(!bulk.is_empty());
    for q in &bulk {
        assert_eq!(q.target, "/_bulk?pipeline=logs-parse");
        assert_eq!(
            q.headers.get("content-encoding").map(String::as_str),
            Some("gzip")
        );
        assert_eq!(
            q.headers.get("x-tenant").map(String::as_str),
            Some("team-a")
        );
        assert_eq!(
            q.headers.get("content-type").map(String::as_str),
            Some("application/x-ndjson")
        );
    }
}

#[test]
fn mutual_tls_to_the_bulk_api() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = BulkServer::start(
        &env.path("indexed.ndjson"),
        Some(ServerTls {
            cert: p.server.cert.clone(),
            key: p.server.key.clone(),
            client_ca: Some(p.ca.cert_path.clone()),
            tls12_only: false,
        }),
        Faults::default(),
    );
    let log = env.path("app.log");
    write_lines(&log, 0, 20);
    let url = server.url.replace("127.0.0.1", "localhost");
    let tls = format!(
        "    tls: {{ ca: {}, cert: {}, key: {} }}\n",
        p.ca.cert_path.display(),
        p.client.cert.display(),
        p.client.key.display()
    );
    let cfg = env.config(&file_input(&log, "plain"), &es_output(&url, &tls));
    let (code, out) = logship("test-output", &cfg);
    assert_eq!(code, 0, "{out}");
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 20, LIMIT);
    drop(agent);
    // Without a client certificate: refused, in one line.
    let cfg = env.config(
        &file_input(&log, "plain"),
        &es_output(
            &url,
            &format!("    tls: {{ ca: {} }}\n", p.ca.cert_path.display()),
        ),
    );
    let (code, out) = logship("test-output", &cfg);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the server requires a client certificate and none is configured"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
}

/// Two hosts, one of them down: requests go in turn, the dead one is set aside, nothing is lost.
#[test]
fn a_dead_host_is_set_aside_and_the_other_takes_the_load() {
    let env = Env::new();
    let server = BulkServer::start(&env.path("indexed.ndjson"), None, Faults::default());
    let dead = format!("http://127.0.0.1:{}", free_port());
    let log = env.path("app.log");
    write_lines(&log, 0, 3000);
    let cfg = env.config(
        &file_input(&log, "plain"),
        &format!(
            "outputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{dead}\", \"{}\"]\n    bulk_max_size: 200\n    backoff: {{ init: 5s, max: 30s }}\n",
            server.url
        ),
    );
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 3000, LIMIT);
    assert_no_duplicates(&agent, &server.out);
    // The dead host failed once, then waited out its backoff while the live one took all.
    let refused = agent.logs().matches("cannot connect").count();
    assert!(
        (1..=3).contains(&refused),
        "{refused} connection failures:\n{}",
        agent.logs()
    );
}
