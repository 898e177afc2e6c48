//! The sockets of a `type: syslog` input: `listen:` addresses (`udp://HOST:PORT`,
//! `tcp://HOST:PORT`, `unix:///path` for a datagram socket as `/dev/log`, `unix-stream:///path`)
//! and the loops that receive on them. Every message goes, with its sender, into one bounded
//! channel. A stream reader waits when the channel is full, so the sender feels backpressure
//! (TCP's window closes); a datagram that finds it full is dropped and counted, as the kernel
//! would drop it anyway. Stream connections are capped (`max_connections`, further ones are
//! closed at once) and closed after `idle_timeout` without a byte; a connection's problems
//! (a bad frame, a reset) end that connection only.
//!
//! (`tls://` and the spool between these loops and the pipeline are the next steps of issue
//! 16.)

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
        Some(("unix", rest)) => path(rest).map(Listen::UnixDatagram),
        Some(("unix-stream", rest)) => path(rest).map(Listen::UnixStream),
        Some(("tls", _)) => Err(format!(
            "`{s}`: tls:// is not supported yet in this release"
        )),
        _ => Err(format!(
            "`{s}`: expected udp://HOST:PORT, tcp://HOST:PORT, unix:///path or unix-stream:///path"
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
}

/// How the loops receive.
#[derive(Debug, Clone)]
pub struct Limits {
    pub framing: Framing,
    pub max_message: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// What the loops count (for `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    pub dropped_full: AtomicU64,
    pub connections: AtomicUsize,
    pub refused_connections: AtomicU64,
    pub closed_bad_frame: AtomicU64,
}

/// A bound socket, ready to serve.
pub enum Bound {
    Udp(tokio::net::UdpSocket),
    Tcp(tokio::net::TcpListener),
    UnixDatagram(tokio::net::UnixDatagram, PathBuf),
    UnixStream(tokio::net::UnixListener, PathBuf),
}

impl Bound {
    /// The local address (for a port 0 listener in tests).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Bound::Udp(s) => s.local_addr().ok(),
            Bound::Tcp(l) => l.local_addr().ok(),
            _ => None,
        }
    }
}

/// Binds `listen` (a stale Unix socket file is replaced).
pub async fn bind(listen: &Listen) -> std::io::Result<Bound> {
    Ok(match listen {
        Listen::Udp(a) => Bound::Udp(tokio::net::UdpSocket::bind(a).await?),
        Listen::Tcp(a) => Bound::Tcp(tokio::net::TcpListener::bind(a).await?),
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

/// Receives on `bound` until the channel closes.
pub async fn serve(bound: Bound, limits: Limits, tx: Sender<Received>, counters: Arc<Counters>) {
    match bound {
        Bound::Udp(sock) => {
            let mut buf = vec![0u8; 65_536];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    pause_after_error().await;
                    continue;
                };
                if !datagram(&buf, n, Some(peer), &limits, &tx, &counters) {
                    return;
                }
            }
        }
        Bound::UnixDatagram(sock, _path) => {
            let mut buf = vec![0u8; 65_536];
            loop {
                let Ok(n) = sock.recv(&mut buf).await else {
                    pause_after_error().await;
                    continue;
                };
                if !datagram(&buf, n, None, &limits, &tx, &counters) {
                    return;
                }
            }
        }
        Bound::Tcp(listener) => loop {
            let Ok((conn, peer)) = listener.accept().await else {
                pause_after_error().await;
                continue;
            };
            if tx.is_closed() {
                return;
            }
            spawn_stream(conn, Some(peer), &limits, &tx, &counters);
        },
        Bound::UnixStream(listener, _path) => loop {
            let Ok((conn, _)) = listener.accept().await else {
                pause_after_error().await;
                continue;
            };
            if tx.is_closed() {
                return;
            }
            spawn_stream(conn, None, &limits, &tx, &counters);
        },
    }
}

/// After a failed accept or receive (out of file descriptors, a transient socket error): a
/// short pause, so an error that repeats does not spin a core.
async fn pause_after_error() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One datagram is one message (a trailing newline is the parser's to trim); false when the
/// channel is closed.
fn datagram(
    buf: &[u8],
    n: usize,
    peer: Option<SocketAddr>,
    limits: &Limits,
    tx: &Sender<Received>,
    counters: &Counters,
) -> bool {
    let keep = n.min(limits.max_message);
    let msg = Received {
        bytes: buf.get(..keep).unwrap_or_default().to_vec(),
        truncated: keep < n,
        peer,
    };
    match tx.try_send(msg) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            counters.dropped_full.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

fn spawn_stream<S>(
    conn: S,
    peer: Option<SocketAddr>,
    limits: &Limits,
    tx: &Sender<Received>,
    counters: &Arc<Counters>,
) where
    S: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    if counters.connections.load(Ordering::Relaxed) >= limits.max_connections {
        counters.refused_connections.fetch_add(1, Ordering::Relaxed);
        return; // dropped: closed at once
    }
    counters.connections.fetch_add(1, Ordering::Relaxed);
    let (limits, tx, counters) = (limits.clone(), tx.clone(), counters.clone());
    tokio::spawn(async move {
        stream(conn, peer, &limits, &tx, &counters).await;
        counters.connections.fetch_sub(1, Ordering::Relaxed);
    });
}

/// Reads one connection to its end, its idle timeout, or its first bad frame.
async fn stream<S: tokio::io::AsyncRead + Unpin>(
    mut conn: S,
    peer: Option<SocketAddr>,
    limits: &Limits,
    tx: &Sender<Received>,
    counters: &Counters,
) {
    let mut deframer = Deframer::new(limits.framing, limits.max_message);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(limits.idle_timeout, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        let mut frames = Vec::new();
        let pushed = deframer.push(buf.get(..n).unwrap_or_default(), &mut |f| frames.push(f));
        for f in frames {
            let msg = Received {
                bytes: f.bytes,
                truncated: f.truncated,
                peer,
            };
            // Waits while the pipeline is behind: this connection stops being read.
            if tx.send(msg).await.is_err() {
                return;
            }
        }
        if let Err(e) = pushed {
            counters.closed_bad_frame.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(peer = ?peer, error = %e, "syslog: closing a connection with a bad frame");
            return;
        }
    }
    let mut frames = Vec::new();
    deframer.finish(&mut |f| frames.push(f));
    for f in frames {
        let _ = tx
            .send(Received {
                bytes: f.bytes,
                truncated: f.truncated,
                peer,
            })
            .await;
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
        assert!(parse_listen("tls://0.0.0.0:6514")
            .unwrap_err()
            .contains("not supported yet"));
        assert!(parse_listen("514").is_err());
    }
}
