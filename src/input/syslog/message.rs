//! One syslog message received over the network, as real senders write it, into the parts of a
//! record: `@timestamp` (the sender's, or None for the received time), `message`, and the
//! `log.syslog` object of the SPEC (`facility`, `severity`, `hostname`, `appname`, `procid`,
//! `msgid`, `structured_data`, and `version` for RFC 5424).
//!
//! Parsed with `syslog_loose` (Vector's lenient RFC 5424 / RFC 3164 parser: structured data,
//! NILVALUEs, 3164 with or without a hostname as systemd's `/dev/log` writes it, RFC 3339 or
//! traditional timestamps). What it does not take, handled here: Cisco IOS's
//! `<PRI>SEQ: [*]Mmm dd hh:mm:ss[.mmm][ TZ]: %FAC-SEV-MNEMONIC: text` (the PRI and the time are
//! read, the rest is the message), the BOM RFC 5424 puts before a UTF-8 MSG (dropped), trailing
//! newlines and NULs. A message with no valid `<PRI>` is shipped whole with `error.message`.
//! A traditional timestamp has no year: the current one, or last year's when that puts it more
//! than a week ahead (December lines received in January), in the agent's time zone.

use super::rfc3164::{parse_pri, parse_traditional, FACILITIES, SEVERITIES};
use crate::event::{SyslogBuilder, SyslogFields};
use chrono::{DateTime, Datelike, FixedOffset, Local};
use serde_json::{Map, Value};
use std::sync::LazyLock;
use syslog_loose::{Protocol, Variant};

/// A message taken apart.
#[derive(Debug, PartialEq)]
pub struct Message {
    /// The sender's time, when the message has one.
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// The text (MSG), or the whole message when it could not be parsed.
    pub message: String,
    /// `log.syslog`: None when the message could not be parsed.
    pub syslog: Option<SyslogFields>,
    /// Why the message was shipped whole, if it was.
    pub error: Option<&'static str>,
    /// The bytes were not UTF-8 (invalid sequences were replaced).
    pub invalid_utf8: bool,
}

/// Parses `bytes` (one frame); `now` fixes the year of traditional timestamps. Invalid UTF-8 is
/// replaced (U+FFFD), never refused.
pub fn parse(bytes: &[u8], now: DateTime<Local>) -> Message {
    let (text, invalid_utf8) = match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    };
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let year = |(month, day, hh, mm, ss): syslog_loose::IncompleteDate| {
        year_of(now, month, day, hh, mm, ss)
    };
    // A traditional time (no zone) is placed on the agent's clock by `local_time`, which settles
    // a spring-forward gap and the autumn's repeated hour (where chrono would give none, or the
    // second), and given to syslog_loose as that fixed offset.
    let traditional = parse_pri(text)
        .and_then(|(_, rest)| parse_traditional(rest, now))
        .map(|(t, _)| *t.offset());
    let m = match traditional {
        Some(offset) => {
            syslog_loose::parse_message_with_year_tz(text, year, Some(offset), Variant::Either)
        }
        None => syslog_loose::parse_message_with_year_tz(text, year, Some(Local), Variant::Either),
    };
    let (Some(facility), Some(severity)) = (m.facility, m.severity) else {
        let mut whole = cisco(text, now).unwrap_or_else(|| Message {
            timestamp: None,
            message: text.to_string(),
            syslog: None,
            error: Some("not a syslog message (no valid <PRI> at its start); shipped whole"),
            invalid_utf8,
        });
        whole.invalid_utf8 = invalid_utf8;
        return whole;
    };
    // `<28>Dec  3 08:00:45 svc: text` (logger and systemd to /dev/log: no hostname) is read by
    // syslog_loose as the hostname `svc`; a hostname is never followed by `:`, a tag is.
    let (hostname, appname) = match (&m.protocol, m.hostname, m.appname) {
        (Protocol::RFC3164, Some(h), None) if is_tag(text, h) => (None, Some(h)),
        (_, h, a) => (h, a),
    };
    let mut syslog = pri_fields(facility as usize, severity as usize);
    syslog
        .str("hostname", hostname.unwrap_or(""))
        .str("appname", appname.unwrap_or(""));
    match &m.procid {
        Some(syslog_loose::ProcId::PID(pid)) => syslog.str("procid", &pid.to_string()),
        Some(syslog_loose::ProcId::Name(name)) => syslog.str("procid", name),
        None => &mut syslog,
    };
    syslog.str("msgid", m.msgid.unwrap_or(""));
    if let Protocol::RFC5424(v) = m.protocol {
        syslog.number("version", u64::from(v));
    }
    if !m.structured_data.is_empty() {
        let mut sd = Map::new();
        for el in &m.structured_data {
            let params: Map<String, Value> = el
                .params
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect();
            sd.insert(el.id.to_string(), Value::Object(params));
        }
        syslog.value("structured_data", &Value::Object(sd));
    }
    Message {
        timestamp: m.timestamp,
        message: m.msg.trim_start_matches('\u{feff}').to_string(),
        syslog: syslog.finish(),
        error: None,
        invalid_utf8,
    }
}

