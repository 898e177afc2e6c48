//! `enrich.kubernetes` end to end: the real agent reads a kubelet-like `/var/log/pods` +
//! `/var/log/containers` tree written here while a Kubernetes API stand-in (common/kube_api.rs:
//! the real list and watch protocol over HTTPS with a bearer token, objects from k8s-openapi)
//! says which pods run on the node; pods appear, change labels and are deleted while their files
//! are read, the API goes down and comes back, its history is compacted (410 Gone), the token
//! rotates.

mod common;
use common::kube_api::{on_docker, owned_by_deployment, pod, KubeApi, PodContainer};
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A container's log file as the kubelet lays it out; returns the file the runtime writes.
fn kubelet_file(root: &Path, ns: &str, pod: &str, uid: &str, container: &str, id: &str) -> PathBuf {
    let dir = root.join(format!("pods/{ns}_{pod}_{uid}/{container}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(root.join("containers")).unwrap();
    let target = dir.join("0.log");
    std::fs::write(&target, "").unwrap();
    let link = root.join(format!("containers/{pod}_{ns}_{container}-{id}.log"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    target
}

fn id(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// Appends CRI lines `<tag> #<i>` for `i` in `range`.
fn write_lines(file: &Path, tag: &str, range: std::ops::Range<u64>) {
    let mut text = String::new();
    for i in range {
        text.push_str(&format!(
            "2026-11-24T10:00:00.{i:09}Z stdout F {tag} #{i}\n"
        ));
    }
    append(file, &text);
}

fn tagged<'a>(recs: &'a [Value], tag: &str) -> Vec<&'a Value> {
    let prefix = format!("{tag} #");
    recs.iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&prefix))
        })
        .collect()
}

fn index(r: &Value) -> u64 {
    r["message"]
        .as_str()
        .and_then(|m| m.rsplit_once('#'))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(u64::MAX)
}

fn config(env: &Env, api: &KubeApi, root: &Path, extra: &str) -> PathBuf {
    env.config(
        &format!(
            "  - type: cri\n    paths: ['{}/containers/*.log']\n    read_from: beginning\n    scan_frequency: 200ms",
            root.display()
        ),
        &format!(
            "enrich:\n  kubernetes:\n    api_server: {}\n    ca_file: {}\n    token_file: {}\n    node_name: node-1\n{extra}",
            api.url,
            api.ca_file.display(),
            api.token_file.display()
        ),
    )
}

