//! Read positions of the shipper logship replaces, made logship checkpoints: Filebeat's registry
//! (`data/registry/filebeat`: the `log.json` operations log over the snapshot `active.dat`
//! names; `filestream::<id>::native::<inode>-<device>` and `filebeat::logs::...` states) and
//! Fluent Bit's tail database (SQLite, table `in_tail_files`: name, offset, inode).
//!
//! A position is imported only for a file still at its path with the same identity (inode, and
//! device where the old shipper kept it), that an input of the logship configuration reads, and
//! that is at least as long as the offset; its checkpoint then starts exactly there. The others
//! are reported and left to `read_from`.

use crate::settings::Config;
use crate::tail::checkpoint::{CheckpointStore, Entry};
use crate::tail::identity::{birth_time, Fingerprint};
use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the old shipper had acknowledged a file to.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub path: PathBuf,
    pub ino: Option<u64>,
    pub dev: Option<u64>,
    pub offset: u64,
}

/// The directory holding `log.json` from a path the user may give: the data dir, the registry
/// dir, the `filebeat` dir in it, or `log.json` itself.
fn registry_dir(p: &Path) -> Option<PathBuf> {
    let candidates = [
        p.to_path_buf(),
        p.join("registry/filebeat"),
        p.join("filebeat"),
        p.parent().map(Path::to_path_buf).unwrap_or_default(),
    ];
    candidates
        .into_iter()
        .find(|d| d.join("log.json").is_file() || d.join("active.dat").is_file())
}

/// The state of one registry key as a position.
fn position(key: &str, v: &Value) -> Option<Position> {
    if key.starts_with("filestream::") {
        let offset = v.pointer("/cursor/offset")?.as_u64()?;
        let path = v.pointer("/meta/source")?.as_str()?;
        // `filestream::<id>::native::<inode>-<device>`; a fingerprint identity has no inode.
        let (ino, dev) = match key.rsplit_once("::native::") {
            Some((_, id)) => {
                let (i, d) = id.split_once('-')?;
                (i.parse().ok(), d.parse().ok())
            }
            None => (None, None),
        };
        return Some(Position {
            path: PathBuf::from(path),
            ino,
            dev,
            offset,
        });
    }
    if key.starts_with("filebeat::logs::") {
        return Some(Position {
            path: PathBuf::from(v.get("source")?.as_str()?),
            ino: v.pointer("/FileStateOS/inode").and_then(Value::as_u64),
            dev: v.pointer("/FileStateOS/device").and_then(Value::as_u64),
            offset: v.get("offset")?.as_u64()?,
        });
    }
    None
}

/// The positions in a Filebeat registry; `bad` counts the lines that could not be read.
pub fn filebeat(path: &Path, bad: &mut usize) -> anyhow::Result<Vec<Position>> {
    let dir = registry_dir(path).with_context(|| {
        format!(
            "no Filebeat registry (log.json) at or under {}",
            path.display()
        )
    })?;
    let snapshot = std::fs::read_to_string(dir.join("active.dat"))
        .ok()
        .and_then(|active| {
            let snap = PathBuf::from(active.trim());
            let snap = if snap.is_absolute() {
                snap
            } else {
                dir.join(snap)
            };
            std::fs::read(snap).ok()
        });
    let log = std::fs::read_to_string(dir.join("log.json")).unwrap_or_default();
    Ok(parse(snapshot.as_deref(), &log, bad))
}

/// The positions of a registry: its snapshot (a JSON array of states with `_key`) and the
/// operations log after it (`{"op":"set"|"remove","id":N}` then `{"k":..,"v":..}`).
pub fn parse(snapshot: Option<&[u8]>, log: &str, bad: &mut usize) -> Vec<Position> {
    let mut state: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(bytes) = snapshot {
        match serde_json::from_slice::<Vec<Value>>(bytes) {
            Ok(items) => {
                for mut item in items {
                    let key = item
                        .as_object_mut()
                        .and_then(|m| m.remove("_key"))
                        .and_then(|k| k.as_str().map(str::to_string));
                    match key {
                        Some(k) => {
                            state.insert(k, item);
                        }
                        None => *bad += 1,
                    }
                }
            }
            Err(_) => *bad += 1,
        }
    }
    let mut op: Option<String> = None;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            *bad += 1;
            op = None;
            continue;
        };
        if let Some(o) = v.get("op").and_then(Value::as_str) {
            op = Some(o.to_string());
            continue;
        }
        let Some(k) = v.get("k").and_then(Value::as_str) else {
            *bad += 1;
            continue;
        };
        match op.take().as_deref() {
            Some("set") => {
                state.insert(k.to_string(), v.get("v").cloned().unwrap_or(Value::Null));
            }
            Some("remove") => {
                state.remove(k);
            }
            _ => *bad += 1,
        }
    }
    state.iter().filter_map(|(k, v)| position(k, v)).collect()
}

/// Whether `path` is an SQLite database (Fluent Bit's tail DB) rather than a Filebeat registry.
pub fn is_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"SQLite format 3\0"
}

/// The positions in Fluent Bit's tail database (`in_tail_files`: name, offset, inode; Fluent
/// Bit keeps no device), opened read-only.
pub fn fluentbit_db(path: &Path) -> anyhow::Result<Vec<Position>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the tail database {}", path.display()))?;
    let mut stmt = conn
        .prepare("SELECT name, offset, inode FROM in_tail_files")
        .with_context(|| format!("{}: no in_tail_files table", path.display()))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, offset, inode) = row?;
        out.push(Position {
            path: PathBuf::from(name),
            ino: inode.and_then(|i| u64::try_from(i).ok()),
            dev: None,
            offset: offset.and_then(|o| u64::try_from(o).ok()).unwrap_or(0),
        });
    }
    Ok(out)
}

