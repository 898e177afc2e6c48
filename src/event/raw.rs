//! `RawObject`: the fields `decode_json` brought into a record, kept as the JSON text they came
//! in (a small object of plain values) until something needs them as a map.
//!
//! The common JSON application line (`{"level":"INFO","svc":"api","msg":"…"}`) is checked in one
//! pass without building anything (serde_json's own parser, so it accepts exactly the text that
//! parsing into a `Value` accepts), copied once, and written into the output as the bytes it
//! was. A condition that reads one of its fields (`drop: { when: { equals: { level: DEBUG } } }`)
//! finds that one value in the text; anything that changes the record's fields, or needs one of
//! them by reference, parses the whole object once (`Event::materialize`, `Event::get`).
//! Before this, every decoded line built, wrote and freed a `serde_json` map: README,
//! Performance.

use super::Fields;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

/// Most fields an object may have to be kept as text (larger ones are parsed into a map as
/// before; the duplicate-key check below is quadratic in this).
pub const MAX_RAW_FIELDS: usize = 32;

/// A JSON object of plain values (no object or array in it), no key twice, each key one the
/// record may hold beside its compact fields: its text, and its map once something asked for it.
#[derive(Debug, Clone)]
pub struct RawObject {
    /// The object's text, from its `{` to its `}` (JSON whitespace may be inside).
    text: Box<str>,
    /// The same fields parsed, made on the first `get` that needs a reference to one (boxed:
    /// records are moved often, and this is rarely made).
    parsed: OnceLock<Box<Fields>>,
}

impl RawObject {
    /// `text` as a raw object when it is one (see the type) with at least one field and at
    /// most `MAX_RAW_FIELDS`, every key at most `max_key` bytes, unescaped, and accepted by
    /// `may_hold`. `None` for anything else, valid JSON or not: the caller parses it as before.
    pub fn check(text: &str, max_key: usize, may_hold: impl Fn(&str) -> bool) -> Option<RawObject> {
        let fields = match quick_check(text, max_key, &may_hold) {
            Some(n) => n,
            None => serde_check(text, max_key, may_hold)?,
        };
        (fields > 0).then(|| RawObject {
            text: text.into(),
            parsed: OnceLock::new(),
        })
    }

    /// The members as they are written inside an object: the text between the braces.
    pub fn members(&self) -> &str {
        self.text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or("")
    }

    /// The length of the text (for sizing output buffers).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The fields as a map, parsed on the first call.
    pub fn fields(&self) -> &Fields {
        self.parsed.get_or_init(|| Box::new(self.parse()))
    }

    /// The fields as a map of their own.
    pub fn into_fields(self) -> Fields {
        match self.parsed.into_inner() {
            Some(m) => *m,
            None => RawObject::parse_text(&self.text),
        }
    }

    fn parse(&self) -> Fields {
        RawObject::parse_text(&self.text)
    }

    /// `check` accepted the text, so it parses; an empty map if it ever did not.
    fn parse_text(text: &str) -> Fields {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The value of the field `key`, found in the text without parsing the others.
    pub fn find(&self, key: &str) -> Option<Value> {
        if let Some(m) = self.parsed.get() {
            return m.get(key).cloned();
        }
        let text = self.text.as_bytes();
        let mut members = Members { text, at: 1 };
        while let Some((k, v)) = members.next() {
            if k == key.as_bytes() {
                // A string without escapes is its text (the common `"level":"INFO"`).
                let plain = v
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .filter(|inner| !inner.contains(&b'\\'))
                    .and_then(|inner| std::str::from_utf8(inner).ok());
                return match plain {
                    Some(s) => Some(Value::String(s.to_owned())),
                    None => serde_json::from_slice(v).ok(),
                };
            }
        }
        None
    }
}

/// `check` by serde_json's parser: the number of fields, if the text is kept raw.
fn serde_check(text: &str, max_key: usize, may_hold: impl Fn(&str) -> bool) -> Option<usize> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de.deserialize_map(CheckObject { max_key, may_hold }).ok()?;
    de.end().ok()?;
    Some(fields)
}

