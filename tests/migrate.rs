//! `logship migrate`: Filebeat configurations translate into ones that pass `check-config` (every
//! setting with no equivalent a counted `# not translated:` comment), the docker-compose ELK
//! `filebeat.yml` translates into one that ships to the beats test server over mutual TLS, and a
//! Filebeat registry (written here by the format's rules) becomes checkpoints that resume
//! exactly at its offsets.

mod common;
use common::beats::{BeatsServer, ServerTls};
use common::certs::pki;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `logship migrate ARGS...`: (exit code, stdout, stderr).
fn migrate(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let o = Command::new(bin())
        .arg("migrate")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("run logship migrate");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The count `migrate` reported on stderr.
fn reported(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("logship: ")?
                .split_once(" setting(s) not translated")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in: {stderr}"))
}

fn json_line(msg: &str) -> String {
    format!(
        "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}}\n",
        serde_json::to_string(&format!("{msg}\n")).unwrap()
    )
}

/// (name, source configuration, settings expected not translated, texts the translation holds)
type Case<'a> = (&'a str, String, Vec<&'a str>, Vec<&'a str>);

/// Translates each case (a `.yaml`/`.yml`/`.conf` file by its text) and checks that it passes
/// check-config, that the count on stderr is the number of `# not translated` comments, that
/// exactly the expected settings are commented, and that the translation holds the texts.
fn check_cases(env: &Env, cases: &[Case<'_>], envs: &[(&str, &str)]) {
    assert!(cases.len() >= 12);
    for (i, (name, text, skipped, holds)) in cases.iter().enumerate() {
        let ext = if text.contains("pipeline:") {
            "yaml"
        } else if text.contains("[INPUT]") {
            "conf"
        } else {
            "yml"
        };
        let src = env.path(&format!("source-{i}.{ext}"));
        std::fs::write(&src, text).unwrap();
        let out = env.path(&format!("logship-{i}.yaml"));
        let (code, _, err) = migrate(&[src.to_str().unwrap(), "-o", out.to_str().unwrap()], envs);
        let yaml = std::fs::read_to_string(&out).unwrap_or_default();
        assert_eq!(code, 0, "{name}: {err}\n{yaml}");
        let comments = yaml.matches("# not translated: ").count();
        assert_eq!(
            reported(&err),
            comments,
            "{name}: the count is the comments\n{yaml}"
        );
        assert_eq!(comments, skipped.len(), "{name}: {yaml}");
        for s in skipped {
            assert!(
                yaml.lines()
                    .any(|l| l.contains("# not translated: ") && l.contains(s)),
                "{name}: `{s}` not commented:\n{yaml}"
            );
        }
        for h in holds {
            assert!(yaml.contains(h), "{name}: `{h}` missing:\n{yaml}");
        }
    }
}

/// The docker-compose ELK stack's filebeat.yml, as its docs show it, pointed at the test's
/// containers directory and beats server.
#[test]
fn the_elk_filebeat_yml_translates_and_ships_over_mutual_tls() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = BeatsServer::start(
        &env.path("received.ndjson"),
        Some(ServerTls {
            cert: p.server.cert.clone(),
            key: p.server.key.clone(),
            client_ca: Some(p.ca.cert_path.clone()),
            tls12_only: false,
        }),
    );
    let containers = env.path("containers");
    let id = "ab".repeat(32);
    std::fs::create_dir_all(containers.join(&id)).unwrap();
    let log = containers.join(format!("{id}/{id}-json.log"));
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&json_line(line(i).trim_end_matches('\n')));
    }
    std::fs::write(&log, text).unwrap();
    let filebeat = env.path("filebeat.yml");
    std::fs::write(
        &filebeat,
        format!(
            r#"filebeat.inputs:
- type: docker
  combine_partial: true
  containers:
    path: "{containers}"
    stream: "stdout"
    ids:
      - "*"
# - type: log
#   paths:
#     - /var/log/*.log

processors:
  - add_docker_metadata:
      host: "unix://{sock}"

output.logstash:
  hosts: ["${{LOGSTASH_HOST:localhost}}:{port}"]
  ssl.certificate_authorities: ["{ca}"]
  ssl.certificate: "{cert}"
  ssl.key: "{key}"

logging.level: info
"#,
            containers = containers.display(),
            sock = env.path("no-docker.sock").display(),
            port = server.port(),
            ca = p.ca.cert_path.display(),
            cert = p.client.cert.display(),
            key = p.client.key.display(),
        ),
    )
    .unwrap();
    let out = env.path("logship.yaml");
    let (code, _, err) = migrate(
        &[filebeat.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(reported(&err), 1, "logging.level only: {err}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("# not translated: logging:"), "{yaml}");
    assert!(yaml.contains("${LOGSTASH_HOST:-localhost}"), "{yaml}");
    // Its own data_dir for the test, fast batches; the rest as translated.
    let yaml = yaml.replace(
        "data_dir: /var/lib/logship",
        &format!("data_dir: {}", env.data_dir().display()),
    );
    std::fs::write(&out, &yaml).unwrap();
    let (code, text) = logship("check-config", &out);
    assert_eq!(code, 0, "{text}");
    let agent = env.start(&out);
    let dups = wait_all_arrived(&agent, &server.out, 500, Duration::from_secs(30));
    assert_eq!(dups, 0);
    assert!(server.tls_errors().is_empty(), "{:?}", server.tls_errors());
    let r = records(&server.out);
    assert_eq!(r[0]["input"]["type"], "docker");
    assert_eq!(r[0]["container"]["id"], id.as_str());
}

/// Filebeat configurations in the shapes its docs show: each translates into one that passes
/// check-config, with every setting that has no equivalent commented and counted.
#[test]
fn real_world_filebeat_configs_translate_with_every_gap_commented() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let ca = p.ca.cert_path.display().to_string();
    let cert = p.client.cert.display().to_string();
    let key = p.client.key.display().to_string();
    let cases: Vec<Case<'_>> = vec![
        (
            "log input, multiline java, fields",
            "filebeat.inputs:\n- type: log\n  paths: [/var/log/app/*.log]\n  multiline.pattern: '^[[:space:]]'\n  multiline.negate: false\n  multiline.match: after\n  fields: {env: prod}\n  close_inactive: 5m\noutput.console:\n  pretty: true\n".into(),
            vec!["close_inactive", "pretty"],
            vec!["- type: file", "- multiline: {\"match\":\"after\",\"negate\":false,\"pattern\":\"^[[:space:]]\"}", "- add_fields: {\"fields\":{\"env\":\"prod\"},\"target\":\"fields\"}", "read_from: \"beginning\""],
        ),
        (
            "filestream with id, ndjson parser, exclude_files",
            "filebeat.inputs:\n- type: filestream\n  id: my-app\n  paths: [/var/log/app.json]\n  prospector.scanner.exclude_files: ['\\.gz$']\n  parsers:\n    - ndjson:\n        target: \"\"\n        add_error_key: true\noutput.file:\n  path: /tmp/fb\n  filename: out\n  rotate_every_kb: 10000\n".into(),
            vec!["prospector.scanner.exclude_files", "rotate_every_kb"],
            vec!["name: \"my-app\"", "- decode_json: {\"add_error_key\":true,\"target\":\"\"}", "path: \"/tmp/fb/out\""],
        ),
        (
            "container input on Kubernetes with add_kubernetes_metadata",
            "filebeat.inputs:\n- type: container\n  paths:\n    - /var/log/containers/*.log\nprocessors:\n  - add_kubernetes_metadata:\n      host: ${NODE_NAME}\n      matchers:\n      - logs_path:\n          logs_path: \"/var/log/containers/\"\n  - add_cloud_metadata: ~\n  - add_host_metadata: ~\noutput.elasticsearch:\n  hosts: ['${ELASTICSEARCH_HOST:elasticsearch}:${ELASTICSEARCH_PORT:9200}']\n  username: ${ELASTICSEARCH_USERNAME}\n  password: ${ELASTICSEARCH_PASSWORD}\n".into(),
            vec!["add_kubernetes_metadata.matchers", "add_cloud_metadata", "add_host_metadata"],
            vec!["- type: cri", "kubernetes:\n    node_name: \"${NODE_NAME}\"", "\"http://${ELASTICSEARCH_HOST:-elasticsearch}:${ELASTICSEARCH_PORT:-9200}\"", "auth: {\"password\":\"${ELASTICSEARCH_PASSWORD}\",\"username\":\"${ELASTICSEARCH_USERNAME}\"}"],
        ),
        (
            "docker input with decode_json_fields and drop_event",
            "filebeat.inputs:\n- type: docker\n  containers.ids: ['abc']\nprocessors:\n- decode_json_fields:\n    fields: [message]\n    target: ''\n    overwrite_keys: true\n- drop_event:\n    when:\n      equals:\n        stream: stderr\noutput.logstash:\n  hosts: ['ls:5044']\n  loadbalance: true\n  worker: 2\n".into(),
            vec!["containers.ids", "worker"],
            vec!["- decode_json: {\"field\":\"message\",\"overwrite_keys\":true,\"target\":\"\"}", "- drop: {\"when\":{\"equals\":{\"stream\":\"stderr\"}}}", "loadbalance: true"],
        ),
        (
            "syslog input over UDP and TCP",
            "filebeat.inputs:\n- type: syslog\n  format: rfc5424\n  protocol.udp:\n    host: \"0.0.0.0:5514\"\n- type: syslog\n  protocol.tcp:\n    host: \"127.0.0.1:5515\"\noutput.console: {}\n".into(),
            vec![],
            vec!["listen: [\"udp://0.0.0.0:5514\"]", "listen: [\"tcp://127.0.0.1:5515\"]"],
        ),
        (
            "rename, add_fields with when, include_fields",
            "filebeat.inputs:\n- type: log\n  paths: [/var/log/x.log]\n  tags: [web]\nprocessors:\n- rename:\n    fields:\n    - {from: message, to: msg}\n    ignore_missing: true\n- add_fields:\n    target: project\n    fields: {name: shop}\n    when:\n      contains:\n        msg: checkout\n- include_fields:\n    fields: [msg]\noutput.console: {}\n".into(),
            vec![],
            vec!["- include_fields: {\"fields\":[\"msg\"]}", "- rename: {\"fields\":{\"message\":\"msg\"},\"ignore_missing\":true}", "\"target\":\"project\"", "\"tags\":[\"web\"]"],
        ),
        (
            "elasticsearch over https with api_key, index format and ssl",
            format!("filebeat.inputs:\n- type: filestream\n  id: a\n  paths: [/var/log/a.log]\noutput.elasticsearch:\n  hosts: ['es1:9200', 'https://es2:9200']\n  protocol: https\n  api_key: 'id:key'\n  index: 'filebeat-%{{[agent.version]}}'\n  ssl.certificate_authorities: ['{ca}', '/etc/other-ca.pem']\n  ssl.verification_mode: certificate\nsetup.template.name: filebeat\nsetup.ilm.enabled: false\n"),
            vec!["certificate_authorities[1..]", "setup"],
            vec!["index: \"filebeat-%{[agent.version]}\"", "\"https://es1:9200\"", "\"https://es2:9200\"", "\"verify\":\"certificate\"", "\"api_key\":\"id:key\""],
        ),
        (
            "a disabled input, kafka output, modules",
            "filebeat.config.modules:\n  path: ${path.config}/modules.d/*.yml\nfilebeat.inputs:\n- type: log\n  enabled: false\n  paths: [/x]\n- type: filestream\n  id: b\n  paths: [/var/log/b.log]\noutput.kafka:\n  hosts: [k:9092]\n  topic: logs\n".into(),
            vec!["a disabled `log` input", "output.kafka", "filebeat.config"],
            vec!["name: \"b\"", "- type: console"],
        ),
        (
            "http endpoint, tail_files, json keys under root",
            "http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: 5067\nfilebeat.inputs:\n- type: log\n  paths: [/var/log/j.log]\n  tail_files: true\n  json.keys_under_root: true\n  json.add_error_key: true\noutput.console: {}\n".into(),
            vec![],
            vec!["listen: \"127.0.0.1:5067\"", "read_from: \"end\"", "- decode_json: {\"add_error_key\":true,\"target\":\"\"}"],
        ),
        (
            "logstash mTLS with one CA, tcp input",
            format!("filebeat.inputs:\n- type: tcp\n  host: 'localhost:9000'\n- type: log\n  paths: [/var/log/c.log]\n  exclude_lines: ['^DBG']\n  encoding: utf-16\noutput.logstash:\n  hosts: ['ls:5044']\n  ssl:\n    certificate_authorities: ['{ca}']\n    certificate: '{cert}'\n    key: '{key}'\n    supported_protocols: [TLSv1.2]\n"),
            vec!["a `tcp` input", "exclude_lines", "encoding", "supported_protocols"],
            vec![&"\"ca\":\"", "\"cert\":\""],
        ),
        (
            "dissect and script processors, global fields",
            "filebeat.inputs:\n- type: log\n  paths: [/var/log/d.log]\nprocessors:\n- dissect:\n    tokenizer: '%{a} %{b}'\n- script:\n    lang: javascript\n    source: 'function process(e) {}'\nfields: {dc: eu}\nname: node-7\noutput.console: {}\n".into(),
            vec!["dissect", "script", "fields", "name"],
            vec!["- type: file"],
        ),
        (
            "a when with a condition logship lacks, filestream multiline parser",
            "filebeat.inputs:\n- type: filestream\n  id: m\n  paths: [/var/log/m.log]\n  parsers:\n  - multiline:\n      type: pattern\n      pattern: '^\\['\n      negate: true\n      match: after\n  - multiline:\n      type: count\n      count_lines: 3\nprocessors:\n- drop_event:\n    when:\n      network:\n        source.ip: private\noutput.console: {}\n".into(),
            vec!["parsers.multiline", "drop_event"],
            vec!["- multiline: {\"match\":\"after\",\"negate\":true,\"pattern\":\"^\\\\[\"}"],
        ),
    ];
    check_cases(
        &env,
        &cases,
        &[
            ("NODE_NAME", "node-1"),
            ("ELASTICSEARCH_USERNAME", "elastic"),
            ("ELASTICSEARCH_PASSWORD", "changeme"),
        ],
    );
}

