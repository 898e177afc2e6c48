//! The sockets of a `type: syslog` input: `listen:` addresses (`udp://HOST:PORT`,
//! `tcp://HOST:PORT`, `tls://HOST:PORT`, `unix:///path` for a datagram socket as `/dev/log`,
//! `unix-stream:///path`) and the loops that receive on them. Messages go, with their sender,
//! into a `Sink` (the input's spool, `intake.rs`). A stream reader hands over what one read
//! gave and waits while the sink has no room, so the sender feels backpressure (TCP's window
//! closes); datagrams are offered and, when there is no room, dropped and counted, as the
//! kernel would drop them anyway. Stream connections are capped (`max_connections`, further
//! ones are closed at once) and closed after `idle_timeout` without a byte; a connection's
//! problems (a bad frame, a reset, a refused TLS handshake, logged in one line) end that
//! connection only.

use super::framing::{Deframer, Framing};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc::{error::TrySendError, Sender};

/// Where to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Udp(SocketAddr),
    Tcp(SocketAddr),
    Tls(SocketAddr),
    UnixDatagram(PathBuf),
    UnixStream(PathBuf),
}

/// Reads one `listen:` address; the error says what is accepted.
pub fn parse_listen(s: &str) -> Result<Listen, String> {
    let addr = |rest: &str| {
        rest.parse::<SocketAddr>().map_err(|_| {
            format!("`{s}`: expected HOST:PORT with an IP address, e.g. udp://0.0.0.0:514")
        })
    };
    let path = |rest: &str| {
        if rest.starts_with('/') {
            Ok(PathBuf::from(rest))
        } else {
            Err(format!(
                "`{s}`: expected an absolute path, e.g. unix:///dev/log"
            ))
        }
    };
    match s.split_once("://") {
        Some(("udp", rest)) => addr(rest).map(Listen::Udp),
        Some(("tcp", rest)) => addr(rest).map(Listen::Tcp),
        Some(("tls", rest)) => addr(rest).map(Listen::Tls),
        Some(("unix", rest)) => path(rest).map(Listen::UnixDatagram),
        Some(("unix-stream", rest)) => path(rest).map(Listen::UnixStream),
        _ => Err(format!(
            "`{s}`: expected udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT, unix:///path or unix-stream:///path"
        )),
    }
}

/// One message as received.
#[derive(Debug)]
pub struct Received {
    pub bytes: Vec<u8>,
    /// Cut to `max_message`, or cut short by the end of its connection.
    pub truncated: bool,
    /// The sender's address (None on a Unix socket).
    pub peer: Option<SocketAddr>,
    /// The subject of the client certificate, on a TLS connection that presented one.
    pub subject: Option<Arc<str>>,
}

/// How the loops receive.
#[derive(Debug, Clone)]
pub struct Limits {
    pub framing: Framing,
    pub max_message: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// What the loops count (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct Counters {
    pub dropped_full: AtomicU64,
    pub connections: AtomicUsize,
    pub refused_connections: AtomicU64,
    pub closed_bad_frame: AtomicU64,
    pub tls_refused: AtomicU64,
}

/// Where received messages go.
#[async_trait::async_trait]
pub trait Sink: Send + Sync + 'static {
    /// A stream's messages, in order: waits while there is no room. False: the input stops.
    async fn put(&self, msgs: Vec<Received>) -> bool;
    /// Datagrams: taken, or dropped when there is no room; how many were dropped, None when
    /// the input stops.
    fn offer(&self, msgs: Vec<Received>) -> Option<u64>;
}

/// A channel as a sink (tests, tools): a full channel is no room.
#[async_trait::async_trait]
impl Sink for Sender<Received> {
    async fn put(&self, msgs: Vec<Received>) -> bool {
        for m in msgs {
            if self.send(m).await.is_err() {
                return false;
            }
        }
        true
    }
    fn offer(&self, msgs: Vec<Received>) -> Option<u64> {
        let mut dropped = 0;
        for m in msgs {
            match self.try_send(m) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => dropped += 1,
                Err(TrySendError::Closed(_)) => return None,
            }
        }
        Some(dropped)
    }
}

/// A bound socket, ready to serve.
pub enum Bound {
    Udp(tokio::net::UdpSocket),
    Tcp(tokio::net::TcpListener),
    Tls(tokio::net::TcpListener, Arc<TlsServer>),
    UnixDatagram(tokio::net::UnixDatagram, PathBuf),
    UnixStream(tokio::net::UnixListener, PathBuf),
}

