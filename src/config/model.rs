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
    /// Processors for this input, run before the top-level ones.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
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

/// `verify:` in a TLS block.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsVerify {
    /// Chain to a trusted CA, validity dates and host name.
    #[default]
    Full,
    /// Chain and dates, but not the host name.
    Certificate,
    /// Nothing: encryption without authentication (logged loudly).
    None,
}

/// `min_version:` in a TLS block: `1.2` (default) or `1.3`, as a number or a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let text = match &v {
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match text.as_str() {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            _ => Err(serde::de::Error::custom(format!(
                "invalid TLS version {text:?}, expected 1.2 or 1.3"
            ))),
        }
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        })
    }
}

/// A `tls:` block of an output (client side).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM bundle of the CAs that sign the server certificate (default: the system roots).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Our client certificate chain (PEM), for servers that require one.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The key of `cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Name to check the server certificate against (default: the host of the address).
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub verify: TlsVerify,
    #[serde(default)]
    pub min_version: TlsVersion,
}

/// `type: logstash`: the beats (Lumberjack v2) protocol, options as Filebeat names them.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogstashOutputConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// `host:port` of each Logstash `beats` input.
    pub hosts: Vec<String>,
    /// Spread batches over every connected host (true), or stick to one and fail over (false).
    #[serde(default)]
    pub loadbalance: bool,
    /// Most events in one window (one ACK).
    #[serde(default = "default_bulk_max_size")]
    pub bulk_max_size: usize,
    /// zlib level 0 (no compression) to 9.
    #[serde(default = "default_compression_level")]
    pub compression_level: u32,
    /// Longest wait for an ACK (any ACK, keepalives included, restarts it) or a connection.
    #[serde(default = "default_logstash_timeout")]
    pub timeout: Dur,
    /// Reconnect after this long (spreads load after Logstash scales out); unset = never.
    #[serde(default)]
    pub ttl: Option<Dur>,
    /// Windows in flight on one connection before waiting for an ACK.
    #[serde(default = "default_pipelining")]
    pub pipelining: usize,
    /// Start with a window of 10 events and double it on every success up to `bulk_max_size`.
    #[serde(default)]
    pub slow_start: bool,
    /// `@metadata.beat` on every event (`filebeat` keeps pipelines that route on it working).
    #[serde(default = "default_beat")]
    pub beat: String,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub backoff: BackoffConfig,
}

fn default_bulk_max_size() -> usize {
    2048
}
fn default_compression_level() -> u32 {
    3
}
fn default_logstash_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}
fn default_pipelining() -> usize {
    2
}
fn default_beat() -> String {
    "logship".into()
}

/// `auth:` of the elasticsearch output: `username` + `password`, or `api_key` (both secrets:
/// `Debug` prints them as `<redacted>`).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct EsAuth {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<crate::secret::Secret>,
    /// `id:key` as Elasticsearch returns it, or already base64-encoded.
    #[serde(default)]
    pub api_key: Option<crate::secret::Secret>,
}

/// Where records an output rejects for good are kept: `data_dir/dead_letter/<output>.ndjson`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// The file is rotated (to `.1`, the previous `.1` removed) once it reaches this size.
    #[serde(default = "default_dead_letter_max")]
    pub max_size: Size,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        DeadLetterConfig {
            max_size: default_dead_letter_max(),
        }
    }
}

fn default_dead_letter_max() -> Size {
    Size(100 << 20)
}

/// `type: elasticsearch` (also OpenSearch): the `_bulk` API with `create` and deterministic ids.
/// `Debug` (below) hides credentials in `hosts` and the values of `headers`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchOutputConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// `http(s)://host:port[/path]`, one or more (round robin).
    pub hosts: Vec<String>,
    /// Index name: `%{+yyyy.MM.dd}` (Joda-style, from `@timestamp` in UTC) and
    /// `%{[field.path]}` / `%{[field.path]:default}` are replaced per record.
    #[serde(default = "default_index")]
    pub index: String,
    /// Ingest pipeline for every record.
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub auth: Option<EsAuth>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// gzip level of request bodies, 0 (off) to 9.
    #[serde(default = "default_es_compression")]
    pub compression_level: u32,
    /// Most records in one `_bulk` request.
    #[serde(default = "default_es_bulk_max_size")]
    pub bulk_max_size: usize,
    /// Longest wait for one request, connection included.
    #[serde(default = "default_es_timeout")]
    pub timeout: Dur,
    /// Extra HTTP headers on every request.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    #[serde(default)]
    pub backoff: BackoffConfig,
}

