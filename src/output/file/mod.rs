//! `type: file` (output): the batch as NDJSON appended to `path`, written and fsynced before it
//! is acknowledged (a FIFO or device, which cannot be fsynced, is acknowledged once written).
//! After an error the file is reopened on the next attempt (so a deleted or
//! moved file is recreated). The write and the fsync are one blocking step on the runtime's
//! thread (`block_in_place`): no copy of the batch and no hand-off per step, as
//! `tokio::fs::File` would make (it copies into its own buffer and runs each write, flush and
//! sync as a separate blocking task).
//!
//! Opening a regular file that does not end with a newline (the agent was killed, or a write
//! failed, in the middle of a batch) cuts that torn last line off first: it was never
//! acknowledged, so it is sent again, and appending after it would glue the next record to it.

pub mod config;

use crate::output::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use std::io::Write;
use std::path::PathBuf;

pub struct FileOutput {
    path: PathBuf,
    file: tokio::sync::Mutex<Option<std::fs::File>>,
}

/// Runs blocking file I/O where the caller is: `block_in_place` on the multi-threaded runtime
/// (its other tasks move to another worker meanwhile), inline elsewhere (a current-thread
/// runtime in tests).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl FileOutput {
    pub fn new(path: PathBuf) -> FileOutput {
        FileOutput {
            path,
            file: tokio::sync::Mutex::new(None),
        }
    }

    async fn open(&self) -> Result<std::fs::File, OutputError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                OutputError::new(
                    "io",
                    format!("cannot create directory {}: {e}", dir.display()),
                )
            })?;
        }
        let path = self.path.clone();
        let file = tokio::task::spawn_blocking(move || {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&path)
                // Write-only places (a FIFO, a device) have nothing to repair.
                .or_else(|_| std::fs::OpenOptions::new().create(true).append(true).open(&path))?;
            match cut_torn_line(&f) {
                Ok(Some(cut)) => tracing::warn!(file = %path.display(), bytes = cut,
                    "the file output's last line was cut short (a crash or a failed write); removed, it is sent again"),
                Ok(None) => {}
                Err(e) => tracing::debug!(file = %path.display(), error = %e, "cannot check the file output's last line"),
            }
            Ok::<_, std::io::Error>(f)
        })
        .await
        .map_err(|e| OutputError::new("io", format!("opening {}: {e}", self.path.display())))?
        .map_err(|e| {
            OutputError::new("io", format!("cannot open {}: {e}", self.path.display()))
        })?;
        Ok(file)
    }
}

#[async_trait]
impl Output for FileOutput {
    async fn send(&self, batch: &Batch, _todo: &mut Todo) -> Result<(), OutputError> {
        let mut slot = self.file.lock().await;
        let mut file = match slot.take() {
            Some(f) => f,
            None => self.open().await?,
        };
        let io = |e: std::io::Error| {
            OutputError::new("io", format!("writing {}: {e}", self.path.display()))
        };
        let bytes = batch.ndjson();
        blocking(|| {
            file.write_all(bytes)?;
            match file.sync_data() {
                // A pipe or a device (e.g. /dev/stdout) cannot be fsynced: the write is what
                // counts.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
                other => other,
            }
        })
        .map_err(io)?;
        *slot = Some(file);
        Ok(())
    }

    async fn check(&self) -> Result<String, OutputError> {
        self.open().await?;
        Ok(format!("{} is writable", self.path.display()))
    }
}

/// Truncates a regular file after its last newline when it does not end with one; the number of
/// bytes cut, if any.
fn cut_torn_line(f: &std::fs::File) -> std::io::Result<Option<u64>> {
    use std::os::unix::fs::FileExt;
    let meta = f.metadata()?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(None);
    }
    let len = meta.len();
    let mut last = [0u8; 1];
    f.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut end = len;
    let keep = loop {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = buf
            .get_mut(..usize::try_from(end - start).unwrap_or(0))
            .unwrap_or_default();
        f.read_exact_at(chunk, start)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            break start + i as u64 + 1;
        }
        if start == 0 {
            break 0;
        }
        end = start;
    };
    f.set_len(keep)?;
    Ok(Some(len - keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_and_whole_lines_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.ndjson");
        let cases: [(&[u8], &[u8]); 4] = [
            (b"{\"a\":1}\n{\"b\":", b"{\"a\":1}\n"),
            (b"{\"a\":1}\n", b"{\"a\":1}\n"),
            (b"{\"torn", b""),
            (b"", b""),
        ];
        for (before, after) in cases {
            std::fs::write(&p, before).unwrap();
            let f = std::fs::OpenOptions::new()
                .append(true)
                .read(true)
                .open(&p)
                .unwrap();
            cut_torn_line(&f).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), after);
        }
        // A torn line longer than one read block.
        let mut big = b"{\"ok\":1}\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 200_000));
        std::fs::write(&p, &big).unwrap();
        let f = std::fs::OpenOptions::new()
            .append(true)
            .read(true)
            .open(&p)
            .unwrap();
        assert_eq!(cut_torn_line(&f).unwrap(), Some(200_000));
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"ok\":1}\n");
    }
}
