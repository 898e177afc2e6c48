//! `type: file` (output): the batch as NDJSON appended to `path`, written and fsynced before it
//! is acknowledged (a FIFO or device, which cannot be fsynced, is acknowledged once written).
//! After an error the file is reopened on the next attempt (so a deleted or
//! moved file is recreated).

use super::{Output, OutputError};
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

pub struct FileOutput {
    path: PathBuf,
    file: tokio::sync::Mutex<Option<tokio::fs::File>>,
}

impl FileOutput {
    pub fn new(path: PathBuf) -> FileOutput {
        FileOutput {
            path,
            file: tokio::sync::Mutex::new(None),
        }
    }

    async fn open(&self) -> Result<tokio::fs::File, OutputError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                OutputError::new(
                    "io",
                    format!("cannot create directory {}: {e}", dir.display()),
                )
            })?;
        }
        tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| {
                OutputError::new("io", format!("cannot open {}: {e}", self.path.display()))
            })
    }
}

#[async_trait]
impl Output for FileOutput {
    async fn send(&self, batch: &Batch) -> Result<(), OutputError> {
        let mut slot = self.file.lock().await;
        let mut file = match slot.take() {
            Some(f) => f,
            None => self.open().await?,
        };
        let io = |e: std::io::Error| {
            OutputError::new("io", format!("writing {}: {e}", self.path.display()))
        };
        file.write_all(batch.ndjson()).await.map_err(io)?;
        file.flush().await.map_err(io)?;
        match file.sync_data().await {
            // A pipe or a device (e.g. /dev/stdout) cannot be fsynced: the write is what counts.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {}
            other => other.map_err(io)?,
        }
        *slot = Some(file);
        Ok(())
    }

    async fn check(&self) -> Result<String, OutputError> {
        self.open().await?;
        Ok(format!("{} is writable", self.path.display()))
    }
}
