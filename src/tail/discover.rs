//! Finding the files to read: glob patterns evaluated on a timer (`scan_frequency`) and whenever
//! the file system reports a change in a watched directory (notify/inotify), so new files are
//! picked up at once and a missed notification only delays discovery, never loses a file.

use notify::{RecursiveMode, Watcher};
use std::collections::hash_map::{Entry, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::SyncSender;

#[derive(Clone)]
pub struct Discovery {
    patterns: Vec<String>,
    /// `patterns` compiled, for `matches`.
    globs: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
}

impl Discovery {
    pub fn new(patterns: &[String], exclude: &[String]) -> Discovery {
        Discovery {
            patterns: patterns.to_vec(),
            globs: patterns
                .iter()
                .filter_map(|p| glob::Pattern::new(p).ok())
                .collect(),
            exclude: exclude
                .iter()
                .filter_map(|p| glob::Pattern::new(p).ok())
                .collect(),
        }
    }

    /// Regular files (symlinks followed) matching the patterns now, sorted, each once: a file
    /// reached under several names (through a directory link that leads back up, which `**`
    /// follows until the kernel's limit of 40 links; a hard link) is listed under its shortest
    /// name, not under `logs/up/up/…/up/app.log`.
    pub fn scan(&self) -> Vec<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let mut by_file: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for pattern in &self.patterns {
            let Ok(paths) = glob::glob(pattern) else {
                continue;
            };
            for path in paths.flatten() {
                if self.exclude.iter().any(|x| x.matches_path(&path)) {
                    continue;
                }
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                match by_file.entry((meta.dev(), meta.ino())) {
                    Entry::Occupied(mut known) => {
                        if shorter(&path, known.get()) {
                            known.insert(path);
                        }
                    }
                    Entry::Vacant(new) => {
                        new.insert(path);
                    }
                }
            }
        }
        let mut out: Vec<PathBuf> = by_file.into_values().collect();
        out.sort();
        out
    }
}

/// Fewer components first, then the name's order.
fn shorter(a: &Path, b: &Path) -> bool {
    (a.components().count(), a) < (b.components().count(), b)
}

impl Discovery {
    /// True when `path` matches a pattern and no exclude (the path itself, not the disk).
    pub fn matches(&self, path: &Path) -> bool {
        self.globs.iter().any(|p| p.matches_path(path))
            && !self.exclude.iter().any(|x| x.matches_path(path))
    }

    /// True when an exclude pattern matches `path`.
    pub fn excluded(&self, path: &Path) -> bool {
        self.exclude.iter().any(|x| x.matches_path(path))
    }

    /// Watches the fixed directory part of each pattern; any event there wakes the tailer.
    /// Returns None (with a warning) when watching is impossible: the periodic scan still works.
    #[allow(dead_code)] // the opener watches with `watch_with`
    pub fn watch(&self, wake: SyncSender<()>) -> Option<notify::RecommendedWatcher> {
        self.watch_with(move |_res: notify::Result<notify::Event>| {
            let _ = wake.try_send(());
        })
    }

    /// Watches the fixed directory part of each pattern, calling `handler` with each event.
    pub fn watch_with(
        &self,
        handler: impl notify::EventHandler,
    ) -> Option<notify::RecommendedWatcher> {
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "file-system notifications unavailable; relying on periodic scans");
                return None;
            }
        };
        for pattern in &self.patterns {
            let (base, recursive) = fixed_base(pattern);
            let mode = if recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            if let Err(e) = watcher.watch(&base, mode) {
                tracing::debug!(dir = %base.display(), error = %e, "cannot watch directory yet; periodic scans will find its files");
            }
        }
        Some(watcher)
    }
}

/// The longest leading directory of `pattern` without glob characters, and whether directories
/// below it are matched by a pattern (so the watch must be recursive).
fn fixed_base(pattern: &str) -> (PathBuf, bool) {
    let path = Path::new(pattern);
    let mut base = PathBuf::new();
    let comps: Vec<Component> = path.components().collect();
    let mut i = 0;
    while i < comps.len() {
        let s = comps[i].as_os_str().to_string_lossy();
        if s.contains(['*', '?', '[']) {
            break;
        }
        base.push(comps[i]);
        i += 1;
    }
    if i == comps.len() {
        // No glob: watch the file's directory.
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return (dir, false);
    }
    (base, i + 1 < comps.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_directories() {
        assert_eq!(
            fixed_base("/var/log/syslog"),
            (PathBuf::from("/var/log"), false)
        );
        assert_eq!(
            fixed_base("/var/log/*.log"),
            (PathBuf::from("/var/log"), false)
        );
        assert_eq!(
            fixed_base("/var/lib/docker/containers/*/*-json.log"),
            (PathBuf::from("/var/lib/docker/containers"), true)
        );
    }

    #[test]
    fn a_file_under_a_link_that_leads_back_up_is_listed_once_by_its_shortest_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/zz.log"), b"y").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/up")).unwrap();
        std::fs::hard_link(
            dir.path().join("app.log"),
            dir.path().join("sub/app-hard.log"),
        )
        .unwrap();
        let d = Discovery::new(&[format!("{}/**/*.log", dir.path().display())], &[]);
        let got = d.scan();
        assert_eq!(
            got,
            vec![dir.path().join("app.log"), dir.path().join("sub/zz.log")],
            "{got:?}"
        );
    }

    #[test]
    fn scan_matches_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.log", "b.log", "c.log.gz", "d.txt"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let d = Discovery::new(
            &[format!("{}/*.log*", dir.path().display())],
            &["*.gz".to_string()],
        );
        let names: Vec<String> = d
            .scan()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.log", "b.log"]);
    }
}