/// `check` for the common shape without serde_json's parser (which took 3.5 instructions per
/// byte of a JSON application line): keys and string values without an escape or a control
/// character (found with `memchr` and a vectorized test), other values `true`, `false`,
/// `null` or a number (that one token parsed by serde_json, for its exact number rules). The
/// number of fields when the text is such an object and kept raw; `None` for anything else,
/// which `serde_check` then decides (it accepts all this accepts, with the same count).
fn quick_check(text: &str, max_key: usize, may_hold: &impl Fn(&str) -> bool) -> Option<usize> {
    let mut m = Members {
        text: text.as_bytes(),
        at: 0,
    };
    m.expect(b'{')?;
    let mut keys: [&str; MAX_RAW_FIELDS] = [""; MAX_RAW_FIELDS];
    let mut n = 0;
    loop {
        m.expect(b'"')?;
        // Delimiters are ASCII, so the text between them is on character boundaries.
        let start = m.at;
        let len = m.plain_string()?.len();
        let key = text.get(start..start + len)?;
        let token = key.starts_with("$serde_json::private::");
        if keys.get(..n)?.contains(&key) || token || key.len() > max_key || !may_hold(key) {
            return None;
        }
        *keys.get_mut(n)? = key;
        n += 1;
        m.expect(b':')?;
        m.skip_space();
        if m.text.get(m.at) == Some(&b'"') {
            m.at += 1;
            m.plain_string()?;
        } else {
            let start = m.at;
            let len = m
                .text
                .get(start..)?
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))?;
            m.at += len;
            let value = m.text.get(start..m.at)?;
            let literal = matches!(value, b"true" | b"false" | b"null");
            if !literal && serde_json::from_slice::<serde_json::Number>(value).is_err() {
                return None;
            }
        }
        m.skip_space();
        let next = m.text.get(m.at).copied();
        m.at += 1;
        match next {
            Some(b',') => continue,
            Some(b'}') => break,
            _ => return None,
        }
    }
    m.skip_space();
    (m.at == m.text.len()).then_some(n)
}

/// The members of an object `check` accepted, as (key, value text) pairs: a scan for the
/// delimiters only, which is enough on such text (keys without escapes, values without
/// objects or arrays, so no `,` or `}` outside a string). Ends early (`None`) on anything else.
struct Members<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Members<'a> {
    fn skip_space(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// Moves past `c` if it is the next byte after space.
    fn expect(&mut self, c: u8) -> Option<()> {
        self.skip_space();
        (self.text.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    /// The rest of a string whose opening quote was read, up to its closing quote (moved
    /// past), when it has no escape and no control character in it.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        let rest = self.text.get(start..)?;
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        let body = rest.get(..len)?;
        if rest.get(len) != Some(&b'"') || body.iter().fold(false, |any, &c| any | (c < 0x20)) {
            return None;
        }
        self.at = start + len + 1;
        Some(body)
    }

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        self.expect(b'"')?;
        let key_start = self.at;
        let key_end = key_start + memchr::memchr(b'"', self.text.get(key_start..)?)?;
        self.at = key_end + 1;
        self.expect(b':')?;
        self.skip_space();
        let value_start = self.at;
        if self.text.get(self.at) == Some(&b'"') {
            self.at += 1;
            loop {
                let rest = self.text.get(self.at..)?;
                self.at += memchr::memchr2(b'"', b'\\', rest)?;
                let escape = self.text.get(self.at) == Some(&b'\\');
                self.at += if escape { 2 } else { 1 };
                if !escape {
                    break;
                }
            }
        } else {
            let rest = self.text.get(self.at..)?;
            self.at += rest
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))?;
        }
        let value = self.text.get(value_start..self.at)?;
        let key = self.text.get(key_start..key_end)?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b',') {
            self.at += 1;
        }
        Some((key, value))
    }
}

/// Visits the object for `check`: its number of fields, or an error for anything not kept raw.
struct CheckObject<F> {
    max_key: usize,
    may_hold: F,
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for CheckObject<F> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of plain values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut keys: [&'de str; MAX_RAW_FIELDS] = [""; MAX_RAW_FIELDS];
        let mut n = 0;
        while let Some(key) = map.next_key_seed(BorrowedKey)? {
            let fresh = keys.get(..n).is_some_and(|seen| !seen.contains(&key));
            // serde_json's `Value` refuses its private raw-value token as a key: so do we.
            let token = key.starts_with("$serde_json::private::");
            if !fresh || token || key.len() > self.max_key || !(self.may_hold)(key) {
                return Err(de::Error::custom("not kept raw"));
            }
            let Some(slot) = keys.get_mut(n) else {
                return Err(de::Error::custom("too many fields to keep raw"));
            };
            *slot = key;
            n += 1;
            map.next_value_seed(Plain)?;
        }
        Ok(n)
    }
}

/// A key as it is in the text; one with an escape in it is not kept raw.
struct BorrowedKey;

impl<'de> DeserializeSeed<'de> for BorrowedKey {
    type Value = &'de str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'de str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BorrowedKey {
    type Value = &'de str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key without escapes")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<&'de str, E> {
        Ok(v)
    }
}

/// A string, number, boolean or null, parsed as `Value` would (and dropped); an object or an
/// array is an error (not kept raw).
struct Plain;

impl<'de> DeserializeSeed<'de> for Plain {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Plain {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a plain value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str) -> Option<RawObject> {
        RawObject::check(text, 1024, |k| k != "message")
    }

    #[test]
    fn plain_objects_are_kept_and_read() {
        let r = check(
            r#" {"level":"INFO", "n": -1.5e3,"ok":true,"none":null,"s":"a\"b\u00e9"} "#.trim(),
        )
        .unwrap();
        assert_eq!(r.find("level"), Some(json!("INFO")));
        assert_eq!(r.find("s"), Some(json!("a\"bé")));
        assert_eq!(r.find("n"), Some(json!(-1500.0)));
        assert_eq!(r.find("none"), Some(Value::Null));
        assert_eq!(r.find("absent"), None);
        assert_eq!(r.fields().len(), 5);
        assert_eq!(r.members().trim_start().get(..7), Some("\"level\""));
        let m = r.clone().into_fields();
        assert_eq!(m["ok"], json!(true));
    }

