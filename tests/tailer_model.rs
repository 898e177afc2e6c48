//! The tailer against a model of the file system, as Vector's `file_watcher` tests do: random
//! sequences of operations (append, rename rotation, copytruncate, truncate, delete, a new file
//! at a reused inode, `kill -9` and restart) applied to a real directory with the real binary,
//! then checked:
//! - every line written is delivered at least once;
//! - every record is a whole line as written (never one read from its middle);
//! - without a crash no line arrives twice; after a crash only lines delivered before it may
//!   arrive again, once per crash at most.
//!
//! Operations that destroy unread data in any shipper (truncate without a copy, delete) first
//! wait until everything written so far has arrived, so the model can demand every line.
//! Rotated copies are kept (never shifted out), for the same reason.
//!
//! `MODEL_SEQUENCES` (default 200) sequences run, from `MODEL_SEED` (default: from the clock,
//! printed). A failure prints the seed and the operations: `MODEL_SEED=<seed>
//! MODEL_SEQUENCES=1 cargo test --release --test tailer_model -- --nocapture` replays it.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// splitmix64: a small deterministic generator (the sequence must replay from its seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Append(u64),
    RenameRotate,
    CopyTruncate,
    Truncate,
    Delete,
    ReuseInode,
    Kill9,
    Pause(u64),
}

fn pick(r: &mut Rng) -> Op {
    match r.below(100) {
        0..=44 => Op::Append(1 + r.below(300)),
        45..=54 => Op::RenameRotate,
        55..=64 => Op::CopyTruncate,
        65..=69 => Op::Truncate,
        70..=73 => Op::Delete,
        74..=77 => Op::ReuseInode,
        78..=84 => Op::Kill9,
        _ => Op::Pause(r.below(150)),
    }
}

/// The text of line `n` of sequence `seq`: long enough to span read blocks in bulk, with a
/// multibyte character, and its own number so a line cut in the middle is seen.
fn text(seq: u64, n: u64) -> String {
    let pad = "é".repeat((n % 23) as usize);
    format!("seq {seq} line #{n} {pad} end-{n}")
}

struct Run {
    seq: u64,
    env: Env,
    log: PathBuf,
    agent: Agent,
    cfg: PathBuf,
    written: u64,
    /// Rotated names used so far (`app.log.1`, ...): never reused, so no copy is lost.
    rotations: u32,
    /// For each kill: how many records had been delivered before it.
    kills: Vec<usize>,
    ops: Vec<Op>,
    last_op: std::time::SystemTime,
}

impl Run {
    fn new(seq: u64, glob_rotated: bool) -> Run {
        let env = Env::new();
        let log = env.path("app.log");
        std::fs::write(&log, "").unwrap();
        let pattern = if glob_rotated { "app.log*" } else { "app.log" };
        let cfg = env.config(
            &format!(
                "  - type: file\n    paths: ['{}/{pattern}']\n    read_from: beginning\n    scan_frequency: 1s\n    rotate_wait: 200ms",
                env.dir.path().display()
            ),
            "",
        );
        let agent = started(&env, &cfg);
        Run {
            seq,
            env,
            log,
            agent,
            cfg,
            written: 0,
            rotations: 0,
            kills: Vec::new(),
            ops: Vec::new(),
            last_op: std::time::SystemTime::now(),
        }
    }

