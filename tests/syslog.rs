//! The syslog input end to end, with the real binary: real senders (rsyslogd forwarding with
//! each of its templates over TCP with octet counting and newline framing, over UDP, and over
//! TLS with gnutls, with and without a client certificate; util-linux `logger` on Unix sockets;
//! `openssl s_client`), the spool (outputs down for 100,000 messages; a full spool that pushes
//! back on TCP and drops UDP, counted; `kill -9` with a full spool and restart) and bad senders.

mod common;

use common::beats::BeatsServer;
use common::*;
use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn have(cmd: &str, why: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: `{cmd}` is not installed ({why}); scripts/test.sh installs it");
    }
    ok
}

/// rsyslog's gnutls network stream driver.
fn gtls_available() -> bool {
    let ok = Command::new("sh")
        .args(["-c", "ls /usr/lib/*/rsyslog/lmnsd_gtls.so"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: rsyslog-gnutls is not installed (apt-get install rsyslog-gnutls)");
    }
    ok
}

/// A free UDP port on 127.0.0.1 that is also free for TCP.
fn free_ports() -> u16 {
    loop {
        let p = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// An rsyslogd forwarding to `port`; stopped on drop.
struct Forwarder {
    pid: i32,
    unix_socket: String,
    dir: String,
}

impl Forwarder {
    fn start(port: u16, proto: &str, framing: &str, template: &str, envs: &[(&str, &str)]) -> Self {
        let out = Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/rsyslog_forwarder.sh"
            ))
            .args([&port.to_string(), proto, framing, template])
            .envs(envs.iter().copied())
            .output()
            .expect("run rsyslog_forwarder.sh");
        assert!(
            out.status.success(),
            "rsyslog_forwarder.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("forwarder JSON");
        Forwarder {
            pid: v["pid"].as_i64().unwrap() as i32,
            unix_socket: v["unix_socket"].as_str().unwrap().to_string(),
            dir: v["dir"].as_str().unwrap().to_string(),
        }
    }

    fn log(&self, tag: &str, text: &str) {
        let out = Command::new("logger")
            .args([
                "-u",
                &self.unix_socket,
                "-t",
                tag,
                "-p",
                "local3.warning",
                text,
            ])
            .output()
            .expect("logger");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn own_log(&self) -> String {
        std::fs::read_to_string(format!("{}/rsyslogd.log", self.dir)).unwrap_or_default()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn syslog_input(listen: &[String], extra: &str) -> String {
    format!(
        "  - type: syslog\n    listen: [{}]\n{extra}",
        listen
            .iter()
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The first record whose message is `text`, within 20 s.
fn record_with(agent: &Agent, out: &Path, text: &str) -> Value {
    let mut found = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while found.is_none() {
        found = records(out).into_iter().find(|r| r["message"] == text);
        assert!(
            found.is_some() || Instant::now() < deadline,
            "no record `{text}` within 20 s; agent log:\n{}",
            agent.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    found.unwrap_or_default()
}

#[test]
fn rsyslog_forwards_every_template_over_tcp_udp_and_unix_sockets() {
    if !have("rsyslogd", "apt-get install rsyslog") || !have("logger", "apt-get install bsdutils") {
        return;
    }
    let env = Env::new();
    let port = free_ports();
    let stream_sock = env.path("stream.sock");
    let cfg = env.config(
        &syslog_input(
            &[
                format!("tcp://127.0.0.1:{port}"),
                format!("udp://127.0.0.1:{port}"),
                format!("unix-stream://{}", stream_sock.display()),
            ],
            "",
        ),
        "",
    );
    let agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "the agent to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let cases = [
        ("tcp", "octet-counted", "RSYSLOG_SyslogProtocol23Format"),
        ("tcp", "traditional", "RSYSLOG_ForwardFormat"),
        ("tcp", "traditional", "RSYSLOG_TraditionalForwardFormat"),
        ("udp", "traditional", "RSYSLOG_SyslogProtocol23Format"),
        ("udp", "traditional", "RSYSLOG_TraditionalForwardFormat"),
    ];
    for (i, (proto, framing, template)) in cases.iter().enumerate() {
        let fwd = Forwarder::start(port, proto, framing, template, &[]);
        let tag = format!("app{i}");
        // The same text twice and a multibyte character: each arrives, in order.
        for n in 0..3 {
            fwd.log(&tag, &format!("via {template} {proto} #{n} é"));
        }
        fwd.log(&tag, &format!("via {template} {proto} #0 é"));
        for n in 0..3 {
            let text = format!("via {template} {proto} #{n} é");
            let r = record_with(&agent, &env.out(), &text);
            let s = &r["log"]["syslog"];
            assert_eq!(s["appname"], tag.as_str(), "{template}: {r}");
            assert_eq!(s["facility"]["name"], "local3", "{template}: {r}");
            assert_eq!(s["severity"]["name"], "warning", "{template}: {r}");
            assert!(s["hostname"].is_string(), "{template}: no hostname: {r}");
            assert_eq!(r["source"]["ip"], "127.0.0.1", "{r}");
            assert_eq!(r["input"]["type"], "syslog");
            assert!(r.get("error").is_none(), "{template}: {r}");
            if template.contains("Protocol23") {
                assert_eq!(s["version"], 1, "{r}");
            }
        }
        wait_for(Duration::from_secs(10), "the repeated message", || {
            records(&env.out())
                .iter()
                .filter(|r| r["message"] == format!("via {template} {proto} #0 é"))
                .count()
                == 2
        });
        drop(fwd);
    }
    // logger straight to a Unix stream socket (its local format: no hostname).
    let out = Command::new("logger")
        .args([
            "-u",
            stream_sock.to_str().unwrap(),
            "-T",
            "-t",
            "svc",
            "over a stream socket",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = record_with(&agent, &env.out(), "over a stream socket");
    assert_eq!(r["log"]["syslog"]["appname"], "svc", "{r}");
    assert!(r.get("source").is_none(), "{r}");
}

#[test]
fn tls_listener_with_client_certificates_from_rsyslog_and_openssl() {
    if !have("rsyslogd", "apt-get install rsyslog rsyslog-gnutls")
        || !have("openssl", "apt-get install openssl")
        || !gtls_available()
    {
        return;
    }
    let env = Env::new();
    let pki = certs::pki(env.dir.path());
    let port = free_port();
    let cfg = env.config(
        &syslog_input(
            &[format!("tls://127.0.0.1:{port}")],
            &format!(
                "    tls: {{ cert: {}, key: {}, client_ca: {} }}\n",
                pki.server.cert.display(),
                pki.server.key.display(),
                pki.ca.cert_path.display()
            ),
        ),
        "",
    );
    let agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "the agent to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    // rsyslog over gnutls with a client certificate from the CA: accepted, subject recorded.
    let ca = pki.ca.cert_path.to_str().unwrap();
    let (cert, key) = (
        pki.client.cert.to_str().unwrap(),
        pki.client.key.to_str().unwrap(),
    );
    let fwd = Forwarder::start(
        port,
        "tcp",
        "octet-counted",
        "RSYSLOG_SyslogProtocol23Format",
        &[
            ("RSYSLOG_TLS_DRIVER", "gtls"),
            ("RSYSLOG_TLS_CA", ca),
            ("RSYSLOG_TLS_CERT", cert),
            ("RSYSLOG_TLS_KEY", key),
        ],
    );
    fwd.log("tlsapp", "over gnutls with a client certificate");
    let r = record_with(&agent, &env.out(), "over gnutls with a client certificate");
    assert_eq!(r["log"]["syslog"]["appname"], "tlsapp", "{r}");
    assert!(
        r["tls"]["client"]["subject"]
            .as_str()
            .is_some_and(|s| s.contains("CN=client")),
        "{r}\nrsyslog: {}",
        fwd.own_log()
    );
    drop(fwd);

    // rsyslog without a client certificate: refused, and the agent says why in one line.
    let before = agent.logs().lines().count();
    let fwd = Forwarder::start(
        port,
        "tcp",
        "octet-counted",
        "RSYSLOG_SyslogProtocol23Format",
        &[("RSYSLOG_TLS_DRIVER", "gtls"), ("RSYSLOG_TLS_CA", ca)],
    );
    fwd.log("tlsapp", "over gnutls without a certificate");
    wait_for(
        Duration::from_secs(20),
        "the refusal in the agent log",
        || agent.logs().contains("presented no client certificate"),
    );
    let logs = agent.logs();
    let refusal: Vec<&str> = logs
        .lines()
        .skip(before)
        .filter(|l| l.contains("presented no client certificate"))
        .collect();
    assert!(
        refusal
            .iter()
            .all(|l| l.contains("tls.client_ca") && l.contains("127.0.0.1")),
        "{refusal:?}"
    );
    drop(fwd);

    // openssl s_client: with the right certificate a message goes through; with one from
    // another CA it is refused, named in one line.
    let s_client = |cert: &Path, key: &Path, text: &str| {
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-no_ign_eof",
                "-connect",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["-CAfile", ca, "-cert"])
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let msg = format!("<13>1 2026-12-03T10:00:00Z h s_client - - - {text}\n");
        let _ = child.stdin.take().unwrap().write_all(msg.as_bytes());
        let _ = child.wait();
    };
    s_client(&pki.client.cert, &pki.client.key, "from s_client");
    let r = record_with(&agent, &env.out(), "from s_client");
    assert_eq!(r["log"]["syslog"]["appname"], "s_client", "{r}");
    s_client(
        &pki.other_client.cert,
        &pki.other_client.key,
        "from an intruder",
    );
    wait_for(Duration::from_secs(10), "the intruder's refusal", || {
        agent.logs().contains("not signed by tls.client_ca")
    });
    assert!(
        !records(&env.out())
            .iter()
            .any(|r| r["message"] == "from an intruder"),
        "a client of another CA was accepted"
    );
}

/// A TCP sender of numbered, octet-counted RFC 5424 messages of 200 bytes; `sent` counts the
/// messages whose write returned.
fn sender(
    port: u16,
    from: u64,
    to: u64,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        for n in from..to {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let m = message(n);
            let framed = format!("{} {m}", m.len());
            if s.write_all(framed.as_bytes()).is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Message `n`: 200 bytes, numbered (`#n`) for the helpers.
fn message(n: u64) -> String {
    let head = format!("<14>1 2026-12-03T10:00:00.000Z node-1 app 42 - - request #{n:08} ");
    format!("{head}{}", "x".repeat(200 - head.len()))
}

fn beats_output(port: u16) -> String {
    format!(
        "http: {{ listen: \"127.0.0.1:{{HTTP}}\" }}\noutputs:\n  - type: logstash\n    hosts: [\"127.0.0.1:{port}\"]\n    backoff: {{ init: 50ms, max: 300ms }}\n"
    )
}

#[test]
fn outputs_down_100k_over_tcp_all_arrive_and_the_spool_drains() {
    let env = Env::in_memory();
    let port = free_port();
    let (beats_port, http) = (free_port(), free_port());
    let cfg = env.config(
        &syslog_input(&[format!("tcp://127.0.0.1:{port}")], ""),
        &beats_output(beats_port).replace("{HTTP}", &http.to_string()),
    );
    let agent = env.start(&cfg);
    let addr = format!("127.0.0.1:{http}");
    wait_for(Duration::from_secs(10), "the agent to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let n = 100_000;
    let sent = Arc::new(AtomicU64::new(0));
    sender(port, 0, n, sent.clone(), Arc::new(AtomicBool::new(false)))
        .join()
        .unwrap();
    // Everything is in the spool (each record is the message plus its header and metadata).
    wait_for(
        Duration::from_secs(60),
        "100k messages in the spool",
        || metric(&addr, "logship_spool_bytes") >= n * 200,
    );
    let rss_down = agent.rss();
    let out = env.path("beats.ndjson");
    let _beats = BeatsServer::start_on(&out, None, beats_port);
    let dups = wait_all_arrived(&agent, &out, n, Duration::from_secs(120));
    assert_eq!(dups, 0, "duplicates without a restart");
    wait_for(Duration::from_secs(20), "the spool to drain", || {
        metric(&addr, "logship_spool_bytes") == 0
    });
    let peak = agent.peak_rss();
    eprintln!(
        "rss with 100k spooled: {} MiB; peak {} MiB",
        rss_down >> 20,
        peak >> 20
    );
    // 20 MB went through the spool; memory is what the batches and queues hold, not that.
    assert!(peak < 96 << 20, "peak RSS {} MiB", peak >> 20);
    let segments = std::fs::read_dir(env.data_dir().join("spool"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref()))
        .count();
    assert!(segments <= 1, "{segments} segments left after every ack");
}

#[test]
fn full_spool_pushes_back_on_tcp_drops_udp_and_survives_kill_9() {
    let env = Env::in_memory();
    let port = free_ports();
    let (beats_port, http) = (free_port(), free_port());
    let extra = beats_output(beats_port).replace("{HTTP}", &http.to_string());
    let cfg = env.config(
        &syslog_input(
            &[
                format!("tcp://127.0.0.1:{port}"),
                format!("udp://127.0.0.1:{port}"),
            ],
            "",
        ),
        &format!("spool_max: 2MiB\n{extra}"),
    );
    let mut agent = env.start(&cfg);
    let addr = format!("127.0.0.1:{http}");
    wait_for(Duration::from_secs(10), "the agent to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // A writer far faster than the (absent) output: it is stopped by TCP's window once the
    // spool is full.
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = sender(port, 0, 10_000_000, sent.clone(), stop.clone());
    let mut last = sent.load(Ordering::Relaxed);
    let mut still = Instant::now();
    wait_for(Duration::from_secs(30), "the sender to block", || {
        let now = sent.load(Ordering::Relaxed);
        if now != last {
            (last, still) = (now, Instant::now());
        }
        still.elapsed() > Duration::from_secs(1)
    });
    // It was held back by a full spool: what is left is less than one read's records (a read
    // of 64 KiB of 200-byte messages is about 73 KiB in the spool, appended all or none).
    let spooled = metric(&addr, "logship_spool_bytes");
    assert!(
        spooled > (2 << 20) - 128 * 1024,
        "the sender blocked with the spool at {spooled} bytes of 2 MiB"
    );
    assert!(
        last < 1_000_000,
        "the sender was never held back ({last} written)"
    );
    // What the agent read is in the spool: every one of those messages must arrive.
    // A spool record: 8 bytes of length and checksum, then version, flags, the received time
    // (8), the address family, an IPv4 address and port (4 + 2), the subject's length (2).
    let record = 8 + 1 + 1 + 8 + 1 + 4 + 2 + 2 + message(0).len() as u64;
    let read = metric(&addr, "logship_spool_bytes") / record;
    // Datagrams: what room a stream's batch left is taken, then they are dropped and counted.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dropped = || metric(&addr, "logship_events_dropped_total{reason=\"spool_full\"}");
    let mut datagrams = 0;
    wait_for(Duration::from_secs(20), "UDP drops counted", || {
        for _ in 0..50 {
            udp.send_to(
                message(90_000_000 + datagrams).as_bytes(),
                ("127.0.0.1", port),
            )
            .unwrap();
            datagrams += 1;
        }
        dropped() > 0
    });
    let dropped_before_kill = dropped();
    agent.kill9();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let out = env.path("beats.ndjson");
    let _beats = BeatsServer::start_on(&out, None, beats_port);
    let agent = env.start(&cfg);
    let dups = wait_all_arrived(&agent, &out, read, Duration::from_secs(60));
    assert_eq!(
        dups, 0,
        "nothing had been acknowledged, so nothing is sent twice"
    );
    let c = counts(&out);
    let got = c
        .keys()
        .copied()
        .filter(|k| *k < 90_000_000)
        .collect::<Vec<_>>();
    assert_eq!(
        got,
        (0..got.len() as u64).collect::<Vec<_>>(),
        "what arrived is not one run from #0 (a gap)"
    );
    // Each datagram was spooled (and arrives) or dropped and counted, never both.
    let udp_arrived = c.keys().filter(|k| **k >= 90_000_000).count() as u64;
    assert!(
        udp_arrived + dropped_before_kill <= datagrams,
        "{udp_arrived} datagrams arrived and {dropped_before_kill} were counted dropped, of {datagrams} sent"
    );
}

#[test]
fn bad_senders_do_not_stop_good_ones() {
    let env = Env::new();
    let port = free_port();
    let cfg = env.config(
        &syslog_input(
            &[format!("tcp://127.0.0.1:{port}")],
            "    max_connections: 64\n    max_message_size: 4KiB\n",
        ),
        "",
    );
    let agent = env.start(&cfg);
    wait_for(Duration::from_secs(10), "the agent to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // Slow senders holding connections open, sending nothing.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Random bytes (a fixed seed: the same bytes each run).
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(&noise);
    drop(s);
    // A count of 999999999, then some of it.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(b"999999999 <13>1 - h big - - - ");
    let _ = s.write_all(&vec![b'y'; 200_000]);
    // Half a frame, then close.
    let mut h = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = h.write_all(b"120 <13>1 - h half - - - only half");
    drop(h);
    // A huge line without end of line, on its own connection, still open.
    let mut huge = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = huge.write_all(b"<13>Dec  3 10:00:00 h huge: ");
    let _ = huge.write_all(&vec![b'z'; 1 << 20]);
    // A good sender is served all the while.
    let mut good = TcpStream::connect(("127.0.0.1", port)).unwrap();
    good.write_all(b"<13>Dec  3 10:00:00 h good: still served\n")
        .unwrap();
    let r = record_with(&agent, &env.out(), "still served");
    assert_eq!(r["log"]["syslog"]["appname"], "good", "{r}");
    let half = record_with(&agent, &env.out(), "only half");
    assert!(
        half["log"]["flags"].to_string().contains("truncated"),
        "{half}"
    );
    drop(huge);
    wait_for(Duration::from_secs(10), "the huge line, cut", || {
        records(&env.out()).iter().any(|r| {
            r["log"]["syslog"]["appname"] == "huge"
                && r["message"].as_str().is_some_and(|m| m.len() < 4096)
                && r["log"]["flags"].to_string().contains("truncated")
        })
    });
    drop(s);
    drop(idle);
    assert!(
        agent.rss() < 64 << 20,
        "RSS {} MiB after huge frames",
        agent.rss() >> 20
    );
}
