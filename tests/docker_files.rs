//! The `docker` input's parsing of json-file logs, on files written by the test (no daemon
//! needed): timestamps with nanoseconds, partial pieces joined per stream, the `streams` filter
//! (filtered lines still checkpointed), and a non-JSON line shipped raw with `error.message`.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn json_file_lines_are_parsed_joined_filtered_and_bad_ones_shipped_raw() {
    let env = Env::new();
    let id = "d0".repeat(32);
    let dir = env.path(&format!("containers/{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("{id}-json.log"));
    std::fs::write(
        &log,
        concat!(
            r#"{"log":"first #0\n","stream":"stdout","time":"2026-11-24T10:00:00.123456789Z"}"#,
            "\n",
            r#"{"log":"piece one, ","stream":"stdout","time":"2026-11-24T10:00:01.1Z"}"#,
            "\n",
            r#"{"log":"an error #1\n","stream":"stderr","time":"2026-11-24T10:00:01.2Z"}"#,
            "\n",
            r#"{"log":"piece two #2\n","stream":"stdout","time":"2026-11-24T10:00:01.3Z"}"#,
            "\n",
            "this is not json #3\n",
            r#"{"log":"last #4\n","stream":"stdout","time":"2026-11-24T10:00:02Z"}"#,
            "\n",
        ),
    )
    .unwrap();
    let cfg = env.config(
        &format!(
            "  - type: docker\n    containers_path: {}\n    streams: [stdout]\n    read_from: beginning",
            env.path("containers").display()
        ),
        "",
    );
    let out = env.out();
    let mut agent = env.start(&cfg);
    wait_for(Duration::from_secs(20), "the last record", || {
        counts(&out).contains_key(&4)
    });
    wait_for(Duration::from_secs(20), "the checkpoint at the end", || {
        checkpoint_offset(&env.data_dir(), &log) == Some(std::fs::metadata(&log).unwrap().len())
    });
    assert_eq!(agent.term(Duration::from_secs(15)), 0);
    let recs = records(&out);
    let by = |n: u64| recs.iter().find(|r| number(r) == Some(n)).cloned();
    assert_eq!(recs.len(), 4, "stderr was filtered out: {recs:?}");
    assert!(
        by(1).is_none(),
        "a stderr line shipped with streams: [stdout]"
    );
    let first = by(0).unwrap();
    assert_eq!(first["@timestamp"], "2026-11-24T10:00:00.123456789Z");
    assert_eq!(first["message"], "first #0");
    assert_eq!(first["stream"], "stdout");
    assert_eq!(first["container"]["id"], id.as_str());
    assert_eq!(first["input"]["type"], "docker");
    assert_eq!(first["log"]["offset"], 0);
    assert_eq!(first["log"]["file"]["path"], log.to_str().unwrap());
    let joined = by(2).unwrap();
    assert_eq!(joined["message"], "piece one, piece two #2");
    assert_eq!(joined["@timestamp"], "2026-11-24T10:00:01.300000000Z");
    let raw = by(3).unwrap();
    assert_eq!(raw["message"], "this is not json #3");
    assert!(raw["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a Docker json-file line"));
    assert_eq!(raw["container"]["id"], id.as_str());
    assert_eq!(
        by(4).unwrap()["@timestamp"],
        "2026-11-24T10:00:02.000000000Z"
    );
}