    #[test]
    fn everything_else_is_left_to_the_map() {
        for text in [
            "{}",
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"message":"x"}"#,
            r#"{"\u0061":1}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":1e400}"#,
            "[1]",
            "\"s\"",
            "",
        ] {
            assert!(check(text).is_none(), "{text}");
        }
        let many = (0..=MAX_RAW_FIELDS)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(check(&format!("{{{many}}}")).is_none());
        assert!(RawObject::check(r#"{"abcd":1}"#, 3, |_| true).is_none());
    }

    /// Control characters, escapes, numbers serde_json refuses, a trailing comma: the quick
    /// check leaves them to serde_json.
    #[test]
    fn the_quick_check_keeps_only_what_serde_json_keeps() {
        let holds = |k: &str| k != "message";
        for (text, quick, serde) in [
            (r#"{"a":"x","b":1.5e3,"c":true,"d":null}"#, Some(4), Some(4)),
            (r#"{ "a" : "x" ,"b":-0 }"#, Some(2), Some(2)),
            ("{\"a\":\"x\ty\"}", None, None),
            (r#"{"a":"x\"y"}"#, None, Some(1)),
            (r#"{"a":1e400}"#, None, None),
            (r#"{"a":01}"#, None, None),
            (r#"{"a":tru}"#, None, None),
            (r#"{"a":1,}"#, None, None),
            (r#"{"a":1} "#, Some(1), Some(1)),
            (r#"{"a":1}}"#, None, None),
            (r#"{"a":1,"a":2}"#, None, None),
            (r#"{"message":1}"#, None, None),
            ("{}", None, Some(0)),
        ] {
            assert_eq!(quick_check(text, 1024, &holds), quick, "{text}");
            assert_eq!(serde_check(text, 1024, holds), serde, "{text}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Whatever the quick check keeps, serde_json's check keeps with the same count.
        #[test]
        fn quick_check_agrees_with_serde_json(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\"a\"", "\"b\"", "\"message\"", ":", ",", " ", "\t", "\"x\"",
                    "\"\\\"\"", "\"\u{1}\"", "1", "-1.5e3", "1e400", "01", "true", "nul",
                    "null", "[", "]", "\"é\"",
                ]),
                0..14,
            ),
        ) {
            let text = parts.concat();
            let holds = |k: &str| k != "message";
            if let Some(n) = quick_check(&text, 1024, &holds) {
                proptest::prop_assert_eq!(serde_check(&text, 1024, holds), Some(n), "{}", text);
            }
        }
        /// Objects as senders write them (any JSON space between tokens, escapes in strings,
        /// every kind of plain value, keys that repeat): what is kept finds every field of
        /// the parsed map, and what is not kept is not a plain object of distinct keys.
        #[test]
        fn every_field_is_found(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["a", "level", "b c", "é", "message", ""]),
                    proptest::sample::select(vec![
                        "\"x\"", "\"a\\\"b\\\\\"", "\"\\u00e9,}\"", "-1.5e3", "0", "true",
                        "false", "null", "\"\"", "{}", "[1]",
                    ]),
                    proptest::sample::select(vec!["", " ", "\t", "\r\n", "  \n "]),
                ),
                0..6,
            ),
        ) {
            let text = format!(
                "{{{}}}",
                members
                    .iter()
                    .map(|(k, v, sp)| format!("{sp}\"{k}\"{sp}:{sp}{v}{sp}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let parsed: Fields = serde_json::from_str(&text).unwrap();
            match check(&text) {
                Some(r) => {
                    proptest::prop_assert_eq!(parsed.len(), members.len());
                    for (k, v) in &parsed {
                        proptest::prop_assert_eq!(r.find(k), Some(v.clone()), "{}", text);
                    }
                    proptest::prop_assert_eq!(r.find("absent"), None);
                    proptest::prop_assert_eq!(r.fields(), &parsed);
                }
                None => proptest::prop_assert!(
                    parsed.is_empty()
                        || parsed.len() < members.len()
                        || parsed.contains_key("message")
                        || parsed.values().any(|v| v.is_object() || v.is_array()),
                    "{}", text
                ),
            }
        }

        /// Any text: `check` never panics, and what it keeps parses to the map it finds
        /// fields in, and its members written back in braces are the same object.
        #[test]
        fn kept_text_is_the_parsed_map(text in "[{}\\[\\]\":,a-c0-9 .e\\\\-]{0,40}") {
            if let Some(r) = check(&text) {
                let parsed: Fields = serde_json::from_str(&text).unwrap();
                for (k, v) in &parsed {
                    proptest::prop_assert_eq!(r.find(k), Some(v.clone()));
                }
                let again: Fields = serde_json::from_str(&format!("{{{}}}", r.members())).unwrap();
                proptest::prop_assert_eq!(again, parsed);
            }
        }
    }
}
