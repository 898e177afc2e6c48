//! A beats (Lumberjack v2) protocol server for the tests, written from the public wire format
//! (elastic/go-lumber `server/v2`, logstash-input-beats): window `2W`, JSON `2J`, compressed `2C`
//! frames in, `2A` ACKs out. Plain TCP or TLS (optionally requiring a client certificate).
//! Every acknowledged event is appended, as one JSON line, to `out`, so the usual helpers
//! (`counts`, `wait_all_arrived`) read it; an event acknowledged twice is a real duplicate.
//! Faults on demand through `set_mode`: withhold ACKs, keepalive ACKs, partial ACK then drop,
//! close in the middle of an ACK frame.
#![allow(dead_code)]

use super::server::{accept_loop, handshake, out_file, Stream};
use flate2::read::ZlibDecoder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// ACK every window once its events are read.
    Normal,
    /// Read windows, never ACK, record nothing.
    Withhold,
    /// Send keepalive ACKs (sequence 0) every 200 ms for this long, then ACK.
    Keepalive(Duration),
    /// ACK the first `n` events of the next window, then close the connection (once).
    PartialThenDrop(u32),
    /// Send half an ACK frame for the next window, then close the connection (once).
    CloseMidFrame,
}

pub struct ServerTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Require client certificates signed by this CA.
    pub client_ca: Option<PathBuf>,
    /// Only TLS 1.2 (to test `min_version: 1.3`).
    pub tls12_only: bool,
}

#[derive(Default)]
struct Shared {
    mode: Mutex<Option<Mode>>,
    windows: AtomicUsize,
    window_sizes: Mutex<Vec<usize>>,
    compressed_windows: AtomicUsize,
    events_received: AtomicUsize,
    connections: AtomicUsize,
    out: Mutex<Option<std::fs::File>>,
    streams: Mutex<Vec<TcpStream>>,
    /// Handshake failures seen by the server (e.g. a refused client certificate).
    tls_errors: Mutex<Vec<String>>,
}

