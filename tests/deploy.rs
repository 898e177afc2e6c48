//! The homes logship is deployed in, tested for real (issue 17):
//! - the container image (`Dockerfile`): built with the classic builder from a Debian base this
//!   machine makes itself (`scripts/base-image.sh`: debootstrap + docker import) and the binary
//!   the suite built; run against the real daemon with the Docker socket and the containers
//!   directory mounted, it reads another container's logs with its metadata, and its
//!   HEALTHCHECK (`/live`) turns the container healthy;
//! - the Debian package (cargo-deb) installed with dpkg into that Debian root: the `logship`
//!   user in group adm, `/var/lib/logship` 0700, `check-config` passing on the installed default
//!   config; the unit checked by `systemd-analyze verify` and its `security` exposure reported;
//! - the docker-compose ELK stack (`deploy/compose/`): the real file checked by
//!   `docker-compose config`, then run with an override (`tests/compose/`) that swaps the images
//!   this machine cannot pull for stand-ins (the logship image, osmem-server's bulk API in an
//!   image FROM scratch for Elasticsearch, a busybox app): the app's lines arrive with its
//!   container name and labels;
//! - the Kubernetes manifests validated against the Kubernetes schema (kubernetes-validate).
//!
//! Each skips loudly when the machine lacks what it needs (a Docker daemon, cargo-deb,
//! kubernetes-validate: scripts/test.sh installs the last two).

mod common;

use common::docker::{docker_available, Container};
use common::{wait_for, Env};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command; (success, stdout + stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("{cmd:?}: {e}")),
    }
}

/// The Debian base image (made once per test binary).
fn base_image() -> String {
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let (ok, out) = run(Command::new("bash").arg(repo().join("scripts/base-image.sh")));
            assert!(ok, "base-image.sh: {out}");
            out.lines().last().unwrap_or_default().trim().to_string()
        })
        .clone()
}

fn skip(why: &str) {
    eprintln!("\n*** SKIPPING: {why} ***\n");
}

#[test]
fn container_image_ships_another_containers_logs_with_metadata() {
    if !docker_available() {
        return;
    }
    let tag = logship_image();
    // What the image says about itself.
    let (ok, inspect) = run(Command::new("docker").args(["image", "inspect", &tag]));
    assert!(ok, "{inspect}");
    let inspect: Value = serde_json::from_str(&inspect).unwrap();
    let cfg = &inspect[0]["Config"];
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["logship"]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["run"]));
    assert!(cfg["Volumes"]["/var/lib/logship"].is_object(), "{cfg}");
    assert!(cfg["Healthcheck"]["Test"].to_string().contains("/live"));
    assert_eq!(cfg["Labels"]["org.opencontainers.image.title"], "logship");
    // The default config in the image is valid.
    let (ok, out) = run(Command::new("docker").args(["run", "--rm", &tag, "check-config"]));
    assert!(ok, "check-config of the image's default config: {out}");

    // An application container that logs, with a label.
    let app = Container::run(
        &["-l", "com.example.team=payments"],
        "i=0; while [ $i -lt 50 ]; do i=$((i+1)); echo \"image line $i\"; done; sleep 3600",
    );
    // logship in its image, reading every container's logs into a file we read back.
    let env = Env::new();
    let out_dir = env.path("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let config = env.path("logship.yaml");
    std::fs::write(
        &config,
        "data_dir: /var/lib/logship\nhttp:\n  listen: 0.0.0.0:5066\ninputs:\n  - type: docker\n    containers_path: /var/lib/docker/containers\n    read_from: beginning\nenrich:\n  docker:\n    socket: unix:///var/run/docker.sock\noutputs:\n  - type: file\n    path: /out/records.ndjson\n",
    )
    .unwrap();
    let name = format!("logship-image-test-{}", std::process::id());
    let (ok, out) = run(Command::new("docker")
        .args(["run", "-d", "--name", &name])
        .args([
            "-v",
            "/var/lib/docker/containers:/var/lib/docker/containers:ro",
        ])
        .args(["-v", "/var/run/docker.sock:/var/run/docker.sock:ro"])
        .args([
            "-v",
            &format!("{}:/etc/logship/logship.yaml:ro", config.display()),
        ])
        .args(["-v", &format!("{}:/out", out_dir.display())])
        .args(["--health-interval", "1s", "--health-start-period", "1s"])
        .arg(&tag));
    assert!(ok, "docker run logship: {out}");
    let agent = Container {
        id: out.trim().to_string(),
    };
    let records = out_dir.join("records.ndjson");
    let mine = || -> Vec<Value> {
        common::records(&records)
            .into_iter()
            .filter(|r| r["container"]["id"].as_str() == Some(app.id.as_str()))
            .collect()
    };
    wait_for(
        Duration::from_secs(60),
        "the app container's 50 lines",
        || mine().len() >= 50,
    );
    let got = mine();
    assert_eq!(got.len(), 50, "each line once");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["message"], format!("image line {}", i + 1));
        assert!(r["container"]["name"].is_string(), "{r}");
        assert_eq!(
            r["container"]["labels"]["com_example_team"], "payments",
            "{r}"
        );
        assert_eq!(r["stream"], "stdout");
    }
    wait_for(Duration::from_secs(30), "the HEALTHCHECK to pass", || {
        let (_, s) = run(Command::new("docker").args([
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &agent.id,
        ]));
        s.trim() == "healthy"
    });
}

