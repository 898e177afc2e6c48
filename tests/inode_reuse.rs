//! A new file that gets a deleted file's inode is read from offset 0, never at the old file's
//! checkpoint (elastic/beats#1341): while the agent runs, and across a restart.

mod common;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// Removes `path` and creates a file there with the same inode (ext4 hands a freed inode to the
/// next file created in the directory). Returns false when the file system would not. The inode
/// is free only once the agent has let the old file go (it keeps deleted files open until read
/// and quiet for `rotate_wait`): keep trying for a few seconds.
fn recreate_with_same_inode(path: &Path, content: &str) -> bool {
    let old = std::fs::metadata(path).unwrap().ino();
    std::fs::remove_file(path).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut attempt = 0;
    while std::time::Instant::now() < deadline {
        std::fs::write(path, content).unwrap();
        if std::fs::metadata(path).unwrap().ino() == old {
            return true;
        }
        // Park the wrong inode under another name so the next create gets a different one.
        std::fs::rename(path, path.with_extension(format!("spare{attempt}"))).unwrap();
        attempt += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn lines(range: std::ops::Range<u64>) -> String {
    range.map(line).collect()
}

#[test]
fn reused_inode_after_restart_is_read_from_start() {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, lines(0..300)).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 300, Duration::from_secs(20));
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    let old_offset = checkpoint_offset(&env.data_dir(), &log).unwrap();
    assert_eq!(old_offset, std::fs::metadata(&log).unwrap().len());

    // The new file is longer than the old offset: resuming there would skip its first lines.
    assert!(
        recreate_with_same_inode(&log, &lines(1000..1600)),
        "could not get the same inode for the new file; the test cannot check anything"
    );
    assert!(std::fs::metadata(&log).unwrap().len() > old_offset);
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "the new file's lines", || {
        let c = counts(&out);
        (1000..1600).all(|n| c.contains_key(&n))
    });
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    assert!(
        agent.logs().contains("inode of a checkpointed one"),
        "the reuse was not recognised:\n{}",
        agent.logs()
    );
}

#[test]
fn reused_inode_while_running_is_read_from_start() {
    let env = Env::new();
    let log = env.path("app.log");
    std::fs::write(&log, lines(0..300)).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n    rotate_wait: 100ms\n    scan_frequency: 200ms",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 300, Duration::from_secs(20));
    // Delete it and wait until the agent has let the file go (so its inode can be reused).
    std::fs::rename(&log, env.path("gone.log")).unwrap();
    std::fs::remove_file(env.path("gone.log")).unwrap();
    wait_for(
        Duration::from_secs(20),
        "the agent to release the deleted file",
        || agent.logs().contains("done with rotated file"),
    );
    std::fs::write(&log, "").unwrap();
    std::fs::remove_file(&log).unwrap();
    std::fs::write(&log, lines(0..1)).unwrap();
    assert!(
        recreate_with_same_inode(&log, &lines(1000..1600)),
        "could not get the same inode for the new file; the test cannot check anything"
    );
    wait_for(Duration::from_secs(20), "the new file's lines", || {
        let c = counts(&out);
        (1000..1600).all(|n| c.contains_key(&n))
    });
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