/// Appends probe lines to `file` until one arrives that `ok` accepts; returns how many were
/// written (tags `probe-<tag> #i`).
fn probe_until(
    agent: &Agent,
    out: &Path,
    file: &Path,
    tag: &str,
    limit: Duration,
    ok: impl Fn(&Value) -> bool,
) -> u64 {
    let deadline = Instant::now() + limit;
    let tag = format!("probe-{tag}");
    let mut n = 0;
    loop {
        write_lines(file, &tag, n..n + 1);
        n += 1;
        let wait_one = Instant::now() + Duration::from_secs(2);
        while Instant::now() < wait_one {
            let recs = records(out);
            if tagged(&recs, &tag)
                .iter()
                .any(|r| index(r) == n - 1 && ok(r))
            {
                return n;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            Instant::now() < deadline,
            "no `{tag}` record as expected within {limit:?}; agent log:\n{}",
            agent.logs()
        );
    }
}

#[test]
fn pod_labels_follow_the_pod_and_annotations_steer_its_logs() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    let root = env.path("log");
    api.put_namespace("shop", &[("env", "prod"), ("team.io/cost-center", "42")]);
    let web = |version: &str| {
        owned_by_deployment(
            pod(
                "shop",
                "web-7d9f8-abcde",
                "uid-web",
                "node-1",
                &[
                    ("app", "web"),
                    ("version", version),
                    ("app.kubernetes.io/part-of", "shop"),
                ],
                &[("team.example.com/owner", "payments"), ("not-allowed", "x")],
                &[PodContainer {
                    name: "nginx",
                    image: "nginx:1.27",
                    id: &id(1),
                }],
            ),
            "web",
            "7d9f8",
        )
    };
    api.put_pod(&web("1"));
    api.put_pod(&pod(
        "shop",
        "noisy-0",
        "uid-noisy",
        "node-1",
        &[("app", "noisy")],
        &[("logship.io/exclude", "true")],
        &[PodContainer {
            name: "app",
            image: "noisy:1",
            id: &id(2),
        }],
    ));
    api.put_pod(&pod(
        "shop",
        "mixed-0",
        "uid-mixed",
        "node-1",
        &[("app", "mixed")],
        &[("logship.io/exclude-proxy", "true")],
        &[
            PodContainer {
                name: "app",
                image: "mixed:1",
                id: &id(3),
            },
            PodContainer {
                name: "proxy",
                image: "envoy:1",
                id: &id(4),
            },
        ],
    ));
    // On another node: the field selector keeps it out of this agent's view.
    api.put_pod(&pod(
        "shop",
        "far-0",
        "uid-far",
        "node-2",
        &[("app", "far")],
        &[],
        &[PodContainer {
            name: "app",
            image: "far:1",
            id: &id(5),
        }],
    ));
    api.put_pod(&pod(
        "shop",
        "java-0",
        "uid-java",
        "node-1",
        &[("app", "java")],
        &[("logship.io/multiline", "java")],
        &[PodContainer {
            name: "app",
            image: "java:17",
            id: &id(6),
        }],
    ));
    api.put_pod(&pod(
        "shop",
        "json-0",
        "uid-json",
        "node-1",
        &[("app", "json")],
        &[("logship.io/parser", "json")],
        &[PodContainer {
            name: "app",
            image: "json:1",
            id: &id(7),
        }],
    ));

    let web_file = kubelet_file(&root, "shop", "web-7d9f8-abcde", "uid-web", "nginx", &id(1));
    let noisy_file = kubelet_file(&root, "shop", "noisy-0", "uid-noisy", "app", &id(2));
    let mixed_app = kubelet_file(&root, "shop", "mixed-0", "uid-mixed", "app", &id(3));
    let mixed_proxy = kubelet_file(&root, "shop", "mixed-0", "uid-mixed", "proxy", &id(4));
    let far_file = kubelet_file(&root, "shop", "far-0", "uid-far", "app", &id(5));
    let java_file = kubelet_file(&root, "shop", "java-0", "uid-java", "app", &id(6));
    let json_file = kubelet_file(&root, "shop", "json-0", "uid-json", "app", &id(7));
    // Lines already on disk when the agent starts: read once the first list is in.
    write_lines(&web_file, "web", 0..50);
    write_lines(&noisy_file, "noisy", 0..50);
    write_lines(&mixed_app, "mixed-app", 0..20);
    write_lines(&mixed_proxy, "mixed-proxy", 0..20);
    write_lines(&far_file, "far", 0..10);
    append(
        &java_file,
        "2026-11-24T10:00:00.1Z stdout F Exception in thread \"main\" java.lang.IllegalStateException: boom #0\n\
         2026-11-24T10:00:00.2Z stdout F \tat com.example.Main.run(Main.java:12)\n\
         2026-11-24T10:00:00.3Z stdout F \tat com.example.Main.main(Main.java:5)\n\
         2026-11-24T10:00:00.4Z stdout F next record #1\n",
    );
    append(
        &json_file,
        "2026-11-24T10:00:00.1Z stdout F {\"level\":\"warn\",\"user\":\"ada\",\"msg\":\"json #0\"}\n",
    );

    let cfg = config(
        &env,
        &api,
        &root,
        "    annotations: ['team.example.com/*']\n    namespace_labels: true\n    labels:\n      exclude: ['version-ignored']",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(
        Duration::from_secs(30),
        "the records on disk at start",
        || {
            let recs = records(&out);
            tagged(&recs, "web").len() >= 50
                && tagged(&recs, "mixed-app").len() >= 20
                && tagged(&recs, "far").len() >= 10
                && recs.iter().any(|r| r["user"] == "ada")
                && tagged(&recs, "next record").len() == 1
        },
    );
    let recs = records(&out);
    for r in tagged(&recs, "web") {
        let k = &r["kubernetes"];
        assert_eq!(k["labels"]["version"], "1", "{r}");
        assert_eq!(k["labels"]["app_kubernetes_io/part-of"], "shop");
        assert_eq!(k["pod"]["name"], "web-7d9f8-abcde");
        assert_eq!(k["pod"]["uid"], "uid-web");
        assert_eq!(k["pod"]["ip"], "10.1.2.3");
        assert_eq!(k["namespace"], "shop");
        assert_eq!(k["node"]["name"], "node-1");
        assert_eq!(k["deployment"]["name"], "web");
        assert_eq!(k["container"]["name"], "nginx");
        assert_eq!(k["container"]["image"], "nginx:1.27");
        assert_eq!(k["annotations"]["team_example_com/owner"], "payments");
        assert!(k["annotations"].get("not-allowed").is_none());
        assert_eq!(k["namespace_labels"]["env"], "prod");
        assert_eq!(k["namespace_labels"]["team_io/cost-center"], "42");
        assert_eq!(r["container"]["id"], id(1).as_str());
    }
    // Excluded: the whole noisy pod, and only the proxy container of the mixed one.
    assert!(tagged(&recs, "noisy").is_empty());
    assert!(tagged(&recs, "mixed-proxy").is_empty());
    assert_eq!(tagged(&recs, "mixed-app").len(), 20);
    // Not this node's pod: the path's fields only.
    for r in tagged(&recs, "far") {
        assert!(r["kubernetes"].get("labels").is_none(), "{r}");
        assert_eq!(r["kubernetes"]["pod"]["name"], "far-0");
    }
    let requests = api.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("fieldSelector=spec.nodeName%3Dnode-1")),
        "{requests:?}"
    );
    // Multiline java: the stack trace is one record, the next line another.
    let trace: Vec<&Value> = tagged(
        &recs,
        "Exception in thread \"main\" java.lang.IllegalStateException: boom",
    );
    assert_eq!(trace.len(), 1, "{recs:?}");
    let msg = trace[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("\tat com.example.Main.run") && msg.contains("Main.java:5"),
        "{msg}"
    );
    // parser: json: the keys at the record's root.
    let json_rec = recs.iter().find(|r| r["user"] == "ada").unwrap();
    assert_eq!(json_rec["level"], "warn");
    assert_eq!(json_rec["kubernetes"]["labels"]["app"], "json");
    // The excluded files are still checkpointed to their end.
    let size = std::fs::metadata(&noisy_file).unwrap().len();
    let link = root.join(format!("containers/noisy-0_shop_app-{}.log", id(2)));
    wait_for(
        Duration::from_secs(10),
        "the excluded file checkpointed",
        || {
            checkpoint_offset(&env.data_dir(), &link)
                .or_else(|| checkpoint_offset(&env.data_dir(), &noisy_file))
                == Some(size)
        },
    );

    // The labels change while the file is read: records read after the change carry the new
    // ones, those before it the old ones.
    api.put_pod(&web("2"));
    probe_until(
        &agent,
        &out,
        &web_file,
        "web",
        Duration::from_secs(20),
        |r| r["kubernetes"]["labels"]["version"] == "2",
    );
    write_lines(&web_file, "web-after", 0..50);
    wait_for(Duration::from_secs(20), "records after the change", || {
        tagged(&records(&out), "web-after").len() >= 50
    });
    let recs = records(&out);
    assert!(tagged(&recs, "web-after")
        .iter()
        .all(|r| r["kubernetes"]["labels"]["version"] == "2"));
    assert!(tagged(&recs, "web")
        .iter()
        .all(|r| r["kubernetes"]["labels"]["version"] == "1"));

    // A pod deleted before its last lines were read: they still get its metadata.
    api.delete_pod("shop", "mixed-0");
    write_lines(&mixed_app, "mixed-late", 0..10);
    // A new pod, seen by the watch, then its files.
    api.put_pod(&pod(
        "shop",
        "late-0",
        "uid-late",
        "node-1",
        &[("app", "late")],
        &[],
        &[PodContainer {
            name: "app",
            image: "late:1",
            id: &id(8),
        }],
    ));
    let late_file = kubelet_file(&root, "shop", "late-0", "uid-late", "app", &id(8));
    probe_until(
        &agent,
        &out,
        &late_file,
        "late",
        Duration::from_secs(20),
        |r| r["kubernetes"]["labels"]["app"] == "late",
    );
    wait_for(
        Duration::from_secs(20),
        "the deleted pod's last lines",
        || tagged(&records(&out), "mixed-late").len() >= 10,
    );
    let recs = records(&out);
    for r in tagged(&recs, "mixed-late") {
        assert_eq!(r["kubernetes"]["labels"]["app"], "mixed", "{r}");
    }
    // Each line once (this agent ran without a restart).
    let recs = records(&out);
    let mut seen = std::collections::HashSet::new();
    for r in &recs {
        let m = r["message"].as_str().unwrap_or("");
        assert!(seen.insert(m.to_string()), "shipped twice: {m}");
    }
    assert_eq!(agent.term(Duration::from_secs(15)), 0, "{}", agent.logs());
}

