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

/// A runtime cuts a long line at a byte count (containerd at 16 KiB), so a `P` piece can end
/// inside a character that the next piece of the stream finishes, with the other stream's
/// lines between them. Every character of 2, 3 and 4 bytes cut at every place inside it comes
/// out whole, not as two U+FFFD flagged `invalid_utf8` (as it did); bytes that are not UTF-8
/// in an earlier piece still flag the joined record.
#[test]
fn a_character_cut_between_two_pieces_comes_out_whole() {
    let env = Env::new();
    let (target, link) = kubelet_tree(env.dir.path());
    let mut file = Vec::new();
    let mut want = Vec::new();
    let mut n = 0u64;
    for ch in ["é", "€", "😀"] {
        for cut in 1..ch.len() {
            let text = format!("#{n} Zoë {ch} done");
            let bytes = text.as_bytes();
            let at = text.find(ch).unwrap() + cut;
            file.extend_from_slice(b"2026-11-24T10:00:00.1Z stdout P ");
            file.extend_from_slice(&bytes[..at]);
            file.extend_from_slice(format!("\n2026-11-24T10:00:00.2Z stderr F e{n}\n").as_bytes());
            file.extend_from_slice(b"2026-11-24T10:00:00.3Z stdout F ");
            file.extend_from_slice(&bytes[at..]);
            file.push(b'\n');
            want.push(text);
            n += 1;
        }
    }
    file.extend_from_slice(b"2026-11-24T10:00:00.4Z stdout P bad \xff byte \n");
    file.extend_from_slice(b"2026-11-24T10:00:00.5Z stdout F then fine\n");
    std::fs::write(&target, &file).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: ['{}']\n    read_from: beginning",
            link.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    let total = 2 * want.len() + 1;
    wait_for(Duration::from_secs(20), "every record", || {
        records(&out).len() >= total
    });
    let recs = records(&out);
    let stdout: Vec<&serde_json::Value> = recs.iter().filter(|r| r["stream"] == "stdout").collect();
    for (r, text) in stdout.iter().zip(&want) {
        assert_eq!(r["message"], text.as_str(), "{r}");
        assert!(r["log"]["flags"].is_null(), "{r}");
    }
    let last = stdout.last().unwrap();
    assert_eq!(last["message"], "bad \u{FFFD} byte then fine");
    assert_eq!(last["log"]["flags"], serde_json::json!(["invalid_utf8"]));
    assert_eq!(recs.len(), total);
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

/// A kubelet-like tree: `/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log` and its link in
/// `/var/log/containers`. Returns (target, link).
fn kubelet_tree(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let id = "feed".repeat(16);
    let pod_dir = root.join("pods/shop_api-5c6d_9a8b7c6d-0000-1111-2222-333344445555/api");
    std::fs::create_dir_all(&pod_dir).unwrap();
    std::fs::create_dir_all(root.join("containers")).unwrap();
    let target = pod_dir.join("0.log");
    std::fs::write(&target, "").unwrap();
    let link = root.join(format!("containers/api-5c6d_shop_api-{id}.log"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    (target, link)
}

fn cri_line(n: u64) -> String {
    format!("2026-11-24T10:00:00.{n:09}Z stdout F request #{n} handled\n")
}

/// Rotates as the kubelet does: `0.log` → `0.log.<stamp>`, a new `0.log` (the runtime reopens),
/// and the rotated file before that one compressed (`.gz`, the uncompressed one deleted).
fn kubelet_rotate(target: &std::path::Path, stamp: u32, compress_previous: Option<u32>) {
    let rotated = |s: u32| target.with_file_name(format!("0.log.20261202-10{s:04}"));
    std::fs::rename(target, rotated(stamp)).unwrap();
    std::fs::write(target, "").unwrap();
    if let Some(prev) = compress_previous {
        let p = rotated(prev);
        let content = std::fs::read(&p).unwrap();
        let gz = std::fs::File::create(
            p.with_file_name(format!("{}.gz", p.file_name().unwrap().to_string_lossy())),
        )
        .unwrap();
        let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &content).unwrap();
        enc.finish().unwrap();
        std::fs::remove_file(p).unwrap();
    }
}

fn assert_every_record_is_whole_with_pod_fields(out: &std::path::Path, n: u64) {
    let recs = records(out);
    for r in &recs {
        assert!(
            r["error"].is_null(),
            "a record not parsed (a .gz read?): {r}"
        );
        assert_eq!(r["kubernetes"]["pod"]["name"], "api-5c6d", "{r}");
        assert_eq!(r["kubernetes"]["namespace"], "shop", "{r}");
    }
    assert_eq!(recs.len() as u64, n, "records: every line once");
}

#[test]
fn kubelet_rotation_is_followed_through_the_link_target() {
    let env = Env::new();
    let root = env.dir.path();
    let (target, _link) = kubelet_tree(root);
    // Scans every 60 s: new generations must be found through the target directory's events.
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: ['{}/containers/*.log']\n    read_from: beginning\n    scan_frequency: 60s\n    rotate_wait: 300ms",
            root.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "agent to open the link", || {
        agent.logs().contains("reading file")
    });
    const N: u64 = 20_000;
    const EVERY: u64 = 2_000;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&target)
        .unwrap();
    for n in 0..N {
        std::io::Write::write_all(&mut f, cri_line(n).as_bytes()).unwrap();
        if n % EVERY == EVERY - 1 {
            let stamp = (n / EVERY) as u32;
            // The kubelet deletes a generation (compressing it) only two rotations after it was
            // written, minutes later; here that is milliseconds, and a generation created and
            // deleted before the agent could open it is gone for any reader. So the previous one
            // is deleted only once the agent has opened it (generations 0..=stamp-1: `stamp`
            // opens). The rotation itself still races the reads.
            if let Some(prev) = stamp.checked_sub(1) {
                wait_for(
                    Duration::from_secs(20),
                    "agent to open the previous generation",
                    || agent.logs().matches("reading file").count() > prev as usize,
                );
            }
            kubelet_rotate(&target, stamp, stamp.checked_sub(1));
            f = std::fs::OpenOptions::new()
                .append(true)
                .open(&target)
                .unwrap();
        }
    }
    wait_all_arrived(&agent, &out, N, Duration::from_secs(60));
    assert_no_duplicates(&agent, &out);
    assert_every_record_is_whole_with_pod_fields(&out, N);
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

#[test]
fn kubelet_rotations_while_the_agent_was_stopped_are_recovered() {
    let env = Env::new();
    let root = env.dir.path();
    let (target, _link) = kubelet_tree(root);
    // Default `read_from: end`: lines written while the agent was stopped must still come.
    let cfg = env.config(
        &format!(
            "  - type: cri\n    paths: ['{}/containers/*.log']\n    rotate_wait: 300ms",
            root.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "agent to open the link", || {
        agent.logs().contains("reading file")
    });
    for n in 0..100 {
        append(&target, &cri_line(n));
    }
    wait_all_arrived(&agent, &out, 100, Duration::from_secs(20));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    // While stopped: 50 more lines, a rotation, 30 lines, another rotation (the first rotated
    // file is compressed then), 20 lines in the current file.
    for n in 100..150 {
        append(&target, &cri_line(n));
    }
    kubelet_rotate(&target, 1, None);
    for n in 150..180 {
        append(&target, &cri_line(n));
    }
    kubelet_rotate(&target, 2, None);
    for n in 180..200 {
        append(&target, &cri_line(n));
    }
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 200, Duration::from_secs(20));
    assert_no_duplicates(&agent, &out);
    assert_every_record_is_whole_with_pod_fields(&out, 200);
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
