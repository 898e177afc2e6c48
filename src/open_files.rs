//! The process's open file limit (`RLIMIT_NOFILE`) and the share of it that inputs may fill.
//!
//! An input keeps every file it reads open (a rotated or deleted file stays readable until it is
//! read to its end), so a node with more log files than the limit allows would otherwise fill
//! every descriptor with log files: then the `file` output cannot open its file, checkpoints
//! cannot be written and `/health` cannot accept a connection, and the agent stalls with no
//! way to say so. Two things prevent that:
//! - at start the soft limit is raised to the hard one (what the Go runtime does for Filebeat
//!   since Go 1.19; a shell's or systemd's soft limit is often 1,024 under a much higher hard
//!   one);
//! - files held by inputs are counted (`Held`, one per open file an input keeps) against a
//!   budget of the limit less a reserve for the agent's own needs (outputs, checkpoints, the
//!   HTTP server, syslog connections and spool files). A file past the budget is not opened;
//!   the input's next scan tries again, once files it held are released (read to the end after a
//!   rotation or delete), and a warning says how many files wait and what to raise.

use std::fs::File;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Descriptors kept for everything but input files, besides each syslog input's connections.
pub const RESERVE: usize = 128;

/// Files inputs hold open now, and how many they may hold (`usize::MAX` until `set_budget`).
static HELD: AtomicUsize = AtomicUsize::new(0);
static BUDGET: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The soft and hard limits now, or None when they cannot be read.
pub fn limits() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0)
        .then_some((r.rlim_cur, r.rlim_max))
}

/// Raises the soft limit to the hard one (capped at what the kernel allows a process,
/// `fs.nr_open`); returns the soft limit before and after.
pub fn raise_limit() -> Option<(u64, u64)> {
    let (soft, hard) = limits()?;
    if soft >= hard {
        return Some((soft, soft));
    }
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    let wanted = hard.min(nr_open);
    let r = libc::rlimit {
        rlim_cur: wanted,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given; raising the soft limit up to the hard one
    // needs no privilege.
    if wanted > soft && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } == 0 {
        return Some((soft, wanted));
    }
    Some((soft, soft))
}

/// Sets how many files inputs may hold open: the soft limit less `reserve`, and at least half
/// the limit (a reserve larger than that would leave inputs next to nothing).
pub fn set_budget(soft_limit: u64, reserve: usize) -> usize {
    let limit = usize::try_from(soft_limit).unwrap_or(usize::MAX);
    let budget = limit.saturating_sub(reserve).max(limit / 2);
    BUDGET.store(budget, Ordering::Relaxed);
    budget
}

/// How many files inputs may hold open.
pub fn budget() -> usize {
    BUDGET.load(Ordering::Relaxed)
}

/// How many files inputs hold open now.
pub fn held() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// True when an input may open one more file to keep.
pub fn has_room() -> bool {
    held() < budget()
}

/// Opens a log file for reading, refusing anything but a regular file. Without `O_NONBLOCK` the
/// open of a FIFO a glob matches (`mkfifo app.log`) waits for a writer, forever, and the thread
/// that opened it (the opener, on notify's event thread) with it; `O_NOCTTY` keeps a terminal
/// from becoming the agent's. Reads of a regular file are not affected by `O_NONBLOCK`.
pub fn open_log(path: &std::path::Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// An open file an input keeps, counted against the budget until it is dropped.
#[derive(Debug)]
pub struct Held {
    file: File,
    _slot: Slot,
}

/// One file counted in `HELD`, until dropped.
#[derive(Debug)]
pub struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Held {
    /// Counts `file` as held. Never refuses (a file opened after `has_room` said yes, or one
    /// already open, is kept): the budget is checked before opening.
    pub fn new(file: File) -> Held {
        HELD.fetch_add(1, Ordering::Relaxed);
        Held { file, _slot: Slot }
    }

    /// The file, and its place in the count (dropped once the file is held again elsewhere, so
    /// the count never dips while the file moves).
    pub fn into_parts(self) -> (File, Slot) {
        (self.file, self._slot)
    }
}

impl Deref for Held {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_limit_less_the_reserve_and_at_least_half() {
        assert_eq!(set_budget(1024, 128), 896);
        assert_eq!(set_budget(256, 200), 128);
        assert_eq!(set_budget(u64::MAX, 128), usize::MAX - 128);
        set_budget(u64::MAX, 0);
    }

    #[test]
    fn a_held_file_is_counted_until_it_and_its_slot_are_dropped() {
        // Other tests of this binary may hold files at the same time: compare with a margin.
        let before = held();
        let a = Held::new(tempfile::tempfile().unwrap());
        let b = Held::new(tempfile::tempfile().unwrap());
        assert!(held() >= before + 2);
        let (file, counted) = b.into_parts();
        assert!(held() >= before + 2);
        drop(counted);
        drop(a);
        assert!(file.metadata().is_ok());
        assert!(held() <= before + 2);
    }

    #[test]
    fn raising_keeps_the_hard_limit() {
        let Some((_, hard)) = limits() else { return };
        let (_, after) = raise_limit().unwrap();
        assert!(after <= hard);
        assert_eq!(limits().unwrap().1, hard);
    }
}
