//! `type: syslog`: options and checks. A network receiver: `listen:` one address or a list
//! (`udp://`, `tcp://`, `tls://`, `unix://` datagram as `/dev/log`, `unix-stream://`), the stream
//! framing, the bounds (message size, connections, idle time), how the spool is synced, and the
//! server side of TLS.

use super::framing::Framing;
use super::listen::{parse_listen, Limits, Listen};
use crate::config::units::{Dur, Size};
use crate::config::{Problems, Value};
use crate::input::InputSpec;
use crate::process::config::ProcessorConfig;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `listen:` as one address or a list of them.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `framing:` of stream listeners.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FramingName {
    /// Each frame by its first byte: a digit starts an octet count, anything else a line.
    #[default]
    Auto,
    /// `LEN SP MSG` (RFC 6587 3.4.1, RFC 5425).
    OctetCounting,
    /// Messages end at `delimiter` (RFC 6587 3.4.2).
    Newline,
}

/// `spool_fsync:` when the spool's appends are made durable.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpoolFsync {
    /// Every `spool_fsync_interval` (default 1 s). A `kill -9` of the agent loses nothing
    /// (appends are in the kernel's page cache); a power loss or kernel crash can lose the
    /// messages received in the last interval.
    #[default]
    Interval,
    /// After every append, before the socket is read again: a power loss loses nothing that was
    /// read, at the cost of one fsync per read (about 10x fewer messages per second on disks
    /// without a write cache).
    Batch,
}

/// The server side of `tls://` listeners.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// The server certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA bundle (PEM): when set, clients must present a certificate it signed; the subject
    /// goes into `tls.client.subject`.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// `1.2` (default) or `1.3`.
    #[serde(default)]
    pub min_version: crate::tls::config::TlsVersion,
}

/// `type: syslog`: a receiver of syslog over the network or a Unix socket, spooled to disk.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SyslogInputConfig {
    /// Label in metrics, health and logs, and what checkpoints and the spool are filed under.
    #[serde(default)]
    pub name: Option<String>,
    /// Where to receive: one address or a list (`udp://0.0.0.0:514`, `tcp://0.0.0.0:514`,
    /// `tls://0.0.0.0:6514`, `unix:///dev/log`, `unix-stream:///run/syslog.sock`).
    pub listen: OneOrMany,
    /// Stream framing: `auto` (default, per frame), `octet-counting` or `newline`.
    #[serde(default)]
    pub framing: FramingName,
    /// The byte that ends a message with `newline` and `auto` framing (default `"\n"`; one byte).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Longer messages are cut here and flagged `log.flags: [truncated]` (default 64KiB).
    #[serde(default = "default_max_message_size")]
    pub max_message_size: Size,
    /// Stream connections open at once; more are closed at once (default 256).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A stream connection that sends nothing this long is closed (default 1h; senders such
    /// as rsyslog lose the first message written to a connection the other side closed).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Dur,
    /// `interval` (default) or `batch`: see `SpoolFsync`.
    #[serde(default)]
    pub spool_fsync: SpoolFsync,
    /// How often `spool_fsync: interval` syncs (default 1s): the power-loss window.
    #[serde(default = "default_fsync_interval")]
    pub spool_fsync_interval: Dur,
    /// For `tls://` listeners: the server certificate and key, and `client_ca` to require
    /// client certificates.
    #[serde(default)]
    pub tls: Option<ServerTls>,
    /// The kernel's receive buffer (`SO_RCVBUF`) of `udp://` and `unix://` (datagram)
    /// listeners: how many bytes of datagrams wait while the agent is busy before the kernel
    /// drops them. Default: the system's (`net.core.rmem_default`, often 208KiB: a few hundred
    /// messages). Capped by `net.core.rmem_max` (the agent says so when it is).
    #[serde(default)]
    pub receive_buffer: Option<Size>,
    /// Processors for this input, run before the top-level ones.
    #[serde(default)]
    pub processors: Vec<ProcessorConfig>,
}