/// Whether `word` stands in `text` as `word:` followed by a space or the end (a tag).
fn is_tag(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let after = text.get(i + word.len()..).unwrap_or("");
        let before = text.get(..i).unwrap_or("");
        before.ends_with(' ') && (after.starts_with(": ") || after == ":")
    })
}

/// `facility` and `severity` as `{code, name}`, the start of `log.syslog`.
pub fn pri_fields(facility: usize, severity: usize) -> SyslogBuilder {
    match PRI_JSON
        .get(facility * 8 + severity)
        .filter(|_| severity < 8)
    {
        Some(prefix) => SyslogBuilder::starting_with(prefix),
        None => {
            let mut b = SyslogBuilder::new();
            b.code_name("facility", facility, "unknown")
                .code_name("severity", severity, "unknown");
            b
        }
    }
}

/// The `"facility":{…},"severity":{…}` start of `log.syslog` for each of the 192 PRI values,
/// written once.
static PRI_JSON: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    (0..FACILITIES.len() * 8)
        .map(|pri| {
            let (facility, severity) = (pri / 8, pri % 8);
            let mut b = SyslogBuilder::new();
            b.code_name(
                "facility",
                facility,
                FACILITIES.get(facility).copied().unwrap_or("unknown"),
            )
            .code_name(
                "severity",
                severity,
                SEVERITIES.get(severity).copied().unwrap_or("unknown"),
            );
            b.into_bytes()
        })
        .collect()
});

/// The year of a timestamp without one: this year, unless that is more than a week ahead.
fn year_of(now: DateTime<Local>, month: u32, day: u32, hh: u32, mm: u32, ss: u32) -> i32 {
    let this = now.year();
    let ahead = chrono::NaiveDate::from_ymd_opt(this, month, day)
        .and_then(|d| d.and_hms_opt(hh, mm, ss))
        .and_then(|n| super::local_time::at(&n))
        .is_some_and(|t| t > now + chrono::Duration::days(7));
    if ahead {
        this - 1
    } else {
        this
    }
}

