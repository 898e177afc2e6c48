//! `type: file` (output): the batch as NDJSON appended to `path`, written and fsynced before it
//! is acknowledged (a FIFO or device, which cannot be fsynced, is acknowledged once written).
//!
//! Up to `CONCURRENCY` batches are in `send` at once: each is handed to the output's writer
//! thread (`writer.rs`), which serializes and writes them in their turn (the worker's order,
//! `Todo::turn`) through one reused buffer and hands each pass to the fsync thread
//! (`syncer.rs`): while one fsync waits for the disk, the writer writes the next batches, and the
//! next fsync covers all of them (group commit). A batch is acknowledged only after the fsync
//! that covers it.
//!
//! After an error the file is reopened on the next attempt (so a deleted or moved file is
//! recreated). Opening a regular file that does not end with a newline (the agent was killed, or
//! a write failed, in the middle of a batch) cuts that torn last line off first: it was never
//! acknowledged, so it is sent again, and appending after it would glue the next record to it.

pub mod config;
mod syncer;
mod writer;

use crate::output::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Batches in `send` at once: one being fsynced, one being written, one queued for the next
/// pass. With `in_flight_batches` at its default (4) the output's channel holds one more, as it
/// held two when this was 2.
const CONCURRENCY: usize = 3;

pub struct FileOutput {
    path: PathBuf,
    /// The writer thread's queue (a new thread is started if it is gone).
    writer: Mutex<Option<std::sync::mpsc::Sender<writer::Job>>>,
    /// The next turn to write and the first not yet fsynced; shared with the threads so new ones
    /// go on from there.
    turns: Arc<writer::Turns>,
    /// Turns for batches sent without a worker (tests call `send` one batch at a time).
    unnumbered: AtomicU64,
    /// How a pass is made durable (tests inject failures).
    sync: syncer::SyncFn,
}

impl FileOutput {
    pub fn new(path: PathBuf) -> FileOutput {
        FileOutput {
            path,
            writer: Mutex::new(None),
            turns: Arc::new(writer::Turns::default()),
            unnumbered: AtomicU64::new(0),
            sync: syncer::sync_file,
        }
    }

    #[cfg(test)]
    fn with_sync(path: PathBuf, sync: syncer::SyncFn) -> FileOutput {
        FileOutput {
            sync,
            ..FileOutput::new(path)
        }
    }

    /// Queues a job for the writer thread, starting one if there is none (or it ended).
    fn submit(&self, job: writer::Job) -> Result<(), OutputError> {
        let gone = || OutputError::new("io", "the file output's writer thread cannot start");
        let mut slot = self.writer.lock().map_err(|_| gone())?;
        let job = match slot.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return Ok(()),
                Err(std::sync::mpsc::SendError(job)) => {
                    tracing::error!(file = %self.path.display(), "the file output's writer thread ended; starting another");
                    job
                }
            },
            None => job,
        };
        let tx =
            writer::spawn(self.path.clone(), self.turns.clone(), self.sync).map_err(|_| gone())?;
        tx.send(job).map_err(|_| gone())?;
        *slot = Some(tx);
        Ok(())
    }
}

#[async_trait]
impl Output for FileOutput {
    async fn send(&self, batch: &Arc<Batch>, todo: &mut Todo) -> Result<(), OutputError> {
        let turn = match todo.turn() {
            Some(t) => t,
            None => {
                let t = self.unnumbered.fetch_add(1, Ordering::Relaxed);
                todo.set_turn(t);
                t
            }
        };
        let (done, answer) = tokio::sync::oneshot::channel();
        self.submit(writer::Job {
            turn,
            batch: batch.clone(),
            done,
        })?;
        answer.await.unwrap_or_else(|_| {
            Err(OutputError::new(
                "io",
                "the file output's writer or fsync thread ended before the batch was durable",
            ))
        })
    }

    async fn check(&self) -> Result<String, OutputError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || writer::open(&path))
            .await
            .map_err(|e| {
                OutputError::new("io", format!("opening {}: {e}", self.path.display()))
            })??;
        Ok(format!("{} is writable", self.path.display()))
    }

    fn concurrency(&self) -> usize {
        CONCURRENCY
    }
}

