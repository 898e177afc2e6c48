//! The TLS layer through the real binary: every failure is one line naming the file or the peer
//! and what failed, in `test-output` and in `run` logs; `verify` modes; key formats (PKCS#8,
//! PKCS#1, SEC1); and the `tls/make-certs.sh` script producing a working mTLS setup.

mod common;
use common::beats::{BeatsServer, ServerTls};
use common::certs::{issue, pki, Pki, Validity};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn logship(cmd: &str, cfg: &Path) -> Outcome {
    let o = Command::new(bin())
        .args([cmd, "-c"])
        .arg(cfg)
        .output()
        .expect("run logship");
    Outcome {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

fn server_tls(cert: &Path, key: &Path, client_ca: Option<&Path>) -> ServerTls {
    ServerTls {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        client_ca: client_ca.map(Path::to_path_buf),
        tls12_only: false,
    }
}

/// A config with a file input and one logstash output to `host` with this `tls:` body.
fn config(env: &Env, host: &str, tls: &str) -> PathBuf {
    let log = env.path("app.log");
    append(&log, &line(0));
    env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        &format!(
            "outputs:\n  - type: logstash\n    name: ls\n    hosts: [\"{host}\"]\n    timeout: 5s\n    backoff: {{ init: 100ms, max: 1s }}\n    tls:\n{tls}"
        ),
    )
}

fn tls_lines(ca: &Path, client: Option<(&Path, &Path)>, extra: &str) -> String {
    let mut s = format!("      ca: {}\n", ca.display());
    if let Some((c, k)) = client {
        s += &format!("      cert: {}\n      key: {}\n", c.display(), k.display());
    }
    s + extra
}

/// `test-output` fails with exactly one line for the output holding `expected`, and `run` logs
/// the same words.
fn assert_fails_everywhere(env: &Env, cfg: &Path, expected: &str) {
    let t = logship("test-output", cfg);
    assert_eq!(t.code, 1, "test-output: {}{}", t.stdout, t.stderr);
    let lines: Vec<&str> = t.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line per output: {}", t.stdout);
    assert!(lines[0].starts_with("ls: FAILED: "), "{}", t.stdout);
    assert!(
        lines[0].contains(expected),
        "expected {expected:?} in: {}",
        t.stdout
    );
    let agent = env.start(cfg);
    wait_for(
        Duration::from_secs(30),
        &format!("{expected:?} in the run log"),
        || agent.logs().contains(expected),
    );
}

fn ok_everywhere(env: &Env, cfg: &Path, server: &BeatsServer) {
    let t = logship("test-output", cfg);
    assert_eq!(t.code, 0, "test-output: {}{}", t.stdout, t.stderr);
    assert!(t.stdout.starts_with("ls: OK"), "{}", t.stdout);
    assert!(records(&server.out).is_empty(), "test-output sent records");
    let agent = env.start(cfg);
    wait_all_arrived(&agent, &server.out, 1, Duration::from_secs(30));
}

fn mtls(env: &Env, p: &Pki) -> BeatsServer {
    BeatsServer::start(
        &env.path("received.ndjson"),
        Some(server_tls(
            &p.server.cert,
            &p.server.key,
            Some(&p.ca.cert_path),
        )),
    )
}

#[test]
fn good_mutual_tls_is_ok_and_delivers() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls(&env, &p);
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(&p.ca.cert_path, Some((&p.client.cert, &p.client.key)), ""),
    );
    ok_everywhere(&env, &cfg, &server);
}

#[test]
fn unknown_ca() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls(&env, &p);
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(
            &p.other_ca.cert_path,
            Some((&p.client.cert, &p.client.key)),
            "",
        ),
    );
    assert_fails_everywhere(
        &env,
        &cfg,
        &format!(
            "{}: TLS handshake failed: the server certificate is signed by an unknown CA (not in tls.ca {})",
            server.addr,
            p.other_ca.cert_path.display()
        ),
    );
}

#[test]
fn expired_and_not_yet_valid_server_certificates() {
    for (validity, expected) in [
        (Validity::Expired, "the server certificate expired at "),
        (
            Validity::NotYetValid,
            "the server certificate is not valid yet (valid from ",
        ),
    ] {
        let env = Env::new();
        let p = pki(env.dir.path());
        let bad = issue(
            env.dir.path(),
            &p.ca,
            "bad-server",
            &["127.0.0.1"],
            false,
            validity,
        );
        let server = BeatsServer::start(
            &env.path("received.ndjson"),
            Some(server_tls(&bad.cert, &bad.key, Some(&p.ca.cert_path))),
        );
        let cfg = config(
            &env,
            &server.addr,
            &tls_lines(&p.ca.cert_path, Some((&p.client.cert, &p.client.key)), ""),
        );
        assert_fails_everywhere(&env, &cfg, expected);
    }
}