/// A file as Filebeat leaves it: `n` lines; returns its (dev, inode).
fn lines_file(path: &Path, n: u64) -> (u64, u64) {
    std::fs::write(path, (0..n).map(line).collect::<String>()).unwrap();
    let m = std::fs::metadata(path).unwrap();
    (m.dev(), m.ino())
}

/// The byte offset of line `n` of a `lines_file`.
fn offset_of(n: u64) -> u64 {
    (0..n).map(|i| line(i).len() as u64).sum()
}

#[test]
fn a_filebeat_registry_resumes_exactly_at_its_offsets() {
    let env = Env::new();
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let a = logs.join("a.log");
    let b = logs.join("b.log");
    let c = logs.join("c.log");
    let (dev_a, ino_a) = lines_file(&a, 300);
    let (dev_b, ino_b) = lines_file(&b, 200);
    let (dev_c, _) = lines_file(&c, 100);
    // The registry: `a` (filestream) acknowledged to line 120, `b` (log input, in the snapshot)
    // to line 50 and then to line 150 in the operations log, `c` with an inode that is not its
    // file's any more (rotated since), and a removed state.
    let reg = env.path("fb-data/registry/filebeat");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::write(reg.join("meta.json"), "{\"version\":\"1\"}").unwrap();
    std::fs::write(
        reg.join("active.dat"),
        reg.join("7.json").display().to_string(),
    )
    .unwrap();
    std::fs::write(
        reg.join("7.json"),
        serde_json::json!([{
            "_key": format!("filebeat::logs::native::{ino_b}-{dev_b}"),
            "source": b, "offset": offset_of(50), "FileStateOS": { "inode": ino_b, "device": dev_b },
            "ttl": -1, "type": "log", "timestamp": [0, 0]
        }])
        .to_string(),
    )
    .unwrap();
    let set = |k: String, v: serde_json::Value, id: u64| {
        format!(
            "{{\"op\":\"set\",\"id\":{id}}}\n{}\n",
            serde_json::json!({ "k": k, "v": v })
        )
    };
    let mut log = String::new();
    log += &set(
        format!("filestream::app::native::{ino_a}-{dev_a}"),
        serde_json::json!({ "cursor": { "offset": offset_of(120) },
                            "meta": { "source": a, "identifier_name": "native" },
                            "ttl": 1800000000000u64, "updated": [1, 2] }),
        8,
    );
    log += &set(
        format!("filebeat::logs::native::{ino_b}-{dev_b}"),
        serde_json::json!({ "source": b, "offset": offset_of(150),
                            "FileStateOS": { "inode": ino_b, "device": dev_b } }),
        9,
    );
    log += &set(
        format!("filestream::app::native::999999-{dev_c}"),
        serde_json::json!({ "cursor": { "offset": offset_of(10) }, "meta": { "source": c } }),
        10,
    );
    log += &set(
        "filestream::app::native::5-5".into(),
        serde_json::json!({ "cursor": { "offset": 1 }, "meta": { "source": "/nowhere" } }),
        11,
    );
    log += "{\"op\":\"remove\",\"id\":12}\n{\"k\":\"filestream::app::native::5-5\"}\n";
    std::fs::write(reg.join("log.json"), log).unwrap();

    let filebeat = env.path("filebeat.yml");
    std::fs::write(
        &filebeat,
        format!(
            "filebeat.inputs:\n- type: filestream\n  id: app\n  paths: ['{}/*.log']\noutput.file:\n  path: {}\n  filename: out.ndjson\n",
            logs.display(),
            env.dir.path().display()
        ),
    )
    .unwrap();
    let cfg = env.path("logship.yaml");
    let (code, _, err) = migrate(
        &[filebeat.to_str().unwrap(), "-o", cfg.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let yaml = std::fs::read_to_string(&cfg).unwrap().replace(
        "data_dir: /var/lib/logship",
        &format!("data_dir: {}", env.data_dir().display()),
    );
    std::fs::write(&cfg, yaml).unwrap();
    let (code, _, err) = migrate(
        &[
            "--registry",
            env.path("fb-data").to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("resumes at {}: {}", offset_of(120), a.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("resumes at {}: {}", offset_of(150), b.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "left to read_from: {} (another file now",
            c.display()
        )),
        "{err}"
    );
    assert!(err.contains("2 checkpoint(s) written"), "{err}");
    let mode = std::fs::metadata(env.data_dir().join("checkpoints.json"))
        .unwrap()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "checkpoints readable by the agent's user only"
    );

    // The agent resumes: `a` from line 120, `b` from 150, `c` from its start (read_from:
    // beginning, as Filebeat reads a new file).
    let out: PathBuf = env.dir.path().join("out.ndjson");
    let mut agent = env.start(&cfg);
    let want = 180 + 50 + 100;
    wait_for(
        Duration::from_secs(30),
        "the lines after the offsets",
        || records(&out).len() >= want,
    );
    // Every file acknowledged to its end: whatever was read has landed.
    wait_for(
        Duration::from_secs(20),
        "the files acknowledged to their ends",
        || {
            [&a, &b, &c].iter().all(|p| {
                checkpoint_offset(&env.data_dir(), p) == Some(std::fs::metadata(p).unwrap().len())
            })
        },
    );
    let recs = records(&out);
    assert_eq!(recs.len(), want, "exactly the lines after each offset");
    let of = |p: &Path| -> Vec<u64> {
        let mut v: Vec<u64> = recs
            .iter()
            .filter(|r| r["log"]["file"]["path"].as_str() == p.to_str())
            .filter_map(number)
            .collect();
        v.sort();
        v
    };
    assert_eq!(of(&a), (120..300).collect::<Vec<_>>());
    assert_eq!(of(&b), (150..200).collect::<Vec<_>>());
    assert_eq!(of(&c), (0..100).collect::<Vec<_>>());
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

/// Fluent Bit configurations, classic and YAML, in the shapes its docs show: each translates into
/// one that passes check-config, every setting with no equivalent commented and counted.
#[test]
fn real_world_fluent_bit_configs_translate_with_every_gap_commented() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let ca = p.ca.cert_path.display().to_string();
    let cert = p.client.cert.display().to_string();
    let key = p.client.key.display().to_string();
    let cases: Vec<Case<'_>> = vec![
        (
            "the Kubernetes DaemonSet config",
            "[SERVICE]\n    Flush 5\n    HTTP_Server On\n    HTTP_Listen 0.0.0.0\n    HTTP_Port 2020\n\n[INPUT]\n    Name tail\n    Tag kube.*\n    Path /var/log/containers/*.log\n    multiline.parser docker, cri\n    DB /var/log/flb_kube.db\n    Mem_Buf_Limit 5MB\n    Refresh_Interval 10\n\n[FILTER]\n    Name kubernetes\n    Match *\n    Merge_Log On\n    K8S-Logging.Exclude On\n\n[OUTPUT]\n    Name es\n    Match *\n    Host ${FLUENT_ELASTICSEARCH_HOST}\n    Port 9200\n    Logstash_Format On\n    Replace_Dots On\n    Retry_Limit False\n".into(),
            vec!["[SERVICE] flush", "tail db", "tail tag", "mem_buf_limit", "replace_dots"],
            vec!["- type: cri", "scan_frequency: \"10s\"", "read_from: \"end\"", "kubernetes: {}", "- decode_json: {\"field\":\"message\",\"target\":\"\"}", "index: \"logstash-%{+yyyy.MM.dd}\"", "listen: \"0.0.0.0:2020\""],
        ),
        (
            "tail of plain files with grep",
            "[INPUT]\n    Name tail\n    Path /var/log/app/*.log, /var/log/web.log\n    Exclude_Path *.gz\n    Read_from_Head true\n\n[FILTER]\n    Name grep\n    Match *\n    Regex log ERROR|WARN\n    Exclude log healthcheck\n\n[OUTPUT]\n    Name stdout\n    Match *\n".into(),
            vec![],
            vec!["paths: [\"/var/log/app/*.log\",\"/var/log/web.log\"]", "exclude: [\"*.gz\"]", "read_from: \"beginning\"", "- include: {\"when\":{\"regexp\":{\"message\":\"ERROR|WARN\"}}}", "- drop: {\"when\":{\"regexp\":{\"message\":\"healthcheck\"}}}", "- type: console"],
        ),
        (
            "docker json-file logs with the docker parser, multiline java",
            "[INPUT]\n    Name tail\n    Path /var/lib/docker/containers/*/*.log\n    Parser docker\n    multiline.parser java\n    Rotate_Wait 30\n\n[OUTPUT]\n    Name file\n    Match *\n    Path /tmp/out\n    File logs.ndjson\n".into(),
            vec![],
            vec!["- type: docker", "containers_path: \"/var/lib/docker/containers\"", "rotate_wait: \"30s\"", "- multiline: {\"preset\":\"java\"}", "path: \"/tmp/out/logs.ndjson\""],
        ),
        (
            "syslog over UDP and TCP to CloudWatch",
            "[INPUT]\n    Name syslog\n    Mode udp\n    Listen 0.0.0.0\n    Port 5140\n    Parser syslog-rfc5424\n\n[INPUT]\n    Name syslog\n    Mode tcp\n    Port 5141\n\n[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n    log_group_name /fluent-bit\n    log_stream_prefix node-\n    auto_create_group On\n    log_retention_days 30\n".into(),
            vec![],
            vec!["listen: [\"udp://0.0.0.0:5140\"]", "listen: [\"tcp://0.0.0.0:5141\"]", "- type: cloudwatch", "log_stream: \"node-{host.name}\"", "create_missing: true", "retention_days: 30"],
        ),
        (
            "modify and record_modifier",
            "[INPUT]\n    Name tail\n    Path /var/log/a.log\n\n[FILTER]\n    Name modify\n    Match *\n    Rename log message_text\n    Add env prod\n    Remove secret\n\n[FILTER]\n    Name record_modifier\n    Match *\n    Record hostname ${HOSTNAME}\n    Remove_key password\n\n[OUTPUT]\n    Name stdout\n    Match *\n".into(),
            vec![],
            vec!["- drop_fields: {\"fields\":[\"secret\"]}", "- drop_fields: {\"fields\":[\"password\"]}", "- rename: {\"fields\":{\"message\":\"message_text\"}}", "- add_fields: {\"fields\":{\"env\":\"prod\"},\"target\":\"\"}", "- add_fields: {\"fields\":{\"hostname\":\"${HOSTNAME}\"},\"target\":\"\"}"],
        ),
        (
            "parser filter with json, lua filter",
            "[INPUT]\n    Name tail\n    Path /var/log/j.log\n\n[FILTER]\n    Name parser\n    Match *\n    Key_Name log\n    Parser json\n    Reserve_Data On\n\n[FILTER]\n    Name lua\n    Match *\n    script filter.lua\n    call cb\n\n[OUTPUT]\n    Name stdout\n    Match *\n".into(),
            vec!["parser reserve_data", "[FILTER] lua"],
            vec!["- decode_json: {\"add_error_key\":true,\"field\":\"message\",\"target\":\"\"}"],
        ),
        (
            "es over TLS with auth and a routed output",
            format!("[INPUT]\n    Name tail\n    Path /var/log/b.log\n    Tag app\n\n[OUTPUT]\n    Name es\n    Match app\n    Host es.example.com\n    Port 443\n    tls On\n    tls.verify Off\n    tls.ca_file {ca}\n    tls.crt_file {cert}\n    tls.key_file {key}\n    HTTP_User elastic\n    HTTP_Passwd ${{ES_PASSWORD}}\n    Index app-logs\n    Suppress_Type_Name On\n"),
            vec!["tail tag", "es match"],
            vec!["\"https://es.example.com:443\"", "\"verify\":\"none\"", "auth: {\"password\":\"${ES_PASSWORD}\",\"username\":\"elastic\"}", "index: \"app-logs\""],
        ),
        (
            "forward output and a cpu input",
            "[INPUT]\n    Name cpu\n    Tag cpu\n\n[INPUT]\n    Name tail\n    Path /var/log/c.log\n\n[OUTPUT]\n    Name forward\n    Match *\n    Host fluentd\n    Port 24224\n".into(),
            vec!["[INPUT] cpu", "[OUTPUT] forward"],
            vec!["- type: console"],
        ),
        (
            "includes and variables",
            "@SET env=prod\n@INCLUDE inputs.conf\n[INPUT]\n    Name tail\n    Path /var/log/d.log\n[OUTPUT]\n    Name stdout\n    Match *\n".into(),
            vec!["@SET", "@INCLUDE"],
            vec!["- type: file"],
        ),
        (
            "YAML: tail, kubernetes, es",
            "service:\n  flush: 1\n  http_server: on\n  http_port: 2021\npipeline:\n  inputs:\n    - name: tail\n      path: /var/log/containers/*.log\n      multiline.parser: cri\n      read_from_head: true\n  filters:\n    - name: kubernetes\n      match: '*'\n      kube_url: https://10.0.0.1:443\n      kube_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token\n  outputs:\n    - name: stdout\n      match: '*'\n".into(),
            vec!["[SERVICE] flush"],
            vec!["- type: cri", "read_from: \"beginning\"", "api_server: \"https://10.0.0.1:443\"", "token_file: \"/var/run/secrets/kubernetes.io/serviceaccount/token\"", "listen: \"0.0.0.0:2021\""],
        ),
        (
            "YAML: grep with a list of regexes, file output, parsers section",
            "parsers:\n  - name: custom\n    format: regex\n    regex: '^(?<x>.*)$'\npipeline:\n  inputs:\n    - name: tail\n      path: /var/log/e.log\n  filters:\n    - name: grep\n      match: '*'\n      regex:\n        - log ^a\n        - level ^b\n  outputs:\n    - name: file\n      match: '*'\n      path: /tmp\n      file: e.out\n".into(),
            vec!["YAML parsers"],
            vec!["- include: {\"when\":{\"regexp\":{\"message\":\"^a\"}}}", "- include: {\"when\":{\"regexp\":{\"level\":\"^b\"}}}", "path: \"/tmp/e.out\""],
        ),
        (
            "YAML: syslog on a unix socket, multiline filter, nest",
            "pipeline:\n  inputs:\n    - name: syslog\n      mode: unix_udp\n      path: /tmp/fb-test.sock\n  filters:\n    - name: multiline\n      match: '*'\n      multiline.key_content: log\n      multiline.parser: python\n    - name: nest\n      match: '*'\n      operation: lift\n  outputs:\n    - name: stdout\n      match: '*'\n".into(),
            vec!["multiline multiline.key_content", "[FILTER] nest"],
            vec!["listen: [\"unix:///tmp/fb-test.sock\"]", "- multiline: {\"preset\":\"python\"}"],
        ),
    ];
    check_cases(
        &env,
        &cases,
        &[
            ("FLUENT_ELASTICSEARCH_HOST", "es"),
            ("HOSTNAME", "node-1"),
            ("ES_PASSWORD", "changeme"),
        ],
    );
}

/// Fluent Bit's tail database, made with its schema: the files resume exactly at its offsets.
#[test]
fn a_fluent_bit_tail_db_resumes_exactly_at_its_offsets() {
    let env = Env::new();
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let a = logs.join("a.log");
    let b = logs.join("b.log");
    let (_, ino_a) = lines_file(&a, 300);
    let (_, _) = lines_file(&b, 100);
    let db = env.path("flb_tail.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE in_tail_files (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             offset INTEGER, inode INTEGER, created INTEGER, rotated INTEGER DEFAULT 0);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO in_tail_files (name, offset, inode, created, rotated) VALUES (?1, ?2, ?3, 1700000000, 0)",
            rusqlite::params![a.to_str().unwrap(), offset_of(250) as i64, ino_a as i64],
        )
        .unwrap();
        // `b` was rotated since: its inode is another file's.
        conn.execute(
            "INSERT INTO in_tail_files (name, offset, inode, created, rotated) VALUES (?1, ?2, ?3, 1700000000, 0)",
            rusqlite::params![b.to_str().unwrap(), offset_of(10) as i64, 424242i64],
        )
        .unwrap();
    }
    let conf = env.path("fluent-bit.conf");
    std::fs::write(
        &conf,
        format!(
            "[INPUT]\n    Name tail\n    Path {}/*.log\n    DB {}\n    Read_from_Head On\n\n[OUTPUT]\n    Name file\n    Match *\n    Path {}\n    File out.ndjson\n",
            logs.display(),
            db.display(),
            env.dir.path().display()
        ),
    )
    .unwrap();
    let cfg = env.path("logship.yaml");
    let (code, _, err) = migrate(&[conf.to_str().unwrap(), "-o", cfg.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("# not translated: tail db"), "{text}");
    // The translation's data_dir is the system one: the test's own, then the import.
    let yaml = std::fs::read_to_string(&cfg).unwrap().replace(
        "data_dir: /var/lib/logship",
        &format!("data_dir: {}", env.data_dir().display()),
    );
    std::fs::write(&cfg, yaml).unwrap();
    let (code, _, err) = migrate(
        &[
            "--registry",
            db.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("resumes at {}: {}", offset_of(250), a.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "left to read_from: {} (another file now",
            b.display()
        )),
        "{err}"
    );
    let out = env.dir.path().join("out.ndjson");
    let mut agent = env.start(&cfg);
    wait_for(
        Duration::from_secs(20),
        "the files acknowledged to their ends",
        || {
            [&a, &b].iter().all(|p| {
                checkpoint_offset(&env.data_dir(), p) == Some(std::fs::metadata(p).unwrap().len())
            })
        },
    );
    let recs = records(&out);
    let of = |p: &Path| -> Vec<u64> {
        let mut v: Vec<u64> = recs
            .iter()
            .filter(|r| r["log"]["file"]["path"].as_str() == p.to_str())
            .filter_map(number)
            .collect();
        v.sort();
        v
    };
    assert_eq!(of(&a), (250..300).collect::<Vec<_>>());
    assert_eq!(of(&b), (0..100).collect::<Vec<_>>());
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
