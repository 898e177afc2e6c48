//! Throughput of the real binary, into the `file` output, reporting events/s, MB/s, CPU seconds
//! per GB and peak RSS, and each run's ratio against a baseline measured in the same session (a
//! plain copy of the input through a 64 KiB buffer: the I/O ceiling of this machine right now).
//! Scenarios:
//! - `file`: one file of realistic log lines (80 to 2,000 bytes, mixed), read from the beginning;
//! - `docker`: the same lines as Docker json-file logs of 8 containers (`type: docker`);
//! - `logstash-0`, `logstash-3`: the `file` input into the `logstash` output (compression level
//!   0 and 3) to an in-process beats receiver that ACKs every window as soon as it is read.
//!
//! - `elasticsearch-0`, `elasticsearch-1`: the `file` input into the `elasticsearch` output
//!   (gzip off, and level 1, the default) to an in-process `_bulk` receiver that answers every
//!   request with one `201` item per record, as Elasticsearch does.
//!
//! - `docker-json`, `docker-json-processors`: the `docker` input on JSON application logs, without
//!   and with `decode_json` + `multiline` + a `drop` condition (ratio of the two).
//!
//!   LOGSHIP_BENCH_SCENARIOS=file,logstash-3 cargo bench --bench throughput   (a subset)
//!
//!   cargo bench --bench throughput                 (256 MiB input)
//!   LOGSHIP_BENCH_MB=1024 cargo bench --bench throughput
//!
//! Not a test: nothing is asserted. Figures go in the README's performance section.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes about `mb` MiB of log lines; returns (lines, bytes). With `docker`, the lines are
/// spread over 8 containers' json-file logs under `path` (a directory) instead.
fn generate(path: &Path, mb: u64, docker: bool, json_app: bool) -> (u64, u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut outs: Vec<BufWriter<std::fs::File>> = if docker {
        (0..8)
            .map(|i| {
                let id = format!("{i:064x}");
                let dir = path.join(&id);
                std::fs::create_dir_all(&dir).unwrap();
                let f = std::fs::File::create(dir.join(format!("{id}-json.log"))).unwrap();
                BufWriter::with_capacity(1 << 20, f)
            })
            .collect()
    } else {
        vec![BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).unwrap(),
        )]
    };
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    let words = [
        "request",
        "handled",
        "user",
        "order",
        "payment",
        "cache",
        "miss",
        "db",
        "query",
        "took",
        "upstream",
        "timeout",
        "retry",
        "session",
        "token",
        "refreshed",
        "GET",
        "POST",
        "/api/v1",
    ];
    let (mut lines, mut bytes) = (0u64, 0u64);
    let target = mb << 20;
    let mut line = String::with_capacity(2100);
    while bytes < target {
        line.clear();
        let r = rng.next();
        // Mostly short lines, some long ones (stack-trace-like payloads): 80..2000 bytes.
        let len = if r % 10 < 8 {
            80 + r % 220
        } else {
            300 + r % 1700
        } as usize;
        line.push_str(&format!(
            "2026-11-24T10:{:02}:{:02}.{:03}Z {} svc-{} ",
            (r >> 8) % 60,
            (r >> 16) % 60,
            (r >> 24) % 1000,
            levels[(r >> 32) as usize % levels.len()],
            (r >> 40) % 16
        ));
        while line.len() < len {
            line.push_str(words[rng.next() as usize % words.len()]);
            line.push(if rng.next().is_multiple_of(7) {
                '='
            } else {
                ' '
            });
        }
        line.truncate(len);
        if json_app {
            // A JSON application log line: {"level":...,"svc":...,"msg":...}.
            let level = levels[(r >> 32) as usize % levels.len()];
            line = format!(
                "{{\"level\":\"{level}\",\"svc\":\"svc-{}\",\"msg\":{}}}",
                (r >> 40) % 16,
                serde_json::to_string(&line).unwrap()
            );
        }
        line.push('\n');
        let n_outs = outs.len();
        let out = &mut outs[lines as usize % n_outs];
        if docker {
            let stream = if r.is_multiple_of(5) {
                "stderr"
            } else {
                "stdout"
            };
            let entry = format!(
                "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"2026-11-24T10:00:00.123456789Z\"}}\n",
                serde_json::to_string(&line).unwrap()
            );
            out.write_all(entry.as_bytes()).unwrap();
            bytes += entry.len() as u64;
        } else {
            out.write_all(line.as_bytes()).unwrap();
            bytes += line.len() as u64;
        }
        lines += 1;
    }
    for out in &mut outs {
        out.flush().unwrap();
    }
    (lines, bytes)
}

