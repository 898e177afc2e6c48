//! Bad input is never fatal: invalid UTF-8, a 50 MiB line, NUL bytes, and a file deleted while
//! being read; the lines after them arrive, memory stays bounded.

mod common;
use common::*;
use std::io::Write;
use std::time::Duration;

#[test]
fn bad_lines_are_shipped_flagged_and_the_stream_goes_on() {
    let env = Env::new();
    let log = env.path("bad.log");
    {
        let mut f = std::fs::File::create(&log).unwrap();
        f.write_all(line(0).as_bytes()).unwrap();
        f.write_all(b"invalid utf8 \xff\xfe here #1\n").unwrap();
        f.write_all(b"nul \x00 bytes \x00 #2\n").unwrap();
        // 50 MiB without a newline, then one.
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
        f.write_all(line(3).as_bytes()).unwrap();
        f.write_all(line(4).as_bytes()).unwrap();
    }
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning",
            log.display()
        ),
        "max_line_bytes: 1MiB",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(
        Duration::from_secs(60),
        "the lines after the bad ones",
        || {
            let c = counts(&out);
            c.contains_key(&3) && c.contains_key(&4)
        },
    );
    let recs = records(&out);
    assert_eq!(recs.len(), 6, "one record per line");
    let utf8 = &recs[1];
    assert_eq!(utf8["message"], "invalid utf8 \u{fffd}\u{fffd} here #1");
    assert_eq!(utf8["log"]["flags"], serde_json::json!(["invalid_utf8"]));
    assert_eq!(recs[2]["message"], "nul \u{0} bytes \u{0} #2");
    let long = &recs[3];
    assert_eq!(long["message"].as_str().unwrap().len(), 1 << 20);
    assert_eq!(long["log"]["flags"], serde_json::json!(["truncated"]));
    // The line after the long one starts where the long one ended.
    let long_end = recs[4]["log"]["offset"].as_u64().unwrap();
    assert_eq!(
        long_end,
        long["log"]["offset"].as_u64().unwrap() + (50 << 20) + 1
    );
    // The 50 MiB line was never held whole.
    let peak = agent.peak_rss();
    assert!(
        peak < 40 << 20,
        "peak RSS {peak} bytes: the long line was buffered"
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    // Everything was acknowledged: the checkpoint is at the end of the file.
    assert_eq!(
        checkpoint_offset(&env.data_dir(), &log),
        Some(std::fs::metadata(&log).unwrap().len())
    );
}

#[test]
fn file_deleted_while_being_read_is_finished_and_others_go_on() {
    const BIG: u64 = 150_000;
    let env = Env::new();
    let big = env.path("big.log");
    let small = env.path("small.log");
    std::fs::write(&big, (0..BIG).map(line).collect::<String>()).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: ['{}/*.log']\n    read_from: beginning\n    rotate_wait: 200ms\n    scan_frequency: 200ms",
            env.dir.path().display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(30), "reading to start", || {
        !records(&out).is_empty()
    });
    std::fs::remove_file(&big).unwrap();
    // The open file is read to its end even though its name is gone.
    wait_all_arrived(&agent, &out, BIG, Duration::from_secs(60));
    std::fs::write(&small, (BIG..BIG + 100).map(line).collect::<String>()).unwrap();
    wait_for(
        Duration::from_secs(20),
        "a new file after the deleted one",
        || {
            let c = counts(&out);
            (BIG..BIG + 100).all(|n| c.contains_key(&n))
        },
    );
    wait_for(
        Duration::from_secs(20),
        "the deleted file to be released",
        || agent.logs().contains("deleted=true"),
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

/// A line or message cut to its size limit where the limit falls inside a character keeps the
/// characters before it whole: flagged `truncated`, not `invalid_utf8` with a U+FFFD at the end
/// (as it was), for the file input (`max_line_bytes`) and syslog over TCP and UDP
/// (`max_message_size`).
#[test]
fn a_cut_inside_a_character_keeps_the_characters_before_it() {
    let env = Env::new();
    let log = env.path("app.log");
    // 3 + 2 * 20 bytes: max_line_bytes 20 falls in the second byte of the ninth `é`.
    append(&log, &format!("#0 {}\n#1 short\n", "é".repeat(20)));
    let port = free_port();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    read_from: beginning\n  - type: syslog\n    listen: [\"tcp://127.0.0.1:{port}\", \"udp://127.0.0.1:{port}\"]\n    max_message_size: 40",
            log.display()
        ),
        "max_line_bytes: 20",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    // 27 bytes of header, then `€` (3 bytes each): 40 falls in the fifth one.
    let msg = format!("<13>Nov 24 10:00:00 h app: {}", "€".repeat(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let tcp = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("syslog listener: {e}\n{}", agent.logs()),
        }
    };
    (&tcp).write_all(format!("{msg}\n").as_bytes()).unwrap();
    drop(tcp);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    wait_for(Duration::from_secs(20), "four records", || {
        records(&out).len() >= 4
    });
    let recs = records(&out);
    let flags = |r: &serde_json::Value| r["log"]["flags"].clone();
    let file_cut = recs
        .iter()
        .find(|r| r["message"].as_str().is_some_and(|m| m.starts_with("#0")))
        .unwrap();
    assert_eq!(
        file_cut["message"],
        format!("#0 {}", "é".repeat(8)),
        "{file_cut}"
    );
    assert_eq!(
        flags(file_cut),
        serde_json::json!(["truncated"]),
        "{file_cut}"
    );
    let cut: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|r| r["input"]["type"] == "syslog")
        .collect();
    assert_eq!(cut.len(), 2, "{recs:?}");
    for r in cut {
        assert_eq!(r["message"], "€".repeat(4), "{r}");
        assert_eq!(flags(r), serde_json::json!(["truncated"]), "{r}");
    }
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

#[test]
fn files_ending_in_long_partial_lines_hold_no_memory_for_them() {
    // 100 files, each ending in 600 KiB without a newline (60 MiB of partial lines): each held
    // its partial line in memory until it completed. Now they are parked (read again when the
    // line ends): the peak stays far below their sum, and the lines come out whole.
    let env = Env::in_memory();
    let dir = env.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let files = 100u64;
    let partial = "é".repeat(300 * 1024);
    for f in 0..files {
        append(
            &dir.join(format!("f{f}.log")),
            &format!("{}{partial}", line(f)),
        );
    }
    let cfg = env.logs_config(&dir, "", "");
    let out = env.out();
    let agent = env.start(&cfg);
    wait_for(Duration::from_secs(30), "the complete lines", || {
        records(&out).len() as u64 >= files
    });
    // Every file was read to its end (its complete line was shipped after that): before, every
    // partial line was in memory now. (Once they complete, the records themselves pass through
    // the pipeline's batches, which `batch_max_bytes` bounds, not this.)
    let peak = agent.peak_rss();
    assert!(
        peak < 30 << 20,
        "peak RSS {} MiB with 60 MiB of partial lines",
        peak >> 20
    );
    for f in 0..files {
        append(
            &dir.join(format!("f{f}.log")),
            &format!(" #{}\n", files + f),
        );
    }
    wait_for(
        Duration::from_secs(30),
        "the completed partial lines",
        || records(&out).len() as u64 >= 2 * files,
    );
    let recs = records(&out);
    for f in 0..files {
        let want = format!("{partial} #{}", files + f);
        assert!(
            recs.iter()
                .any(|r| r["message"].as_str() == Some(want.as_str())),
            "file {f}'s partial line is not whole"
        );
    }
    assert_eq!(recs.len() as u64, 2 * files);
}
