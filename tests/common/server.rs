//! What the tests' protocol servers (beats.rs, bulk.rs) share: the accept loop on a
//! non-blocking listener until `stop`, the output file of what they accepted, and the server
//! side of a TLS handshake.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A plain TCP or TLS stream.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Accepts connections on a thread until `stop`; each one goes (blocking) to `on_conn`.
pub fn accept_loop(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    on_conn: impl Fn(TcpStream) + Send + 'static,
) {
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    on_conn(s);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

/// The file a server appends what it accepted to.
pub fn out_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("server out file")
}

/// The stream to serve: `tcp` itself, or TLS over it once the handshake is done. A failed
/// handshake (its alert flushed to the client) gives the error instead.
pub fn handshake(
    tcp: TcpStream,
    config: Option<Arc<rustls::ServerConfig>>,
) -> Result<Box<dyn Stream>, String> {
    let Some(cfg) = config else {
        return Ok(Box::new(tcp));
    };
    let mut conn = rustls::ServerConnection::new(cfg).expect("server conn");
    let mut tcp = tcp;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            let _ = conn.complete_io(&mut tcp); // flush the alert
            return Err(e.to_string());
        }
    }
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}
