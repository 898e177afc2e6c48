//! The `cri` input on a `/var/log/containers` + `/var/log/pods` tree laid out as kubelet does:
//! Kubernetes fields from the link name and target, `P` pieces joined per stream.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn cri_files_give_kubernetes_fields_and_joined_partials() {
    let env = Env::new();
    let root = env.dir.path();
    let id = "c0ffee".repeat(10) + "abcd";
    let pod_dir = root.join("pods/shop_web-7d9f_0b1e2c3d-1111-2222-3333-444455556666/nginx");
    std::fs::create_dir_all(&pod_dir).unwrap();
    std::fs::create_dir_all(root.join("containers")).unwrap();
    let target = pod_dir.join("0.log");
    let link = root.join(format!("containers/web-7d9f_shop_nginx-{id}.log"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::write(
        &target,
        "2026-11-24T10:00:00.000000001Z stdout F GET / #0\n\
         2026-11-24T10:00:01.5Z stdout P first half \n\
         2026-11-24T10:00:01.6Z stderr F an error #2\n\
         2026-11-24T10:00:01.7Z stdout F second half #1\n\
         garbage line #3\n",
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: ['{}/containers/*.log']\n    read_from: beginning",
            root.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 4, Duration::from_secs(20));
    let recs = records(&out);
    assert_eq!(recs.len(), 4);
    let by = |n: u64| recs.iter().find(|r| number(r) == Some(n)).unwrap().clone();
    let first = by(0);
    assert_eq!(first["@timestamp"], "2026-11-24T10:00:00.000000001Z");
    assert_eq!(first["kubernetes"]["pod"]["name"], "web-7d9f");
    assert_eq!(
        first["kubernetes"]["pod"]["uid"],
        "0b1e2c3d-1111-2222-3333-444455556666"
    );
    assert_eq!(first["kubernetes"]["namespace"], "shop");
    assert_eq!(first["kubernetes"]["container"]["name"], "nginx");
    assert_eq!(first["container"]["id"], id.as_str());
    assert_eq!(first["input"]["type"], "cri");
    // The P piece joined with the next stdout F line, across an interleaved stderr line.
    let joined = by(1);
    assert_eq!(joined["message"], "first half second half #1");
    assert_eq!(joined["stream"], "stdout");
    assert_eq!(by(2)["stream"], "stderr");
    assert!(by(3)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a CRI log line"));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
