//! Configuration that cannot hurt, and secrets that stay secret, through the real binary:
//! `${VAR}` values that look like numbers, booleans or YAML syntax reach the peer exactly;
//! neither `check-config`, `test-output`, `run`'s log nor `/health` ever shows them; zero
//! durations are refused; `tls.verify: none` is warned about by name; `data_dir` and the files
//! in it are the agent's user's only.

mod common;
use base64::Engine;
use common::bulk::{BulkServer, Faults};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[test]
fn secrets_that_look_like_yaml_reach_the_peer_exactly_and_are_never_printed() {
    for secret in [
        "123456", "true", "0x1f", "pa #ss", "k: v", "*&!{[x", "null", "~",
    ] {
        let env = Env::new();
        let server = BulkServer::start(
            &env.path("indexed.ndjson"),
            None,
            Faults {
                authorization: Some(basic("elastic", secret)),
                ..Faults::default()
            },
        );
        let log = env.path("app.log");
        std::fs::write(&log, (0..5).map(line).collect::<String>()).unwrap();
        let cfg = env.config(
            &format!("  - type: file\n    paths: [{}]\n    read_from: beginning", log.display()),
            &format!(
                "outputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{}\"]\n    auth: {{ username: elastic, password: ${{ES_PASSWORD}} }}\n",
                server.url
            ),
        );
        let envs = [("ES_PASSWORD", secret)];
        let (code, out) = logship_with("check-config", &cfg, &envs);
        assert_eq!(code, 0, "{secret:?}: {out}");
        let (code, out) = logship_with("test-output", &cfg, &envs);
        assert_eq!(code, 0, "{secret:?}: {out}");
        assert!(!out.contains(secret), "{secret:?}: {out}");
        let agent = env.start_with(&cfg, &envs);
        wait_all_arrived(&agent, &server.out, 5, Duration::from_secs(30));
        assert!(!agent.logs().contains(secret), "{}", agent.logs());
    }
}

#[test]
fn credentials_in_a_host_url_are_used_and_redacted_everywhere() {
    let env = Env::new();
    let secret = "Url-S3cret-9";
    let server = BulkServer::start(
        &env.path("indexed.ndjson"),
        None,
        Faults {
            authorization: Some(basic("elastic", secret)),
            ..Faults::default()
        },
    );
    let host = server.url.replace("http://", "");
    let log = env.path("app.log");
    std::fs::write(&log, (0..5).map(line).collect::<String>()).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let write = |pass: &str| {
        env.config(
            &format!("  - type: file\n    paths: [{}]\n    read_from: beginning", log.display()),
            &format!(
                "http:\n  listen: {addr}\n  max_failing: 1s\noutputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"http://elastic:{pass}@{host}\"]\n    backoff: {{ init: 50ms, max: 200ms }}\n"
            ),
        )
    };
    // Right credentials: used.
    let cfg = write(secret);
    let (code, out) = logship_with("test-output", &cfg, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(secret), "{out}");
    assert!(out.contains(&format!("es: OK (http://{host}")), "{out}");
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 5, Duration::from_secs(30));
    drop(agent);
    // Wrong ones: every message names the host without them.
    let wrong = "Wr0ng-Pa55";
    let cfg = write(wrong);
    let (code, out) = logship_with("test-output", &cfg, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("authentication failed (401)"), "{out}");
    assert!(!out.contains(wrong), "{out}");
    std::fs::write(&log, (5..10).map(line).collect::<String>()).unwrap();
    let agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "/health to turn 503", || {
        matches!(http_get(&addr, "/health"), Some((503, _)))
    });
    let (_, health) = http_get(&addr, "/health").unwrap();
    assert!(health.contains("authentication failed (401)"), "{health}");
    assert!(!health.contains(wrong), "{health}");
    let logs = agent.logs();
    assert!(logs.contains("authentication failed (401)"), "{logs}");
    assert!(!logs.contains(wrong), "{logs}");
}