/// Kubernetes on Docker: the `docker` input's files name only the container; the pod is the one
/// whose status lists that container id.
#[test]
fn docker_files_of_a_pod_get_its_metadata_by_container_id() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    let cid = id(9);
    api.put_pod(&on_docker(pod(
        "shop",
        "cart-0",
        "uid-cart",
        "node-1",
        &[("app", "cart")],
        &[("logship.io/parser", "json")],
        &[PodContainer {
            name: "cart",
            image: "cart:3",
            id: &cid,
        }],
    )));
    let dir = env.path(&format!("containers/{cid}"));
    std::fs::create_dir_all(&dir).unwrap();
    // Another container, not a pod's: unchanged.
    let other = id(10);
    let other_dir = env.path(&format!("containers/{other}"));
    std::fs::create_dir_all(&other_dir).unwrap();
    let line = |msg: &str| {
        format!(
            "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}}\n",
            serde_json::to_string(&format!("{msg}\n")).unwrap()
        )
    };
    append(
        &dir.join(format!("{cid}-json.log")),
        &line(r#"{"order":17,"msg":"cart #0"}"#),
    );
    append(
        &other_dir.join(format!("{other}-json.log")),
        &line("plain #0"),
    );
    // Out of the cluster: a kubeconfig (its current context; the user's token from a file).
    let kubeconfig = env.path("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: agent\n  user:\n    tokenFile: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: agent\n",
            api.url,
            api.ca_file.display(),
            api.token_file.display()
        ),
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: docker\n    containers_path: {}\n    read_from: beginning",
            env.path("containers").display()
        ),
        &format!(
            "enrich:\n  kubernetes:\n    kubeconfig: {}\n    node_name: node-1\n",
            kubeconfig.display()
        ),
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "both records", || {
        records(&out).len() >= 2
    });
    let recs = records(&out);
    let cart = recs
        .iter()
        .find(|r| r["order"] == 17)
        .expect("the cart record, JSON decoded");
    assert_eq!(cart["kubernetes"]["pod"]["name"], "cart-0");
    assert_eq!(cart["kubernetes"]["labels"]["app"], "cart");
    assert_eq!(cart["kubernetes"]["container"]["name"], "cart");
    assert_eq!(cart["kubernetes"]["container"]["image"], "cart:3");
    assert_eq!(cart["container"]["id"], cid.as_str());
    let plain = recs
        .iter()
        .find(|r| r["message"] == "plain #0")
        .expect("the other record");
    assert!(plain.get("kubernetes").is_none(), "{plain}");
    assert_eq!(agent.term(Duration::from_secs(15)), 0, "{}", agent.logs());
}