impl std::fmt::Debug for ElasticsearchOutputConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| crate::secret::redact_url(h))
            .collect();
        let headers: Vec<&String> = self.headers.keys().collect();
        f.debug_struct("ElasticsearchOutputConfig")
            .field("name", &self.name)
            .field("hosts", &hosts)
            .field("index", &self.index)
            .field("pipeline", &self.pipeline)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("compression_level", &self.compression_level)
            .field("bulk_max_size", &self.bulk_max_size)
            .field("timeout", &self.timeout)
            .field("headers (values hidden)", &headers)
            .field("dead_letter", &self.dead_letter)
            .field("backoff", &self.backoff)
            .finish()
    }
}

fn default_index() -> String {
    "logship-%{+yyyy.MM.dd}".into()
}
fn default_es_compression() -> u32 {
    1
}
fn default_es_bulk_max_size() -> usize {
    1600
}
fn default_es_timeout() -> Dur {
    Dur(Duration::from_secs(90))
}

/// `type: cloudwatch`: AWS CloudWatch Logs through the AWS SDK (credential chain included).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CloudwatchOutputConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// Default: the SDK's chain (`AWS_REGION`, the profile, instance metadata).
    #[serde(default)]
    pub region: Option<String>,
    /// `{field.path}` / `{field.path:-default}` templates.
    #[serde(default = "default_log_group")]
    pub log_group: String,
    #[serde(default = "default_log_stream")]
    pub log_stream: String,
    /// Create missing groups and streams.
    #[serde(default = "default_true")]
    pub create_missing: bool,
    /// Retention set on the groups this output creates (or finds), once per group.
    #[serde(default)]
    pub retention_days: Option<i32>,
    /// Endpoint override (a local test server, a VPC endpoint); empty = the AWS default.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Longest wait for one call.
    #[serde(default = "default_cw_timeout")]
    pub timeout: Dur,
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    #[serde(default)]
    pub backoff: BackoffConfig,
}

fn default_log_group() -> String {
    "/logship/{kubernetes.namespace:-docker}".into()
}
fn default_log_stream() -> String {
    "{host.name}/{container.name:-host}".into()
}
fn default_true() -> bool {
    true
}
fn default_cw_timeout() -> Dur {
    Dur(Duration::from_secs(30))
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
    /// A piece of a line whose last piece does not come (a container's last `echo -n`) is
    /// shipped after this long (Fluent Bit's `docker_mode_flush`).
    #[serde(default = "default_partial_timeout")]
    pub partial_timeout: Dur,
    /// Processors for this input, run before the top-level ones.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
}

fn default_partial_timeout() -> Dur {
    Dur(Duration::from_secs(5))
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
    /// The record's `stream` value.
    pub fn name(self) -> crate::event::StreamName {
        match self {
            Stream::Stdout => crate::event::StreamName::Stdout,
            Stream::Stderr => crate::event::StreamName::Stderr,
        }
    }

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
    /// A `P` piece whose `F` does not come is shipped after this long.
    #[serde(default = "default_partial_timeout")]
    pub partial_timeout: Dur,
    /// Processors for this input, run before the top-level ones.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub processors: Vec<crate::process::config::ProcessorConfig>,
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
    /// What its checkpoints are filed under, stable when other inputs are added, removed or
    /// reordered: `name` when set, else the type and the paths it reads.
    pub key: String,
    pub kind: InputKind,
}

impl InputConfig {
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            InputKind::File(_) => "file",
            InputKind::Docker(_) => "docker",
            InputKind::Cri(_) => "cri",
        }
    }
}

#[derive(Debug, Clone)]
pub enum OutputKind {
    Console(ConsoleOutputConfig),
    File(FileOutputConfig),
    Logstash(LogstashOutputConfig),
    Elasticsearch(ElasticsearchOutputConfig),
    Cloudwatch(CloudwatchOutputConfig),
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
            OutputKind::Logstash(c) => c.backoff,
            OutputKind::Elasticsearch(c) => c.backoff,
            OutputKind::Cloudwatch(c) => c.backoff,
        }
    }

    /// The TLS block of a network output, with its hosts.
    pub fn tls(&self) -> Option<(&TlsConfig, &[String])> {
        match &self.kind {
            OutputKind::Logstash(c) => c.tls.as_ref().map(|t| (t, c.hosts.as_slice())),
            OutputKind::Elasticsearch(c) => c.tls.as_ref().map(|t| (t, c.hosts.as_slice())),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            OutputKind::Console(_) => "console",
            OutputKind::File(_) => "file",
            OutputKind::Logstash(_) => "logstash",
            OutputKind::Elasticsearch(_) => "elasticsearch",
            OutputKind::Cloudwatch(_) => "cloudwatch",
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
    /// Top-level processors: after each input's own.
    pub processors: Vec<crate::process::config::ProcessorConfig>,
    /// Things that work but that the user must know (`tls.verify: none`): printed by
    /// `check-config` and `test-output`, logged by `run` once logging is up.
    pub warnings: Vec<String>,
}