/// The TLS side of a `tls://` listener.
pub struct TlsServer {
    pub config: Arc<rustls::ServerConfig>,
    /// For messages about refused client certificates.
    pub client_ca: Option<PathBuf>,
}

impl Bound {
    /// The local address (for a port 0 listener in tests).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Bound::Udp(s) => s.local_addr().ok(),
            Bound::Tcp(l) | Bound::Tls(l, _) => l.local_addr().ok(),
            _ => None,
        }
    }
}

/// Binds `listen` (a stale Unix socket file is replaced); `tls` serves `tls://`.
pub async fn bind(listen: &Listen, tls: Option<Arc<TlsServer>>) -> std::io::Result<Bound> {
    Ok(match listen {
        Listen::Udp(a) => Bound::Udp(tokio::net::UdpSocket::bind(a).await?),
        Listen::Tcp(a) => Bound::Tcp(tokio::net::TcpListener::bind(a).await?),
        Listen::Tls(a) => {
            let Some(tls) = tls else {
                return Err(std::io::Error::other("tls:// needs a `tls:` block"));
            };
            Bound::Tls(tokio::net::TcpListener::bind(a).await?, tls)
        }
        Listen::UnixDatagram(p) => {
            let _ = std::fs::remove_file(p);
            Bound::UnixDatagram(tokio::net::UnixDatagram::bind(p)?, p.clone())
        }
        Listen::UnixStream(p) => {
            let _ = std::fs::remove_file(p);
            Bound::UnixStream(tokio::net::UnixListener::bind(p)?, p.clone())
        }
    })
}

impl Bound {
    /// Sets the kernel's receive buffer of a datagram socket to `bytes`; the size the kernel
    /// granted (Linux reports twice what it holds for data, and caps the request at
    /// `net.core.rmem_max`). None for stream listeners (their senders wait instead).
    pub fn set_receive_buffer(&self, bytes: usize) -> Option<std::io::Result<usize>> {
        let sock = match self {
            Bound::Udp(s) => socket2::SockRef::from(s),
            Bound::UnixDatagram(s, _) => socket2::SockRef::from(s),
            _ => return None,
        };
        Some(
            sock.set_recv_buffer_size(bytes)
                .and_then(|()| sock.recv_buffer_size()),
        )
    }
}

/// Datagrams taken from a socket before they are handed over at once.
const DATAGRAM_BATCH: usize = 256;

