//! The file output's fsync thread: the writer thread hands it each pass it wrote (a `Group`),
//! and goes on writing the next one while this thread waits for the disk. Every group queued
//! while an fsync ran is covered by the next one (group commit); then each batch is answered.
//!
//! A failed fsync answers its batches with the error, and also every later group written before
//! the writer heard of it (same `epoch`): their bytes sit behind the failed ones in the file and
//! a later fsync that succeeds says nothing about pages the failed one dropped. The failure is
//! published (`Notice`) before any batch is answered, so the writer rewinds to the failed group's
//! first turn before a retry of it can arrive; the retries are written again (possibly a second
//! copy of lines that did reach the disk: at least once).
//!
//! A successful fsync moves `Turns::synced` past its groups before answering them: a batch sent
//! again whose turn is below it is acknowledged without a write (its answer was lost); one at or
//! past it that the writer wrote already (this thread ended holding it) is written again.

use super::writer::Turns;
use crate::output::OutputError;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

/// How a file is made durable (`sync_file`; tests inject failures).
pub type SyncFn = fn(&File) -> std::io::Result<()>;

/// Where a batch's answer goes.
pub type Answer = tokio::sync::oneshot::Sender<Result<(), OutputError>>;

/// One pass the writer wrote, in `file`: where its batches' answers go, in turn order from
/// `first`. The batches themselves stay with the writer, which lets go of them once written
/// (freed records would otherwise sit in this thread's allocator cache).
pub struct Group {
    pub file: Arc<File>,
    pub first: u64,
    /// The writer's epoch when it wrote them (it moves on after each failure it hears of).
    pub epoch: u64,
    pub answers: Vec<Answer>,
}

/// A failed fsync, for the writer: rewind to `first`, reopen the file, start epoch `epoch + 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Failure {
    pub first: u64,
    pub epoch: u64,
}

/// Where the syncer leaves a failure for the writer (the earliest turn wins).
#[derive(Default)]
pub struct Notice(Mutex<Option<Failure>>);

impl Notice {
    fn post(&self, f: Failure) {
        if let Ok(mut slot) = self.0.lock() {
            let keep = slot.filter(|old| old.first <= f.first);
            *slot = Some(Failure {
                first: keep.map_or(f.first, |k| k.first),
                epoch: keep.map_or(f.epoch, |k| k.epoch.max(f.epoch)),
            });
        }
    }

