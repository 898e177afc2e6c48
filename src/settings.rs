//! The agent's configuration document: the top-level keys (`data_dir`, `http`, `pipeline`, ...)
//! and the lists each component registry types (`inputs` in `input/mod.rs`, `outputs` in
//! `output/mod.rs`, `processors` in `process/mod.rs`, `enrich` in `enrich/config.rs`).
//! `load` reads, substitutes and checks a file with the loader in `crate::config`; every problem
//! is reported with its YAML path and line.

use crate::config::units::{Dur, Size};
use crate::config::{ConfigErrors, Problems, Value};
use crate::enrich::config::EnrichConfig;
use crate::input::InputConfig;
use crate::output::OutputConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::config::ConfigError;

/// Reads, substitutes and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = crate::config::read(path)?;
    parse(&text, |k| std::env::var(k).ok()).map_err(|errors| ConfigErrors {
        file: path.to_path_buf(),
        errors,
    })
}

/// Parses configuration text; `env` looks variables up.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigError>> {
    let (root, mut p) = crate::config::parse_document(text, env)?;
    let Some(top) = p.typed::<RawTop>(&root, "") else {
        return Err(p.into_errors());
    };
    let config = build(top, &mut p);
    if p.is_empty() {
        Ok(config)
    } else {
        Err(p.into_errors())
    }
}

fn build(top: RawTop, p: &mut Problems) -> Config {
    let enrich = crate::enrich::config::configure(top.enrich.as_ref(), p);
    let processors = crate::process::configure_top(top.processors.as_deref().unwrap_or(&[]), p);
    if let Some(http) = &top.http {
        if http.listen.parse::<SocketAddr>().is_err() {
            p.error(
                "http.listen",
                format!(
                    "`{}` is not an address: expected host:port such as 127.0.0.1:5066",
                    http.listen
                ),
            );
        }
    }
    if top.max_line_bytes.0 < 16 {
        p.error("max_line_bytes", "must be at least 16 bytes");
    }
    if top.pipeline.batch_max_bytes.0 == 0 {
        p.error("pipeline.batch_max_bytes", "must be at least 1 byte");
    }
    if top.pipeline.batch_max_events == 0 {
        p.error("pipeline.batch_max_events", "must be at least 1");
    }
    if top.pipeline.in_flight_batches == 0 {
        p.error("pipeline.in_flight_batches", "must be at least 1");
    }
    if top.data_dir.as_os_str().is_empty() {
        p.error("data_dir", "must not be empty");
    }
    if top.inputs.is_empty() {
        p.error("inputs", "at least one input is required");
    }
    if top.outputs.is_empty() {
        p.error("outputs", "at least one output is required");
    }
    let positive = [
        (
            "pipeline.checkpoint_interval",
            top.pipeline.checkpoint_interval,
        ),
        ("pipeline.batch_max_wait", top.pipeline.batch_max_wait),
    ];
    for (path, d) in positive {
        p.positive(path, d);
    }
    let inputs = crate::input::configure(&top.inputs, p);
    let outputs = crate::output::configure(&top.outputs, p);
    let warnings = crate::output::warnings(&outputs);
    let host_name = top
        .host_name
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
    Config {
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
    }
}

/// The top level as written; `inputs`, `outputs`, `processors` and `enrich` stay raw here and are
/// typed one element at a time so that one bad element does not hide the problems of the others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTop {
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub host_name: Option<String>,
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout: Dur,
    #[serde(default = "default_spool_max")]
    pub spool_max: Size,
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: Size,
    #[serde(default)]
    pub http: Option<HttpConfig>,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub inputs: Vec<Value>,
    #[serde(default)]
    pub enrich: Option<Value>,
    #[serde(default)]
    pub processors: Option<Vec<Value>>,
    #[serde(default)]
    pub outputs: Vec<Value>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/logship")
}
fn default_shutdown_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_spool_max() -> Size {
    Size(1 << 30)
}
fn default_max_line_bytes() -> Size {
    Size(1 << 20)
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to serve `/metrics` and `/health` on.
    pub listen: String,
    /// `/health` answers 503 once an output has been failing this long.
    #[serde(default = "default_max_failing")]
    pub max_failing: Dur,
}

fn default_max_failing() -> Dur {
    Dur(Duration::from_secs(300))
}

