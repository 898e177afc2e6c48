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
    /// One bit per top-level key (`key_bit`): a key whose bit is clear is not in `map`, which
    /// answers most `has_key` questions without searching the map.
    key_bits: u64,
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
            key_bits: map.keys().fold(0, |bits, k| bits | key_bit(k)),
            map,
            fragment: OnceLock::new(),
        }
    }

    /// Whether `key` is one of the shared top-level fields (asked for every field a processor
    /// adds to a record, so mostly answered by `key_bits` alone).
    pub fn has_key(&self, key: &str) -> bool {
        self.key_bits & key_bit(key) != 0 && self.map.contains_key(key)
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

/// A key's bit in `Shared::key_bits`, from its length and first byte (the shared keys, `host`,
/// `agent`, `input`, `log`, `container`, `ecs`, `kubernetes`, rarely share both with a field an
/// application logs).
fn key_bit(key: &str) -> u64 {
    let first = key.as_bytes().first().copied().unwrap_or(0) as usize;
    1 << ((key.len().wrapping_mul(31).wrapping_add(first)) % 64)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// `has_key` is the map's own answer, for keys in it, keys near them (same length or
        /// first byte) and empty ones.
        #[test]
        fn has_key_is_contains_key(
            keys in proptest::collection::vec("[a-z@._]{0,12}", 0..12),
            probes in proptest::collection::vec("[a-z@._]{0,12}", 0..24),
        ) {
            let map: Fields = keys.iter().map(|k| (k.clone(), Value::Null)).collect();
            let shared = Shared::new(map.clone());
            for k in keys.iter().chain(&probes) {
                prop_assert_eq!(shared.has_key(k), map.contains_key(k.as_str()), "{}", k);
            }
            prop_assert!(!Shared::default().has_key(""));
        }
    }
}