#[test]
fn check_config_names_the_variable_never_its_value() {
    let env = Env::new();
    let cfg = env.config(
        "  - type: file\n    paths: [/tmp/x.log]\n    scan_frequency: ${ES_PASSWORD}",
        "outputs:\n  - type: elasticsearch\n    hosts: ['ftp://elastic:${ES_PASSWORD}@es:9200', '${ES_PASSWORD}']\n    compression_level: ${ES_PASSWORD}\n    index: '${ES_PASSWORD}-%{+yyyy'\n",
    );
    let secret = "Sup3r-Secret";
    let (code, out) = logship_with("check-config", &cfg, &[("ES_PASSWORD", secret)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.matches("(line ").count() >= 4, "every problem: {out}");
    assert!(!out.contains(secret), "{out}");
    assert!(!out.contains("Sup3r"), "{out}");
    assert!(out.contains("${ES_PASSWORD}"), "{out}");
    let (code, out) = logship_with("run", &cfg, &[("ES_PASSWORD", secret)]);
    assert_eq!(code, 2);
    assert!(!out.contains(secret), "{out}");
}

#[test]
fn zero_durations_are_configuration_errors() {
    let env = Env::new();
    let cfg = env.config(
        "  - type: file\n    paths: [/tmp/x.log]\n    scan_frequency: 0s",
        "outputs:\n  - type: logstash\n    hosts: ['127.0.0.1:5044']\n    timeout: 0ms\n    backoff: { init: 0s, max: 1s }\n",
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("checkpoint_interval: 100ms", "checkpoint_interval: 0s"),
    )
    .unwrap();
    let (code, out) = logship_with("check-config", &cfg, &[]);
    assert_eq!(code, 2, "{out}");
    for key in [
        "pipeline.checkpoint_interval",
        "inputs[0].scan_frequency",
        "outputs[0].timeout",
        "outputs[0].backoff.init",
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(key) && l.contains("must be more than 0")),
            "{key}: {out}"
        );
    }
    // `run` refuses it too instead of starting a saver that would panic.
    let (code, _) = logship_with("run", &cfg, &[]);
    assert_eq!(code, 2);
}

#[test]
fn verify_none_is_warned_about_by_name_wherever_a_user_looks() {
    let env = Env::new();
    let out_file = env.out();
    let cfg = env.config(
        "  - type: file\n    paths: [/tmp/nothing-here.log]",
        &format!(
            "outputs:\n  - type: file\n    path: {}\n  - type: logstash\n    name: ls\n    hosts: ['127.0.0.1:{}']\n    tls: {{ verify: none }}\n",
            out_file.display(),
            free_port()
        ),
    );
    let (code, out) = logship_with("check-config", &cfg, &[]);
    assert_eq!(code, 0, "{out}");
    let warning = "output ls: tls.verify is none: the certificate of 127.0.0.1:";
    assert!(out.contains(warning), "{out}");
    let (_, out) = logship_with("test-output", &cfg, &[]);
    assert!(out.contains(warning), "{out}");
    let agent = env.start(&cfg);
    wait_for(
        Duration::from_secs(20),
        "the warning in the run log",
        || agent.logs().contains(warning),
    );
    assert!(agent.logs().contains("WARN"), "{}", agent.logs());
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn data_dir_and_its_files_are_the_agents_own() {
    let env = Env::new();
    let server = BulkServer::start(
        &env.path("indexed.ndjson"),
        None,
        Faults {
            reject_containing: Some("request #3 ".into()),
            ..Faults::default()
        },
    );
    let log = env.path("app.log");
    std::fs::write(&log, (0..10).map(line).collect::<String>()).unwrap();
    // An existing data_dir open to everyone is tightened.
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::set_permissions(env.data_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!(
            "outputs:\n  - type: elasticsearch\n    name: es\n    hosts: [\"{}\"]\n",
            server.url
        ),
    );
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 3, Duration::from_secs(30));
    let dead = env.data_dir().join("dead_letter").join("es.ndjson");
    wait_for(Duration::from_secs(20), "the dead letter", || dead.exists());
    assert_eq!(agent.term(Duration::from_secs(20)), 0);
    assert_eq!(mode(&env.data_dir()), 0o700);
    assert_eq!(mode(&env.data_dir().join("checkpoints.json")), 0o600);
    assert_eq!(mode(dead.parent().unwrap()), 0o700);
    assert_eq!(mode(&dead), 0o600);
    // A fresh data_dir is made 0700.
    let env2 = Env::new();
    let cfg2 = env2.config(
        &format!("  - type: file\n    paths: [{}]", log.display()),
        "",
    );
    let mut agent2 = env2.start(&cfg2);
    wait_for(Duration::from_secs(20), "the data dir", || {
        env2.data_dir().join("checkpoints.json").exists()
    });
    assert_eq!(agent2.term(Duration::from_secs(20)), 0);
    assert_eq!(mode(&env2.data_dir()), 0o700);
}
