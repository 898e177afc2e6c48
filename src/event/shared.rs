//! `Shared`: the fields every record of one file has (`host`, `agent`, `input`,
//! `log.file.path`, the container or pod), held once per file, and their JSON written once (the
//! `Fragment` the compact writer copies into every record).

use super::write::write_key;
use super::Fields;
use serde_json::Value;
use std::sync::OnceLock;

/// The fields shared by every record of one file, with their JSON written once.
#[derive(Debug, Default)]
pub struct Shared {
    map: Fields,
    /// `map` serialized for the compact path (see `Fragment`), on first use.
    fragment: OnceLock<Fragment>,
}

/// The shared fields as JSON bytes: `log_inner` is what goes inside the record's `log` object
/// after its own entries (`"file":{"path":...}`), `rest` every other shared entry
/// (`,"host":{...},"agent":{...}`). `compact_ok` is false when the shared map holds a key the
/// compact record writes itself (then the record is serialized through the merge instead).
#[derive(Debug)]
pub(super) struct Fragment {
    pub(super) log_inner: Vec<u8>,
    pub(super) rest: Vec<u8>,
    pub(super) compact_ok: bool,
}

impl Shared {
    pub fn new(map: Fields) -> Shared {
        Shared {
            map,
            fragment: OnceLock::new(),
        }
    }

    pub fn map(&self) -> &Fields {
        &self.map
    }

    /// The fragment if it was already written (for size estimates that must not build it).
    pub(super) fn fragment_if_built(&self) -> Option<&Fragment> {
        self.fragment.get()
    }

    pub(super) fn fragment(&self) -> &Fragment {
        self.fragment.get_or_init(|| {
            let mut rest = Vec::new();
            let mut log_inner = Vec::new();
            let mut compact_ok = true;
            for (k, v) in &self.map {
                match (k.as_str(), v) {
                    ("log", Value::Object(log)) => {
                        if log.contains_key("offset") || log.contains_key("flags") {
                            compact_ok = false;
                        }
                        for (lk, lv) in log {
                            log_inner.push(b',');
                            write_key(&mut log_inner, lk);
                            let _ = serde_json::to_writer(&mut log_inner, lv);
                        }
                    }
                    ("log" | "@timestamp" | "message" | "stream" | "error", _) => {
                        compact_ok = false
                    }
                    _ => {
                        rest.push(b',');
                        write_key(&mut rest, k);
                        let _ = serde_json::to_writer(&mut rest, v);
                    }
                }
            }
            Fragment {
                log_inner,
                rest,
                compact_ok,
            }
        })
    }
}

impl std::ops::Deref for Shared {
    type Target = Fields;
    fn deref(&self) -> &Fields {
        &self.map
    }
}

impl From<Fields> for Shared {
    fn from(map: Fields) -> Shared {
        Shared::new(map)
    }
}