/// Builds `ctx` as `tag` with the classic builder (what this machine has; BuildKit-only syntax
/// would fail here), with `--build-arg` for each of `args`.
fn docker_build(tag: &str, ctx: &Path, args: &[&str]) {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag]);
    for a in args {
        cmd.args(["--build-arg", a]);
    }
    let (ok, out) = run(cmd.arg(ctx));
    assert!(ok, "docker build {tag}: {out}");
}

/// The logship image, built once per test binary by the repository's Dockerfile with the
/// classic builder, from the Debian base (as builder and runtime) and the suite's binary.
fn logship_image() -> String {
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let base = base_image();
            // The build context: the Dockerfile, the default config it installs, the binary.
            let ctx = tempfile::tempdir().unwrap();
            std::fs::copy(repo().join("Dockerfile"), ctx.path().join("Dockerfile")).unwrap();
            std::fs::create_dir_all(ctx.path().join("deploy/docker")).unwrap();
            std::fs::copy(
                repo().join("deploy/docker/logship.yaml"),
                ctx.path().join("deploy/docker/logship.yaml"),
            )
            .unwrap();
            std::fs::create_dir_all(ctx.path().join("dist")).unwrap();
            std::fs::copy(common::bin(), ctx.path().join("dist/logship")).unwrap();
            let tag = "logship-test/logship:suite";
            docker_build(
                tag,
                ctx.path(),
                &[
                    &format!("BUILDER={base}"),
                    &format!("BASE={base}"),
                    "BINARY=dist/logship",
                ],
            );
            tag.to_string()
        })
        .clone()
}

/// `docker-compose down` of a test project when the test ends.
struct Project {
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl Project {
    fn cmd(&self) -> Command {
        let mut c = Command::new("docker-compose");
        c.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        c
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["down", "-v", "--remove-orphans", "-t", "5"])
            .output();
    }
}

