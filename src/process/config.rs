//! The YAML of `processors:` (top level or under one input): a list of one-key maps, as in
//! Filebeat (`- drop: { when: {...} }`). Regexes are compiled when the configuration is checked
//! (condition.rs, multiline.rs), so a bad one is a configuration error with its path and line.

use crate::config::units::{Dur, Size};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One element of a `processors:` list as written (`- drop: {...}`): one-key maps are the enum
/// variants (serde's externally tagged form), nested conditions included.
#[derive(Debug, Deserialize, Clone)]
#[serde(transparent)]
pub struct ProcessorItem(pub ProcessorConfig);

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessorConfig {
    DecodeJson(DecodeJsonConfig),
    Multiline(MultilineConfig),
    Drop(WhenConfig),
    Include(WhenConfig),
    Rename(RenameConfig),
    AddFields(AddFieldsConfig),
    DropFields(FieldsConfig),
    IncludeFields(FieldsConfig),
}

/// `drop_fields` / `include_fields`: dotted field paths.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FieldsConfig {
    /// The fields removed (`drop_fields`) or the only ones kept (`include_fields`).
    pub fields: Vec<String>,
    /// `drop_fields`: a missing field is not an error (the default).
    #[serde(default = "default_true")]
    pub ignore_missing: bool,
    /// Only records matching this condition are changed (all when unset).
    #[serde(default)]
    pub when: Option<ConditionConfig>,
}

/// A condition, as Filebeat's `when:` reads.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConditionConfig {
    Equals(BTreeMap<String, Value>),
    Contains(BTreeMap<String, String>),
    #[serde(alias = "regex")]
    Regexp(BTreeMap<String, String>),
    HasFields(Vec<String>),
    Range(BTreeMap<String, RangeConfig>),
    And(Vec<ConditionConfig>),
    Or(Vec<ConditionConfig>),
    Not(Box<ConditionConfig>),
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RangeConfig {
    /// At least this.
    pub gte: Option<f64>,
    /// More than this.
    pub gt: Option<f64>,
    /// At most this.
    pub lte: Option<f64>,
    /// Less than this.
    pub lt: Option<f64>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct WhenConfig {
    /// The records this applies to (`drop`: the ones dropped; `include`: the ones kept).
    pub when: ConditionConfig,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    #[default]
    Keep,
    Drop,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DecodeJsonConfig {
    /// The field holding the JSON text.
    #[serde(default = "default_message")]
    pub field: String,
    /// Where the decoded object goes; `""` merges it into the record's root.
    #[serde(default)]
    pub target: String,
    /// Decoded keys replace existing fields of the same name (else those are kept).
    #[serde(default)]
    pub overwrite_keys: bool,
    /// A failed decode sets `error.message` and `error.type: json`.
    #[serde(default)]
    pub add_error_key: bool,
    /// Deeper objects stay JSON text (bounds the work per record).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Dotted keys of the decoded object (`{"a.b": 1}`) become nested objects (as Filebeat's
    /// `expand_keys`); off by default: they stay literal keys.
    #[serde(default)]
    pub expand_keys: bool,
    /// `keep` the record as it was, or `drop` it, when the text is not JSON.
    #[serde(default)]
    pub on_error: OnError,
    /// Only records matching this condition are changed (all when unset).
    #[serde(default)]
    pub when: Option<ConditionConfig>,
}

fn default_message() -> String {
    "message".into()
}
fn default_max_depth() -> usize {
    10
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MultilineMatch {
    After,
    Before,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MultilinePreset {
    Java,
    Python,
    Go,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MultilineConfig {
    /// Sets `pattern`, `negate` and `match` for a common stack-trace shape.
    #[serde(default)]
    pub preset: Option<MultilinePreset>,
    /// Regex a line is matched against.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Invert `pattern`: the lines that do not match it are the ones that continue a group.
    #[serde(default)]
    pub negate: Option<bool>,
    /// `after` or `before`, as Filebeat: whether continuation lines join the line before them
    /// or the line after them.
    #[serde(default, rename = "match")]
    pub match_: Option<MultilineMatch>,
    /// Most lines in one record; further lines of the group are dropped and it is flagged.
    #[serde(default = "default_max_lines")]
    pub max_lines: usize,
    /// Most bytes in one record; the rest of the group is cut and it is flagged.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: Size,
    /// A group with no new line for this long is sent.
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
}

fn default_max_lines() -> usize {
    500
}
fn default_max_bytes() -> Size {
    Size(10 << 20)
}
fn default_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RenameConfig {
    /// `from: to` pairs, applied in order.
    pub fields: indexmap_free::OrderedMap,
    /// A missing source field is not an error.
    #[serde(default = "default_true")]
    pub ignore_missing: bool,
    /// A rename that cannot be done sets `error.message`.
    #[serde(default)]
    pub fail_on_error: bool,
    /// Only records matching this condition are changed (all when unset).
    #[serde(default)]
    pub when: Option<ConditionConfig>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AddFieldsConfig {
    /// Where the fields go (default `fields`, as in Filebeat); `""` = the record's root.
    #[serde(default = "default_fields_target")]
    pub target: String,
    /// Fields to add (`dotted.keys` nest).
    pub fields: serde_json::Map<String, Value>,
    /// Only records matching this condition are changed (all when unset).
    #[serde(default)]
    pub when: Option<ConditionConfig>,
}

fn default_fields_target() -> String {
    "fields".into()
}

/// A YAML map read in document order (serde_json's map keeps insertion order only with a
/// feature we do not need elsewhere).
pub mod indexmap_free {
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;

    #[derive(Debug, Clone, Default)]
    pub struct OrderedMap(pub Vec<(String, String)>);

    impl<'de> Deserialize<'de> for OrderedMap {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedMap;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of `from: to` field names")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedMap, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, String>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}
