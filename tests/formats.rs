//! The `file` input's formats and start positions through the real binary: `format: syslog`
//! fields and timestamps, `read_from: end` for files present at start (checkpoints win, files
//! appearing later are read whole), and `log_format: json` for the agent's own logs.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn syslog_format_fills_log_syslog_and_timestamp() {
    let env = Env::new();
    let log = env.path("syslog");
    std::fs::write(
        &log,
        "Nov 24 10:00:01 node-1 sshd[812]: Accepted publickey for root #0\n\
         <86>2026-11-24T15:17:28.123456+01:00 web CRON[77]: (root) CMD (true) #1\n\
         not a syslog line #2\n",
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    format: syslog\n    read_from: beginning",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_all_arrived(&agent, &out, 3, Duration::from_secs(20));
    let r = records(&out);
    assert_eq!(r[0]["message"], "Accepted publickey for root #0");
    assert_eq!(r[0]["log"]["syslog"]["hostname"], "node-1");
    assert_eq!(r[0]["log"]["syslog"]["appname"], "sshd");
    assert_eq!(r[0]["log"]["syslog"]["procid"], "812");
    assert!(
        r[0]["@timestamp"].as_str().unwrap().contains("-11-24T"),
        "{}",
        r[0]
    );
    assert_eq!(r[1]["@timestamp"], "2026-11-24T14:17:28.123456000Z");
    assert_eq!(r[1]["log"]["syslog"]["facility"]["name"], "authpriv");
    assert_eq!(r[1]["log"]["syslog"]["severity"]["name"], "informational");
    assert_eq!(r[2]["message"], "not a syslog line #2");
    assert!(r[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a syslog line"));
    for rec in &r {
        assert_eq!(rec["input"]["type"], "file");
        assert_eq!(rec["agent"]["type"], "logship");
        assert_eq!(rec["log"]["file"]["path"], log.to_str().unwrap());
        assert!(rec["host"]["name"].as_str().is_some_and(|h| !h.is_empty()));
    }
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}

#[test]
fn read_from_end_skips_old_lines_but_not_new_files_and_checkpoints_win() {
    let env = Env::new();
    let old = env.path("old.log");
    std::fs::write(&old, (0..50).map(line).collect::<String>()).unwrap();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: ['{}/*.log']\n    read_from: end\n    scan_frequency: 200ms",
            env.dir.path().display()
        ),
        "log_format: json",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "the agent to open old.log", || {
        agent.logs().contains("reading file")
    });
    append(&old, &(50..60).map(line).collect::<String>());
    // A file that appears while running is read from its first line.
    std::fs::write(
        env.path("new.log"),
        (100..110).map(line).collect::<String>(),
    )
    .unwrap();
    wait_for(Duration::from_secs(20), "appended and new lines", || {
        let c = counts(&out);
        (50..60).chain(100..110).all(|n| c.contains_key(&n))
    });
    assert!(
        !counts(&out).contains_key(&0),
        "read_from: end shipped old lines"
    );
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    // The agent's own logs were JSON, one object per line.
    for l in agent.logs().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string(), "{l}");
    }
    // Restart: the checkpoint wins over read_from (lines written while stopped arrive).
    append(&old, &(60..70).map(line).collect::<String>());
    let mut again = env.start(&cfg);
    wait_for(
        Duration::from_secs(20),
        "lines written while stopped",
        || {
            let c = counts(&out);
            (60..70).all(|n| c.contains_key(&n))
        },
    );
    assert_eq!(again.term(Duration::from_secs(15)), 0);
    assert_eq!(counts(&out).values().filter(|c| **c > 1).count(), 0);
}

/// Traditional syslog times read in a zone with daylight saving time (`TZ` a POSIX rule, no
/// tzdata needed): a time inside the spring-forward gap (no such local time: a sender in another
/// zone writes it) is read with the offset before the gap (02:30 CET = 01:30Z) and parsed as
/// syslog, not shipped raw with an error, on both paths (the `file` input's `format: syslog` and
/// the `syslog` input); a time in the autumn's repeated hour is its first occurrence.
#[test]
fn traditional_times_inside_a_daylight_saving_gap_are_read() {
    use chrono::{Datelike, NaiveDate, Weekday};
    // The day clocks change in the EU rule (the last Sunday of the month), in the year the agent
    // gives a date without one: this year, unless that is more than a week ahead.
    let now = chrono::Utc::now().naive_utc();
    let sunday = |year: i32, month: u32| {
        let mut d = NaiveDate::from_ymd_opt(year, month, 31).unwrap();
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt().unwrap();
        }
        d
    };
    let agent_year = |d: NaiveDate| {
        let this = NaiveDate::from_ymd_opt(now.year(), d.month(), d.day()).unwrap();
        if this.and_hms_opt(2, 30, 0).unwrap() > now + chrono::Duration::days(7) {
            now.year() - 1
        } else {
            now.year()
        }
    };
    let last_sunday = |month: u32| {
        [now.year(), now.year() - 1]
            .into_iter()
            .map(|y| sunday(y, month))
            .find(|d| agent_year(*d) == d.year())
            .expect("a year the agent picks")
    };
    let (spring, autumn) = (last_sunday(3), last_sunday(10));
    let env = Env::new();
    let log = env.path("syslog");
    std::fs::write(
        &log,
        format!(
            "Mar {} 02:30:00 dev app: inside the gap #0\n\
             Mar {} 01:30:00 dev app: before the gap #1\n\
             Oct {} 02:30:00 dev app: the repeated hour #2\n",
            spring.day(),
            spring.day(),
            autumn.day()
        ),
    )
    .unwrap();
    let port = free_port();
    let cfg = env.config(
        &format!(
            "  - type: file\n    paths: [{}]\n    format: syslog\n    read_from: beginning\n  - type: syslog\n    listen: tcp://127.0.0.1:{port}",
            log.display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start_with(&cfg, &[("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")]);
    let mut sent = false;
    wait_for(Duration::from_secs(20), "the syslog listener", || {
        use std::io::Write;
        sent = sent
            || std::net::TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut s| {
                    s.write_all(
                        format!("<13>Mar {} 02:30:00 dev app: over tcp #3\n", spring.day())
                            .as_bytes(),
                    )
                })
                .is_ok();
        sent
    });
    wait_all_arrived(&agent, &out, 4, Duration::from_secs(20));
    let by_number = |n: u64| {
        records(&out)
            .into_iter()
            .find(|r| number(r) == Some(n))
            .unwrap()
    };
    let expect = |n: u64, day: NaiveDate, utc: &str| {
        let r = by_number(n);
        assert_eq!(
            r["@timestamp"],
            format!("{day}T{utc}.000000000Z"),
            "record {r}\nagent log:\n{}",
            agent.logs()
        );
        assert!(r.get("error").is_none(), "{r}");
        assert_eq!(r["log"]["syslog"]["appname"], "app", "{r}");
    };
    expect(0, spring, "01:30:00");
    expect(1, spring, "00:30:00");
    expect(2, autumn, "00:30:00");
    expect(3, spring, "01:30:00");
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
}