    /// The failure posted since the last call, if any.
    pub fn take(&self) -> Option<Failure> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// fsync's data part; a pipe or a device (e.g. /dev/stdout) cannot be fsynced: the write is what
/// counts.
pub fn sync_file(f: &File) -> std::io::Result<()> {
    match f.sync_data() {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Starts the thread; it ends when every sender is gone, after answering what was queued.
pub fn spawn(
    path: std::path::PathBuf,
    notice: Arc<Notice>,
    turns: Arc<Turns>,
    sync: SyncFn,
) -> std::io::Result<Sender<Group>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("output-fsync".into())
        .spawn(move || run(&path, &rx, (&notice, &turns), sync))?;
    Ok(tx)
}

/// The loop: waits for a group, takes every group queued behind it, fsyncs once per file among
/// them, moves `turns.synced` past them and answers them.
pub fn run(
    path: &std::path::Path,
    rx: &Receiver<Group>,
    (notice, turns): (&Notice, &Turns),
    sync: SyncFn,
) {
    // Groups of this epoch or earlier fail unsynced: written behind a failed fsync.
    let mut failed_epoch: Option<u64> = None;
    while let Ok(group) = rx.recv() {
        let mut groups = vec![group];
        groups.extend(rx.try_iter());
        let (doomed, live): (Vec<Group>, Vec<Group>) = groups
            .into_iter()
            .partition(|g| failed_epoch.is_some_and(|e| g.epoch <= e));
        for g in doomed {
            answer(g, || {
                Err(OutputError::new(
                    "io",
                    format!(
                        "an earlier fsync of {} failed; written again",
                        path.display()
                    ),
                ))
            });
        }
        if live.is_empty() {
            continue;
        }
        let mut result = Ok(());
        for (i, g) in live.iter().enumerate() {
            // Each file once (a reopen between passes gives the later groups another).
            let later_same = live
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .any(|h| Arc::ptr_eq(&h.file, &g.file));
            if !later_same {
                if let Err(e) = sync(&g.file) {
                    result = Err(e);
                    break;
                }
            }
        }
        match result {
            Ok(()) => {
                let end = live.iter().map(|g| g.first + g.answers.len() as u64).max();
                if let Some(end) = end {
                    // Before the answers: a batch resent after one is lost finds it durable.
                    turns.synced.fetch_max(end, Ordering::Release);
                }
                live.into_iter().for_each(|g| answer(g, || Ok(())));
            }
            Err(e) => {
                let first = live.iter().map(|g| g.first).min().unwrap_or(0);
                let epoch = live.iter().map(|g| g.epoch).max().unwrap_or(0);
                failed_epoch = Some(failed_epoch.map_or(epoch, |f| f.max(epoch)));
                tracing::warn!(file = %path.display(), error = %e, "fsync failed; the batches it covered are written again");
                // Before any answer: a retry must find the writer rewound.
                notice.post(Failure { first, epoch });
                let message = format!("fsync of {}: {e}", path.display());
                for g in live {
                    answer(g, || Err(OutputError::new("io", message.clone())));
                }
            }
        }
    }
}

fn answer(g: Group, result: impl Fn() -> Result<(), OutputError>) {
    for done in g.answers {
        let _ = done.send(result());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    /// Fails its first call.
    fn fail_first(_: &File) -> std::io::Result<()> {
        if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(std::io::Error::other("injected"))
        } else {
            Ok(())
        }
    }

    fn group(
        file: &Arc<File>,
        first: u64,
        epoch: u64,
    ) -> (
        Group,
        tokio::sync::oneshot::Receiver<Result<(), OutputError>>,
    ) {
        let (done, answer) = tokio::sync::oneshot::channel();
        let g = Group {
            file: file.clone(),
            first,
            epoch,
            answers: vec![done],
        };
        (g, answer)
    }

    /// A failed fsync fails its group and, unsynced, the later groups of its epoch; the failure
    /// is posted before the answers; the writer's next epoch is synced again.
    #[test]
    fn a_failed_fsync_fails_its_epoch_and_is_posted_first() {
        let d = tempfile::tempdir().unwrap();
        let file = Arc::new(File::create(d.path().join("out")).unwrap());
        let notice = Arc::new(Notice::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let n = notice.clone();
        let turns = Turns::default();
        let t = std::thread::spawn(move || {
            run(std::path::Path::new("out"), &rx, (&n, &turns), fail_first);
            turns.synced.load(Ordering::SeqCst)
        });
        let (g, a) = group(&file, 3, 0);
        tx.send(g).unwrap();
        let err = a.blocking_recv().unwrap().unwrap_err();
        assert!(err.message.contains("injected"), "{}", err.message);
        // Posted before the answer was sent, so it is there now.
        assert_eq!(notice.take(), Some(Failure { first: 3, epoch: 0 }));
        assert_eq!(notice.take(), None);
        // Written in the same epoch, behind the failed one: fails without an fsync.
        let (g, a) = group(&file, 4, 0);
        tx.send(g).unwrap();
        assert!(a.blocking_recv().unwrap().is_err());
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        // The writer's next epoch: synced, acknowledged.
        let (g, a) = group(&file, 3, 1);
        tx.send(g).unwrap();
        a.blocking_recv().unwrap().unwrap();
        assert_eq!(CALLS.load(Ordering::SeqCst), 2);
        drop(tx);
        // Only the last group was fsynced: turns before 4 are durable.
        assert_eq!(t.join().unwrap(), 4);
    }

    /// The earliest failed turn is the one the writer rewinds to.
    #[test]
    fn the_earliest_failure_is_kept() {
        let n = Notice::default();
        n.post(Failure { first: 9, epoch: 0 });
        n.post(Failure { first: 4, epoch: 1 });
        n.post(Failure { first: 7, epoch: 2 });
        assert_eq!(n.take(), Some(Failure { first: 4, epoch: 2 }));
    }
}