/// Truncates a regular file after its last newline when it does not end with one; the number of
/// bytes cut, if any.
pub(crate) fn cut_torn_line(f: &std::fs::File) -> std::io::Result<Option<u64>> {
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
    use crate::event::{Event, Fields, Shared};

    fn batch(seq: u64, messages: &[&str]) -> Arc<Batch> {
        let shared = Arc::new(Shared::new(Fields::new()));
        let events = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                Event::line(
                    m.to_string(),
                    i as u64,
                    "2026-12-03T10:00:00Z".into(),
                    shared.clone(),
                    None,
                )
            })
            .collect();
        Arc::new(Batch::new(seq, events))
    }

    fn messages(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["message"].as_str().unwrap().to_string()
            })
            .collect()
    }

    /// Batches handed over out of order (a later one serialized first) are written in their
    /// turn, and each `send` returns only once its batch is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_sent_at_once_are_written_in_their_turn() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/out.ndjson");
        let out = Arc::new(FileOutput::new(p.clone()));
        let batches: Vec<Arc<Batch>> = (0..6u64)
            .map(|t| {
                let text = format!("turn {t}");
                batch(t + 1, &[text.as_str(), "same text", "same text"])
            })
            .collect();
        // Turns 5, 4, …, 0 handed over in that order: each must wait for the ones before it.
        let mut tasks = Vec::new();
        for (t, b) in batches.iter().enumerate().rev() {
            let (out, b) = (out.clone(), b.clone());
            tasks.push(tokio::spawn(async move {
                let mut todo = Todo::in_turn(b.events.len(), t as u64);
                out.send(&b, &mut todo).await
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let expected: Vec<String> = (0..6)
            .flat_map(|t| [format!("turn {t}"), "same text".into(), "same text".into()])
            .collect();
        assert_eq!(messages(&p), expected);
    }

    /// A failed pass answers its batches with the error and writes nothing out of order; the
    /// retries (same turns) are written once, in order. A batch whose turn was written already
    /// (its answer lost) is not written twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_retried_in_turn_and_never_duplicated() {
        let d = tempfile::tempdir().unwrap();
        let blocker = d.path().join("dir");
        // A file where the output's directory should be: opening fails.
        std::fs::write(&blocker, b"").unwrap();
        let p = blocker.join("out.ndjson");
        let out = FileOutput::new(p.clone());
        let (a, b) = (batch(1, &["a1", "a2"]), batch(2, &["b1"]));
        let mut ta = Todo::in_turn(2, 0);
        let mut tb = Todo::in_turn(1, 1);
        let err = out.send(&a, &mut ta).await.unwrap_err();
        assert_eq!(err.kind, "io");
        assert!(err.message.contains("dir"), "{}", err.message);
        std::fs::remove_file(&blocker).unwrap();
        // Turn 1 first: it waits for turn 0, which is retried meanwhile.
        let (rb, ra) = tokio::join!(out.send(&b, &mut tb), async {
            tokio::task::yield_now().await;
            out.send(&a, &mut ta).await
        });
        ra.unwrap();
        rb.unwrap();
        assert_eq!(messages(&p), ["a1", "a2", "b1"]);
        // Turn 0 again (as after a lost answer): acknowledged, not written again.
        out.send(&a, &mut Todo::in_turn(2, 0)).await.unwrap();
        assert_eq!(messages(&p), ["a1", "a2", "b1"]);
    }

    static SYNC_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// An fsync that fails its first call.
    fn sync_failing_once(f: &std::fs::File) -> std::io::Result<()> {
        if SYNC_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        syncer::sync_file(f)
    }

    /// Sends batch `a` (turn 0) through an output whose first fsync goes wrong (`sync`), then
    /// `a` again, as a worker retries, until it is acknowledged, and `b` (turn 1); the error `a`
    /// got first, the retries that failed too and the file's messages at the end.
    async fn a_again_after_a_bad_first_fsync(
        sync: syncer::SyncFn,
    ) -> (
        OutputError,
        usize,
        Vec<String>,
        FileOutput,
        tempfile::TempDir,
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.ndjson");
        let out = FileOutput::with_sync(p.clone(), sync);
        let (a, b) = (batch(1, &["a1", "a2"]), batch(2, &["b1"]));
        let mut ta = Todo::in_turn(2, 0);
        let err = out.send(&a, &mut ta).await.unwrap_err();
        // The pass's bytes are in the file (the injection lost nothing).
        assert_eq!(messages(&p), ["a1", "a2"]);
        let mut failed_again = 0;
        while let Err(e) = out.send(&a, &mut ta).await {
            failed_again += 1;
            assert!(failed_again < 5, "turn 0 never acknowledged: {e:?}");
        }
        out.send(&b, &mut Todo::in_turn(1, 1)).await.unwrap();
        (err, failed_again, messages(&p), out, d)
    }

    /// A failed fsync answers its batch with the error, and the retry of that turn is written
    /// again (not taken for a turn written already, as after a lost answer): the file ends with
    /// every record, in turn order, after the bytes the failed fsync may or may not have kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_fsync_is_written_again_in_turn() {
        let (err, failed_again, written, _, _d) =
            a_again_after_a_bad_first_fsync(sync_failing_once).await;
        assert!(err.message.contains("injected"), "{}", err.message);
        // The failure is posted before the answer: the first retry finds the writer rewound.
        assert_eq!(failed_again, 0);
        assert_eq!(written, ["a1", "a2", "a1", "a2", "b1"]);
        assert_eq!(SYNC_CALLS.load(Ordering::SeqCst), 3);
    }

    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// An fsync whose first call ends its thread.
    fn sync_dying_once(f: &std::fs::File) -> std::io::Result<()> {
        if PANICS.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("injected: the fsync thread ends");
        }
        syncer::sync_file(f)
    }

    /// The fsync thread ends with a pass it had not fsynced: its batch is answered with an error
    /// (never acknowledged), and the retry is written again rather than taken for a turn that is
    /// on the disk already; a new fsync thread acknowledges it.
    ///
    /// A retry that reaches the writer while the dying thread still holds its queue is handed to
    /// it and lost with it (answered with an error, CI saw it once): it is retried and written
    /// again too. Each failed retry adds one copy of `a`, never one out of order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_whose_fsync_thread_ended_is_written_again() {
        let (_, failed_again, written, out, d) =
            a_again_after_a_bad_first_fsync(sync_dying_once).await;
        let mut expected: Vec<&str> = ["a1", "a2"].repeat(2 + failed_again);
        expected.push("b1");
        assert_eq!(written, expected);
        let (p, a) = (d.path().join("out.ndjson"), batch(1, &["a1", "a2"]));
        // Turn 0 again, now fsynced: acknowledged, not written another time.
        out.send(&a, &mut Todo::in_turn(2, 0)).await.unwrap();
        assert_eq!(messages(&p), expected);
        // The one that ended its thread, then one per pass acknowledged (a retry lost with the
        // dying thread never reached an fsync).
        assert_eq!(PANICS.load(Ordering::SeqCst), 3);
    }

    /// Without a worker (no turns) batches are written in the order they are sent.
    #[tokio::test]
    async fn sends_without_turns_append_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.ndjson");
        let out = FileOutput::new(p.clone());
        for (i, m) in ["x", "y", "x"].iter().enumerate() {
            out.send(&batch(i as u64, &[m]), &mut Todo::all(1))
                .await
                .unwrap();
        }
        assert_eq!(messages(&p), ["x", "y", "x"]);
    }

    /// Batches larger than the writer's buffer, a line longer than it, multibyte text where the
    /// buffer fills, and a batch whose NDJSON another output built first (written as it is),
    /// all in one pass: every record once, whole, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_larger_than_the_write_buffer_are_written_whole_and_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.ndjson");
        let out = Arc::new(FileOutput::new(p.clone()));
        let long = "é".repeat(writer::WRITE_BYTES);
        let texts: Vec<Vec<String>> = vec![
            (0..5000)
                .map(|i| format!("{i} ünïcödé {}", "x".repeat(i % 97)))
                .collect(),
            vec!["before".into(), long.clone(), "after".into()],
            (0..3000).map(|i| format!("built {i} 日本")).collect(),
            (0..5000)
                .map(|i| format!("{i} ünïcödé {}", "x".repeat(i % 97)))
                .collect(),
        ];
        let batches: Vec<Arc<Batch>> = texts
            .iter()
            .enumerate()
            .map(|(t, m)| batch(t as u64, &m.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect();
        // As an elasticsearch output beside this one would have.
        let built = batches[2].ndjson().to_vec();
        let mut tasks = Vec::new();
        for (t, b) in batches.iter().enumerate().rev() {
            let (out, b) = (out.clone(), b.clone());
            tasks.push(tokio::spawn(async move {
                out.send(&b, &mut Todo::in_turn(b.events.len(), t as u64))
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let want: Vec<String> = texts.concat();
        assert_eq!(messages(&p), want);
        // The built batch's lines are in the file whole and together (the same bytes either way:
        // this checks their place, not which path wrote them).
        let file = std::fs::read(&p).unwrap();
        assert!(file.windows(built.len()).any(|w| w == built.as_slice()));
    }

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