/// Receives on `bound` until the sink stops.
pub async fn serve<S: Sink>(bound: Bound, limits: Limits, sink: Arc<S>, counters: Arc<Counters>) {
    match bound {
        Bound::Udp(sock) => {
            let mut buf = vec![0u8; 65_536];
            loop {
                if sock.readable().await.is_err() {
                    pause_after_error().await;
                    continue;
                }
                let mut batch = Vec::new();
                while batch.len() < DATAGRAM_BATCH {
                    match sock.try_recv_from(&mut buf) {
                        Ok((n, peer)) => batch.push(datagram(&buf, n, Some(peer), &limits)),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
                if !offer(&*sink, batch, &counters) {
                    return;
                }
            }
        }
        Bound::UnixDatagram(sock, _path) => {
            let mut buf = vec![0u8; 65_536];
            loop {
                if sock.readable().await.is_err() {
                    pause_after_error().await;
                    continue;
                }
                let mut batch = Vec::new();
                while batch.len() < DATAGRAM_BATCH {
                    match sock.try_recv(&mut buf) {
                        Ok(n) => batch.push(datagram(&buf, n, None, &limits)),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
                if !offer(&*sink, batch, &counters) {
                    return;
                }
            }
        }
        Bound::Tcp(listener) => loop {
            let Ok((conn, peer)) = listener.accept().await else {
                pause_after_error().await;
                continue;
            };
            let _ = conn.set_nodelay(true);
            if let Some(slot) = Slot::take(&limits, &counters) {
                let (limits, sink) = (limits.clone(), sink.clone());
                tokio::spawn(async move {
                    stream(conn, Some(peer), None, &limits, &*sink, &slot.0).await;
                });
            }
        },
        Bound::Tls(listener, tls) => loop {
            let Ok((conn, peer)) = listener.accept().await else {
                pause_after_error().await;
                continue;
            };
            if let Some(slot) = Slot::take(&limits, &counters) {
                let (limits, sink, tls) = (limits.clone(), sink.clone(), tls.clone());
                tokio::spawn(async move {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
                    let shake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(conn));
                    let conn = match shake.await {
                        Ok(Ok(c)) => c,
                        Ok(Err(e)) => {
                            slot.0.tls_refused.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(
                                "syslog: {}",
                                crate::tls::server::explain_handshake(
                                    &e,
                                    Some(peer),
                                    tls.client_ca.as_deref()
                                )
                            );
                            return;
                        }
                        Err(_) => {
                            slot.0.tls_refused.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(
                                "syslog: TLS handshake with client {peer} failed: no handshake within {}s",
                                HANDSHAKE_TIMEOUT.as_secs()
                            );
                            return;
                        }
                    };
                    let subject =
                        crate::tls::server::client_subject(conn.get_ref().1).map(Arc::from);
                    stream(conn, Some(peer), subject, &limits, &*sink, &slot.0).await;
                });
            }
        },
        Bound::UnixStream(listener, _path) => loop {
            let Ok((conn, _)) = listener.accept().await else {
                pause_after_error().await;
                continue;
            };
            if let Some(slot) = Slot::take(&limits, &counters) {
                let (limits, sink) = (limits.clone(), sink.clone());
                tokio::spawn(async move {
                    stream(conn, None, None, &limits, &*sink, &slot.0).await;
                });
            }
        },
    }
}

/// How long a client has to complete a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One open stream connection, counted while it lives.
struct Slot(Arc<Counters>);

impl Slot {
    /// A slot, or None (the connection is closed at once, counted) when `max_connections` are
    /// open.
    fn take(limits: &Limits, counters: &Arc<Counters>) -> Option<Slot> {
        if counters.connections.load(Ordering::Relaxed) >= limits.max_connections {
            counters.refused_connections.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        counters.connections.fetch_add(1, Ordering::Relaxed);
        Some(Slot(counters.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// After a failed accept or receive (out of file descriptors, a transient socket error): a
/// short pause, so an error that repeats does not spin a core.
async fn pause_after_error() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One datagram is one message (a trailing newline is the parser's to trim).
fn datagram(buf: &[u8], n: usize, peer: Option<SocketAddr>, limits: &Limits) -> Received {
    let got = buf.get(..n).unwrap_or_default();
    Received {
        bytes: crate::utf8::cut(got, limits.max_message).to_vec(),
        truncated: got.len() > limits.max_message,
        peer,
        subject: None,
    }
}

/// Offers datagrams and counts the dropped; false when the input stops.
fn offer<S: Sink + ?Sized>(sink: &S, batch: Vec<Received>, counters: &Counters) -> bool {
    if batch.is_empty() {
        return true;
    }
    match sink.offer(batch) {
        Some(dropped) => {
            counters.dropped_full.fetch_add(dropped, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Reads one connection to its end, its idle timeout, or its first bad frame.
async fn stream<C: tokio::io::AsyncRead + Unpin, S: Sink + ?Sized>(
    mut conn: C,
    peer: Option<SocketAddr>,
    subject: Option<Arc<str>>,
    limits: &Limits,
    sink: &S,
    counters: &Counters,
) {
    let mut deframer = Deframer::new(limits.framing, limits.max_message);
    let mut buf = vec![0u8; 64 * 1024];
    let message = |bytes, truncated| Received {
        bytes,
        truncated,
        peer,
        subject: subject.clone(),
    };
    loop {
        let n = match tokio::time::timeout(limits.idle_timeout, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        let mut frames = Vec::new();
        let pushed = deframer.push(buf.get(..n).unwrap_or_default(), &mut |f| {
            frames.push(message(f.bytes, f.truncated))
        });
        // Waits while the spool is full: this connection stops being read.
        if !frames.is_empty() && !sink.put(frames).await {
            return;
        }
        if let Err(e) = pushed {
            counters.closed_bad_frame.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(peer = ?peer, error = %e, "syslog: closing a connection with a bad frame");
            return;
        }
    }
    let mut frames = Vec::new();
    deframer.finish(&mut |f| frames.push(message(f.bytes, f.truncated)));
    if !frames.is_empty() {
        sink.put(frames).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("udp://0.0.0.0:514"),
            Ok(Listen::Udp("0.0.0.0:514".parse().unwrap()))
        );
        assert_eq!(
            parse_listen("unix:///dev/log"),
            Ok(Listen::UnixDatagram("/dev/log".into()))
        );
        assert!(parse_listen("tcp://localhost:514")
            .unwrap_err()
            .contains("IP address"));
        assert!(parse_listen("unix://dev/log").is_err());
        assert_eq!(
            parse_listen("tls://0.0.0.0:6514"),
            Ok(Listen::Tls("0.0.0.0:6514".parse().unwrap()))
        );
        assert!(parse_listen("514").is_err());
    }
}
