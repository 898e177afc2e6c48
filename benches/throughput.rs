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
//! - `docker-1m`: 1,000,000 Docker json-file lines of about 180 bytes in one file
//!   (`{"log":"<n> GET /api/v1/items/<n>?q=kkk… HTTP/1.1 200 <m>\n","stream":"stdout",
//!   "time":"…"}`, the shape the performance issue measures Fluent Bit on) into the file output;
//!   `docker-1m-8`: the same lines spread over 8 containers' files; `docker-1m-logstash`: into the
//!   beats receiver at zlib level 3; `docker-1m-es-0`, `docker-1m-es-1`: into the `_bulk`
//!   receiver, gzip off and level 1. `LOGSHIP_BENCH_LINES` changes the million.
//!
//! - `syslog-tcp`, `syslog-udp`: the `syslog` input (spool on, default `spool_fsync`) into the
//!   file output: 1,000,000 RFC 5424 messages of 200 bytes sent by a thread of the bench, over
//!   one TCP connection (octet counting, as fast as the agent reads) or as UDP datagrams (paced;
//!   loopback drops what overflows the socket buffer, the drops are reported). The baseline is
//!   the same bytes through a loopback TCP connection into a reader that discards them. Also
//!   reported: the spool's write amplification (bytes the agent wrote, less the output file,
//!   per byte received; `/proc/PID/io`). Issue 16's target: >= 500,000 messages per CPU-second
//!   over TCP. `LOGSHIP_BENCH_RECEIVE_BUFFER=4MiB` sets the input's `receive_buffer`.
//!
//! - `output-down`: 100 files growing (a writer appends 2,000 lines/s spread over them) while the
//!   only output (logstash) is down, for `LOGSHIP_BENCH_DOWN_SECS` (default 300): the agent's RSS
//!   sampled every 10 s must stay flat (the files are the buffer). Not in the default list.
//!
//! Every scenario runs `LOGSHIP_BENCH_RUNS` times (default 3) and reports the median of each
//! figure: CPU µs per line and events per CPU-second (user + sys of the agent process, from
//! `wait4`), wall events/s and MB/s, and peak RSS (`ru_maxrss`). With
//! `LOGSHIP_BENCH_COMPARE=/path/to/an/earlier/logship`, that binary runs too, alternating with
//! this one in every round, and gets its own medians: before and after in the same session.
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

