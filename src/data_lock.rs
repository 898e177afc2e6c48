//! One agent per `data_dir`: a lock (`flock`) on `data_dir/logship.lock`, held while the agent
//! runs, with the holder's PID written in it for the message.
//!
//! Two agents on one `data_dir` (a second `logship run` started by hand beside the service, two
//! pods with the same hostPath, `logship migrate` into a running agent's directory) each read
//! every file from the checkpoints both overwrite: every line shipped twice, and checkpoints
//! that go backwards. Filebeat refuses with "data path already locked by another beat"; logship
//! refuses too, after waiting a moment: a restart's new process (a service manager's, a pod
//! replaced on its node) can start while the old one is still flushing within its
//! `shutdown_timeout`, and then takes over as soon as it is gone. The lock is the kernel's, so
//! a `kill -9`ed agent leaves none behind; the file stays (0600) and is reused. `execve` on
//! SIGHUP (`crate::reload`) closes it (close-on-exec) and the new start takes it again.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The lock, held until dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// How long a start waits for the agent before it to let go (longer than the default
/// `shutdown_timeout`, 10 s).
pub const WAIT: Duration = Duration::from_secs(30);

/// Takes the lock of `data_dir` (created 0700 if missing), waiting at most `wait` for another
/// holder to let go (logging once that it waits). The error names the holder's PID.
pub fn acquire(data_dir: &Path, wait: Duration) -> anyhow::Result<DataLock> {
    crate::tail::checkpoint::private_dir(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data_dir {}: {e}", data_dir.display()))?;
    let path = data_dir.join("logship.lock");
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?
    };
    let deadline = Instant::now() + wait;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = holder(&mut file);
                if Instant::now() >= deadline {
                    anyhow::bail!(
                        "data_dir {} is in use by another logship ({holder}, which holds {}): two agents on one data_dir would ship every line twice and overwrite each other's checkpoints; stop it, or give this one another data_dir",
                        data_dir.display(),
                        path.display()
                    );
                }
                if !said {
                    tracing::warn!(
                        data_dir = %data_dir.display(),
                        "data_dir is in use by another logship ({holder}); waiting up to {}s for it to stop",
                        wait.as_secs()
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("cannot lock {}: {e}", path.display())
            }
        }
    }
    if said {
        tracing::info!(data_dir = %data_dir.display(), "data_dir is free: starting");
    }
    let pid = format!("{}\n", std::process::id());
    // The PID is for the message another start gives; failing to write it costs only that.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()));
    Ok(DataLock { _file: file })
}

/// "pid N" from the lock file, or "its PID unknown".
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file
        .rewind()
        .and_then(|()| file.take(32).read_to_string(&mut text));
    match read.ok().and_then(|_| text.trim().parse::<u32>().ok()) {
        Some(pid) => format!("pid {pid}"),
        None => "its PID unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), Duration::ZERO).unwrap();
        let e = acquire(dir.path(), Duration::from_millis(300)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        acquire(dir.path(), Duration::ZERO).unwrap();
    }
}
