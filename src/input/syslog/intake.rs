//! The spool's side of the sockets: what the listeners receive is appended to the spool here
//! (one write per read of a stream, per burst of datagrams), and only then counts as received.
//! A stream waits while the spool is full (its sender feels backpressure); datagrams that find
//! it full are dropped and counted (`logship_events_dropped_total{reason="spool_full"}`). With
//! `spool_fsync: batch` each append is synced before the socket is read again.

use super::listen::{Received, Sink};
use super::record;
use super::spool::{AppendError, Framed, Spool};
use crate::metrics::metrics;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// This spool's part of `logship_spool_bytes` (a gauge every spool adds to), set by whoever
/// changed the spool last: the intake after an append, the reader after an acknowledgement.
#[derive(Default)]
pub struct SpoolGauge {
    reported: AtomicI64,
}

impl SpoolGauge {
    pub fn set(&self, bytes: u64) {
        let now = i64::try_from(bytes).unwrap_or(i64::MAX);
        let before = self.reported.swap(now, Ordering::Relaxed);
        metrics().spool_bytes.add(now - before);
    }
}

pub struct Intake {
    pub spool: Arc<Spool>,
    pub gauge: Arc<SpoolGauge>,
    /// Rung by the reader when acknowledgements freed room.
    pub room: Arc<Notify>,
    /// Wakes the reader after an append.
    pub doorbell: SyncSender<()>,
    /// `spool_fsync: batch`.
    pub sync_each: bool,
    /// The agent is stopping: no more appends.
    pub stop: Arc<AtomicBool>,
    /// The input's name, for logs.
    pub input: String,
    /// An append failed (disk full, read-only): logged once until one succeeds.
    pub failing: AtomicBool,
}

/// How long a full spool is waited on before looking again (the reader also rings `room`).
const FULL_WAIT: Duration = Duration::from_millis(100);
/// After a failed write, before the next try.
const IO_RETRY: Duration = Duration::from_secs(1);

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// The messages as spool records, in one buffer.
fn encode(msgs: &[Received]) -> Framed {
    let nanos = now_nanos();
    let mut framed = Framed::default();
    for m in msgs {
        framed.push(|out| record::encode(m, nanos, out));
    }
    framed
}

impl Intake {
    fn appended(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(input = %self.input, "syslog spool: writing again");
        }
        self.gauge.set(self.spool.bytes());
        let _ = self.doorbell.try_send(());
    }

    fn failed(&self, e: &std::io::Error) {
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::error!(input = %self.input, spool = ?self.spool.dir(), error = %e,
                "syslog spool: cannot write; streams wait, datagrams are dropped (reason spool_error) until it can");
        }
    }
}

#[async_trait::async_trait]
impl Sink for Intake {
    async fn put(&self, msgs: Vec<Received>) -> bool {
        let records = encode(&msgs);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.spool.append_framed(&records) {
                Ok(_) => {
                    if self.sync_each {
                        let spool = self.spool.clone();
                        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || spool.sync()).await
                        {
                            self.failed(&e);
                        }
                    }
                    self.appended();
                    return true;
                }
                Err(AppendError::Full) => {
                    let _ = tokio::time::timeout(FULL_WAIT, self.room.notified()).await;
                }
                Err(AppendError::TooLarge) => {
                    // Cannot happen: messages are cut to max_message_size, far below.
                    metrics()
                        .events_dropped
                        .with_label_values(&["too_large"])
                        .inc_by(msgs.len() as u64);
                    return true;
                }
                Err(AppendError::Io(e)) => {
                    self.failed(&e);
                    tokio::time::sleep(IO_RETRY).await;
                }
            }
        }
    }

    fn offer(&self, msgs: Vec<Received>) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let n = msgs.len() as u64;
        let reason = match self.spool.append_framed(&encode(&msgs)) {
            Ok(_) => {
                self.appended();
                return Some(0);
            }
            Err(AppendError::Full) => "spool_full",
            Err(AppendError::TooLarge) => "too_large",
            Err(AppendError::Io(e)) => {
                self.failed(&e);
                "spool_error"
            }
        };
        metrics()
            .events_dropped
            .with_label_values(&[reason])
            .inc_by(n);
        Some(n)
    }
}
