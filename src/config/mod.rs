//! Loading and validating the YAML configuration: `${VAR}` substitution, typing with serde, and
//! reporting *every* problem with its YAML path and line (not just the first one serde meets).
//!
//! How every problem is found: each list element (input, output) is typed on its own, and when
//! serde rejects a key we record the error, remove that key from a scratch copy and type it again,
//! so one typo does not hide the next.

mod env;
mod lines;
pub mod model;
pub mod units;

pub use model::*;

use lines::LineMap;
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The input and output types later releases add: named so the error says "not supported yet"
/// instead of "unknown".
const PLANNED_INPUTS: &[&str] = &["syslog"];
const PLANNED_OUTPUTS: &[&str] = &[];

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// YAML path such as `inputs[0].paths`; empty for the document itself.
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        match self.line {
            Some(l) => write!(f, "{path} (line {l}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Everything wrong with one configuration file.
#[derive(Debug)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "configuration {} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads, substitutes and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let fail = |message: String| ConfigErrors {
        file: path.to_path_buf(),
        errors: vec![ConfigError {
            path: String::new(),
            line: None,
            message,
        }],
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    parse(&text, |k| std::env::var(k).ok()).map_err(|errors| ConfigErrors {
        file: path.to_path_buf(),
        errors,
    })
}

/// Parses configuration text; `env` looks variables up.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigError>> {
    let env::Substituted {
        text,
        refs,
        missing,
    } = env::substitute(text, env);
    let lines = LineMap::build(&text);
    let mut ctx = Ctx {
        lines: &lines,
        errors: Vec::new(),
        refs: &refs,
        placed: env::Placed::default(),
    };
    for m in missing {
        let path = lines.path_at_line(m.line).unwrap_or("").to_string();
        ctx.errors.push(ConfigError {
            path,
            line: Some(m.line),
            message: format!(
                "environment variable {} is not set and has no default (write ${{{}:-value}} to give one)",
                m.name, m.name
            ),
        });
    }
    let mut root: Value = match serde_yaml::from_str(&text) {
        Ok(Value::Null) => Value::Mapping(Default::default()),
        Ok(v) => v,
        Err(e) => {
            ctx.errors.push(ConfigError {
                path: String::new(),
                line: e.location().map(|l| l.line()),
                message: format!("not valid YAML: {e}"),
            });
            return Err(ctx.errors);
        }
    };
    ctx.placed = env::resolve(&mut root, &refs);
    let top: Option<RawTop> = ctx.typed(&root, "");
    let Some(top) = top else {
        return Err(ctx.errors);
    };
    let config = ctx.build(top);
    if ctx.errors.is_empty() {
        config.ok_or_else(Vec::new)
    } else {
        Err(ctx.errors)
    }
}

struct Ctx<'a> {
    lines: &'a LineMap,
    errors: Vec<ConfigError>,
    /// The `${VAR}` references and where their values went: no message may show a value.
    refs: &'a [env::Reference],
    placed: env::Placed,
}