fn default_delimiter() -> String {
    "\n".into()
}
fn default_max_message_size() -> Size {
    Size(64 * 1024)
}
fn default_max_connections() -> usize {
    256
}
fn default_idle_timeout() -> Dur {
    Dur(Duration::from_secs(3600))
}
fn default_fsync_interval() -> Dur {
    Dur(Duration::from_secs(1))
}

impl SyslogInputConfig {
    /// The listen addresses, parsed (checked by `configure`).
    pub fn addresses(&self) -> Vec<Listen> {
        self.listen
            .list()
            .iter()
            .filter_map(|s| parse_listen(s).ok())
            .collect()
    }

    /// How the listeners receive.
    pub fn limits(&self) -> Limits {
        let d = self.delimiter.bytes().next().unwrap_or(b'\n');
        Limits {
            framing: match self.framing {
                FramingName::Auto => Framing::Auto(d),
                FramingName::OctetCounting => Framing::OctetCounting,
                FramingName::Newline => Framing::Delimited(d),
            },
            max_message: usize::try_from(self.max_message_size.0)
                .unwrap_or(usize::MAX)
                .clamp(1, super::spool::MAX_RECORD as usize - 1024),
            max_connections: self.max_connections,
            idle_timeout: self.idle_timeout.0,
        }
    }
}

impl InputSpec for SyslogInputConfig {
    fn sources(&self) -> Vec<String> {
        self.listen.list()
    }
    fn processors(&self) -> &[ProcessorConfig] {
        &self.processors
    }
    fn describe(&self) -> String {
        format!("syslog, {}", self.listen.list().join(", "))
    }
    fn plan(
        &self,
        _name: &str,
        _key: &str,
        _max_line: usize,
        _host_name: &str,
    ) -> crate::input::Plan {
        crate::input::Plan::Syslog(Arc::new(self.clone()))
    }
}

/// Types and checks one `type: syslog` element (at `path`).
pub fn configure(
    body: &Value,
    path: &str,
    p: &mut Problems,
) -> Option<(Option<String>, Arc<dyn InputSpec>)> {
    let mut c = p.typed::<SyslogInputConfig>(body, path)?;
    let list = c.listen.list();
    if list.is_empty() {
        p.error(format!("{path}.listen"), "at least one address is required");
    }
    let mut tls_used = false;
    for (j, s) in list.iter().enumerate() {
        match parse_listen(s) {
            Ok(Listen::Tls(_)) => tls_used = true,
            Ok(_) => {}
            Err(e) => p.error(format!("{path}.listen[{j}]"), e),
        }
    }
    if tls_used && c.tls.is_none() {
        p.error(
            format!("{path}.tls"),
            "tls:// listeners need `tls: { cert, key }` (and `client_ca` to require client certificates)",
        );
    }
    if let Some(t) = &c.tls {
        if let Err(e) = crate::tls::server::server_config(
            &t.cert,
            &t.key,
            t.client_ca.as_deref(),
            t.min_version,
        ) {
            p.error(format!("{path}.tls"), e);
        }
    }
    if c.delimiter.len() != 1 {
        p.error(
            format!("{path}.delimiter"),
            format!(
                "must be one byte (e.g. \"\\n\" or \"\\u0000\"), got {:?}",
                c.delimiter
            ),
        );
    }
    if c.max_message_size.0 == 0 || c.max_message_size.0 > super::spool::MAX_RECORD - 1024 {
        p.error(
            format!("{path}.max_message_size"),
            format!(
                "must be between 1 byte and {} MiB",
                super::spool::MAX_RECORD >> 20
            ),
        );
    }
    if c.max_connections == 0 {
        p.error(format!("{path}.max_connections"), "must be at least 1");
    }
    if c.receive_buffer.is_some_and(|b| b.0 == 0 || b.0 > 1 << 30) {
        p.error(
            format!("{path}.receive_buffer"),
            "must be between 1 byte and 1GiB",
        );
    }
    p.positive(&format!("{path}.idle_timeout"), c.idle_timeout);
    p.positive(
        &format!("{path}.spool_fsync_interval"),
        c.spool_fsync_interval,
    );
    crate::process::check(&mut c.processors, &format!("{path}.processors"), 0, p);
    Some((c.name.clone(), Arc::new(c)))
}