    /// Every agent's log of this sequence (one per start), oldest first.
    fn all_logs(&self) -> String {
        let mut logs: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(self.env.dir.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.ends_with(".stderr") || n.starts_with("checkpoints-at-kill")
            })
            .map(|e| {
                let t = e
                    .metadata()
                    .and_then(|m| m.created())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (t, std::fs::read_to_string(e.path()).unwrap_or_default())
            })
            .collect();
        logs.sort_by_key(|(t, _)| *t);
        logs.into_iter()
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("---- restart ----\n")
    }

    fn append(&mut self, k: u64) {
        let mut s = String::new();
        for n in self.written..self.written + k {
            s.push_str(&text(self.seq, n));
            s.push('\n');
        }
        append(&self.log, &s);
        self.written += k;
    }

    /// Waits until every line written so far arrived (before an operation that destroys
    /// unread data in any shipper).
    fn sync(&self) {
        let out = self.env.out();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let c = counts(&out);
            if (0..self.written).all(|n| c.contains_key(&n)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "seq {}: lines missing before a destructive op: {:?}\nops: {:?}\nagent log:\n{}",
                self.seq,
                missing_ranges(&out, self.written),
                self.ops,
                self.all_logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn rotated_name(&mut self) -> PathBuf {
        self.rotations += 1;
        self.env.path(&format!("app.log.{}", self.rotations))
    }

    /// Before a crash: lets the agent write a checkpoint that follows the last operation (up to
    /// 500 ms). A file the agent registered but never wrote down, then rotated away, then a
    /// crash within the same few milliseconds: the one window no checkpoint can close, and not
    /// what this model is about (`tests/crash.rs` and `nothing_lost.rs` kill mid-delivery).
    fn settle(&self) {
        let cp = self.env.data_dir().join("checkpoints.json");
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            let written = std::fs::metadata(&cp).and_then(|m| m.modified()).ok();
            if written.is_some_and(|w| w >= self.last_op) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn apply(&mut self, op: Op) {
        self.ops.push(op);
        self.last_op = std::time::SystemTime::now();
        match op {
            Op::Append(k) => self.append(k),
            Op::RenameRotate => {
                let to = self.rotated_name();
                std::fs::rename(&self.log, to).unwrap();
                std::fs::write(&self.log, "").unwrap();
            }
            Op::CopyTruncate => {
                let to = self.rotated_name();
                std::fs::copy(&self.log, to).unwrap();
                truncate(&self.log);
            }
            Op::Truncate => {
                self.sync();
                truncate(&self.log);
            }
            Op::Delete => {
                self.sync();
                std::fs::remove_file(&self.log).unwrap();
                std::fs::write(&self.log, "").unwrap();
            }
            Op::ReuseInode => {
                // The freed inode is usually the next one given: a new file at an old inode.
                self.sync();
                std::fs::remove_file(&self.log).unwrap();
                self.append(1 + self.written % 7);
            }
            Op::Kill9 => {
                self.settle();
                self.agent.kill9();
                self.kills.push(records(&self.env.out()).len());
                let cp = std::fs::read_to_string(self.env.data_dir().join("checkpoints.json"))
                    .unwrap_or_default();
                std::fs::write(
                    self.env
                        .path(&format!("checkpoints-at-kill-{}.json", self.kills.len())),
                    cp,
                )
                .unwrap();
                self.agent = started(&self.env, &self.cfg);
            }
            Op::Pause(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
    }

    fn check(mut self) {
        let out = self.env.out();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let c = counts(&out);
            if (0..self.written).all(|n| c.contains_key(&n)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seq {}: lines never delivered: {:?}\nops: {:?}\nagent log:\n{}",
                self.seq,
                missing_ranges(&out, self.written),
                self.ops,
                self.all_logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let recs = records(&out);
        // Whole lines only.
        for r in &recs {
            let Some(n) = number(r) else {
                panic!(
                    "seq {}: a record that is not a whole line: {r}\nops: {:?}\nagent log:\n{}",
                    self.seq,
                    self.ops,
                    self.all_logs()
                );
            };
            assert_eq!(
                r["message"].as_str(),
                Some(text(self.seq, n).as_str()),
                "seq {}: a record that is not a whole line as written\nops: {:?}",
                self.seq,
                self.ops
            );
        }
        // Duplicates: none without a crash; after one, only of lines delivered before it, and
        // at most once per crash.
        let mut first_at: BTreeMap<u64, usize> = BTreeMap::new();
        let mut times: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, r) in recs.iter().enumerate() {
            let n = number(r).unwrap_or(u64::MAX);
            first_at.entry(n).or_insert(i);
            *times.entry(n).or_insert(0) += 1;
        }
        for (n, k) in times.iter().filter(|(_, k)| **k > 1) {
            let first = first_at[n];
            let crashes_after = self.kills.iter().filter(|&&at| at > first).count();
            assert!(
                *k <= 1 + crashes_after,
                "seq {}: line {n} delivered {k} times with {crashes_after} crash(es) after its first delivery\nops: {:?}\nagent log:\n{}",
                self.seq,
                self.ops,
                self.all_logs()
            );
        }
        assert_eq!(self.agent.term(Duration::from_secs(15)), 0);
    }
}

/// Starts the agent and waits until it has looked at the directory (files rotated before an
/// agent ever saw them are no agent's to read, unless a checkpoint says so).
fn started(env: &Env, cfg: &Path) -> Agent {
    let agent = env.start(cfg);
    wait_for(Duration::from_secs(20), "the agent to open app.log", || {
        agent.logs().contains("reading file") && env.data_dir().join("checkpoints.json").exists()
    });
    agent
}

fn truncate(p: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .unwrap()
        .set_len(0)
        .unwrap();
}

#[test]
fn random_file_operations_lose_nothing_and_duplicate_only_after_a_crash() {
    let seed: u64 = std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let sequences: u64 = std::env::var("MODEL_SEQUENCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    eprintln!("tailer model: seed {seed}, {sequences} sequences");
    let started = Instant::now();
    let mut ops_total = 0;
    for i in 0..sequences {
        let seq = seed.wrapping_add(i);
        let mut rng = Rng(seq);
        let mut run = Run::new(seq, rng.below(3) == 0);
        let n_ops = 8 + rng.below(18);
        for _ in 0..n_ops {
            let op = pick(&mut rng);
            run.apply(op);
        }
        ops_total += n_ops;
        eprintln!(
            "seq {seq}: {} lines, {} ops, {} kills",
            run.written,
            run.ops.len(),
            run.kills.len()
        );
        run.check();
    }
    eprintln!(
        "tailer model: {sequences} sequences, {ops_total} operations in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
