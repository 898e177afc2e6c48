//! The syslog input's sockets against a real sender, util-linux `logger`: UDP, TCP with octet
//! counting and with newline framing, a Unix datagram socket as `/dev/log`; each message is read
//! back through the parser the input uses. And a bad connection does not stop a good one.
//! (The whole input, spool and agent included, is tested in tests/syslog.rs.)

use logship::input::syslog::framing::Framing;
use logship::input::syslog::listen::{bind, parse_listen, serve, Counters, Limits, Received};
use logship::input::syslog::message;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

fn logger_available() -> bool {
    let ok = std::process::Command::new("logger")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: util-linux `logger` is not installed (apt-get install bsdutils)");
    }
    ok
}

fn limits(framing: Framing) -> Limits {
    Limits {
        framing,
        max_message: 64 * 1024,
        max_connections: 8,
        idle_timeout: Duration::from_secs(30),
    }
}

/// Starts a listener for `url` (port 0: any free one); its address and the messages' channel.
async fn start(
    url: &str,
    framing: Framing,
) -> (
    Option<std::net::SocketAddr>,
    mpsc::Receiver<Received>,
    Arc<Counters>,
) {
    let bound = bind(&parse_listen(url).unwrap(), None).await.unwrap();
    let addr = bound.local_addr();
    let (tx, rx) = mpsc::channel(1024);
    let counters = Arc::new(Counters::default());
    tokio::spawn(serve(
        bound,
        limits(framing),
        Arc::new(tx),
        counters.clone(),
    ));
    (addr, rx, counters)
}

async fn next(rx: &mut mpsc::Receiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a message within 10 s")
        .expect("channel open")
}

fn logger(args: &[&str]) {
    let out = std::process::Command::new("logger")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn parsed(r: &Received) -> message::Message {
    message::parse(&r.bytes, chrono::Local::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logger_over_udp_tcp_and_a_unix_socket() {
    if !logger_available() {
        return;
    }
    // UDP, RFC 5424 (logger's default for a remote server), structured data and msgid.
    let (addr, mut rx, _) = start("udp://127.0.0.1:0", Framing::Auto(b'\n')).await;
    let port = addr.unwrap().port().to_string();
    logger(&[
        "-d",
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-t",
        "app",
        "--msgid",
        "ID7",
        "--sd-id",
        "x@1",
        "--sd-param",
        "k=\"v\"",
        "hello udp ë",
    ]);
    let r = next(&mut rx).await;
    let m = parsed(&r);
    assert_eq!(m.error, None, "{:?}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(m.message, "hello udp ë");
    assert_eq!(syslog(&m)["appname"], "app");
    assert_eq!(syslog(&m)["msgid"], "ID7");
    assert_eq!(syslog(&m)["structured_data"]["x@1"]["k"], "v");
    assert_eq!(r.peer.unwrap().ip().to_string(), "127.0.0.1");

    // TCP, octet counting and newline framing on one listener (auto), several messages each.
    let (addr, mut rx, _) = start("tcp://127.0.0.1:0", Framing::Auto(b'\n')).await;
    let port = addr.unwrap().port().to_string();
    for (i, framing) in [["-T", "--octet-count"], ["-T", "-T"]].iter().enumerate() {
        for n in 0..3 {
            logger(&[
                framing[0],
                framing[1],
                "-n",
                "127.0.0.1",
                "-P",
                &port,
                &format!("tcp {i} #{n}"),
            ]);
            let m = parsed(&next(&mut rx).await);
            assert_eq!(m.error, None);
            assert_eq!(m.message, format!("tcp {i} #{n}"));
        }
    }

    // A Unix datagram socket, as /dev/log: logger's local format (RFC 3164, no hostname).
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let (_, mut rx, _) = start(&format!("unix://{}", sock.display()), Framing::Auto(b'\n')).await;
    logger(&[
        "-u",
        sock.to_str().unwrap(),
        "--socket-errors=on",
        "-t",
        "svc",
        "-p",
        "daemon.warning",
        "hello unix",
    ]);
    let m = parsed(&next(&mut rx).await);
    assert_eq!(m.error, None);
    assert_eq!(m.message, "hello unix");
    assert_eq!(syslog(&m)["appname"], "svc");
    assert_eq!(syslog(&m)["facility"]["name"], "daemon");
    assert_eq!(syslog(&m)["severity"]["name"], "warning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_connection_ends_alone_and_huge_frames_stay_bounded() {
    let (addr, mut rx, counters) = start("tcp://127.0.0.1:0", Framing::OctetCounting).await;
    let addr = addr.unwrap();
    // A slow sender holding a connection with half a frame.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"40 <13>half").await.unwrap();
    // Garbage: closed by the agent.
    let mut bad = tokio::net::TcpStream::connect(addr).await.unwrap();
    bad.write_all(b"\xff\xfe not a count\n").await.unwrap();
    // A count of 999999999 followed by a lot: cut to max_message, the rest thrown away.
    let mut huge = tokio::net::TcpStream::connect(addr).await.unwrap();
    huge.write_all(b"999999999 <13>").await.unwrap();
    huge.write_all(&vec![b'z'; 200_000]).await.unwrap();
    drop(huge);
    let r = next(&mut rx).await;
    assert!(r.truncated);
    assert_eq!(r.bytes.len(), 64 * 1024);
    // A good sender is still served.
    let mut good = tokio::net::TcpStream::connect(addr).await.unwrap();
    good.write_all(b"9 <13>good!").await.unwrap();
    let r = next(&mut rx).await;
    assert_eq!(r.bytes, b"<13>good!");
    assert!(!r.truncated);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while counters
        .closed_bad_frame
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the bad connection was not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The half frame arrives, flagged, when its sender closes.
    drop(slow);
    let r = next(&mut rx).await;
    assert_eq!(r.bytes, b"<13>half");
    assert!(r.truncated);
}

#[tokio::test]
async fn receive_buffer_is_what_the_kernel_grants_up_to_rmem_max() {
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .expect("net.core.rmem_max");
    let udp = bind(&parse_listen("udp://127.0.0.1:0").unwrap(), None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dgram = bind(
        &parse_listen(&format!("unix://{}/log", dir.path().display())).unwrap(),
        None,
    )
    .await
    .unwrap();
    for bound in [&udp, &dgram] {
        for want in [64 << 10, 1 << 20, 64 << 20] {
            let got = bound.set_receive_buffer(want).unwrap().unwrap();
            // Linux reports twice what it granted; the grant is capped at rmem_max.
            assert_eq!(got / 2, want.min(rmem_max), "asked for {want}");
        }
    }
    // Stream listeners have no such buffer to set: their senders wait instead.
    let tcp = bind(&parse_listen("tcp://127.0.0.1:0").unwrap(), None)
        .await
        .unwrap();
    assert!(tcp.set_receive_buffer(1 << 20).is_none());
}

/// `log.syslog` of a parsed message, as a value.
fn syslog(m: &logship::input::syslog::message::Message) -> serde_json::Value {
    serde_json::from_slice(m.syslog.as_ref().expect("parsed").json()).unwrap()
}
