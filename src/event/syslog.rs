//! `log.syslog` of a compact record (`SyslogFields`): its JSON object written once, by the
//! decoder that took the message apart (`SyslogBuilder`), and copied as bytes into every output
//! buffer. It becomes a `serde_json::Value` only when something reads it (`Event::get` of
//! `log.syslog.*`: a processor, a condition) or the record leaves the compact form. A syslog
//! record builds and frees no JSON map on its way through (README, Performance, issue 16).

use serde_json::Value;
use std::io::Write;
use std::sync::OnceLock;

/// The `log.syslog` object: valid JSON bytes, and the value they parse to, on first use.
#[derive(Debug, Clone)]
pub struct SyslogFields {
    json: Box<[u8]>,
    value: OnceLock<Value>,
}

impl SyslogFields {
    /// From a value (`Event::set("log.syslog", …)`): written once now, kept as it is.
    pub fn from_value(value: Value) -> SyslogFields {
        let json = serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec());
        SyslogFields {
            json: json.into_boxed_slice(),
            value: OnceLock::from(value),
        }
    }

    /// The JSON object's bytes.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The object as a value (parsed on first use; the builder only writes valid JSON).
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            serde_json::from_slice(&self.json).unwrap_or_else(|_| Value::Object(Default::default()))
        })
    }

    /// The value, taken.
    pub fn into_value(self) -> Value {
        match self.value.into_inner() {
            Some(v) => v,
            None => serde_json::from_slice(&self.json)
                .unwrap_or_else(|_| Value::Object(Default::default())),
        }
    }
}

impl PartialEq for SyslogFields {
    fn eq(&self, other: &SyslogFields) -> bool {
        self.json == other.json
    }
}

/// Writes a `log.syslog` object key by key (keys are the decoder's own names, values escaped).
#[derive(Debug, Default)]
pub struct SyslogBuilder {
    buf: Vec<u8>,
}

impl SyslogBuilder {
    pub fn new() -> SyslogBuilder {
        SyslogBuilder {
            buf: Vec::with_capacity(160),
        }
    }

    /// A builder whose object starts with `prefix` (entries a builder wrote: `into_bytes`).
    pub fn starting_with(prefix: &[u8]) -> SyslogBuilder {
        let mut buf = Vec::with_capacity(prefix.len() + 96);
        buf.extend_from_slice(prefix);
        SyslogBuilder { buf }
    }

    /// What was written so far (to start other builders with: `starting_with`).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn key(&mut self, key: &str) {
        self.buf.push(if self.buf.is_empty() { b'{' } else { b',' });
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// `"key":{"code":N,"name":"…"}` (facility, severity).
    pub fn code_name(&mut self, key: &str, code: usize, name: &str) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(b"{\"code\":");
        let _ = write!(self.buf, "{code}");
        self.buf.extend_from_slice(b",\"name\":");
        super::write::write_str(&mut self.buf, name);
        self.buf.push(b'}');
        self
    }

    /// `"key":"value"`, left out when the value is empty.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.key(key);
            super::write::write_str(&mut self.buf, value);
        }
        self
    }

    /// `"key":N`.
    pub fn number(&mut self, key: &str, n: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{n}");
        self
    }

    /// `"key":<any JSON value>`.
    pub fn value(&mut self, key: &str, value: &Value) -> &mut Self {
        self.key(key);
        super::write::write_value(&mut self.buf, value);
        self
    }

    /// The object, or None when nothing was written.
    pub fn finish(mut self) -> Option<SyslogFields> {
        if self.buf.is_empty() {
            return None;
        }
        self.buf.push(b'}');
        Some(SyslogFields {
            json: self.buf.into_boxed_slice(),
            value: OnceLock::new(),
        })
    }
}
