//! `logship status` for a person: a header line (version, uptime, config, overall state), the
//! outputs, then the files with the worst lag first. Colours only when `colour` (a terminal).

use serde_json::Value;
use std::fmt::Write;

fn bytes(n: u64) -> String {
    bytesize::ByteSize(n).to_string()
}

fn seconds(v: &Value) -> String {
    match v.as_f64() {
        Some(s) => humantime::format_duration(std::time::Duration::from_secs(s as u64)).to_string(),
        None => "-".into(),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Column widths from the rows, then the rows padded (the last column is not).
fn columns(out: &mut String, rows: &[Vec<(String, Option<&str>)>]) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; n];
    for r in rows {
        for (i, (cell, _)) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, (cell, colour)) in r.iter().enumerate() {
            let pad = if i + 1 == r.len() {
                0
            } else {
                widths[i] - cell.chars().count() + 2
            };
            match colour {
                Some(c) => {
                    let _ = write!(line, "\x1b[{c}m{cell}\x1b[0m");
                }
                None => line.push_str(cell),
            }
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The status as a table.
pub fn render(status: &Value, colour: bool) -> String {
    const RED: &str = "31";
    const GREEN: &str = "32";
    const YELLOW: &str = "33";
    let paint = |c: &'static str| colour.then_some(c);
    let mut out = String::new();
    let state = text(&status["status"]);
    let _ = write!(
        out,
        "logship {}, up {}, config {}: ",
        text(&status["version"]),
        seconds(&status["uptime_seconds"]),
        text(&status["config"]),
    );
    match paint(if state == "ok" { GREEN } else { RED }) {
        Some(c) => {
            let _ = writeln!(out, "\x1b[{c}m{state}\x1b[0m");
        }
        None => {
            let _ = writeln!(out, "{state}");
        }
    }
    if let Some(reason) = status.get("reason") {
        let _ = writeln!(out, "reason: {}", text(reason));
    }
    let spool = status["spool_bytes"].as_u64().unwrap_or(0);
    if spool > 0 {
        let _ = writeln!(out, "spool: {}", bytes(spool));
    }
    out.push('\n');
    let mut rows = vec![vec![
        ("OUTPUT".to_string(), None),
        ("STATE".into(), None),
        ("IN FLIGHT".into(), None),
        ("RETRIES".into(), None),
        ("LAST SUCCESS".into(), None),
        ("LAST ERROR".into(), None),
    ]];
    if let Some(outputs) = status["outputs"].as_object() {
        for (name, o) in outputs {
            let st = text(&o["state"]);
            let c = match st.as_str() {
                "ok" => paint(GREEN),
                "retrying" => paint(YELLOW),
                _ => paint(RED),
            };
            rows.push(vec![
                (name.clone(), None),
                (st, c),
                (text(&o["in_flight_batches"]), None),
                (text(&o["retries"]), None),
                (text(&o["last_success"]), None),
                (text(&o["last_error"]), None),
            ]);
        }
    }
    columns(&mut out, &rows);
    out.push('\n');
    let mut rows = vec![vec![
        ("INPUT".to_string(), None),
        ("LAG".into(), None),
        ("LAG AGE".into(), None),
        ("HELD BY".into(), None),
        ("SIZE".into(), None),
        ("READ".into(), None),
        ("ACKED".into(), None),
        ("FILE".into(), None),
    ]];
    let files = status["files"].as_array().cloned().unwrap_or_default();
    for f in &files {
        let lag = f["lag_bytes"].as_u64().unwrap_or(0);
        let held: Vec<String> = f["held_by"]
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        let mut path = text(&f["path"]);
        if f["deleted"] == true {
            path.push_str(" (deleted, still open)");
        }
        rows.push(vec![
            (text(&f["input"]), None),
            (bytes(lag), if lag > 0 { paint(YELLOW) } else { None }),
            (seconds(&f["lag_seconds"]), None),
            (
                if held.is_empty() {
                    "-".into()
                } else {
                    held.join(",")
                },
                if held.is_empty() { None } else { paint(RED) },
            ),
            (bytes(f["size"].as_u64().unwrap_or(0)), None),
            (bytes(f["read_offset"].as_u64().unwrap_or(0)), None),
            (bytes(f["acked_offset"].as_u64().unwrap_or(0)), None),
            (path, None),
        ]);
    }
    if files.is_empty() {
        out.push_str("no files being read\n");
    } else {
        columns(&mut out, &rows);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_without_colours_unless_asked() {
        let s = json!({
            "status": "ok", "version": "0.1.0", "uptime_seconds": 65, "config": "/etc/l.yaml",
            "spool_bytes": 0,
            "outputs": { "es": { "state": "retrying", "in_flight_batches": 3, "retries": 7,
                                 "last_success": null, "last_error": "connection refused" } },
            "files": [
                { "input": "app", "path": "/var/log/a.log", "size": 2048, "read_offset": 2048,
                  "acked_offset": 1024, "lag_bytes": 1024, "lag_seconds": 12.5,
                  "held_by": ["es"], "deleted": true },
                { "input": "app", "path": "/var/log/b.log", "size": 10, "read_offset": 10,
                  "acked_offset": 10, "lag_bytes": 0, "lag_seconds": 0.0, "held_by": [],
                  "deleted": false }
            ]
        });
        let t = render(&s, false);
        assert!(!t.contains('\x1b'), "{t}");
        assert!(t.contains("up 1m 5s"), "{t}");
        assert!(t.contains("es      retrying  3          7"), "{t}");
        let a = t.find("/var/log/a.log (deleted, still open)").unwrap();
        let b = t.find("/var/log/b.log").unwrap();
        assert!(a < b, "worst lag first:\n{t}");
        assert!(t.contains("1.0 KB") || t.contains("1.0 KiB"), "{t}");
        assert!(render(&s, true).contains("\x1b[33mretrying"));
    }
}
