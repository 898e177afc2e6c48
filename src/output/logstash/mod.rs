//! `type: logstash`: batches to Logstash `beats` inputs over Lumberjack v2, plain or (m)TLS.
//!
//! A batch is cut into windows of at most the current window size (`bulk_max_size`, or growing
//! from 10 with `slow_start`; halved after an error, doubled after a success). Each window is
//! acknowledged by the ACK for its last sequence; a partial ACK narrows the batch's `Todo` (kept by
//! the worker), so after a dropped connection only the rest is resent. Hosts: with `loadbalance: true` every batch goes to the next host in turn, with
//! `false` all go to one host until it fails. A failing host waits out its own backoff while the
//! others carry the load; the batch moves on to the next host at once.

pub mod check;
pub mod classify;
pub mod config;
pub mod encode;
pub mod service;

use super::hosts::{self, Hosts};
use super::{Output, OutputError, Todo};
use crate::pipeline::batch::Batch;
use crate::tls::TlsClient;
use async_trait::async_trait;
use config::LogstashOutputConfig;
use service::{Conn, Explain, Io};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Splits `host:port` (`[v6]:port` too) into host and port.
pub fn split_host_port(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = port.parse().ok()?;
    (!host.is_empty()).then_some((host, port))
}

const SLOW_START_WINDOW: usize = 10;
/// How long `test-output` waits after the handshake for the server to refuse our certificate
/// (with TLS 1.3 that refusal comes after the client's handshake is done).
const REFUSAL_WAIT: Duration = Duration::from_millis(1500);

/// What the output keeps per host: its open connection.
type Slot = tokio::sync::Mutex<Option<Arc<Conn>>>;
type Host = hosts::Host<Slot>;

/// The window size: how many events go out under one ACK.
struct Window {
    size: AtomicUsize,
    max: usize,
}

impl Window {
    fn current(&self) -> usize {
        self.size.load(Ordering::Relaxed).clamp(1, self.max)
    }
    fn grow(&self) {
        let s = self.current();
        self.size.store((s * 2).min(self.max), Ordering::Relaxed);
    }
    fn shrink(&self) {
        let s = self.current();
        self.size.store((s / 2).max(1), Ordering::Relaxed);
    }
}

pub struct Logstash {
    cfg: LogstashOutputConfig,
    hosts: Hosts<Slot>,
    tls: Option<Arc<TlsClient>>,
    prefix: Vec<u8>,
    window: Window,
}

impl Logstash {
    pub fn new(cfg: &LogstashOutputConfig) -> Result<Logstash, String> {
        let tls = match &cfg.tls {
            Some(t) => Some(Arc::new(TlsClient::build_one_line(t)?)),
            None => None,
        };
        let hosts = Hosts::new(&cfg.hosts, cfg.loadbalance, |_| {
            tokio::sync::Mutex::new(None)
        });
        let max = cfg.bulk_max_size.max(1);
        Ok(Logstash {
            cfg: cfg.clone(),
            hosts,
            tls,
            prefix: encode::metadata_prefix(&cfg.beat),
            window: Window {
                size: AtomicUsize::new(if cfg.slow_start {
                    SLOW_START_WINDOW.min(max)
                } else {
                    max
                }),
                max,
            },
        })
    }

    fn timeout(&self) -> Duration {
        self.cfg.timeout.0
    }