/// Cisco IOS: `<189>123: *Mar  1 00:00:00.000 UTC: %SYS-5-CONFIG_I: text`. The sequence number,
/// the `*` or `.` (clock not synchronized) and the time are optional; what follows is the
/// message. None when there is no valid `<PRI>`.
fn cisco(text: &str, now: DateTime<Local>) -> Option<Message> {
    let (Some(pri), rest) = parse_pri(text)? else {
        return None;
    };
    let (facility, severity) = (usize::from(pri >> 3), usize::from(pri & 7));
    // `123: ` sequence number.
    let rest = match rest.split_once(": ") {
        Some((seq, after)) if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) => after,
        _ => rest,
    };
    let clock = rest.trim_start_matches(['*', '.']);
    let (timestamp, message) = match parse_traditional(clock, now) {
        Some((t, after)) => {
            // `.000` milliseconds and a ` UTC` zone name, then `: `.
            let after = after.strip_prefix('.').map_or(after, |a| {
                a.trim_start_matches(|c: char| c.is_ascii_digit())
            });
            let after = match after.split_once(": ") {
                Some((zone, msg)) if zone.len() <= 6 && !zone.contains(':') => msg,
                _ => after.trim_start_matches(':').trim_start(),
            };
            (Some(t), after)
        }
        None => (None, rest),
    };
    Some(Message {
        timestamp,
        message: message.to_string(),
        syslog: pri_fields(facility, severity).finish(),
        error: None,
        invalid_utf8: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 1, 3, 12, 0, 0).unwrap()
    }

    fn p(s: &str) -> Message {
        parse(s.as_bytes(), now())
    }

    /// `log.syslog` as a value (empty when the message was not parsed).
    fn f(m: &Message) -> Value {
        m.syslog
            .as_ref()
            .map_or(json!({}), |s| serde_json::from_slice(s.json()).unwrap())
    }

    #[test]
    fn rfc5424_with_structured_data_bom_and_nilvalues() {
        let m = p("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"][examplePriority@32473 class=\"high\"] \u{feff}An application event\n");
        assert_eq!(m.error, None);
        assert_eq!(m.message, "An application event");
        assert_eq!(f(&m)["facility"], json!({"code": 20, "name": "local4"}));
        assert_eq!(f(&m)["severity"], json!({"code": 5, "name": "notice"}));
        assert_eq!(f(&m)["hostname"], "mymachine.example.com");
        assert_eq!(f(&m)["appname"], "evntslog");
        assert_eq!(f(&m)["msgid"], "ID47");
        assert_eq!(f(&m)["version"], 1);
        assert!(f(&m).get("procid").is_none(), "NILVALUE is no field");
        assert_eq!(
            f(&m)["structured_data"]["exampleSDID@32473"]["eventSource"],
            "Application"
        );
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2003-10-11T22:14:15.003+00:00"
        );
        let nil = p("<13>1 - - - - - -");
        assert_eq!(nil.timestamp, None, "no time: the received time is used");
        assert_eq!(nil.error, None);
    }

    #[test]
    fn rfc3164_shapes_real_senders_write() {
        // logger and systemd to /dev/log: no hostname, a tag with or without a pid.
        let m = p("<28>Jan  3 08:00:45 svc: hello unix");
        assert_eq!(f(&m)["appname"], "svc");
        assert!(f(&m).get("hostname").is_none(), "{m:?}");
        assert_eq!(m.message, "hello unix");
        let m = p("<30>Jan  3 07:00:00 myapp[123]: started");
        assert_eq!(f(&m)["appname"], "myapp");
        assert_eq!(f(&m)["procid"], "123");
        assert_eq!(m.message, "started");
        // rsyslog forwarding (traditional template).
        let m = p("<13>Jan  3 07:00:00 web1 nginx: GET / 200");
        assert_eq!(f(&m)["hostname"], "web1");
        assert_eq!(m.message, "GET / 200");
        // December received in January is last year's.
        let m = p("<13>Dec 31 23:59:59 web1 cron: x");
        assert_eq!(m.timestamp.unwrap().year(), 2025);
        // rsyslog's RFC 3339 form.
        let m = p("<14>2026-01-03T07:00:00.123456+00:00 host app[1]: hi");
        assert_eq!(f(&m)["hostname"], "host");
        assert_eq!(m.message, "hi");
    }

    #[test]
    fn cisco_ios() {
        let m =
            p("<189>123: *Jan  1 00:00:00.000: %SYS-5-CONFIG_I: Configured from console by vty0");
        assert_eq!(m.error, None);
        assert_eq!(f(&m)["facility"]["name"], "local7");
        assert_eq!(f(&m)["severity"]["name"], "notice");
        assert_eq!(
            m.message,
            "%SYS-5-CONFIG_I: Configured from console by vty0"
        );
        assert!(m.timestamp.is_some());
        let m = p("<189>52: Jan  1 00:01:02.123 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up");
        assert_eq!(
            m.message,
            "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up"
        );
        let m = p("<187>%LINK-3-UPDOWN: no sequence, no clock");
        assert_eq!(m.message, "%LINK-3-UPDOWN: no sequence, no clock");
        assert_eq!(m.timestamp, None);
    }

    #[test]
    fn anything_else_is_shipped_whole_with_an_error() {
        for s in ["garbage", "", "<", "<999>1 x", "<13", "Zoë <13>"] {
            let m = p(s);
            assert!(m.error.is_some(), "{s:?}: {m:?}");
            assert_eq!(m.message, s);
            assert!(m.syslog.is_none());
        }
        let m = parse(b"<13>Jan  3 07:00:00 h a: \xff\xfe bytes", now());
        assert!(m.message.contains('\u{fffd}'));
        let m = p("<13>Zoë is here now!");
        assert_eq!(f(&m)["severity"]["code"], 5, "{m:?}");
        assert_eq!(m.message, "Zoë is here now!");
    }
}