impl Ctx<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let line = self.lines.line_of(&path);
        let message = self.scrub(&path, message.into());
        self.errors.push(ConfigError {
            path,
            line,
            message,
        });
    }

    /// `message` without the value of any `${VAR}` placed at, in or around `path` (shown as
    /// `${VAR}` instead), nor of any longer value anywhere.
    fn scrub(&self, path: &str, mut message: String) -> String {
        let near: Vec<usize> = self.placed.near(path).collect();
        for (i, r) in self.refs.iter().enumerate() {
            if r.value.is_empty() || (r.value.len() < 4 && !near.contains(&i)) {
                continue;
            }
            let shown = format!("${{{}}}", r.name);
            let escaped = format!("{:?}", r.value);
            let escaped = escaped
                .get(1..escaped.len().saturating_sub(1))
                .unwrap_or("");
            for form in [r.value.as_str(), escaped] {
                if !form.is_empty() && message.contains(form) {
                    message = message.replace(form, &shown);
                }
            }
        }
        message
    }

    /// Types `value` (found at `base`) as `T`, recording every problem serde finds. Returns the
    /// value typed without the bad keys (so checking goes on), or None when it cannot be typed.
    fn typed<T: DeserializeOwned>(&mut self, value: &Value, base: &str) -> Option<T> {
        let mut scratch = value.clone();
        let mut removed: Vec<String> = Vec::new();
        let mut coerced: Vec<String> = Vec::new();
        for _ in 0..100 {
            let err = match serde_path_to_error::deserialize::<_, T>(scratch.clone()) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            let rel: Vec<Seg> = err.path().iter().map(Seg::from).collect();
            let message = tidy(&err.inner().to_string());
            // A scalar that was exactly one `${VAR}` is a string; where something else is
            // wanted (a number, a boolean, a list), its value is read as YAML there, once.
            let full = render(base, &rel);
            if message.starts_with("invalid type: string") && !coerced.contains(&full) {
                if let Some(i) = self.placed.whole(&full) {
                    let as_yaml = self
                        .refs
                        .get(i)
                        .and_then(|r| serde_yaml::from_str::<Value>(&r.value).ok())
                        .filter(|v| !v.is_string());
                    if let Some(v) = as_yaml {
                        if replace(&mut scratch, &rel, v) {
                            coerced.push(full);
                            continue;
                        }
                    }
                }
            }
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
            {
                // A required key we removed ourselves because its value was bad: already said.
                let mut p = rel.clone();
                p.push(Seg::Key(field.to_string()));
                if removed.contains(&render(base, &p)) {
                    return None;
                }
            }
            let path = render(base, &rel);
            self.error(path.clone(), message);
            if !remove(&mut scratch, &rel) {
                return None;
            }
            removed.push(path);
        }
        None
    }

    fn build(&mut self, top: RawTop) -> Option<Config> {
        let enrich = match &top.enrich {
            Some(v) if !v.is_null() => self.typed::<EnrichConfig>(v, "enrich").unwrap_or_default(),
            _ => EnrichConfig::default(),
        };
        if let Some(d) = &enrich.docker {
            for (j, p) in d.labels.include.iter().chain(&d.labels.exclude).enumerate() {
                if let Err(e) = glob::Pattern::new(p) {
                    self.error(
                        format!("enrich.docker.labels[{j}]"),
                        format!("bad glob `{p}`: {e}"),
                    );
                }
            }
            let s = d.socket.as_str();
            if !(s.starts_with("unix://")
                || s.starts_with('/')
                || s.starts_with("tcp://")
                || s.starts_with("http://"))
            {
                self.error(
                    "enrich.docker.socket",
                    format!("`{s}` is not a Docker address: expected unix:///path, /path, tcp://host:port or http://host:port"),
                );
            }
        }
        let mut processors = Vec::new();
        for (i, v) in top.processors.iter().flatten().enumerate() {
            let path = format!("processors[{i}]");
            if let Some(crate::process::config::ProcessorItem(p)) =
                self.typed::<crate::process::config::ProcessorItem>(v, &path)
            {
                self.check_processors(std::slice::from_ref(&p), "processors", i);
                processors.push(p);
            }
        }
        if let Some(http) = &top.http {
            if http.listen.parse::<SocketAddr>().is_err() {
                self.error(
                    "http.listen",
                    format!(
                        "`{}` is not an address: expected host:port such as 127.0.0.1:5066",
                        http.listen
                    ),
                );
            }
        }
        if top.max_line_bytes.0 < 16 {
            self.error("max_line_bytes", "must be at least 16 bytes");
        }
        if top.pipeline.batch_max_events == 0 {
            self.error("pipeline.batch_max_events", "must be at least 1");
        }
        if top.pipeline.in_flight_batches == 0 {
            self.error("pipeline.in_flight_batches", "must be at least 1");
        }
        if top.data_dir.as_os_str().is_empty() {
            self.error("data_dir", "must not be empty");
        }
        if top.inputs.is_empty() {
            self.error("inputs", "at least one input is required");
        }
        if top.outputs.is_empty() {
            self.error("outputs", "at least one output is required");
        }
        let positive = [
            (
                "pipeline.checkpoint_interval",
                top.pipeline.checkpoint_interval,
            ),
            ("pipeline.batch_max_wait", top.pipeline.batch_max_wait),
        ];
        for (path, d) in positive {
            self.positive(path, d);
        }
        let inputs = self.inputs(&top.inputs);
        let outputs = self.outputs(&top.outputs);
        for (i, o) in outputs.iter().enumerate() {
            let b = o.backoff();
            self.positive(&format!("outputs[{i}].backoff.init"), b.init);
            self.positive(&format!("outputs[{i}].backoff.max"), b.max);
            if b.init.0 > b.max.0 {
                self.error(
                    format!("outputs[{i}].backoff.init"),
                    format!("{:?} is longer than backoff.max ({:?})", b.init.0, b.max.0),
                );
            }
            let timeout = match &o.kind {
                OutputKind::Logstash(c) => Some(c.timeout),
                OutputKind::Elasticsearch(c) => Some(c.timeout),
                OutputKind::Cloudwatch(c) => Some(c.timeout),
                _ => None,
            };
            if let Some(t) = timeout {
                self.positive(&format!("outputs[{i}].timeout"), t);
            }
        }
        let warnings = outputs
            .iter()
            .filter_map(|o| {
                let (tls, hosts) = o.tls()?;
                (tls.verify == TlsVerify::None).then(|| {
                    let hosts: Vec<String> =
                        hosts.iter().map(|h| crate::secret::redact_url(h)).collect();
                    format!(
                        "output {}: tls.verify is none: the certificate of {} is NOT checked; anyone on the network path can read and change what is sent",
                        o.name,
                        hosts.join(", ")
                    )
                })
            })
            .collect();
        let host_name = top
            .host_name
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
        Some(Config {
            data_dir: top.data_dir,
            host_name,
            log_format: top.log_format,
            shutdown_timeout: top.shutdown_timeout.0,
            spool_max: top.spool_max.0,
            max_line_bytes: usize::try_from(top.max_line_bytes.0).unwrap_or(usize::MAX),
            http: top.http,
            pipeline: top.pipeline,
            inputs,
            enrich,
            outputs,
            processors,
            warnings,
        })
    }

    /// A duration that must be more than zero (a zero interval would spin or panic).
    fn positive(&mut self, path: &str, d: units::Dur) {
        if d.0.is_zero() {
            self.error(path, "must be more than 0 (e.g. 1s)");
        }
    }

    /// Reads `type` of a list element and returns it with the element minus that key.
    fn kind_of(&mut self, v: &Value, path: &str) -> Option<(String, Value)> {
        let Value::Mapping(map) = v else {
            self.error(path, "expected a mapping with a `type` key");
            return None;
        };
        let Some(kind) = map.get("type") else {
            self.error(path, "missing key `type`");
            return None;
        };
        let Some(kind) = kind.as_str() else {
            self.error(format!("{path}.type"), "expected a string");
            return None;
        };
        let mut rest = map.clone();
        rest.remove("type");
        Some((kind.to_string(), Value::Mapping(rest)))
    }

    fn inputs(&mut self, raw: &[Value]) -> Vec<InputConfig> {
        let mut out = Vec::new();
        for (i, v) in raw.iter().enumerate() {
            let path = format!("inputs[{i}]");
            let Some((kind, body)) = self.kind_of(v, &path) else {
                continue;
            };
            match kind.as_str() {
                "file" => {
                    if let Some(c) = self.typed::<FileInputConfig>(&body, &path) {
                        if c.paths.is_empty() {
                            self.error(format!("{path}.paths"), "at least one path is required");
                        }
                        for (j, p) in c.paths.iter().chain(&c.exclude).enumerate() {
                            if let Err(e) = glob::Pattern::new(p) {
                                self.error(format!("{path}.paths[{j}]"), format!("bad glob `{p}`: {e}"));
                            }
                        }
                        self.check_processors(&c.processors, &format!("{path}.processors"), 0);
                        self.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
                        let name = c.name.clone();
                        out.push((name, "file", InputKind::File(c)));
                    }
                }
                "docker" => {
                    if let Some(c) = self.typed::<DockerInputConfig>(&body, &path) {
                        if c.streams.is_empty() {
                            self.error(format!("{path}.streams"), "at least one stream is required");
                        }
                        self.check_processors(&c.processors, &format!("{path}.processors"), 0);
                        self.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
                        self.positive(&format!("{path}.partial_timeout"), c.partial_timeout);
                        out.push((c.name.clone(), "docker", InputKind::Docker(c)));
                    }
                }
                "cri" => {
                    if let Some(c) = self.typed::<CriInputConfig>(&body, &path) {
                        if c.paths.is_empty() {
                            self.error(format!("{path}.paths"), "at least one path is required");
                        }
                        for (j, p) in c.paths.iter().chain(&c.exclude).enumerate() {
                            if let Err(e) = glob::Pattern::new(p) {
                                self.error(format!("{path}.paths[{j}]"), format!("bad glob `{p}`: {e}"));
                            }
                        }
                        if c.streams.is_empty() {
                            self.error(format!("{path}.streams"), "at least one stream is required");
                        }
                        self.check_processors(&c.processors, &format!("{path}.processors"), 0);
                        self.positive(&format!("{path}.scan_frequency"), c.scan_frequency);
                        self.positive(&format!("{path}.partial_timeout"), c.partial_timeout);
                        out.push((c.name.clone(), "cri", InputKind::Cri(c)));
                    }
                }
                k if PLANNED_INPUTS.contains(&k) => self.error(
                    format!("{path}.type"),
                    format!("input type `{k}` is not supported yet in this release (supported: file, docker, cri)"),
                ),
                k => self.error(
                    format!("{path}.type"),
                    format!("unknown input type `{k}`, expected one of: file, docker, cri (planned: syslog)"),
                ),
            }
        }
        let keys: Vec<String> = out
            .iter()
            .map(|(name, t, kind)| match name {
                Some(n) => n.clone(),
                None => format!("{t}:{}", sources(kind).join(",")),
            })
            .collect();
        let labelled = label(out);
        let mut seen_names = std::collections::HashSet::new();
        let mut seen_keys = std::collections::HashSet::new();
        for ((name, _), key) in labelled.iter().zip(&keys) {
            if !seen_names.insert(name.clone()) {
                self.error(
                    "inputs",
                    format!("two inputs are named `{name}`: names must be unique (checkpoints are filed by name)"),
                );
            } else if !seen_keys.insert(key.clone()) {
                self.error(
                    "inputs",
                    format!("two inputs of the same type read the same paths ({key}): give each a `name`"),
                );
            }
        }
        labelled
            .into_iter()
            .zip(keys)
            .map(|((name, kind), key)| InputConfig { name, key, kind })
            .collect()
    }

    fn check_logstash(&mut self, c: &LogstashOutputConfig, path: &str) {
        if c.hosts.is_empty() {
            self.error(format!("{path}.hosts"), "needs at least one `host:port`");
        }
        for (i, h) in c.hosts.iter().enumerate() {
            if crate::output::logstash::split_host_port(h).is_none() {
                self.error(
                    format!("{path}.hosts[{i}]"),
                    format!("{h:?} is not `host:port` (e.g. logstash:5044)"),
                );
            }
        }
        self.check_sizes(c.compression_level, c.bulk_max_size, path);
        if let Some(tls) = &c.tls {
            self.check_tls(tls, &format!("{path}.tls"));
        }
    }

    /// `compression_level` 0 to 9 and `bulk_max_size` at least 1, for the network outputs.
    fn check_sizes(&mut self, compression_level: u32, bulk_max_size: usize, path: &str) {
        if compression_level > 9 {
            self.error(
                format!("{path}.compression_level"),
                format!("{compression_level} is out of range 0 (off) to 9"),
            );
        }
        if bulk_max_size == 0 {
            self.error(format!("{path}.bulk_max_size"), "must be at least 1");
        }
    }

    fn check_elasticsearch(&mut self, c: &ElasticsearchOutputConfig, path: &str) {
        use crate::output::elasticsearch::{index::IndexTemplate, url_problem};
        if c.hosts.is_empty() {
            self.error(
                format!("{path}.hosts"),
                "needs at least one URL (e.g. https://es:9200)",
            );
        }
        for (i, h) in c.hosts.iter().enumerate() {
            if let Some(problem) = url_problem(h, c.tls.is_some()) {
                self.error(format!("{path}.hosts[{i}]"), problem);
            }
        }
        if let Err(e) = IndexTemplate::parse(&c.index) {
            self.error(format!("{path}.index"), e);
        }
        self.check_sizes(c.compression_level, c.bulk_max_size, path);
        if let Some(a) = &c.auth {
            match (&a.username, &a.password, &a.api_key) {
                (Some(_), Some(_), None) | (None, None, Some(_)) => {}
                (_, _, Some(_)) => self.error(
                    format!("{path}.auth"),
                    "set either username + password or api_key, not both",
                ),
                _ => self.error(
                    format!("{path}.auth"),
                    "needs username and password (or api_key)",
                ),
            }
        }
        if let Some(tls) = &c.tls {
            self.check_tls(tls, &format!("{path}.tls"));
        }
    }

    fn check_cloudwatch(&mut self, c: &CloudwatchOutputConfig, path: &str) {
        use crate::output::cloudwatch::names::NameTemplate;
        for (key, t) in [("log_group", &c.log_group), ("log_stream", &c.log_stream)] {
            if let Err(e) = NameTemplate::parse(t) {
                self.error(format!("{path}.{key}"), e);
            }
        }
        const RETENTION: &[i32] = &[
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
            2922, 3288, 3653,
        ];
        if let Some(d) = c.retention_days {
            if !RETENTION.contains(&d) {
                self.error(
                    format!("{path}.retention_days"),
                    format!("{d} is not a retention CloudWatch offers: one of {RETENTION:?}"),
                );
            }
        }
        if let Some(e) = c.endpoint.as_deref().filter(|e| !e.is_empty()) {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                self.error(
                    format!("{path}.endpoint"),
                    format!("{e:?} is not an http:// or https:// URL"),
                );
            }
        }
    }

    /// Compiles the processors' regexes: a bad one is an error at its YAML path. `first` is
    /// the index of `list[0]` in the YAML list at `base`.
    fn check_processors(
        &mut self,
        list: &[crate::process::config::ProcessorConfig],
        base: &str,
        first: usize,
    ) {
        for (i, p) in list.iter().enumerate() {
            if let Err(errors) = crate::process::build(p, &format!("{base}[{}]", first + i)) {
                for (path, msg) in errors {
                    self.error(path, msg);
                }
            }
        }
    }

    /// Loads the files of a `tls:` block now, so a missing or wrong file is a configuration
    /// error (exit 2) naming the YAML key, the file and what is wrong.
    fn check_tls(&mut self, tls: &TlsConfig, path: &str) {
        if let Err(errors) = crate::tls::TlsClient::build(tls) {
            for e in errors {
                self.error(format!("{path}.{}", e.key), e.message);
            }
        }
    }

    fn outputs(&mut self, raw: &[Value]) -> Vec<OutputConfig> {
        let mut out = Vec::new();
        for (i, v) in raw.iter().enumerate() {
            let path = format!("outputs[{i}]");
            let Some((kind, body)) = self.kind_of(v, &path) else {
                continue;
            };
            match kind.as_str() {
                "console" => {
                    if let Some(c) = self.typed::<ConsoleOutputConfig>(&body, &path) {
                        out.push((c.name.clone(), "console", OutputKind::Console(c)));
                    }
                }
                "file" => {
                    if let Some(c) = self.typed::<FileOutputConfig>(&body, &path) {
                        if c.path.as_os_str().is_empty() {
                            self.error(format!("{path}.path"), "must not be empty");
                        }
                        out.push((c.name.clone(), "file", OutputKind::File(c)));
                    }
                }
                "logstash" => {
                    if let Some(c) = self.typed::<LogstashOutputConfig>(&body, &path) {
                        self.check_logstash(&c, &path);
                        out.push((c.name.clone(), "logstash", OutputKind::Logstash(c)));
                    }
                }
                "elasticsearch" => {
                    if let Some(c) = self.typed::<ElasticsearchOutputConfig>(&body, &path) {
                        self.check_elasticsearch(&c, &path);
                        out.push((c.name.clone(), "elasticsearch", OutputKind::Elasticsearch(c)));
                    }
                }
                "cloudwatch" => {
                    if let Some(c) = self.typed::<CloudwatchOutputConfig>(&body, &path) {
                        self.check_cloudwatch(&c, &path);
                        out.push((c.name.clone(), "cloudwatch", OutputKind::Cloudwatch(c)));
                    }
                }
                k if PLANNED_OUTPUTS.contains(&k) => self.error(
                    format!("{path}.type"),
                    format!("output type `{k}` is not supported yet in this release (supported: console, file, logstash, elasticsearch, cloudwatch)"),
                ),
                k => self.error(
                    format!("{path}.type"),
                    format!(
                        "unknown output type `{k}`, expected one of: console, file, logstash, elasticsearch, cloudwatch"
                    ),
                ),
            }
        }
        let labelled = label(out);
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &labelled {
            if !seen.insert(name.clone()) {
                self.error(
                    "outputs",
                    format!("two outputs are named `{name}`: names must be unique"),
                );
            }
        }
        labelled
            .into_iter()
            .map(|(name, kind)| OutputConfig { name, kind })
            .collect()
    }
}