/// What happened to each position.
#[derive(Debug, Default)]
pub struct Imported {
    pub resumed: Vec<(PathBuf, u64)>,
    /// (path, why it was left to `read_from`).
    pub left: Vec<(PathBuf, String)>,
}

/// Makes checkpoints of `positions` in `config`'s data_dir (the agent must not be running).
pub fn import(positions: &[Position], config: &Config) -> anyhow::Result<Imported> {
    let inputs: Vec<(String, Vec<glob::Pattern>)> = config
        .inputs
        .iter()
        .filter_map(
            |i| match crate::input::plan(i, config.max_line_bytes, &config.host_name) {
                crate::input::Plan::Tail(s, _) => Some((
                    i.key.clone(),
                    s.paths
                        .iter()
                        .filter_map(|p| glob::Pattern::new(p).ok())
                        .collect(),
                )),
                crate::input::Plan::Syslog(_) => None,
            },
        )
        .collect();
    let mut done = Imported::default();
    let mut entries = Vec::new();
    for p in positions {
        let left = |why: String| (p.path.clone(), why);
        let meta = match std::fs::metadata(&p.path) {
            Ok(m) => m,
            Err(e) => {
                done.left.push(left(format!("not there any more ({e})")));
                continue;
            }
        };
        if p.ino.is_some_and(|i| i != meta.ino()) || p.dev.is_some_and(|d| d != meta.dev()) {
            done.left.push(left(format!(
                "another file now (inode {} device {}, the registry has {:?} {:?})",
                meta.ino(),
                meta.dev(),
                p.ino,
                p.dev
            )));
            continue;
        }
        let Some((key, _)) = inputs
            .iter()
            .find(|(_, globs)| globs.iter().any(|g| g.matches_path(&p.path)))
        else {
            done.left
                .push(left("no input of the configuration reads it".into()));
            continue;
        };
        if p.offset > meta.len() {
            done.left.push(left(format!(
                "shorter ({} bytes) than the offset {} (truncated?)",
                meta.len(),
                p.offset
            )));
            continue;
        }
        let file = std::fs::File::open(&p.path)
            .with_context(|| format!("cannot open {}", p.path.display()))?;
        let fp = Fingerprint::of(&file)?;
        entries.push(Entry {
            input: key.clone(),
            path: p.path.clone(),
            dev: meta.dev(),
            ino: meta.ino(),
            birth: birth_time(&meta),
            fp_len: fp.len,
            fp_hash: fp.hash,
            offset: p.offset,
            generation: 0,
            tail_hash: crate::tail::rotation::hash_before(&file, p.offset),
            updated: chrono::Utc::now().timestamp(),
        });
        done.resumed.push((p.path.clone(), p.offset));
    }
    // A running agent would overwrite what is imported: refused at once while one holds it.
    let _lock = crate::data_lock::acquire(&config.data_dir, std::time::Duration::ZERO)?;
    let store = CheckpointStore::open(&config.data_dir)
        .with_context(|| format!("data_dir {}", config.data_dir.display()))?;
    store.import(entries);
    store
        .save()
        .with_context(|| format!("cannot write checkpoints in {}", config.data_dir.display()))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_log_over_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("registry/filebeat");
        std::fs::create_dir_all(&reg).unwrap();
        std::fs::write(
            reg.join("active.dat"),
            reg.join("12.json").to_str().unwrap(),
        )
        .unwrap();
        std::fs::write(
            reg.join("12.json"),
            r#"[{"_key":"filebeat::logs::native::11-2049","source":"/a.log","offset":5,"FileStateOS":{"inode":11,"device":2049}},
               {"_key":"filestream::x::native::12-2049","cursor":{"offset":9},"meta":{"source":"/gone.log"}}]"#,
        )
        .unwrap();
        std::fs::write(
            reg.join("log.json"),
            concat!(
                "{\"op\":\"set\",\"id\":13}\n",
                "{\"k\":\"filestream::my-id::native::42-2049\",\"v\":{\"cursor\":{\"offset\":120},\"meta\":{\"source\":\"/b.log\",\"identifier_name\":\"native\"},\"ttl\":0,\"updated\":[1,2]}}\n",
                "{\"op\":\"remove\",\"id\":14}\n",
                "{\"k\":\"filestream::x::native::12-2049\"}\n",
                "not json\n",
                "{\"op\":\"set\",\"id\":15}\n",
                "{\"k\":\"filebeat::logs::native::11-2049\",\"v\":{\"source\":\"/a.log\",\"offset\":77,\"FileStateOS\":{\"inode\":11,\"device\":2049}}}\n",
            ),
        )
        .unwrap();
        let mut bad = 0;
        let mut got = filebeat(dir.path(), &mut bad).unwrap();
        got.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(bad, 1);
        assert_eq!(
            got,
            vec![
                Position {
                    path: "/a.log".into(),
                    ino: Some(11),
                    dev: Some(2049),
                    offset: 77
                },
                Position {
                    path: "/b.log".into(),
                    ino: Some(42),
                    dev: Some(2049),
                    offset: 120
                },
            ]
        );
    }
}
