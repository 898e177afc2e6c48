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
//!
//! Symlinked files (Kubernetes `/var/log/containers/*.log` → `/var/log/pods/…/<container>/0.log`)
//! are followed where the kubelet rotates them: the directories of the link targets are watched
//! too, a new file at a link's target is handed over under the link's name, and a rotated name of
//! a target (`0.log.20261202-101500`) under the link's name as well, so the decoder sees the name
//! the Kubernetes fields come from.
//!
//! A file *created* under a rotated name (`app.log.1`) is handed over too, marked as not renamed:
//! it is most likely a copytruncate copy, which the tailer judges once the copy is complete
//! (`copies.rs`): read whole only if it holds lines the tailer never read.

use super::discover::Discovery;
use super::identity::FileId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
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
    /// The name the input knows the file by (a link, or the name before a rotation).
    pub path: PathBuf,
    /// The name it was opened under, when that is another (a rotated name, a link's target).
    pub opened_as: Option<PathBuf>,
    /// It arrived by a rename (rotation), so it is no copy of anything.
    pub renamed: bool,
    /// Counted against the inputs' share of the open file limit while it waits for the tailer.
    pub file: crate::open_files::Held,
    pub fid: FileId,
}

/// `base` of a rotated name `base.N` (logrotate, Docker) or `base.YYYYMMDD-hhmmss` (kubelet);
/// None for other names, compressed ones included (`0.log.20261202-101500.gz`).
pub fn rotated_base(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (base, n) = name.rsplit_once('.')?;
    let digits = n.bytes().filter(u8::is_ascii_digit).count();
    (digits > 0 && n.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .then(|| path.with_file_name(base))
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
    /// Link targets of the files the patterns match, to the link (rebuilt at each scan).
    targets: HashMap<PathBuf, PathBuf>,
    /// Target directories being watched, and those still to watch (the watcher is touched only
    /// from the opener's own thread: notify's thread would deadlock on it).
    watched: HashSet<PathBuf>,
    unwatched: Vec<PathBuf>,
}

impl Opener {
    /// Opens `path` if it is a file not handed over yet, to be known as `known_as`; false when
    /// the tailer is gone.
    fn offer(&mut self, path: PathBuf, known_as: &Path, renamed: bool) -> bool {
        if !crate::open_files::has_room() {
            // The inputs' share of the open file limit is full: the tailer's scans take the file
            // once there is room (and say how many wait).
            return true;
        }
        let Ok(file) = crate::open_files::open_log(&path) else {
            tracing::trace!(file = %path.display(), "gone before it could be opened");
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
        tracing::trace!(file = %path.display(), ino = fid.ino, renamed, "opened");
        self.order.push_back(key);
        if self.order.len() > SEEN_MAX {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        let opened_as = (path != known_as).then_some(path);
        let mut item = Opened {
            path: known_as.to_path_buf(),
            opened_as,
            renamed,
            file: crate::open_files::Held::new(file),
            fid,
        };
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

    /// The name the input knows `path` by, if it wants it: a path the patterns match, a link's
    /// target, or a rotated name of either (`app.log.1`, `<id>-json.log.2`, `0.log.<stamp>`): a
    /// generation renamed before it could be opened under its first name is still caught under
    /// its next one, before it is deleted.
    fn known_as(&self, path: &Path, rotated: bool) -> Option<PathBuf> {
        if self.discovery.matches(path) {
            return Some(path.to_path_buf());
        }
        if let Some(link) = self.targets.get(path) {
            return Some(link.clone());
        }
        if !rotated {
            return None;
        }
        let base = rotated_base(path)?;
        if self.discovery.matches(&base) {
            return Some(base);
        }
        self.targets.get(&base).cloned()
    }

    fn scan(&mut self) -> bool {
        let mut targets = HashMap::new();
        for path in self.discovery.scan() {
            let is_link = std::fs::symlink_metadata(&path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if is_link {
                let real = super::rotation::resolved(&path);
                if let Some(dir) = real.parent() {
                    if !self.watched.contains(dir) && !self.unwatched.iter().any(|d| d == dir) {
                        self.unwatched.push(dir.to_path_buf());
                    }
                }
                targets.insert(real, path.clone());
            }
            if !self.offer(path.clone(), &path, false) {
                return false;
            }
        }
        self.targets = targets;
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
        targets: HashMap::new(),
        watched: HashSet::new(),
        unwatched: Vec::new(),
    };
    // Events are handled on notify's own thread, the moment inotify reports them: a thread
    // hop more would let a generation that lives a few milliseconds slip by under load.
    let opener = Arc::new(std::sync::Mutex::new(opener));
    let on_event = {
        let opener = opener.clone();
        let mut prioritized = false;
        move |res: notify::Result<notify::Event>| {
            if !prioritized {
                prioritized = true;
                raise_priority();
            }
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
                        } else if let Some(known) = o.known_as(&path, true) {
                            // A file created under a rotated name is likely a copytruncate
                            // copy: the tailer judges it once the copy is done.
                            o.offer(path, &known, false);
                        }
                    }
                }
                // A generation renamed before it could be opened under its first name is still
                // caught under its next one (`-json.log.1`), before it is deleted.
                // Only the name a file was renamed *to*: inotify also reports the name it left
                // (`From`), and by the time that event is handled a copytruncate may have made a
                // new copy under it, which must not be taken as a new file. (`Both` repeats `To`.)
                EventKind::Modify(ModifyKind::Name(RenameMode::From | RenameMode::Both)) => {}
                EventKind::Modify(ModifyKind::Name(_)) => {
                    for path in ev.paths {
                        if let Some(known) = o.known_as(&path, true) {
                            o.offer(path, &known, true);
                        }
                    }
                }
                _ => {}
            }
        }
    };
    let mut watcher = lock(&opener).discovery.watch_with(on_event);
    std::thread::Builder::new()
        .name("file-opener".into())
        .spawn(move || {
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
                let dirs = std::mem::take(&mut lock(&opener).unwatched);
                if !dirs.is_empty() {
                    watch_targets(watcher.as_mut(), &dirs);
                    let mut o = lock(&opener);
                    o.watched.extend(dirs);
                    // Files created there before the watch: a scan finds them.
                    if !o.scan() {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(100).min(scan_frequency));
            }
        })?;
    Ok(rx)
}

/// Asks the scheduler to run the calling thread (notify's event thread) before the agent's other
/// work: an open delayed by a busy machine can cost a generation in a rotation storm. Needs
/// `CAP_SYS_NICE` (root, as a DaemonSet or the systemd unit runs); without it nothing changes.
fn raise_priority() {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    let rc = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, -10)
    };
    if rc != 0 {
        tracing::debug!("the file opener runs at normal priority (no CAP_SYS_NICE)");
    }
}

/// Watches the directories link targets live in (non-recursively: the kubelet's rotated names
/// are siblings of the target).
fn watch_targets(watcher: Option<&mut notify::RecommendedWatcher>, dirs: &[PathBuf]) {
    use notify::Watcher;
    let Some(w) = watcher else { return };
    for dir in dirs {
        if let Err(e) = w.watch(dir, notify::RecursiveMode::NonRecursive) {
            tracing::debug!(dir = %dir.display(), error = %e, "cannot watch a link target's directory; scans will find its files");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names() {
        let b = |p: &str| rotated_base(Path::new(p)).map(|p| p.display().to_string());
        assert_eq!(b("/l/app.log.1").as_deref(), Some("/l/app.log"));
        assert_eq!(b("/c/x-json.log.12").as_deref(), Some("/c/x-json.log"));
        assert_eq!(
            b("/p/c/0.log.20261202-101500").as_deref(),
            Some("/p/c/0.log")
        );
        assert_eq!(b("/p/c/0.log.20261202-101500.gz"), None);
        assert_eq!(b("/l/app.log"), None);
        assert_eq!(b("/l/app.log.-"), None);
    }
}