/// Pod `prod/app-0` on node-1 with label `version`, its container `app` with id `id(1)`.
fn app_pod(version: &str) -> k8s_openapi::api::core::v1::Pod {
    pod(
        "prod",
        "app-0",
        "uid-app",
        "node-1",
        &[("version", version)],
        &[],
        &[PodContainer {
            name: "app",
            image: "app:1",
            id: &id(1),
        }],
    )
}

#[test]
fn api_down_then_back_with_its_history_compacted_relists() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    let root = env.path("log");
    api.put_pod(&app_pod("1"));
    api.put_pod(&pod(
        "prod",
        "gone-0",
        "uid-gone",
        "node-1",
        &[("version", "g")],
        &[],
        &[PodContainer {
            name: "app",
            image: "g:1",
            id: &id(2),
        }],
    ));
    let file = kubelet_file(&root, "prod", "app-0", "uid-app", "app", &id(1));
    write_lines(&file, "early", 0..10);
    // Slow at first: the agent starts reading after `sync_timeout`, without metadata.
    api.set_slow(true);
    let cfg = config(
        &env,
        &api,
        &root,
        "    delete_grace: 2s\n    sync_timeout: 1s",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(
        Duration::from_secs(20),
        "the lines read while the API is slow",
        || tagged(&records(&out), "early").len() >= 10,
    );
    assert!(tagged(&records(&out), "early")
        .iter()
        .all(|r| r["kubernetes"].get("labels").is_none()));
    assert!(agent
        .logs()
        .contains("no list of pods from the Kubernetes API yet"));
    api.set_slow(false);
    probe_until(&agent, &out, &file, "up", Duration::from_secs(20), |r| {
        r["kubernetes"]["labels"]["version"] == "1"
    });

    api.set_down(true);
    wait_for(Duration::from_secs(30), "the outage warning", || {
        agent.logs().contains("Kubernetes API unreachable")
    });
    // While it is down: the last known metadata.
    write_lines(&file, "down", 0..20);
    wait_for(Duration::from_secs(20), "records while down", || {
        tagged(&records(&out), "down").len() >= 20
    });
    assert!(tagged(&records(&out), "down")
        .iter()
        .all(|r| r["kubernetes"]["labels"]["version"] == "1"));
    // Meanwhile the pod changes, another is deleted, and the history the agent would resume
    // from is compacted: its next watch gets 410 Gone and it lists again.
    api.put_pod(&app_pod("2"));
    api.delete_pod("prod", "gone-0");
    api.compact();
    let before = api.requests().len();
    api.set_down(false);
    probe_until(&agent, &out, &file, "back", Duration::from_secs(60), |r| {
        r["kubernetes"]["labels"]["version"] == "2"
    });
    let after: Vec<String> = api.requests().split_off(before);
    let gone = after
        .iter()
        .position(|r| r.starts_with("410 "))
        .unwrap_or_else(|| panic!("no watch from a compacted version: {after:?}"));
    assert!(
        after[gone..]
            .iter()
            .any(|r| r.starts_with("GET") && !r.contains("watch=")),
        "no relist after 410 Gone: {after:?}"
    );
    let logs = agent.logs();
    assert_eq!(
        logs.matches("Kubernetes API unreachable").count(),
        1,
        "one warning per outage:\n{logs}"
    );
    assert!(logs.contains("Kubernetes API reachable again"), "{logs}");
    // The pod deleted while the agent was away: its lines still get its metadata for the
    // grace, and its file read after that gets only the path's fields.
    let gone_file = kubelet_file(&root, "prod", "gone-0", "uid-gone", "app", &id(2));
    probe_until(
        &agent,
        &out,
        &gone_file,
        "gone",
        Duration::from_secs(30),
        |r| r["kubernetes"].get("labels").is_none() && r["kubernetes"]["pod"]["name"] == "gone-0",
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0, "{}", agent.logs());
}

