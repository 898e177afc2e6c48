//! The typed configuration, one struct per YAML block, each with `deny_unknown_fields` so a typo
//! is an error. Defaults are what a Filebeat user would expect; every option is documented in
//! `config.example.yaml` and the README.

use super::units::{Dur, Size};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

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
    pub inputs: Vec<serde_yaml::Value>,
    #[serde(default)]
    pub enrich: Option<serde_yaml::Value>,
    #[serde(default)]
    pub processors: Option<Vec<serde_yaml::Value>>,
    #[serde(default)]
    pub outputs: Vec<serde_yaml::Value>,
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
            batch_max_wait: default_batch_max_wait(),
            in_flight_batches: default_in_flight_batches(),
            checkpoint_interval: default_checkpoint_interval(),
        }
    }
}

fn default_batch_max_events() -> usize {
    2048
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

/// `type: file`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileInputConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// Glob patterns of the files to tail.
    pub paths: Vec<String>,
    /// Glob patterns of files never to tail (e.g. `*.gz`).
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub format: FileFormat,
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Globs are re-evaluated this often, besides on file-system notifications.
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    /// A file that was rotated away, or deleted, is released once it has been read to its end and
    /// has not grown for this long (Fluent Bit's `rotate_wait`).
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
}

fn default_scan_frequency() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_rotate_wait() -> Dur {
    Dur(Duration::from_secs(5))
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Plain,
    Syslog,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    Beginning,
    #[default]
    End,
}

/// Retry timing of a failing output (Filebeat's `backoff.init` / `backoff.max`): capped
/// exponential backoff with jitter, retrying forever.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    #[serde(default = "default_backoff_init")]
    pub init: Dur,
    #[serde(default = "default_backoff_max")]
    pub max: Dur,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            init: default_backoff_init(),
            max: default_backoff_max(),
        }
    }
}

fn default_backoff_init() -> Dur {
    Dur(Duration::from_secs(1))
}
fn default_backoff_max() -> Dur {
    Dur(Duration::from_secs(60))
}

/// `type: console`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsoleOutputConfig {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub backoff: BackoffConfig,
}

/// `type: file` (output).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// NDJSON is appended here (parent directories are created).
    pub path: PathBuf,
    #[serde(default)]
    pub backoff: BackoffConfig,
}

/// `type: docker`: json-file driver logs.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DockerInputConfig {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_containers_path")]
    pub containers_path: PathBuf,
    /// Which streams to ship.
    #[serde(default = "default_streams")]
    pub streams: Vec<Stream>,
    #[serde(default)]
    pub read_from: ReadFrom,
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
}

fn default_containers_path() -> PathBuf {
    PathBuf::from("/var/lib/docker/containers")
}
fn default_streams() -> Vec<Stream> {
    vec![Stream::Stdout, Stream::Stderr]
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// `type: cri`: containerd / CRI-O logs under /var/log/containers.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CriInputConfig {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_cri_paths")]
    pub paths: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default = "default_streams")]
    pub streams: Vec<Stream>,
    #[serde(default)]
    pub read_from: ReadFrom,
    #[serde(default = "default_scan_frequency")]
    pub scan_frequency: Dur,
    #[serde(default = "default_rotate_wait")]
    pub rotate_wait: Dur,
}

fn default_cri_paths() -> Vec<String> {
    vec!["/var/log/containers/*.log".to_string()]
}

/// `enrich:`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    #[serde(default)]
    pub docker: Option<DockerEnrichConfig>,
}

/// `enrich.docker`: container metadata from the Docker socket.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DockerEnrichConfig {
    /// `unix:///var/run/docker.sock`, a bare socket path, or `tcp://host:port` / `http://...`.
    #[serde(default = "default_docker_socket")]
    pub socket: String,
    #[serde(default)]
    pub labels: LabelFilter,
    /// Names of environment variables to copy into `container.env`; empty = none.
    #[serde(default)]
    pub env: Vec<String>,
}

fn default_docker_socket() -> String {
    "unix:///var/run/docker.sock".to_string()
}

/// Glob lists on label keys (as written by Docker, before dots become `_`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    #[serde(default = "default_label_include")]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Default for LabelFilter {
    fn default() -> Self {
        LabelFilter {
            include: default_label_include(),
            exclude: Vec::new(),
        }
    }
}

fn default_label_include() -> Vec<String> {
    vec!["*".to_string()]
}

#[derive(Debug, Clone)]
pub enum InputKind {
    File(FileInputConfig),
    Docker(DockerInputConfig),
    Cri(CriInputConfig),
}

#[derive(Debug, Clone)]
pub struct InputConfig {
    /// Label in metrics, health and logs: `name`, or the type (with its index when repeated).
    pub name: String,
    pub kind: InputKind,
}

#[derive(Debug, Clone)]
pub enum OutputKind {
    Console(ConsoleOutputConfig),
    File(FileOutputConfig),
}

#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub name: String,
    pub kind: OutputKind,
}

impl OutputConfig {
    pub fn backoff(&self) -> BackoffConfig {
        match &self.kind {
            OutputKind::Console(c) => c.backoff,
            OutputKind::File(c) => c.backoff,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            OutputKind::Console(_) => "console",
            OutputKind::File(_) => "file",
        }
    }
}

/// The validated configuration the agent runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub host_name: String,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    /// Disk spool bound for network inputs (the syslog input, a later release).
    #[allow(dead_code)]
    pub spool_max: u64,
    pub max_line_bytes: usize,
    pub http: Option<HttpConfig>,
    pub pipeline: PipelineConfig,
    pub inputs: Vec<InputConfig>,
    pub enrich: EnrichConfig,
    pub outputs: Vec<OutputConfig>,
}
