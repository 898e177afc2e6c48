//! A new file that gets a deleted file's inode is read from offset 0, never at the old file's
//! checkpoint (elastic/beats#1341): while the agent runs, and across a restart.

mod common;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// The two tests free and take inodes on the same disk: one at a time, or one takes the inode the
/// other freed.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The agent's own files (checkpoints written by rename every 100 ms, output, log) go on a memory
/// file system so they take no inodes from the disk; the watched log file gets its own disk dir.
fn setup() -> (std::sync::MutexGuard<'static, ()>, Env, tempfile::TempDir) {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let logs = tempfile::tempdir().expect("temp dir for the log file");
    (guard, Env::in_memory(), logs)
}

/// Removes `path` and creates a file there with the same inode (ext4 hands the lowest free inode
/// of the directory's group to the next file created there). Returns false when the file system
/// would not. The inode is free only once the agent has let the old file go (it keeps deleted
/// files open until read and quiet for `rotate_wait`): keep trying for a few seconds.
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

/// Another process on the machine can take the freed inode first (ext4 gives the lowest free one
/// in the group to whoever creates next). Each try starts over with fresh dirs; when no try gets
/// the inode the file system would not reuse it here, and the test says so loudly and skips.
fn with_retries(name: &str, scenario: fn() -> Result<(), NoReuse>) {
    for attempt in 1..=4 {
        match scenario() {
            Ok(()) => return,
            Err(NoReuse) => eprintln!("{name}: try {attempt}: the freed inode went elsewhere"),
        }
    }
    eprintln!(
        "SKIPPED {name}: in 4 tries the file system never gave the freed inode to the new file, \
         so reuse could not be checked on this machine"
    );
}

struct NoReuse;

#[test]
fn reused_inode_after_restart_is_read_from_start() {
    with_retries(
        "reused_inode_after_restart_is_read_from_start",
        after_restart,
    );
}

#[test]
fn reused_inode_while_running_is_read_from_start() {
    with_retries(
        "reused_inode_while_running_is_read_from_start",
        while_running,
    );
}

fn after_restart() -> Result<(), NoReuse> {
    let (_one, env, logs) = setup();
    let log = logs.path().join("app.log");
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
    if !recreate_with_same_inode(&log, &lines(1000..1600)) {
        return Err(NoReuse);
    }
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
    Ok(())
}

fn while_running() -> Result<(), NoReuse> {
    let (_one, env, logs) = setup();
    let log = logs.path().join("app.log");
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
    let gone = logs.path().join("gone.log");
    std::fs::rename(&log, &gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    wait_for(
        Duration::from_secs(20),
        "the agent to release the deleted file",
        || agent.logs().contains("done with rotated file"),
    );
    std::fs::write(&log, "").unwrap();
    std::fs::remove_file(&log).unwrap();
    std::fs::write(&log, lines(0..1)).unwrap();
    if !recreate_with_same_inode(&log, &lines(1000..1600)) {
        return Err(NoReuse);
    }
    wait_for(Duration::from_secs(20), "the new file's lines", || {
        let c = counts(&out);
        (1000..1600).all(|n| c.contains_key(&n))
    });
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    Ok(())
}