#[test]
fn compose_stack_ships_container_logs_with_metadata() {
    let compose_file = repo().join("deploy/compose/docker-compose.yml");
    if !run(Command::new("docker-compose").arg("version")).0 {
        return skip("docker-compose is not installed: the compose stack was not tested");
    }
    // The real file, as users run it, is valid.
    let (ok, out) = run(Command::new("docker-compose")
        .arg("-f")
        .arg(&compose_file)
        .args(["config", "-q"]));
    assert!(ok, "docker-compose config: {out}");
    if !docker_available() {
        return;
    }
    let (ok, osmem) = run(Command::new("python3").args([
        "-c",
        "import osmem_server; print(osmem_server.resolve_binary())",
    ]));
    if !ok {
        return skip("osmem-server is not installed (scripts/test.sh installs it): the compose stack was not tested");
    }
    // The bulk API stand-in for Elasticsearch: its static binary in an image FROM scratch.
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(osmem.trim(), ctx.path().join("osmem-server")).unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY osmem-server /osmem-server\nENTRYPOINT [\"/osmem-server\"]\n",
    )
    .unwrap();
    let osmem_image = "logship-test/osmem:suite";
    docker_build(osmem_image, ctx.path(), &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("tests/compose/logship.yaml"),
        dir.path().join("logship.yaml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("certs")).unwrap();
    let name = format!("logshipcompose{}", std::process::id());
    let project = Project {
        args: vec![
            "-p".into(),
            name.clone(),
            "-f".into(),
            compose_file.display().to_string(),
            "-f".into(),
            repo()
                .join("tests/compose/override.yml")
                .display()
                .to_string(),
        ],
        envs: vec![
            ("LOGSHIP_IMAGE".into(), logship_image()),
            ("OSMEM_IMAGE".into(), osmem_image.into()),
            ("APP_IMAGE".into(), common::docker::image()),
            ("LOGSHIP_TEST_DIR".into(), dir.path().display().to_string()),
        ],
    };
    let (ok, out) = run(project.cmd().args([
        "up",
        "-d",
        "--no-deps",
        "--no-build",
        "elasticsearch",
        "logship",
        "app",
    ]));
    assert!(ok, "docker-compose up: {out}");
    let app_name = format!("{name}_app_1");
    let mine = || -> Vec<Value> {
        let (_, body) = common::http_get("127.0.0.1:9200", "/compose-test/_search?size=10000")
            .unwrap_or_default();
        let r: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let mut docs: Vec<Value> = r["hits"]["hits"]
            .as_array()
            .map(|h| h.iter().map(|h| h["_source"].clone()).collect())
            .unwrap_or_default();
        docs.retain(|d| d["container"]["name"].as_str() == Some(app_name.as_str()));
        docs.sort_by_key(|d| d["log"]["offset"].as_u64());
        docs
    };
    wait_for(
        Duration::from_secs(90),
        "the app container's 40 lines in the bulk API stand-in",
        || mine().len() >= 40,
    );
    let docs = mine();
    assert_eq!(docs.len(), 40, "each line once");
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(d["message"], format!("compose line {}", i + 1), "{d}");
        assert_eq!(
            d["container"]["labels"]["com_example_team"], "payments",
            "{d}"
        );
        assert_eq!(
            d["container"]["labels"]["com_docker_compose_service"], "app",
            "{d}"
        );
    }
    drop(project);
}

#[test]
fn debian_package_installs_into_a_debian_root_and_its_unit_verifies() {
    if !docker_available() {
        return;
    }
    if !run(Command::new("cargo").args(["deb", "--version"])).0 {
        return skip("cargo-deb is not installed (scripts/test.sh installs it): the package test did not run");
    }
    // The package holds target/release/logship: only a release build packs what was tested.
    let release = repo().join("target/release/logship");
    if Path::new(&common::bin()).canonicalize().ok() != release.canonicalize().ok() {
        return skip("not a release build (cargo test --release): the package test did not run");
    }
    let pkg = tempfile::tempdir().unwrap();
    let deb = pkg.path().join("logship.deb");
    let (ok, out) = run(Command::new("cargo")
        .current_dir(repo())
        .args(["deb", "--no-build", "--strip", "-o"])
        .arg(&deb));
    assert!(ok, "cargo deb: {out}");
    let (ok, listing) = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    assert!(ok, "{listing}");
    for path in [
        "./usr/bin/logship",
        "./etc/logship/logship.yaml",
        "./usr/lib/systemd/system/logship.service",
        "./usr/share/doc/logship/README.md",
    ] {
        assert!(
            listing.contains(path),
            "{path} not in the package:\n{listing}"
        );
    }
    // Installed with dpkg into the debootstrapped Debian root, maintainer scripts and all.
    let name = format!("logship-deb-test-{}", std::process::id());
    let script =
        "set -e; dpkg -i /pkg/logship.deb; id -nG logship; stat -c '%a %U' /var/lib/logship; \
                  logship check-config -c /etc/logship/logship.yaml; dpkg -s logship | grep Status";
    let (ok, out) = run(Command::new("docker")
        .args(["run", "--name", &name])
        .args(["-v", &format!("{}:/pkg:ro", pkg.path().display())])
        .arg(base_image())
        .args(["sh", "-c", script]));
    let _installed = Container { id: name.clone() };
    assert!(ok, "install: {out}");
    assert!(
        out.contains("logship adm"),
        "user logship in group adm: {out}"
    );
    assert!(
        out.contains("700 logship"),
        "data dir 0700 owned by logship: {out}"
    );
    assert!(out.contains("is valid"), "{out}");
    assert!(out.contains("install ok installed"), "{out}");
    // The unit as installed: verified, and its exposure scored.
    let root = tempfile::tempdir().unwrap();
    let export = Command::new("docker")
        .args(["export", &name])
        .output()
        .unwrap();
    assert!(export.status.success());
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .arg("-x")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    tar.stdin.take().unwrap().write_all(&export.stdout).unwrap();
    assert!(tar.wait().unwrap().success());
    let unit_path = root.path().join("usr/lib/systemd/system/logship.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    // `verify` checks that ExecStart's binary exists on this machine: the installed one.
    let installed = root.path().join("usr/bin/logship");
    let here = pkg.path().join("logship.service");
    std::fs::write(
        &here,
        unit.replace("/usr/bin/logship", &installed.display().to_string()),
    )
    .unwrap();
    if run(Command::new("systemd-analyze").arg("--version")).0 {
        let (ok, out) = run(Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&here));
        assert!(ok && out.trim().is_empty(), "systemd-analyze verify: {out}");
        let (ok, out) = run(Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(format!("--root={}", root.path().display()))
            .arg("logship.service"));
        let score = out
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_default()
            .to_string();
        eprintln!("systemd-analyze security: {}", score.trim());
        assert!(ok || !score.is_empty(), "systemd-analyze security: {out}");
        // "1.7 OK" on 2026-12-03: anything above "MEDIUM" means hardening was lost.
        let level: f64 = score
            .split(':')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0);
        assert!(level <= 3.0, "exposure {level}: {out}");
    } else {
        skip("systemd-analyze is not installed: the unit was not verified");
    }
}