    /// Opens TCP (and TLS) to `addr`.
    async fn dial(&self, addr: &str) -> Result<Box<dyn Io>, OutputError> {
        let (host, _) = split_host_port(addr).ok_or_else(|| {
            OutputError::new("connect", format!("{addr}: not a host:port address"))
        })?;
        let tcp = match tokio::time::timeout(self.timeout(), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(OutputError::new(
                    "connect",
                    format!("{addr}: cannot connect: {e}"),
                ))
            }
            Err(_) => {
                return Err(OutputError::new(
                    "connect",
                    format!(
                        "{addr}: cannot connect: no answer within {:?}",
                        self.timeout()
                    ),
                ))
            }
        };
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(tls) => match tokio::time::timeout(self.timeout(), tls.connect(tcp, host)).await {
                Ok(Ok(s)) => Ok(Box::new(s)),
                Ok(Err(e)) => Err(OutputError::new("tls", format!("{addr}: {e}"))),
                Err(_) => Err(OutputError::new(
                    "tls",
                    format!(
                        "{addr}: TLS handshake did not complete within {:?}",
                        self.timeout()
                    ),
                )),
            },
        }
    }

    fn explain(&self, addr: &str) -> Explain {
        let tls = self.tls.clone();
        let addr = addr.to_string();
        Arc::new(move |e: &std::io::Error| match &tls {
            Some(t) => format!("{addr}: {}", t.explain_io(e)),
            None => format!("{addr}: {e}"),
        })
    }

    /// The host's open connection, or a new one (also when `ttl` has passed and it is idle).
    async fn connection(&self, host: &Host) -> Result<Arc<Conn>, OutputError> {
        let mut slot = host.extra.lock().await;
        if let Some(c) = slot.as_ref() {
            let expired = self.cfg.ttl.is_some_and(|t| c.age() >= t.0) && c.in_flight() == 0;
            if !c.is_dead() && !expired {
                return Ok(c.clone());
            }
        }
        *slot = None;
        let io = self.dial(&host.addr).await?;
        let conn = Arc::new(Conn::new(
            io,
            host.addr.clone(),
            self.timeout(),
            self.explain(&host.addr),
        ));
        tracing::debug!(host = %host.addr, "connected");
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn forget(&self, host: &Host, conn: &Arc<Conn>) {
        let mut slot = host.extra.lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *slot = None;
        }
    }
}

#[async_trait]
impl Output for Logstash {
    fn concurrency(&self) -> usize {
        let per_host = self.cfg.pipelining.max(1);
        if self.cfg.loadbalance {
            per_host * self.hosts.len().max(1)
        } else {
            per_host
        }
    }

    async fn send(&self, batch: &Arc<Batch>, todo: &mut Todo) -> Result<(), OutputError> {
        let lines = batch.lines();
        let docs: Vec<&[u8]> = todo
            .indices()
            .iter()
            .filter_map(|&i| lines.get(i).copied())
            .collect();
        let total = docs.len();
        // Records of `docs` acknowledged, in order (beats ACKs count from the window's start).
        let mut done = 0;
        let mut failures = 0;
        while done < total {
            let host = self.hosts.pick();
            let conn = match self.connection(&host).await {
                Ok(c) => c,
                Err(e) => {
                    host.failed(self.cfg.backoff);
                    failures += 1;
                    if failures >= self.hosts.len() {
                        return Err(e);
                    }
                    tracing::warn!(host = %host.addr, error = %e, "logstash host failed; trying the next");
                    continue;
                }
            };
            while done < total {
                let end = (done + self.window.current()).min(total);
                let frames = encode::encode_window(
                    &docs[done..end],
                    &self.prefix,
                    self.cfg.compression_level,
                );
                match conn.send_window(&frames, (end - done) as u32).await {
                    Ok(()) => {
                        done = end;
                        self.window.grow();
                        host.succeeded();
                    }
                    Err(f) => {
                        done += f.acked as usize;
                        self.window.shrink();
                        host.failed(self.cfg.backoff);
                        self.forget(&host, &conn).await;
                        failures += 1;
                        let e = OutputError::new("ack", f.message);
                        if failures >= self.hosts.len() {
                            todo.accepted_first(done);
                            return Err(e);
                        }
                        tracing::warn!(host = %host.addr, error = %e, acked = f.acked, "logstash host failed; resending the unacknowledged rest to the next host");
                        break;
                    }
                }
            }
        }
        todo.clear();
        Ok(())
    }

    async fn check(&self) -> Result<String, OutputError> {
        self.check_hosts().await
    }
}
