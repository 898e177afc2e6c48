//! Opening new files the moment they appear, on a thread of their own, so a rotation storm
//! (Docker `max-size=50k`, a writer at full speed: each generation lives a few hundred
//! milliseconds and is deleted two rotations later) never costs a generation, and backpressure
//! on the read path never delays an open: the read path may wait, the open must not.
//!
//! Driven by inotify (notify) create and rename events in the watched directories, plus a full
//! scan every `scan_frequency` and whenever a directory appears (its files may predate the
//! watch). Modify events are ignored: they never trigger a scan. Each file is opened once (by
//! identity) and handed to the tailer over a bounded channel: an open file keeps its content
//! readable after Docker deletes it. At most `OPEN_AHEAD` files wait for the tailer; past that
//! the opener waits too (file descriptors are bounded; the read path is then more than 256
//! generations behind).

use super::discover::Discovery;
use super::identity::FileId;
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Files opened ahead of the tailer, at most.
pub const OPEN_AHEAD: usize = 256;
/// Identities remembered as already handed over.
const SEEN_MAX: usize = 65_536;

/// A file opened by the opener, for the tailer to read.
pub struct Opened {
    pub path: PathBuf,
    pub file: File,
    pub fid: FileId,
}

/// A file as the opener remembers it: identity and birth (or change) time, since a deleted
/// generation's inode is soon reused by a new one.
type Seen = (FileId, i128);

fn seen_key(meta: &std::fs::Metadata) -> Seen {
    use std::os::unix::fs::MetadataExt;
    let born = super::identity::birth_time(meta).unwrap_or_else(|| {
        i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec())
    });
    (FileId::of(meta), born)
}

struct Opener {
    discovery: Discovery,
    tx: SyncSender<Opened>,
    wake: SyncSender<()>,
    stop: Arc<AtomicBool>,
    seen: HashSet<Seen>,
    order: VecDeque<Seen>,
}

impl Opener {
    /// Opens `path` if it is a file not handed over yet; false when the tailer is gone.
    fn offer(&mut self, path: PathBuf) -> bool {
        let Ok(file) = File::open(&path) else {
            return true;
        };
        let Ok(meta) = file.metadata() else {
            return true;
        };
        if !meta.is_file() {
            return true;
        }
        let fid = FileId::of(&meta);
        let key = seen_key(&meta);
        if !self.seen.insert(key) {
            return true;
        }
        self.order.push_back(key);
        if self.order.len() > SEEN_MAX {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        let mut item = Opened { path, file, fid };
        loop {
            match self.tx.try_send(item) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
                Err(std::sync::mpsc::TrySendError::Full(back)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return false;
                    }
                    item = back;
                    let _ = self.wake.try_send(());
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let _ = self.wake.try_send(());
        true
    }

    /// A path the patterns match, or a rotated name of one (`app.log.1`, `<id>-json.log.2`):
    /// a generation renamed before it could be opened under its first name is still caught
    /// under its next one, before it is deleted.
    fn wanted(&self, path: &std::path::Path) -> bool {
        if self.discovery.matches(path) {
            return true;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        match name.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                self.discovery.matches(&path.with_file_name(base))
            }
            _ => false,
        }
    }

    fn scan(&mut self) -> bool {
        for path in self.discovery.scan() {
            if !self.offer(path) {
                return false;
            }
        }
        true
    }
}

fn lock(o: &std::sync::Mutex<Opener>) -> std::sync::MutexGuard<'_, Opener> {
    o.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the opener for `discovery`'s patterns. Files already there now are not handed over
/// (the tailer's first scan takes them, with `read_from`): only files that appear later.
/// `wake` is poked after each file so the tailer picks it up at once.
pub fn spawn(
    discovery: Discovery,
    scan_frequency: Duration,
    wake: SyncSender<()>,
    stop: Arc<AtomicBool>,
    present: Vec<PathBuf>,
) -> std::io::Result<Receiver<Opened>> {
    let present: Vec<Seen> = present
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| seen_key(&m))
        .collect();
    let (tx, rx) = sync_channel(OPEN_AHEAD);
    let opener = Opener {
        discovery,
        tx,
        wake,
        stop,
        seen: present.iter().copied().collect(),
        order: present.into_iter().collect(),
    };
    // Events are handled on notify's own thread, the moment inotify reports them: a thread
    // hop more would let a generation that lives a few milliseconds slip by under load.
    let opener = Arc::new(std::sync::Mutex::new(opener));
    let on_event = {
        let opener = opener.clone();
        move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            use notify::event::{CreateKind, EventKind, ModifyKind, RenameMode};
            let mut o = lock(&opener);
            match ev.kind {
                EventKind::Create(CreateKind::Folder) => {
                    o.scan();
                }
                EventKind::Create(_) => {
                    for path in ev.paths {
                        if path.is_dir() {
                            o.scan();
                        } else if o.discovery.matches(&path) {
                            o.offer(path);
                        }
                    }
                }
                // A generation renamed before it could be opened under its first name is still
                // caught under its next one (`-json.log.1`), before it is deleted. (Files
                // created under a rotated name are copytruncate copies: not offered.)
                // Only the name a file was renamed *to*: inotify also reports the name it left
                // (`From`), and by the time that event is handled a copytruncate may have made a
                // new copy under it, which must not be taken as a new file. (`Both` repeats `To`.)
                EventKind::Modify(ModifyKind::Name(RenameMode::From | RenameMode::Both)) => {}
                EventKind::Modify(ModifyKind::Name(_)) => {
                    for path in ev.paths {
                        if o.wanted(&path) {
                            o.offer(path);
                        }
                    }
                }
                _ => {}
            }
        }
    };
    let watcher = lock(&opener).discovery.watch_with(on_event);
    std::thread::Builder::new()
        .name("file-opener".into())
        .spawn(move || {
            let _watcher = watcher;
            // Files created between the tailer's first scan and the watch, then a scan every
            // `scan_frequency` for what notifications missed.
            let mut last_scan: Option<Instant> = None;
            loop {
                let stop = lock(&opener).stop.clone();
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if last_scan.is_none_or(|t| t.elapsed() >= scan_frequency) {
                    if !lock(&opener).scan() {
                        return;
                    }
                    last_scan = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(100).min(scan_frequency));
            }
        })?;
    Ok(rx)
}