#[test]
fn kubernetes_manifests_validate_against_the_schema() {
    let (ok, _) = run(Command::new("kubernetes-validate").arg("--version"));
    if !ok {
        return skip("kubernetes-validate is not installed (scripts/test.sh installs it): the manifests were not validated");
    }
    let manifest = repo().join("deploy/daemonset.yaml");
    let (ok, out) = run(Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(&manifest));
    assert!(ok, "kubernetes-validate: {out}");
    // A manifest that is wrong fails (the validator is not a no-op).
    let bad = tempfile::NamedTempFile::new().unwrap();
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("containerPort: 5066", "containerPort: \"http\"");
    std::fs::write(bad.path(), text).unwrap();
    let (ok, out) = run(Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(bad.path()));
    assert!(!ok, "a port given as a string must fail: {out}");
    // Liveness is /live, readiness /health (an output that is down must not restart the pod).
    let m = std::fs::read_to_string(&manifest).unwrap();
    // enrich.kubernetes runs under a ServiceAccount allowed to read pods and namespaces, and
    // knows its node.
    assert!(m.contains("serviceAccountName: logship"), "{m}");
    assert!(
        m.contains("resources: [pods, namespaces]\n    verbs: [get, list, watch]"),
        "{m}"
    );
    assert!(m.contains("fieldRef: { fieldPath: spec.nodeName }"), "{m}");
    // The agent's own configuration in the ConfigMap is valid.
    let config: String = m
        .split("logship.yaml: |\n")
        .nth(1)
        .and_then(|rest| rest.split("\n---").next())
        .expect("the ConfigMap's logship.yaml")
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(config.contains("kubernetes:"), "{config}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), config).unwrap();
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_logship"))
        .args(["check-config", "-c"])
        .arg(file.path())
        .env("NODE_NAME", "node-1"));
    assert!(ok, "the DaemonSet's logship.yaml: {out}");
    assert!(
        m.contains("livenessProbe:\n            httpGet: { path: /live"),
        "{m}"
    );
    assert!(
        m.contains("readinessProbe:\n            httpGet: { path: /health"),
        "{m}"
    );
}