/// Copies every input file through a 64 KiB buffer into one output file.
fn baseline(inputs: &[std::path::PathBuf], output: &Path) -> Duration {
    let start = Instant::now();
    let mut w = std::fs::File::create(output).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    for input in inputs {
        let mut r = std::fs::File::open(input).unwrap();
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n]).unwrap();
        }
    }
    w.sync_data().unwrap();
    start.elapsed()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Records done: shipped, or dropped by a processor.
fn sent(addr: &str) -> u64 {
    let Ok(resp) = ureq::get(&format!("http://{addr}/metrics")).call() else {
        return 0;
    };
    let body = resp.into_string().unwrap_or_default();
    let value = |prefix: &str| -> u64 {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64
    };
    value("logship_events_sent_total") + value("logship_events_dropped_total{reason=\"filtered\"}")
}

fn main() {
    let mb: u64 = std::env::var("LOGSHIP_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let wanted = std::env::var("LOGSHIP_BENCH_SCENARIOS").unwrap_or_else(|_| {
        "file,docker,logstash-0,logstash-3,elasticsearch-0,elasticsearch-1,docker-json,docker-json-processors".into()
    });
    for scenario in wanted.split(',') {
        run(scenario.trim(), mb);
    }
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

/// A `_bulk` receiver: reads each request (gunzipping it), answers one `201` item per record.
fn bulk_receiver() -> String {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = std::io::BufReader::with_capacity(1 << 20, conn);
                loop {
                    let (mut len, mut gzip, mut line) = (0usize, false, String::new());
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                        gzip |= l == "content-encoding: gzip";
                    }
                    let mut body = vec![0u8; len];
                    r.read_exact(&mut body).unwrap();
                    if gzip {
                        let mut plain = Vec::new();
                        flate2::read::GzDecoder::new(&body[..])
                            .read_to_end(&mut plain)
                            .unwrap();
                        body = plain;
                    }
                    let records = body.iter().filter(|&&b| b == b'\n').count() / 2;
                    let mut resp = String::from("{\"took\":1,\"errors\":false,\"items\":[");
                    for i in 0..records {
                        if i > 0 {
                            resp.push(',');
                        }
                        resp.push_str("{\"create\":{\"_index\":\"bench\",\"_id\":\"x\",\"_version\":1,\"result\":\"created\",\"status\":201}}");
                    }
                    resp.push_str("]}");
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        resp.len()
                    );
                    // One write: header and body in separate writes meet Nagle and delayed ACKs.
                    if w.write_all((head + &resp).as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A beats receiver that reads each window (skipping the payload) and ACKs it at once.
fn beats_receiver() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = std::io::BufReader::with_capacity(1 << 20, conn);
                let mut skip = vec![0u8; 1 << 16];
                let mut frame = [0u8; 2];
                loop {
                    if r.read_exact(&mut frame).is_err() {
                        return;
                    }
                    let count = read_u32(&mut r).unwrap();
                    let mut seen = 0;
                    while seen < count {
                        r.read_exact(&mut frame).unwrap();
                        let len = if &frame == b"2C" {
                            seen = count;
                            read_u32(&mut r).unwrap()
                        } else {
                            read_u32(&mut r).unwrap();
                            seen += 1;
                            read_u32(&mut r).unwrap()
                        } as usize;
                        let mut left = len;
                        while left > 0 {
                            let n = left.min(skip.len());
                            r.read_exact(&mut skip[..n]).unwrap();
                            left -= n;
                        }
                    }
                    let mut ack = b"2A".to_vec();
                    ack.extend_from_slice(&count.to_be_bytes());
                    if w.write_all(&ack).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn run(scenario: &str, mb: u64) {
    let dir = tempfile::tempdir().unwrap();
    let docker = scenario.starts_with("docker");
    let json_app = scenario.starts_with("docker-json");
    let processors = if scenario.ends_with("-processors") {
        "    processors:\n      - decode_json: { target: \"\" }\n      - multiline: { pattern: '^\\s', timeout: 1s }\n      - drop: { when: { equals: { level: DEBUG } } }\n"
    } else {
        ""
    };
    let output_yaml = match (
        scenario.strip_prefix("logstash-"),
        scenario.strip_prefix("elasticsearch-"),
    ) {
        (Some(level), _) => format!(
            "  - type: logstash\n    hosts: [\"{}\"]\n    compression_level: {level}\n",
            beats_receiver()
        ),
        (_, Some(level)) => format!(
            "  - type: elasticsearch\n    hosts: [\"http://{}\"]\n    index: bench\n    compression_level: {level}\n",
            bulk_receiver()
        ),
        _ => format!(
            "  - type: file\n    path: {}/out.ndjson\n",
            dir.path().display()
        ),
    };
    let input = dir
        .path()
        .join(if docker { "containers" } else { "input.log" });
    let (lines, bytes) = generate(&input, mb, docker, json_app);
    println!(
        "== scenario `{scenario}`: {lines} lines, {:.1} MiB",
        bytes as f64 / (1 << 20) as f64
    );
    let inputs = if docker {
        files_under(&input)
    } else {
        vec![input.clone()]
    };
    let base = baseline(&inputs, &dir.path().join("copy.out"));
    let base_mbs = bytes as f64 / 1e6 / base.as_secs_f64();
    println!(
        "baseline (64 KiB copy): {:.2} s, {base_mbs:.0} MB/s",
        base.as_secs_f64()
    );

    let addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let input_yaml = if docker {
        format!(
            "  - type: docker\n    containers_path: {}\n    read_from: beginning\n{processors}",
            input.display()
        )
    } else {
        format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n",
            input.display()
        )
    };
    let config = dir.path().join("bench.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {d}/data\nhttp:\n  listen: {addr}\ninputs:\n{input_yaml}outputs:\n{output_yaml}",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let start = Instant::now();
    // Reaped below with wait4, which also gives its CPU time and peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_logship"))
        .args(["run", "-c"])
        .arg(&config)
        .env("LOGSHIP_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    while sent(&addr) < lines {
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "bench did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let cpu = usage.ru_utime.tv_sec as f64
        + usage.ru_utime.tv_usec as f64 / 1e6
        + usage.ru_stime.tv_sec as f64
        + usage.ru_stime.tv_usec as f64 / 1e6;
    let gb = bytes as f64 / 1e9;
    let mbs = bytes as f64 / 1e6 / wall.as_secs_f64();
    println!("logship scenario {scenario}:");
    println!("  wall {:.2} s", wall.as_secs_f64());
    println!("  {:.0} events/s", lines as f64 / wall.as_secs_f64());
    println!(
        "  {mbs:.1} MB/s  ({:.3} of the baseline copy)",
        mbs / base_mbs
    );
    println!(
        "  {:.2} CPU s/GB (user+sys, {:.2} cores busy)",
        cpu / gb,
        cpu / wall.as_secs_f64()
    );
    println!("  peak RSS {:.1} MiB", usage.ru_maxrss as f64 / 1024.0);
}