/// Batching and acknowledgement tuning (Filebeat's `queue.mem` and registry flush).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// A batch is sent when it holds this many events...
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// ...or when its events take about this many bytes (messages and fields, as written),
    /// so a flood of long lines cannot make a batch, and the batches in flight, grow with the
    /// input (default 8MiB; a batch of one longer record still goes)...
    #[serde(default = "default_batch_max_bytes")]
    pub batch_max_bytes: Size,
    /// ...or when its first event has waited this long.
    #[serde(default = "default_batch_max_wait")]
    pub batch_max_wait: Dur,
    /// Batches queued per output before inputs are made to wait (backpressure).
    #[serde(default = "default_in_flight_batches")]
    pub in_flight_batches: usize,
    /// How often acknowledged offsets are written to the checkpoint file.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: Dur,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_max_events: default_batch_max_events(),
            batch_max_bytes: default_batch_max_bytes(),
            batch_max_wait: default_batch_max_wait(),
            in_flight_batches: default_in_flight_batches(),
            checkpoint_interval: default_checkpoint_interval(),
        }
    }
}

fn default_batch_max_events() -> usize {
    1024
}
fn default_batch_max_bytes() -> Size {
    Size(8 << 20)
}
fn default_batch_max_wait() -> Dur {
    Dur(Duration::from_secs(1))
}
fn default_in_flight_batches() -> usize {
    4
}
fn default_checkpoint_interval() -> Dur {
    Dur(Duration::from_secs(1))
}

/// The validated configuration the agent runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub host_name: String,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    /// Disk spool bound for network inputs (shared evenly by the syslog inputs).
    #[allow(dead_code)]
    pub spool_max: u64,
    pub max_line_bytes: usize,
    pub http: Option<HttpConfig>,
    pub pipeline: PipelineConfig,
    pub inputs: Vec<InputConfig>,
    pub enrich: EnrichConfig,
    pub outputs: Vec<OutputConfig>,
    /// Top-level processors: after each input's own.
    pub processors: Vec<crate::process::config::ProcessorConfig>,
    /// Things that work but that the user must know (`tls.verify: none`): printed by
    /// `check-config` and `test-output`, logged by `run` once logging is up.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::file::config::FileInputConfig;
    use crate::output::elasticsearch::config::ElasticsearchOutputConfig;
    use crate::output::logstash::config::LogstashOutputConfig;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn mappings_keep_the_order_they_are_written_in() {
        // `rename` applies its pairs in the order written: `b` to `c` first, then `a` to `b`.
        let c = parse(
            "inputs:\n  - type: file\n    paths: [/x]\n    processors:\n      - rename: { fields: { y: x, x: w } }\noutputs:\n  - type: console\nprocessors:\n  - rename: { fields: { b: c, a: b } }\n  - rename:\n      fields:\n        z: y\n        m: n\n",
            no_env,
        )
        .unwrap();
        let pairs: Vec<Vec<(String, String)>> = c
            .processors
            .iter()
            .map(|p| match p {
                crate::process::config::ProcessorConfig::Rename(r) => r.fields.0.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            pairs,
            vec![
                vec![s("b", "c"), s("a", "b")],
                vec![s("z", "y"), s("m", "n")]
            ]
        );
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
            all.contains("inputs[1]") && all.contains("missing field `listen`"),
            "{all}"
        );
        assert!(
            all.contains("outputs[0].bogus (line 11): unknown key"),
            "{all}"
        );
        assert_eq!(errs.len(), 5, "{all}");
    }

    #[test]
    fn syslog_input_options_are_checked() {
        let text = "\
inputs:
  - type: syslog
    listen: [udp://0.0.0.0:514, tls://0.0.0.0:6514, tcp://localhost:514, unix://dev/log]
    delimiter: ab
    max_connections: 0
    receive_buffer: 2GiB
outputs:
  - type: console
";
        let errs = parse(text, no_env).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let all = all.join("\n");
        for want in [
            "inputs[0].listen[2]",
            "IP address",
            "inputs[0].listen[3]",
            "absolute path",
            "inputs[0].tls",
            "inputs[0].delimiter",
            "inputs[0].max_connections",
            "inputs[0].receive_buffer",
        ] {
            assert!(all.contains(want), "{want}: {all}");
        }
        let ok = "\
inputs:
  - type: syslog
    listen: udp://127.0.0.1:5514
    framing: octet-counting
    spool_fsync: batch
    receive_buffer: 4MiB
outputs:
  - type: console
";
        let c = parse(ok, no_env).unwrap();
        let s = c.inputs[0]
            .options::<crate::input::syslog::config::SyslogInputConfig>()
            .unwrap();
        assert_eq!(s.addresses().len(), 1);
        assert_eq!(s.receive_buffer.map(|b| b.0), Some(4 << 20));
        assert_eq!(
            s.limits().framing,
            crate::input::syslog::framing::Framing::OctetCounting
        );
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
        let Some(f) = ok.inputs[0].options::<FileInputConfig>() else {
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
            let Some(es) = c.outputs[0].options::<ElasticsearchOutputConfig>() else {
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
        let Some(f) = c.inputs[0].options::<FileInputConfig>() else {
            panic!("not a file input")
        };
        assert_eq!(f.paths, vec!["/a", "/b"]);
        let Some(l) = c.outputs[0].options::<LogstashOutputConfig>() else {
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
