//! The command line and configuration errors, through the real binary: exit codes 0/2, every
//! problem with its YAML path and line, and `config.example.yaml` passing `check-config`.

mod common;
use common::*;
use std::process::Command;

fn check(config: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(["check-config", "-c"])
        .arg(config)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_problem_is_reported_with_path_and_line() {
    let env = Env::new();
    let p = env.path("bad.yaml");
    std::fs::write(
        &p,
        "\
data_dir: /tmp/x
shutdown_timeout: ten seconds
inputs:
  - type: file
    pahts: [/var/log/*.log]
    paths: [/tmp/a.log]
    scan_frequency: 5
    rotate_wait: 18446744073709551615s
outputs:
  - type: file
    path: ${OUT_PATH}
  - type: kafka
    brokers: [k:9092]
",
    )
    .unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2, "{err}");
    for want in [
        "shutdown_timeout (line 2): invalid duration `ten seconds`",
        "inputs[0].pahts (line 5): unknown key `pahts`, expected one of: name, paths, exclude, format",
        "inputs[0].scan_frequency (line 7): invalid type: integer `5`, expected a duration",
        "inputs[0].rotate_wait (line 8): invalid duration `18446744073709551615s`: at most 100 years",
        "outputs[0].path (line 11): environment variable OUT_PATH is not set and has no default",
        "outputs[1].type (line 12): unknown output type `kafka`, expected one of: console, file, logstash, elasticsearch, cloudwatch",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    assert!(err.contains("has 6 problems"), "{err}");
}

#[test]
fn env_substitution_and_defaults() {
    let env = Env::new();
    let p = env.path("ok.yaml");
    std::fs::write(
        &p,
        "data_dir: ${DATA:-/tmp/logship-test}\ninputs:\n  - type: file\n    paths: [\"${LOG_DIR}/*.log\"]\noutputs:\n  - type: console\n",
    )
    .unwrap();
    let (code, out, err) = check(&p, &[("LOG_DIR", "/var/log/app")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is valid"), "{out}");
    assert!(out.contains("data_dir: /tmp/logship-test"), "{out}");
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("inputs[0].paths (line 4): environment variable LOG_DIR is not set"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_and_missing_file() {
    let env = Env::new();
    let p = env.path("broken.yaml");
    std::fs::write(&p, "inputs:\n  - type: file\n   paths: [a\n").unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not valid YAML") && err.contains("line"),
        "{err}"
    );
    let (code, _, err) = check(&env.path("nope.yaml"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn example_config_passes_check_config() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.yaml");
    let (code, out, err) = check(&example, &[]);
    assert_eq!(code, 0, "config.example.yaml: {err}");
    assert!(out.contains("is valid"), "{out}");
}

#[test]
fn docker_node_example_passes_check_config() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docker-node.yaml");
    let (code, out, err) = check(&example, &[]);
    assert_eq!(code, 0, "examples/docker-node.yaml: {err}");
    assert!(
        out.contains("(docker, /var/lib/docker/containers)") && out.contains("enrich: docker"),
        "{out}"
    );
}

#[test]
fn docker_sections_are_validated() {
    let env = Env::new();
    let p = env.path("d.yaml");
    std::fs::write(
        &p,
        "inputs:\n  - type: docker\n    streams: [stdin]\n  - type: cri\n    pathz: [/x]\nenrich:\n  docker:\n    socket: docker.sock\n    envs: [FOO]\noutputs:\n  - type: console\n",
    )
    .unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2);
    for want in [
        "inputs[0].streams[0] (line 3): unknown variant `stdin`",
        "inputs[1].pathz (line 5): unknown key",
        "enrich.docker.envs (line 9): unknown key",
        "enrich.docker.socket (line 8): `docker.sock` is not a Docker address",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
}

#[test]
fn logstash_sections_are_validated() {
    let env = Env::new();
    let p = env.path("l.yaml");
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a.log]\noutputs:\n  - type: logstash\n    hosts: [\"logstash\", \"ls:5044\"]\n    compression_level: 12\n    bulk_max_size: 0\n    pipelineing: 4\n    tls:\n      verify: maybe\n      min_version: 1.3\n  - type: logstash\n    hosts: []\n",
    )
    .unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2, "{err}");
    for want in [
        "outputs[0].pipelineing (line 9): unknown key",
        "outputs[0].tls.verify (line 11): unknown variant `maybe`",
        "outputs[0].hosts[0] (line 6): \"logstash\" is not `host:port`",
        "outputs[0].compression_level (line 7): 12 is out of range 0 (off) to 9",
        "outputs[0].bulk_max_size (line 8): must be at least 1",
        "outputs[1].hosts (line 14): needs at least one `host:port`",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a.log]\noutputs:\n  - type: logstash\n    hosts: [\"ls-1:5044\", \"[::1]:5044\"]\n    tls: { verify: none, min_version: \"1.3\" }\n",
    )
    .unwrap();
    let (code, out, err) = check(&p, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("logstash (logstash)"), "{out}");
}

#[test]
fn elasticsearch_sections_are_validated() {
    let env = Env::new();
    let p = env.path("e.yaml");
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a.log]\noutputs:\n  - type: elasticsearch\n    hosts: [\"es:9200\", \"ftp://es\"]\n    index: \"logs-%{+yyyy.QQ}\"\n    auth: { username: elastic }\n    compression_level: 10\n  - type: elasticsearch\n    hosts: [\"http://es:9200\"]\n    index: \"logs-%{foo}\"\n    auth: { username: u, password: p, api_key: k }\n    tls: { verify: none }\n    bulk_max_size: 0\n",
    )
    .unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2, "{err}");
    for want in [
        "outputs[0].hosts[0] (line 6): es:9200 has no scheme: write http://es:9200 or https://es:9200",
        "outputs[0].hosts[1] (line 6): ftp://es: scheme `ftp` is not http or https",
        "outputs[0].index (line 7): date pattern `yyyy.QQ`: `Q` is not supported",
        "outputs[0].auth (line 8): needs username and password (or api_key)",
        "outputs[0].compression_level (line 9): 10 is out of range",
        "outputs[1].hosts[0] (line 11): http://es:9200: `tls` is set but the URL is http://; use https://",
        "outputs[1].index (line 12): `logs-%{foo}`: `%{foo}` is neither a date",
        "outputs[1].auth (line 13): set either username + password or api_key, not both",
        "outputs[1].bulk_max_size (line 15): must be at least 1",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
}

#[test]
fn cloudwatch_sections_are_validated() {
    let env = Env::new();
    let p = env.path("c.yaml");
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a.log]\noutputs:\n  - type: cloudwatch\n    log_group: \"/x/{kubernetes.namespace\"\n    retention_days: 10\n    endpoint: localhost:4566\n    log_streem: x\n",
    )
    .unwrap();
    let (code, _, err) = check(&p, &[]);
    assert_eq!(code, 2, "{err}");
    for want in [
        "outputs[0].log_streem (line 9): unknown key",
        "outputs[0].log_group (line 6): `/x/{kubernetes.namespace`: `{` without a closing `}`",
        "outputs[0].retention_days (line 7): 10 is not a retention CloudWatch offers",
        "outputs[0].endpoint (line 8): \"localhost:4566\" is not an http:// or https:// URL",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a.log]\noutputs:\n  - type: cloudwatch\n    region: us-east-1\n    endpoint: \"${CLOUDWATCH_ENDPOINT:-}\"\n",
    )
    .unwrap();
    let (code, out, err) = check(&p, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cloudwatch (cloudwatch)"), "{out}");
}

#[test]
fn logship_config_env_var_names_the_file_and_usage_errors_exit_2() {
    let env = Env::new();
    let p = env.path("c.yaml");
    std::fs::write(
        &p,
        "inputs:\n  - type: file\n    paths: [/tmp/a]\noutputs:\n  - type: console\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("check-config")
        .env("LOGSHIP_CONFIG", &p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = Command::new(bin()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn version_names_commit_and_features() {
    let out = Command::new(bin()).arg("version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("logship {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains("commit") && text.contains("outputs: console, file"),
        "{text}"
    );
}

#[test]
fn test_output_reports_ok_and_failures_without_sending() {
    let env = Env::new();
    let blocker = env.path("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let good = env.path("out/good.ndjson");
    let p = env.path("t.yaml");
    std::fs::write(
        &p,
        format!(
            "inputs:\n  - type: file\n    paths: [/tmp/a]\noutputs:\n  - type: file\n    name: good\n    path: {}\n  - type: file\n    name: bad\n    path: {}/x.ndjson\n",
            good.display(),
            blocker.display()
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["test-output", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("good: OK"), "{text}");
    assert!(
        text.contains("bad: FAILED: cannot create directory"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&good).unwrap().len(),
        0,
        "test-output wrote records"
    );
}