/// Writes `lines` Docker json-file lines of the performance issue's shape over `files`
/// containers' logs under `dir`; returns the bytes written.
fn generate_docker_1m(dir: &Path, lines: u64, files: u64) -> u64 {
    let mut outs: Vec<BufWriter<std::fs::File>> = (0..files)
        .map(|i| {
            let id = format!("{i:064x}");
            let d = dir.join(&id);
            std::fs::create_dir_all(&d).unwrap();
            let f = std::fs::File::create(d.join(format!("{id}-json.log"))).unwrap();
            BufWriter::with_capacity(1 << 20, f)
        })
        .collect();
    let q = "k".repeat(40);
    let mut bytes = 0u64;
    for n in 0..lines {
        let line = format!(
            "{{\"log\":\"{n} GET /api/v1/items/{n}?q={q} HTTP/1.1 200 {}\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00.{:09}Z\"}}\n",
            n % 5000,
            (n * 7) % 1_000_000_000
        );
        bytes += line.len() as u64;
        let k = outs.len() as u64;
        outs[(n % k) as usize].write_all(line.as_bytes()).unwrap();
    }
    for o in &mut outs {
        o.flush().unwrap();
    }
    bytes
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
        "docker-1m,docker-1m-8,docker-1m-logstash,docker-1m-es-0,docker-1m-es-1,file,docker-json,docker-json-processors".into()
    });
    for scenario in wanted.split(',') {
        if scenario.trim() == "output-down" {
            output_down();
        } else {
            run(scenario.trim(), mb);
        }
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

/// One run's figures.
#[derive(Clone, Copy, Default)]
struct Stats {
    cpu_us_per_line: f64,
    events_per_cpu_s: f64,
    events_per_s: f64,
    mb_per_s: f64,
    cores: f64,
    peak_rss_mib: f64,
    /// The part of the CPU time spent in the kernel.
    sys_share: f64,
    /// Records done (fewer than sent when datagrams were dropped).
    lines: u64,
    /// Bytes the agent wrote (`/proc/PID/io`), read just before it was stopped.
    written: u64,
}

/// `LOGSHIP_BENCH_RUNS` (default 3).
fn runs() -> usize {
    std::env::var("LOGSHIP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// The binary under test, and optionally an earlier build run alternately in the same session
/// (`LOGSHIP_BENCH_COMPARE=/path/to/logship`): the same-run before/after.
fn binaries() -> Vec<(&'static str, String)> {
    let mut bins = vec![("logship", env!("CARGO_BIN_EXE_logship").to_string())];
    if let Ok(other) = std::env::var("LOGSHIP_BENCH_COMPARE") {
        bins.push(("compare", other));
    }
    for (_, bin) in &bins {
        evict_from_page_cache(bin);
    }
    bins
}

/// Drops a binary's pages from the page cache, so every binary compared is read back the same
/// way. A binary just written (built, copied) sits in the cache in large folios, and the kernel
/// maps a whole folio at a fault: measured 2026-12-06, the same binary's code took 6.1-6.5 MiB of
/// RSS fresh from `cp` and 5.4 MiB once evicted and read again, which had passed for the cost of
/// a change in the compare runs.
fn evict_from_page_cache(bin: &str) {
    if let Ok(f) = std::fs::File::open(bin) {
        use std::os::fd::AsRawFd;
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn run(scenario: &str, mb: u64) {
    if let Some(proto) = scenario.strip_prefix("syslog-") {
        return run_syslog(scenario, proto);
    }
    let dir = tempfile::tempdir().unwrap();
    let million = scenario.starts_with("docker-1m");
    let docker = scenario.starts_with("docker");
    let json_app = scenario.starts_with("docker-json");
    let processors = if scenario.ends_with("-processors") {
        "    processors:\n      - decode_json: { target: \"\" }\n      - multiline: { pattern: '^\\s', timeout: 1s }\n      - drop: { when: { equals: { level: DEBUG } } }\n"
    } else {
        ""
    };
    let logstash_level = scenario
        .strip_prefix("logstash-")
        .or((scenario == "docker-1m-logstash").then_some("3"));
    let es_level = scenario
        .strip_prefix("elasticsearch-")
        .or(scenario.strip_prefix("docker-1m-es-"));
    let output_yaml = match (logstash_level, es_level) {
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
    let (lines, bytes) = if million {
        let lines: u64 = std::env::var("LOGSHIP_BENCH_LINES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let files = if scenario == "docker-1m-8" { 8 } else { 1 };
        (lines, generate_docker_1m(&input, lines, files))
    } else {
        generate(&input, mb, docker, json_app)
    };
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
    let (runs, bins) = (runs(), binaries());
    let mut all: Vec<Vec<Stats>> = bins.iter().map(|_| Vec::new()).collect();
    for i in 0..runs {
        for (b, (name, bin)) in bins.iter().enumerate() {
            let _ = std::fs::remove_dir_all(dir.path().join("data"));
            let _ = std::fs::remove_file(dir.path().join("out.ndjson"));
            let st = run_once(bin, dir.path(), &input_yaml, &output_yaml, lines, bytes);
            println!(
                "  run {} ({name}): {:.2} µs/line, {:.0} events/CPU-s, {:.0} events/s, {:.1} MB/s, {:.2} cores, peak RSS {:.1} MiB",
                i + 1,
                st.cpu_us_per_line,
                st.events_per_cpu_s,
                st.events_per_s,
                st.mb_per_s,
                st.cores,
                st.peak_rss_mib
            );
            all[b].push(st);
        }
    }
    for ((name, _), all) in bins.iter().zip(&all) {
        let m = |f: fn(&Stats) -> f64| median(all.iter().map(f).collect());
        let mbs = m(|s| s.mb_per_s);
        println!("{name} scenario {scenario} (median of {runs}):");
        println!(
            "  {:.2} µs CPU per line ({:.0} events per CPU-second)",
            m(|s| s.cpu_us_per_line),
            m(|s| s.events_per_cpu_s)
        );
        println!("  {:.0} events/s wall", m(|s| s.events_per_s));
        println!(
            "  {mbs:.1} MB/s  ({:.3} of the baseline copy), {:.2} cores busy",
            mbs / base_mbs,
            m(|s| s.cores)
        );
        println!("  peak RSS {:.1} MiB", m(|s| s.peak_rss_mib));
    }
}

/// Runs the agent once until every record is done; its figures.
fn run_once(
    bin: &str,
    dir: &Path,
    input_yaml: &str,
    output_yaml: &str,
    lines: u64,
    bytes: u64,
) -> Stats {
    run_fed(bin, dir, input_yaml, output_yaml, lines, bytes, None)
}

/// The bench's `pipeline.batch_max_wait` (default 1s): the last, partial batch of a run waits
/// this long for more records, which at 1s was half of a million-line run's wall time and
/// measured the timer, not the agent.
const BATCH_MAX_WAIT: &str = "100ms";

/// Runs the agent once, a thread feeding it `feed` (syslog scenarios), until `lines` records
/// are done, or (datagrams, some of which the kernel may drop) until what arrived is shipped
/// and nothing more comes for 2 s; its figures.
fn run_fed(
    bin: &str,
    dir: &Path,
    input_yaml: &str,
    output_yaml: &str,
    lines: u64,
    bytes: u64,
    feed: Option<&Feed>,
) -> Stats {
    let addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let config = dir.join("bench.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {d}/data\nhttp:\n  listen: {addr}\npipeline:\n  batch_max_wait: {BATCH_MAX_WAIT}\ninputs:\n{input_yaml}outputs:\n{output_yaml}",
            d = dir.display()
        ),
    )
    .unwrap();
    let start = Instant::now();
    // Reaped below with wait4, which also gives its CPU time and peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(bin)
        .args(["run", "-c"])
        .arg(&config)
        // Default settings, the agent's own logs included (`info`: the code that writes them is
        // resident memory too); they go to a file beside the run's input.
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let feeder = feed.map(|f| f.start());
    let mut last = (0, Instant::now());
    let lines = loop {
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "bench did not finish"
        );
        let done = sent(&addr);
        if done >= lines {
            break lines;
        }
        if done != last.0 {
            last = (done, Instant::now());
        } else if feeder.as_ref().is_some_and(|f| f.is_finished())
            && done > 0
            && last.1.elapsed() > Duration::from_secs(2)
        {
            break done;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let written = proc_wchar(pid);
    let hwm = proc_status_kib(pid, "VmHWM:");
    if let Some(f) = feeder {
        let _ = f.join();
    }
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let cpu = usage.ru_utime.tv_sec as f64
        + usage.ru_utime.tv_usec as f64 / 1e6
        + usage.ru_stime.tv_sec as f64
        + usage.ru_stime.tv_usec as f64 / 1e6;
    Stats {
        cpu_us_per_line: cpu * 1e6 / lines as f64,
        events_per_cpu_s: lines as f64 / cpu,
        events_per_s: lines as f64 / wall.as_secs_f64(),
        mb_per_s: bytes as f64 / 1e6 / wall.as_secs_f64(),
        cores: cpu / wall.as_secs_f64(),
        // VmHWM of the running agent: ru_maxrss also counts the bench's own pages the child
        // shared between fork and exec (hundreds of MiB of syslog messages to send).
        peak_rss_mib: hwm.unwrap_or(usage.ru_maxrss as u64) as f64 / 1024.0,
        sys_share: (usage.ru_stime.tv_sec as f64 + usage.ru_stime.tv_usec as f64 / 1e6) / cpu,
        lines,
        written,
    }
}

/// A `kB` figure of `/proc/PID/status` (`VmHWM:`: peak RSS).
fn proc_status_kib(pid: i32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Bytes a process wrote (`wchar` of `/proc/PID/io`).
fn proc_wchar(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What a syslog scenario sends: one octet-counted stream, or datagrams.
enum Feed {
    Tcp(String, std::sync::Arc<Vec<u8>>),
    Udp(String, std::sync::Arc<Vec<Vec<u8>>>),
}

impl Feed {
    /// Sends it from a thread, once the agent listens.
    fn start(&self) -> std::thread::JoinHandle<()> {
        match self {
            Feed::Tcp(addr, data) => {
                let (addr, data) = (addr.clone(), data.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let mut conn = loop {
                        match std::net::TcpStream::connect(&addr) {
                            Ok(c) => break c,
                            Err(_) if Instant::now() < deadline => {
                                std::thread::sleep(Duration::from_millis(20))
                            }
                            Err(e) => panic!("syslog listener {addr}: {e}"),
                        }
                    };
                    conn.write_all(&data).unwrap();
                })
            }
            Feed::Udp(addr, msgs) => {
                let (addr, msgs) = (addr.clone(), msgs.clone());
                std::thread::spawn(move || {
                    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                    s.connect(&addr).unwrap();
                    // Until the listener is bound, a connected socket hears "refused".
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let probe = b"<14>1 - bench - - - - probe";
                    while Instant::now() < deadline {
                        if s.send(probe).is_ok() {
                            std::thread::sleep(Duration::from_millis(50));
                            if s.send(probe).is_ok() {
                                break;
                            }
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    for (i, m) in msgs.iter().enumerate() {
                        let _ = s.send(m);
                        if i % 32 == 31 {
                            std::thread::yield_now();
                        }
                    }
                })
            }
        }
    }
}

/// One 200-byte RFC 5424 message.
fn syslog_message(n: u64) -> Vec<u8> {
    let mut m =
        format!("<14>1 2026-12-03T10:00:00.000Z node-1 app 42 - - request #{n:08} ").into_bytes();
    m.resize(200, b'x');
    m
}

fn run_syslog(scenario: &str, proto: &str) {
    let dir = tempfile::tempdir().unwrap();
    let lines: u64 = std::env::var("LOGSHIP_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let msgs: Vec<Vec<u8>> = (0..lines).map(syslog_message).collect();
    let mut stream = Vec::with_capacity(msgs.len() * 205);
    for m in &msgs {
        stream.extend_from_slice(format!("{} ", m.len()).as_bytes());
        stream.extend_from_slice(m);
    }
    let bytes = if proto == "tcp" {
        stream.len() as u64
    } else {
        msgs.iter().map(|m| m.len() as u64).sum()
    };
    println!(
        "== scenario `{scenario}`: {lines} messages, {:.1} MiB",
        bytes as f64 / (1 << 20) as f64
    );
    // Baseline: the same bytes through loopback TCP into a reader that discards them.
    let base = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 64 << 10];
            while c.read(&mut buf).unwrap_or(0) > 0 {}
        });
        let start = Instant::now();
        std::net::TcpStream::connect(addr)
            .unwrap()
            .write_all(&stream)
            .unwrap();
        reader.join().unwrap();
        start.elapsed()
    };
    let base_mbs = stream.len() as f64 / 1e6 / base.as_secs_f64();
    println!(
        "baseline (loopback TCP copy): {:.2} s, {base_mbs:.0} MB/s",
        base.as_secs_f64()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let feed = if proto == "tcp" {
        Feed::Tcp(addr.clone(), std::sync::Arc::new(stream))
    } else {
        Feed::Udp(addr.clone(), std::sync::Arc::new(msgs))
    };
    // LOGSHIP_BENCH_RECEIVE_BUFFER=4MiB: the `receive_buffer` option (datagram listeners).
    let rcvbuf = std::env::var("LOGSHIP_BENCH_RECEIVE_BUFFER")
        .map(|b| format!("    receive_buffer: {b}\n"))
        .unwrap_or_default();
    let input_yaml = format!("  - type: syslog\n    listen: [{proto}://{addr}]\n{rcvbuf}");
    let output_yaml = format!(
        "  - type: file\n    path: {}/out.ndjson\n",
        dir.path().display()
    );
    let (runs, bins) = (runs(), binaries());
    let mut all: Vec<Vec<(Stats, f64)>> = bins.iter().map(|_| Vec::new()).collect();
    for i in 0..runs {
        for (b, (name, bin)) in bins.iter().enumerate() {
            let _ = std::fs::remove_dir_all(dir.path().join("data"));
            let out = dir.path().join("out.ndjson");
            let _ = std::fs::remove_file(&out);
            let st = run_fed(
                bin,
                dir.path(),
                &input_yaml,
                &output_yaml,
                lines,
                bytes,
                Some(&feed),
            );
            let out_len = std::fs::metadata(&out).map_or(0, |m| m.len());
            let amp = st.written.saturating_sub(out_len) as f64 / bytes as f64;
            println!(
                "  run {} ({name}): {} delivered, {:.2} µs/msg, {:.0} msgs/CPU-s, {:.0} msgs/s, {:.2} cores ({:.0}% sys), peak RSS {:.1} MiB, write amplification {amp:.2}",
                i + 1,
                st.lines,
                st.cpu_us_per_line,
                st.events_per_cpu_s,
                st.events_per_s,
                st.cores,
                st.sys_share * 100.0,
                st.peak_rss_mib
            );
            all[b].push((st, amp));
        }
    }
    for ((name, _), all) in bins.iter().zip(&all) {
        let m = |f: fn(&(Stats, f64)) -> f64| median(all.iter().map(f).collect());
        println!("{name} scenario {scenario} (median of {runs}):");
        println!(
            "  {:.0} of {lines} messages delivered",
            m(|s| s.0.lines as f64)
        );
        println!(
            "  {:.2} µs CPU per message ({:.0} messages per CPU-second)",
            m(|s| s.0.cpu_us_per_line),
            m(|s| s.0.events_per_cpu_s)
        );
        println!(
            "  {:.0} messages/s wall, {:.1} MB/s ({:.3} of the baseline copy), {:.2} cores busy",
            m(|s| s.0.events_per_s),
            m(|s| s.0.mb_per_s),
            m(|s| s.0.mb_per_s) / base_mbs,
            m(|s| s.0.cores)
        );
        println!("  peak RSS {:.1} MiB", m(|s| s.0.peak_rss_mib));
        println!("  spool write amplification {:.2}", m(|s| s.1));
    }
}

/// RSS of the agent over time while its only output is down and 100 files grow.
fn output_down() {
    let secs: u64 = std::env::var("LOGSHIP_BENCH_DOWN_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // A port nothing listens on: every connection is refused, the output retries forever.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("bench.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {d}/data\ninputs:\n  - type: file\n    paths: [{d}/logs/*.log]\n    read_from: beginning\noutputs:\n  - type: logstash\n    hosts: [\"{dead}\"]\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let logs = logs.clone();
        std::thread::spawn(move || {
            let mut files: Vec<std::fs::File> = (0..100)
                .map(|i| std::fs::File::create(logs.join(format!("app{i}.log"))).unwrap())
                .collect();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..200 {
                    let k = files.len();
                    let f = &mut files[(n % k as u64) as usize];
                    writeln!(f, "2026-11-24T10:00:00Z INFO line {n} of a growing file while the output is down").unwrap();
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            n
        })
    };
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_logship"))
        .args(["run", "-c"])
        .arg(&config)
        .env("LOGSHIP_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    println!(
        "== scenario `output-down`: 100 files growing at 2,000 lines/s, the output down, {secs} s"
    );
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(10).min(Duration::from_secs(secs)));
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        samples.push((start.elapsed().as_secs(), rss_kb / 1024.0));
        println!(
            "  t={:>4}s RSS {:.1} MiB",
            start.elapsed().as_secs(),
            rss_kb / 1024.0
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let first = samples.first().map(|s| s.1).unwrap_or(0.0);
    let last = samples.last().map(|s| s.1).unwrap_or(0.0);
    println!(
        "logship scenario output-down: {written} lines written, RSS {first:.1} MiB at the first sample, {last:.1} MiB at the last, peak {:.1} MiB",
        usage.ru_maxrss as f64 / 1024.0
    );
}
