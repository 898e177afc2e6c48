//! Helpers for end-to-end tests: run the real `logship` binary with a config in a temp dir,
//! wait on conditions with deadlines (never bare sleeps), read what the file output wrote.
#![allow(dead_code)]

pub mod beats;
pub mod bulk;
pub mod certs;
pub mod docker;
pub mod kube_api;
pub mod moto;
pub mod osmem;
pub mod server;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The agent binary: cargo's, or `LOGSHIP_TEST_BIN` (soak runs of a frozen build while the
/// tree changes: copy the test binary and the agent elsewhere and point this at the copy).
pub fn bin() -> String {
    std::env::var("LOGSHIP_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_logship").to_string())
}

/// A temp dir holding the config, the data dir, the output file and the agent's stderr.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    /// An `Env` on a memory file system (`/dev/shm`) when there is one: the agent's checkpoint
    /// writes, output and log then take no inodes from the disk the test's log files are on.
    pub fn in_memory() -> Env {
        Env {
            dir: tempfile::tempdir_in("/dev/shm")
                .or_else(|_| tempfile::tempdir())
                .expect("temp dir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }
    pub fn out(&self) -> PathBuf {
        self.path("out.ndjson")
    }
    /// Writes `logship.yaml`: the given inputs (YAML list items) and extra top-level YAML, with a
    /// file output to `out.ndjson` and fast batching for tests.
    pub fn config(&self, inputs: &str, extra: &str) -> PathBuf {
        let text = format!(
            "data_dir: {}\nshutdown_timeout: 10s\npipeline:\n  batch_max_events: 500\n  batch_max_wait: 50ms\n  checkpoint_interval: 100ms\ninputs:\n{}\n{}\n",
            self.data_dir().display(),
            inputs,
            extra
        );
        let text = if extra.contains("outputs:") {
            text
        } else {
            format!(
                "{text}outputs:\n  - type: file\n    path: {}\n    backoff: {{ init: 50ms, max: 500ms }}\n",
                self.out().display()
            )
        };
        let p = self.path("logship.yaml");
        std::fs::write(&p, text).expect("write config");
        p
    }
    /// `config` with one `file` input over `dir/*.log`, read from the beginning, plus the input
    /// options in `more` (e.g. `"\n    scan_frequency: 200ms"`).
    pub fn logs_config(&self, dir: &Path, more: &str, extra: &str) -> PathBuf {
        self.config(
            &format!(
                "  - type: file\n    paths: [{}/*.log]\n    read_from: beginning{more}",
                dir.display()
            ),
            extra,
        )
    }
    pub fn start(&self, config: &Path) -> Agent {
        self.start_with(config, &[])
    }
    /// `start` with extra environment variables (e.g. AWS credentials).
    pub fn start_with(&self, config: &Path, envs: &[(&str, &str)]) -> Agent {
        let log = self.path(&format!("agent-{}.stderr", unique()));
        let err = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin())
            .args(["run", "-c"])
            .arg(config)
            .envs(envs.iter().copied())
            .env(
                "LOGSHIP_LOG",
                std::env::var("TEST_LOGSHIP_LOG").unwrap_or("info".into()),
            )
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start logship");
        Agent { child, log }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
}

impl Agent {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    /// SIGTERM and wait for the exit code (within `limit`).
    pub fn term(&mut self, limit: Duration) -> i32 {
        unsafe {
            libc::kill(self.pid(), libc::SIGTERM);
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "agent did not stop within {limit:?}; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// Peak resident memory (VmHWM) in bytes.
    pub fn peak_rss(&self) -> u64 {
        status_kb(self.pid(), "VmHWM:") * 1024
    }
    pub fn rss(&self) -> u64 {
        status_kb(self.pid(), "VmRSS:") * 1024
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kb(pid: i32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every record the file output wrote (an incomplete last line is ignored).
pub fn records(path: &Path) -> Vec<Value> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// How many times each numbered line (`... #<n> ...`) arrived.
pub fn counts(path: &Path) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in records(path) {
        if let Some(n) = number(&r) {
            *m.entry(n).or_insert(0) += 1;
        }
    }
    m
}

pub fn number(r: &Value) -> Option<u64> {
    let msg = r["message"].as_str()?;
    let i = msg.find('#')?;
    msg[i + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Lines of 0..n that did not arrive, as ranges.
pub fn missing_ranges(path: &Path, n: u64) -> Vec<(u64, u64)> {
    let c = counts(path);
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for m in (0..n).filter(|i| !c.contains_key(i)) {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == m => *end = m,
            _ => ranges.push((m, m)),
        }
    }
    ranges
}

/// Lines that arrived more than once, as ranges.
pub fn duplicate_ranges(path: &Path) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for (m, _) in counts(path).into_iter().filter(|(_, c)| *c > 1) {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == m => *end = m,
            _ => ranges.push((m, m)),
        }
    }
    ranges
}

/// Asserts no line arrived twice, showing the duplicated ranges and the agent's log if some did.
pub fn assert_no_duplicates(agent: &Agent, out: &Path) {
    let d = duplicate_ranges(out);
    assert!(
        d.is_empty(),
        "duplicated line ranges: {d:?}\nagent log:\n{}",
        agent.logs()
    );
}

/// Waits until lines 0..n all arrived at the file output; on timeout, panics with the missing
/// ranges and the agent's log. Returns the number of duplicates.
pub fn wait_all_arrived(agent: &Agent, out: &Path, n: u64, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let c = counts(out);
        if (0..n).all(|i| c.contains_key(&i)) {
            return c.values().map(|v| v - 1).sum();
        }
        if Instant::now() >= deadline {
            panic!(
                "after {limit:?}, lines missing (ranges): {:?}\nagent log:\n{}",
                missing_ranges(out, n),
                agent.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A numbered log line with some padding, `\n` included.
pub fn line(n: u64) -> String {
    format!(
        "2026-11-24T10:00:00Z INFO app: request #{n} handled in {}ms path=/api/v1/orders/{n}\n",
        n % 997
    )
}

pub fn append(path: &Path, text: &str) {
    append_bytes(path, text.as_bytes())
}

/// Appends raw bytes (invalid UTF-8 included) to `path`, creating it.
pub fn append_bytes(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(bytes).expect("append");
}

/// Runs `logship CMD -c CFG`; (exit code, stdout then stderr).
pub fn logship(cmd: &str, cfg: &Path) -> (i32, String) {
    logship_with(cmd, cfg, &[])
}

/// `logship` with extra environment variables.
pub fn logship_with(cmd: &str, cfg: &Path, envs: &[(&str, &str)]) -> (i32, String) {
    let o = Command::new(bin())
        .args([cmd, "-c"])
        .arg(cfg)
        .envs(envs.iter().copied())
        .output()
        .expect("run logship");
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// The acknowledged offset the checkpoint file holds for `path`.
pub fn checkpoint_offset(data_dir: &Path, path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(data_dir.join("checkpoints.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["entries"]
        .as_array()?
        .iter()
        .filter(|e| e["path"].as_str() == path.to_str())
        .filter_map(|e| e["offset"].as_u64())
        .max()
}

/// GET `path` from `addr`; (status, body).
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    match ureq::get(&format!("http://{addr}{path}")).call() {
        Ok(r) => Some((r.status(), r.into_string().ok()?)),
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

/// The value of the first series of metric `name` on the agent's /metrics (0 if absent).
pub fn metric(addr: &str, name: &str) -> u64 {
    let (_, body) = http_get(addr, "/metrics").unwrap_or_default();
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The agent with its open file limit (`RLIMIT_NOFILE`) set to `soft` and `hard` before it runs.
pub fn start_with_open_file_limit(env: &Env, config: &Path, soft: u64, hard: u64) -> Agent {
    start_with_limit(env, config, libc::RLIMIT_NOFILE, soft, hard)
}

/// The agent with the limit `resource` (`libc::RLIMIT_*`) set to `soft` and `hard` before it runs.
pub fn start_with_limit(
    env: &Env,
    config: &Path,
    resource: libc::__rlimit_resource_t,
    soft: u64,
    hard: u64,
) -> Agent {
    use std::os::unix::process::CommandExt;
    let log = env.path(&format!("agent-{}.stderr", unique()));
    let err = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(bin());
    cmd.args(["run", "-c"])
        .arg(config)
        .env("LOGSHIP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(err);
    // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(resource, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("start logship");
    Agent { child, log }
}

/// Sets the soft limit `resource` of a running process (at most its hard limit).
pub fn set_soft_limit(pid: i32, resource: libc::__rlimit_resource_t, soft: u64) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads and writes only the structs given.
    let ok = unsafe {
        libc::prlimit(pid, resource, std::ptr::null(), &mut old) == 0 && {
            let new = libc::rlimit {
                rlim_cur: soft.min(old.rlim_max),
                rlim_max: old.rlim_max,
            };
            libc::prlimit(pid, resource, &new, std::ptr::null_mut()) == 0
        }
    };
    assert!(ok, "prlimit: {}", std::io::Error::last_os_error());
}

/// The soft open file limit of a running process.
pub fn open_file_limit(pid: i32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
