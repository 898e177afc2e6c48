//! `type: console`: the batch as NDJSON on stdout, flushed before it is acknowledged.

pub mod config;

use crate::output::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub struct Console {
    out: tokio::sync::Mutex<tokio::io::Stdout>,
}

impl Default for Console {
    fn default() -> Console {
        Console::new()
    }
}

impl Console {
    pub fn new() -> Console {
        Console {
            out: tokio::sync::Mutex::new(tokio::io::stdout()),
        }
    }
}

#[async_trait]
impl Output for Console {
    async fn send(&self, batch: &Arc<Batch>, _todo: &mut Todo) -> Result<(), OutputError> {
        let io = |e: std::io::Error| OutputError::new("io", format!("writing to stdout: {e}"));
        let mut out = self.out.lock().await;
        out.write_all(batch.ndjson()).await.map_err(io)?;
        out.flush().await.map_err(io)
    }

    async fn check(&self) -> Result<String, OutputError> {
        Ok("stdout".into())
    }
}