#[test]
fn a_rotated_token_is_picked_up() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    let root = env.path("log");
    api.put_pod(&app_pod("1"));
    let file = kubelet_file(&root, "prod", "app-0", "uid-app", "app", &id(1));
    // In-cluster: the API server from KUBERNETES_SERVICE_HOST/PORT (the token and CA paths are
    // the test's), and only the `prod` namespace watched.
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: ['{}/containers/*.log']\n    read_from: beginning\n    scan_frequency: 200ms",
            root.display()
        ),
        &format!(
            "enrich:\n  kubernetes:\n    ca_file: {}\n    token_file: {}\n    namespaces: [prod]\n",
            api.ca_file.display(),
            api.token_file.display()
        ),
    );
    let port = api.url.rsplit(':').next().unwrap().to_string();
    let out = env.out();
    let mut agent = env.start_with(
        &cfg,
        &[
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", &port),
            ("NODE_NAME", "node-1"),
        ],
    );
    probe_until(&agent, &out, &file, "t1", Duration::from_secs(20), |r| {
        r["kubernetes"]["labels"]["version"] == "1"
    });
    // The kubelet rotates the projected token; the old one is refused from now on.
    std::fs::write(&api.token_file, "token-2").unwrap();
    api.accept_tokens(&["token-2"]);
    api.put_pod(&app_pod("2"));
    // kube-rs re-reads the token file once its copy is a minute old.
    probe_until(&agent, &out, &file, "t2", Duration::from_secs(150), |r| {
        r["kubernetes"]["labels"]["version"] == "2"
    });
    let requests = api.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("GET /api/v1/namespaces/prod/pods?")),
        "only the prod namespace's pods: {requests:?}"
    );
    let refused = requests.iter().filter(|r| r.ends_with(" 401")).count();
    assert!(
        refused > 0,
        "the old token was never refused: the test did not rotate anything"
    );
    let logs = agent.logs();
    assert!(
        !logs.contains("token-1") && !logs.contains("token-2"),
        "a token in the log:\n{logs}"
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0, "{logs}");
}