/// What an input reads, as it identifies the input's checkpoints.
fn sources(kind: &InputKind) -> Vec<String> {
    let mut v = match kind {
        InputKind::File(c) => c.paths.clone(),
        InputKind::Docker(c) => vec![c.containers_path.display().to_string()],
        InputKind::Cri(c) => c.paths.clone(),
    };
    v.sort();
    v
}

/// Names each element: its `name`, else its type, with `_N` added when the type repeats.
fn label<K>(items: Vec<(Option<String>, &'static str, K)>) -> Vec<(String, K)> {
    let count = |t: &str| {
        items
            .iter()
            .filter(|(n, k, _)| n.is_none() && *k == t)
            .count()
    };
    let counts: Vec<usize> = items.iter().map(|(_, t, _)| count(t)).collect();
    let mut index = std::collections::HashMap::<&str, usize>::new();
    let mut out = Vec::new();
    for ((name, t, k), n) in items.into_iter().zip(counts) {
        let name = name.unwrap_or_else(|| {
            let i = index.entry(t).or_insert(0);
            *i += 1;
            if n > 1 {
                format!("{t}_{i}")
            } else {
                t.to_string()
            }
        });
        out.push((name, k));
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
    Other,
}

impl From<&serde_path_to_error::Segment> for Seg {
    fn from(s: &serde_path_to_error::Segment) -> Seg {
        match s {
            serde_path_to_error::Segment::Map { key } => Seg::Key(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Seg::Index(*index),
            _ => Seg::Other,
        }
    }
}

fn render(base: &str, segs: &[Seg]) -> String {
    let mut s = base.to_string();
    for seg in segs {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Other => {}
        }
    }
    s
}

/// Removes the node at `path` when it is a mapping key; false when it cannot be removed.
fn remove(root: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    match (last, node_mut(root, parents)) {
        (Seg::Key(k), Some(Value::Mapping(m))) => m.remove(k.as_str()).is_some(),
        _ => false,
    }
}

/// The node at `path`, if there is one.
fn node_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Mapping(m)) => m.get_mut(k.as_str())?,
            (Seg::Index(i), Value::Sequence(s)) => s.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Replaces the node at `path` with `v`; false when there is no such node.
fn replace(root: &mut Value, path: &[Seg], v: Value) -> bool {
    match node_mut(root, path) {
        Some(node) => {
            *node = v;
            true
        }
        None => false,
    }
}

/// serde's wording, made to read like a config checker's.
fn tidy(msg: &str) -> String {
    let msg = msg.replace("unknown field", "unknown key");
    match msg.split_once(", expected one of ") {
        Some((head, list)) if head.starts_with("unknown key") => {
            format!("{head}, expected one of: {}", list.replace('`', ""))
        }
        _ => match msg.split_once(", expected ") {
            Some((head, exp)) if head.starts_with("unknown key") => {
                format!("{head}, expected: {}", exp.replace('`', ""))
            }
            _ => msg,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(
            "inputs:\n  - type: file\n    paths: [/tmp/x.log]\noutputs:\n  - type: console\n",
            no_env,
        )
        .unwrap();
        assert_eq!(c.max_line_bytes, 1 << 20);
        assert_eq!(c.shutdown_timeout, std::time::Duration::from_secs(10));
        assert_eq!(c.inputs[0].name, "file");
        assert_eq!(c.outputs[0].name, "console");
        assert!(!c.host_name.is_empty());
    }

    #[test]
    fn reports_every_problem_with_path_and_line() {
        let text = "\
shutdown_timeout: 10x
inputs:
  - type: file
    pahts: [/tmp/a]
    paths: [/tmp/b]
    read_from: middle
  - type: syslog
outputs:
  - type: file
    path: /tmp/out
    bogus: 1
";
        let errs = parse(text, no_env).unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let all = text.join("\n");
        assert!(
            all.contains("shutdown_timeout (line 1): invalid duration `10x`"),
            "{all}"
        );
        assert!(
            all.contains(
                "inputs[0].pahts (line 4): unknown key `pahts`, expected one of: name, paths"
            ),
            "{all}"
        );
        assert!(
            all.contains("inputs[0].read_from (line 6): unknown variant `middle`"),
            "{all}"
        );
        assert!(
            all.contains("inputs[1].type (line 7): input type `syslog` is not supported yet"),
            "{all}"
        );
        assert!(
            all.contains("outputs[0].bogus (line 11): unknown key"),
            "{all}"
        );
        assert_eq!(errs.len(), 5, "{all}");
    }

    #[test]
    fn missing_env_var_names_path_and_line() {
        let text =
            "inputs:\n  - type: file\n    paths: [${LOG_PATH}]\noutputs:\n  - type: console\n";
        let errs = parse(text, no_env).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = errs[0].to_string();
        assert!(e.starts_with("inputs[0].paths"), "{e}");
        assert!(
            e.contains("(line 3): environment variable LOG_PATH is not set"),
            "{e}"
        );
        let ok = parse(text, |k| {
            (k == "LOG_PATH").then(|| "/tmp/a.log".to_string())
        })
        .unwrap();
        let InputKind::File(f) = &ok.inputs[0].kind else {
            panic!("not a file input");
        };
        assert_eq!(f.paths, vec!["/tmp/a.log"]);
    }

    #[test]
    fn wrong_type_is_reported() {
        let text = "max_line_bytes: [1]\ninputs:\n  - type: file\n    paths: /tmp/a\noutputs: []\n";
        let errs = parse(text, no_env).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            all.iter()
                .any(|e| e.starts_with("max_line_bytes (line 1): invalid type")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|e| e.starts_with("inputs[0].paths (line 4): invalid type")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|e| e.starts_with("outputs (line 5): at least one output")),
            "{all:?}"
        );
    }

    #[test]
    fn duplicate_labels_get_indices() {
        let c = parse(
            "inputs:\n  - type: file\n    paths: [/a]\n  - type: file\n    paths: [/b]\n    name: b\noutputs:\n  - type: file\n    path: /x\n  - type: file\n    path: /y\n",
            no_env,
        )
        .unwrap();
        assert_eq!(c.inputs[0].name, "file");
        assert_eq!(c.inputs[1].name, "b");
        assert_eq!(c.outputs[0].name, "file_1");
        assert_eq!(c.outputs[1].name, "file_2");
    }

    #[test]
    fn secrets_stay_strings_and_are_never_printed() {
        let text = "inputs:\n  - type: file\n    paths: [/a]\noutputs:\n  - type: elasticsearch\n    hosts: ['http://es:9200']\n    auth: { username: elastic, password: ${ES_PASSWORD} }\n";
        for secret in [
            "123456", "true", "0x1f", "pa #ss", "a: b", "*x", "&y", "!z", "{w", "[v", "null", "~",
        ] {
            let c = parse(text, |_| Some(secret.to_string()))
                .unwrap_or_else(|e| panic!("{secret:?}: {e:?}"));
            let OutputKind::Elasticsearch(es) = &c.outputs[0].kind else {
                panic!("not elasticsearch")
            };
            let auth = es.auth.as_ref().unwrap();
            assert_eq!(auth.password.as_ref().unwrap().expose(), secret);
            assert!(
                !format!("{c:?}").contains(&format!("password: Some({secret:?}")),
                "Debug shows {secret:?}"
            );
        }
        // A wrong value next to a secret: the message names the variable, never its value.
        let bad = "inputs:\n  - type: file\n    paths: [/a]\noutputs:\n  - type: elasticsearch\n    hosts: ['https://elastic:${ES_PASSWORD}@es:9200', '${ES_PASSWORD}']\n    compression_level: ${ES_PASSWORD}\n";
        let errs = parse(bad, |_| Some("s3cr3t-Value".into())).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(all.len() >= 2, "{all:?}");
        for e in &all {
            assert!(!e.contains("s3cr3t"), "{e}");
        }
        assert!(all.iter().any(|e| e.contains("${ES_PASSWORD}")), "{all:?}");
    }

    #[test]
    fn whole_references_are_read_as_yaml_where_a_number_or_list_is_wanted() {
        let text = "inputs:\n  - type: file\n    paths: ${PATHS}\noutputs:\n  - type: logstash\n    hosts: ['l:5044']\n    compression_level: ${LEVEL}\n    pipelining: ${PIPE:-2}\n";
        let c = parse(text, |k| match k {
            "PATHS" => Some("[/a, /b]".into()),
            "LEVEL" => Some("3".into()),
            _ => None,
        })
        .unwrap();
        let InputKind::File(f) = &c.inputs[0].kind else {
            panic!("not a file input")
        };
        assert_eq!(f.paths, vec!["/a", "/b"]);
        let OutputKind::Logstash(l) = &c.outputs[0].kind else {
            panic!("not logstash")
        };
        assert_eq!(l.compression_level, 3);
    }

    #[test]
    fn zero_durations_are_rejected() {
        let text = "pipeline: { checkpoint_interval: 0s, batch_max_wait: 0ms }\ninputs:\n  - type: file\n    paths: [/a]\n    scan_frequency: 0s\noutputs:\n  - type: logstash\n    hosts: ['l:5044']\n    timeout: 0s\n    backoff: { init: 0s, max: 0s }\n";
        let errs = parse(text, no_env).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        for path in [
            "pipeline.checkpoint_interval (line 1)",
            "pipeline.batch_max_wait (line 1)",
            "inputs[0].scan_frequency (line 5)",
            "outputs[0].timeout (line 9)",
            "outputs[0].backoff.init (line 10)",
            "outputs[0].backoff.max (line 10)",
        ] {
            assert!(
                all.iter()
                    .any(|e| e.starts_with(path) && e.contains("must be more than 0")),
                "{path}: {all:?}"
            );
        }
    }
}