#[test]
fn host_name_mismatch_and_verify_certificate() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let other = issue(
        env.dir.path(),
        &p.ca,
        "elsewhere",
        &["logstash.internal"],
        false,
        Validity::Now,
    );
    let server = BeatsServer::start(
        &env.path("received.ndjson"),
        Some(server_tls(&other.cert, &other.key, Some(&p.ca.cert_path))),
    );
    let client = Some((p.client.cert.as_path(), p.client.key.as_path()));
    let cfg = config(&env, &server.addr, &tls_lines(&p.ca.cert_path, client, ""));
    assert_fails_everywhere(
        &env,
        &cfg,
        "host name mismatch: the server certificate is not valid for 127.0.0.1 (it names: logstash.internal)",
    );
    // server_name fixes it; so does verify: certificate (chain still checked).
    let env2 = Env::new();
    let cfg = config(
        &env2,
        &server.addr,
        &tls_lines(
            &p.ca.cert_path,
            client,
            "      server_name: logstash.internal\n",
        ),
    );
    assert_eq!(logship("test-output", &cfg).code, 0);
    let cfg = config(
        &env2,
        &server.addr,
        &tls_lines(&p.ca.cert_path, client, "      verify: certificate\n"),
    );
    let t = logship("test-output", &cfg);
    assert_eq!(t.code, 0, "{}", t.stdout);
    // verify: certificate still refuses an unknown CA.
    let cfg = config(
        &env2,
        &server.addr,
        &tls_lines(&p.other_ca.cert_path, client, "      verify: certificate\n"),
    );
    assert!(logship("test-output", &cfg).stdout.contains("unknown CA"));
}

#[test]
fn verify_none_connects_to_anything_and_warns() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls(&env, &p);
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(
            &p.other_ca.cert_path,
            Some((&p.client.cert, &p.client.key)),
            "      verify: none\n",
        ),
    );
    let t = logship("test-output", &cfg);
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    let agent = env.start(&cfg);
    wait_all_arrived(&agent, &server.out, 1, Duration::from_secs(30));
    assert!(
        agent
            .logs()
            .contains("tls.verify is none: the certificate of")
            && agent.logs().contains("is NOT checked"),
        "{}",
        agent.logs()
    );
}

#[test]
fn client_certificate_from_another_ca_is_refused() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls(&env, &p);
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(
            &p.ca.cert_path,
            Some((&p.other_client.cert, &p.other_client.key)),
            "",
        ),
    );
    assert_fails_everywhere(
        &env,
        &cfg,
        &format!(
            "the server refused our client certificate {}",
            p.other_client.cert.display()
        ),
    );
    assert!(
        !server.tls_errors().is_empty(),
        "the server did not refuse it"
    );
    assert!(records(&server.out).is_empty());
}

#[test]
fn no_client_certificate_is_refused() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let server = mtls(&env, &p);
    let cfg = config(&env, &server.addr, &tls_lines(&p.ca.cert_path, None, ""));
    assert_fails_everywhere(
        &env,
        &cfg,
        "the server requires a client certificate and none is configured (set tls.cert and tls.key",
    );
    assert!(records(&server.out).is_empty());
}

#[test]
fn protocol_version_tls13_required_but_server_has_12() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let mut st = server_tls(&p.server.cert, &p.server.key, Some(&p.ca.cert_path));
    st.tls12_only = true;
    let server = BeatsServer::start(&env.path("received.ndjson"), Some(st));
    let client = Some((p.client.cert.as_path(), p.client.key.as_path()));
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(&p.ca.cert_path, client, "      min_version: 1.3\n"),
    );
    assert_fails_everywhere(
        &env,
        &cfg,
        "no TLS version in common with the server (we accept TLS 1.3 and later: tls.min_version)",
    );
    // TLS 1.2 is fine by default.
    let env2 = Env::new();
    let cfg = config(&env2, &server.addr, &tls_lines(&p.ca.cert_path, client, ""));
    ok_everywhere(&env2, &cfg, &server);
}