pub struct BeatsServer {
    pub addr: String,
    pub out: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

pub fn server_config(t: &ServerTls) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .expect("server cert")
        .map(|c| c.expect("server cert pem"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(&t.key).expect("server key");
    let versions: &[&rustls::SupportedProtocolVersion] = if t.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::ALL_VERSIONS
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let builder = match &t.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).expect("client ca") {
                roots.add(c.expect("ca pem")).expect("add ca");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(
        builder
            .with_single_cert(certs, key)
            .expect("server identity"),
    )
}

impl BeatsServer {
    /// Listens on 127.0.0.1 (a free port, or `port` to come back on the same address).
    pub fn start(out: &Path, tls: Option<ServerTls>) -> BeatsServer {
        Self::start_on(out, tls, 0)
    }

    pub fn start_on(out: &Path, tls: Option<ServerTls>, port: u16) -> BeatsServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind beats server");
        let addr = listener.local_addr().expect("addr").to_string();
        let shared = Arc::new(Shared::default());
        *shared.mode.lock().unwrap() = Some(Mode::Normal);
        *shared.out.lock().unwrap() = Some(out_file(out));
        let stop = Arc::new(AtomicBool::new(false));
        let config = tls.as_ref().map(server_config);
        let on_conn_shared = shared.clone();
        accept_loop(listener, stop.clone(), move |s| {
            if let Ok(c) = s.try_clone() {
                on_conn_shared.streams.lock().unwrap().push(c);
            }
            on_conn_shared.connections.fetch_add(1, Ordering::SeqCst);
            let shared = on_conn_shared.clone();
            let config = config.clone();
            std::thread::spawn(move || serve(s, config, shared));
        });
        BeatsServer {
            addr,
            out: out.to_path_buf(),
            shared,
            stop,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn set_mode(&self, m: Mode) {
        *self.shared.mode.lock().unwrap() = Some(m);
    }

    pub fn mode(&self) -> Mode {
        self.shared.mode.lock().unwrap().unwrap_or(Mode::Normal)
    }

    pub fn windows(&self) -> usize {
        self.shared.windows.load(Ordering::SeqCst)
    }

    /// Events per window, in arrival order.
    pub fn window_sizes(&self) -> Vec<usize> {
        self.shared.window_sizes.lock().unwrap().clone()
    }

    pub fn compressed_windows(&self) -> usize {
        self.shared.compressed_windows.load(Ordering::SeqCst)
    }

    /// Events read off the wire, acknowledged or not.
    pub fn events_received(&self) -> usize {
        self.shared.events_received.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn tls_errors(&self) -> Vec<String> {
        self.shared.tls_errors.lock().unwrap().clone()
    }

    /// Stops listening and cuts every connection, like a Logstash that dies.
    pub fn kill(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for s in self.shared.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        *self.shared.mode.lock().unwrap() = Some(Mode::Withhold);
    }
}

impl Drop for BeatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve(tcp: TcpStream, config: Option<Arc<rustls::ServerConfig>>, shared: Arc<Shared>) {
    // `kill` holds clones of the socket: close it for real when this connection ends.
    let closer = tcp.try_clone().ok();
    serve_conn(tcp, config, shared);
    if let Some(c) = closer {
        let _ = c.shutdown(Shutdown::Both);
    }
}

fn serve_conn(tcp: TcpStream, config: Option<Arc<rustls::ServerConfig>>, shared: Arc<Shared>) {
    let mut stream = match handshake(tcp, config) {
        Ok(s) => s,
        Err(e) => {
            shared.tls_errors.lock().unwrap().push(e);
            return;
        }
    };
    loop {
        let Some(events) = read_window(&mut stream, &shared) else {
            return;
        };
        let n = events.len() as u32;
        shared.windows.fetch_add(1, Ordering::SeqCst);
        shared.window_sizes.lock().unwrap().push(events.len());
        shared
            .events_received
            .fetch_add(events.len(), Ordering::SeqCst);
        let mode = shared.mode.lock().unwrap().unwrap_or(Mode::Normal);
        match mode {
            Mode::Normal => {
                record(&shared, &events);
                if ack(&mut stream, n).is_err() {
                    return;
                }
            }
            Mode::Withhold => {}
            Mode::Keepalive(d) => {
                let until = Instant::now() + d;
                while Instant::now() < until {
                    if ack(&mut stream, 0).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                record(&shared, &events);
                if ack(&mut stream, n).is_err() {
                    return;
                }
            }
            Mode::PartialThenDrop(k) => {
                let k = k.min(n);
                record(&shared, &events[..k as usize]);
                *shared.mode.lock().unwrap() = Some(Mode::Normal);
                let _ = ack(&mut stream, k);
                return;
            }
            Mode::CloseMidFrame => {
                *shared.mode.lock().unwrap() = Some(Mode::Normal);
                let _ = stream.write_all(b"2A\0");
                let _ = stream.flush();
                return;
            }
        }
    }
}

fn ack(stream: &mut Box<dyn Stream>, seq: u32) -> std::io::Result<()> {
    let mut f = b"2A".to_vec();
    f.extend_from_slice(&seq.to_be_bytes());
    stream.write_all(&f)?;
    stream.flush()
}

fn record(shared: &Shared, events: &[serde_json::Value]) {
    let mut out = shared.out.lock().unwrap();
    if let Some(f) = out.as_mut() {
        let mut text = String::new();
        for e in events {
            text.push_str(&e.to_string());
            text.push('\n');
        }
        f.write_all(text.as_bytes()).expect("record");
        f.flush().expect("flush");
    }
}

fn u32_at(r: &mut dyn Read) -> Option<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).ok()?;
    Some(u32::from_be_bytes(b))
}

/// Reads one window (the `2W` frame and its events); None when the connection ends.
fn read_window(r: &mut Box<dyn Stream>, shared: &Shared) -> Option<Vec<serde_json::Value>> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head).ok()?;
    assert_eq!(&head, b"2W", "expected a window frame");
    let count = u32_at(r)? as usize;
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        r.read_exact(&mut head).ok()?;
        match &head {
            b"2J" => events.push(read_json(r)?),
            b"2C" => {
                shared.compressed_windows.fetch_add(1, Ordering::SeqCst);
                let len = u32_at(r)? as usize;
                let mut z = vec![0u8; len];
                r.read_exact(&mut z).ok()?;
                let mut raw = Vec::new();
                ZlibDecoder::new(&z[..])
                    .read_to_end(&mut raw)
                    .expect("valid zlib");
                let mut cur = &raw[..];
                while !cur.is_empty() {
                    let mut h = [0u8; 2];
                    cur.read_exact(&mut h).ok()?;
                    assert_eq!(&h, b"2J", "compressed frame holds JSON frames");
                    events.push(read_json(&mut cur)?);
                }
            }
            other => panic!("unexpected frame {:?}", String::from_utf8_lossy(other)),
        }
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["__seq"].as_u64(), Some(i as u64 + 1), "sequence numbers");
    }
    Some(
        events
            .into_iter()
            .map(|mut e| {
                e.as_object_mut().map(|o| o.remove("__seq"));
                e
            })
            .collect(),
    )
}

fn read_json(r: &mut dyn Read) -> Option<serde_json::Value> {
    let seq = u32_at(r)?;
    let len = u32_at(r)? as usize;
    let mut doc = vec![0u8; len];
    r.read_exact(&mut doc).ok()?;
    let mut v: serde_json::Value = serde_json::from_slice(&doc).expect("JSON frame");
    v["__seq"] = seq.into();
    Some(v)
}