/// File problems are configuration errors: exit 2 from check-config, run and test-output, with
/// the YAML path, the file and what is wrong.
#[test]
fn tls_file_problems_are_configuration_errors() {
    let env = Env::new();
    let p = pki(env.dir.path());
    let missing = env.path("nope.crt");
    let empty = env.path("empty.pem");
    std::fs::write(&empty, "not a pem file\n").unwrap();
    let cases: Vec<(String, String)> = vec![
        (
            tls_lines(&missing, None, ""),
            format!(
                "outputs[0].tls.ca (line 18): {}: cannot read: No such file or directory",
                missing.display()
            ),
        ),
        (
            tls_lines(&empty, None, ""),
            format!("{}: no certificate in the file", empty.display()),
        ),
        (
            tls_lines(&p.ca.cert_path, Some((&empty, &p.client.key)), ""),
            format!(
                "outputs[0].tls.cert (line 19): {}: no certificate in the file",
                empty.display()
            ),
        ),
        (
            tls_lines(&p.ca.cert_path, Some((&p.client.cert, &empty)), ""),
            format!(
                "{}: no usable private key (expected PEM PKCS#8, PKCS#1 or SEC1)",
                empty.display()
            ),
        ),
        (
            tls_lines(&p.ca.cert_path, Some((&p.client.cert, &p.server.key)), ""),
            format!(
                "{} does not match the certificate {}",
                p.server.key.display(),
                p.client.cert.display()
            ),
        ),
        (
            format!(
                "      ca: {}\n      cert: {}\n",
                p.ca.cert_path.display(),
                p.client.cert.display()
            ),
            "tls.cert is set but tls.key is not".into(),
        ),
        (
            tls_lines(&p.ca.cert_path, None, "      min_version: 1.1\n"),
            "invalid TLS version \"1.1\", expected 1.2 or 1.3".into(),
        ),
    ];
    for (tls, expected) in cases {
        let cfg = config(&env, "127.0.0.1:5044", &tls);
        for cmd in ["check-config", "test-output", "run"] {
            let o = logship(cmd, &cfg);
            assert_eq!(o.code, 2, "{cmd} with {tls}: {}{}", o.stdout, o.stderr);
            assert!(
                o.stderr.contains(&expected),
                "{cmd}: expected {expected:?} in:\n{}",
                o.stderr
            );
        }
    }
}

fn openssl(args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The script in tls/ makes a CA, a Logstash certificate and an agent certificate that work
/// together; the agent's RSA key also works as PKCS#1, and an EC key as SEC1.
#[test]
fn make_certs_script_and_key_formats() {
    let env = Env::new();
    let dir = env.path("certs");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tls/make-certs.sh");
    let o = Command::new("bash")
        .args([script, dir.to_str().unwrap(), "localhost", "127.0.0.1"])
        .output()
        .expect("run make-certs.sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["logstash-beats-input.conf", "logship-tls.yaml"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let server = BeatsServer::start(
        &env.path("received.ndjson"),
        Some(server_tls(
            &dir.join("logstash.crt"),
            &dir.join("logstash.key"),
            Some(&dir.join("ca.crt")),
        )),
    );
    let ca = dir.join("ca.crt");
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(
            &ca,
            Some((&dir.join("beat.crt"), &dir.join("beat.key"))),
            "",
        ),
    );
    ok_everywhere(&env, &cfg, &server);

    // PKCS#1 ("BEGIN RSA PRIVATE KEY").
    let pkcs1 = dir.join("beat-pkcs1.key");
    openssl(&[
        "rsa",
        "-in",
        dir.join("beat.key").to_str().unwrap(),
        "-traditional",
        "-out",
        pkcs1.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&pkcs1)
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY"));
    let cfg = config(
        &env,
        &server.addr,
        &tls_lines(&ca, Some((&dir.join("beat.crt"), &pkcs1)), ""),
    );
    let t = logship("test-output", &cfg);
    assert_eq!(t.code, 0, "PKCS#1: {}{}", t.stdout, t.stderr);

    // SEC1 ("BEGIN EC PRIVATE KEY"): an EC client certificate from the same CA.
    let p = pki(env.dir.path());
    let server2 = mtls(&env, &p);
    let sec1 = env.path("client-sec1.key");
    openssl(&[
        "ec",
        "-in",
        p.client.key.to_str().unwrap(),
        "-out",
        sec1.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&sec1)
        .unwrap()
        .starts_with("-----BEGIN EC PRIVATE KEY"));
    let cfg = config(
        &env,
        &server2.addr,
        &tls_lines(&p.ca.cert_path, Some((&p.client.cert, &sec1)), ""),
    );
    let t = logship("test-output", &cfg);
    assert_eq!(t.code, 0, "SEC1: {}{}", t.stdout, t.stderr);
}

#[test]
fn test_output_reports_unreachable_host_and_sends_nothing() {
    let env = Env::new();
    let port = free_port();
    let log = env.path("app.log");
    append(&log, &line(0));
    let cfg = env.config(
        &format!("  - type: file\n    paths: [{}]", log.display()),
        &format!("outputs:\n  - type: logstash\n    name: ls\n    hosts: [\"127.0.0.1:{port}\"]\n"),
    );
    let t = logship("test-output", &cfg);
    assert_eq!(t.code, 1);
    assert!(
        t.stdout.starts_with(&format!(
            "ls: FAILED: 127.0.0.1:{port}: cannot connect: Connection refused"
        )),
        "{}",
        t.stdout
    );
}
