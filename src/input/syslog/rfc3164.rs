//! RFC 3164 ("BSD") syslog lines as rsyslog writes them to /var/log/syslog and /var/log/messages:
//! `[<PRI>]TIMESTAMP HOSTNAME TAG[PID]: MESSAGE`, where TIMESTAMP is the traditional
//! `Mmm dd hh:mm:ss` (no year, no zone: the current year and the host's zone are assumed, and a
//! date more than a week ahead is taken as last year's, for December lines read in January) or
//! the RFC 3339 high-precision form rsyslog uses by default on current Debian.

use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDate};

#[derive(Debug, PartialEq)]
pub struct Parsed<'a> {
    pub pri: Option<u8>,
    pub timestamp: DateTime<FixedOffset>,
    pub hostname: &'a str,
    pub appname: Option<&'a str>,
    pub procid: Option<&'a str>,
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

pub const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Parses one line; `now` fixes the year of traditional timestamps. None when the line does not
/// start like a syslog line.
pub fn parse(line: &str, now: DateTime<Local>) -> Option<Parsed<'_>> {
    let (pri, rest) = parse_pri(line)?;
    let (timestamp, rest) = parse_rfc3339(rest).or_else(|| parse_traditional(rest, now))?;
    let rest = rest.strip_prefix(' ')?;
    let (hostname, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if hostname.is_empty() {
        return None;
    }
    let (appname, procid, message) = parse_tag(rest);
    Some(Parsed {
        pri,
        timestamp,
        hostname,
        appname,
        procid,
        message,
    })
}

pub(crate) fn parse_pri(line: &str) -> Option<(Option<u8>, &str)> {
    let Some(rest) = line.strip_prefix('<') else {
        return Some((None, line));
    };
    let (num, rest) = rest.split_once('>')?;
    let pri: u8 = num.parse().ok().filter(|p| *p < 192)?;
    Some((Some(pri), rest))
}

fn parse_rfc3339(s: &str) -> Option<(DateTime<FixedOffset>, &str)> {
    let end = s.find(' ').unwrap_or(s.len());
    let (first, rest) = s.split_at(end);
    if first.len() < 20 || !first.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let t = DateTime::parse_from_rfc3339(first).ok()?;
    Some((t, rest))
}

pub(crate) fn parse_traditional(
    s: &str,
    now: DateTime<Local>,
) -> Option<(DateTime<FixedOffset>, &str)> {
    // "Nov 24 15:17:28" or "Nov  4 15:17:28": 15 ASCII bytes. Every slice below is taken with
    // `get`, so a multibyte character anywhere in them makes the line "not syslog", never a panic.
    let head = s.get(..15).filter(|h| h.is_ascii())?;
    let month = MONTHS.iter().position(|m| Some(*m) == head.get(..3))? as u32 + 1;
    let b = head.as_bytes();
    if b.get(3) != Some(&b' ')
        || b.get(6) != Some(&b' ')
        || b.get(9) != Some(&b':')
        || b.get(12) != Some(&b':')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| head.get(r)?.trim_start().parse::<u32>().ok();
    let (day, hh, mm, ss) = (num(4..6)?, num(7..9)?, num(10..12)?, num(13..15)?);
    let at = |year: i32| {
        let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hh, mm, ss)?;
        super::local_time::at(&naive)
    };
    let mut t = at(now.year())?;
    if t > now + chrono::Duration::days(7) {
        t = at(now.year() - 1)?;
    }
    Some((t, s.get(15..)?))
}

/// `app[123]: msg`, `app: msg`, or no tag at all.
fn parse_tag(s: &str) -> (Option<&str>, Option<&str>, &str) {
    let (tag, after) = s.split_at(s.find(' ').unwrap_or(s.len()));
    let Some(tag) = tag.strip_suffix(':') else {
        return (None, None, s);
    };
    let msg = after.strip_prefix(' ').unwrap_or(after);
    match tag.split_once('[') {
        Some((app, pid)) => match pid.strip_suffix(']') {
            Some(pid) if !app.is_empty() => (Some(app), Some(pid), msg),
            _ => (Some(tag), None, msg),
        },
        None if !tag.is_empty() => (Some(tag), None, msg),
        None => (None, None, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    #[test]
    fn traditional_line() {
        let p = parse(
            "Nov 24 10:00:01 node-1 sshd[812]: Accepted key for root",
            now(),
        )
        .unwrap();
        assert_eq!(p.hostname, "node-1");
        assert_eq!(p.appname, Some("sshd"));
        assert_eq!(p.procid, Some("812"));
        assert_eq!(p.message, "Accepted key for root");
        let local = p.timestamp.with_timezone(&Local);
        assert_eq!((local.year(), local.month(), local.day()), (2026, 11, 24));
        assert_eq!(p.pri, None);
    }

    #[test]
    fn december_line_read_in_january_is_last_year() {
        let jan = Local.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap();
        let p = parse("Dec 31 23:59:59 h kernel: x", jan).unwrap();
        assert_eq!(p.timestamp.with_timezone(&Local).year(), 2026);
    }

    #[test]
    fn high_precision_and_pri() {
        let p = parse(
            "<86>2026-11-24T15:17:28.123456+01:00 web CRON: (root) CMD (true)",
            now(),
        )
        .unwrap();
        assert_eq!(p.pri, Some(86));
        assert_eq!(p.appname, Some("CRON"));
        assert_eq!(p.procid, None);
        assert_eq!(p.message, "(root) CMD (true)");
        assert_eq!(p.timestamp.to_rfc3339(), "2026-11-24T15:17:28.123456+01:00");
    }

    #[test]
    fn space_padded_day_and_no_tag() {
        let p = parse("Nov  4 01:02:03 host just text here", now()).unwrap();
        assert_eq!(p.appname, None);
        assert_eq!(p.message, "just text here");
    }

    #[test]
    fn multibyte_characters_where_the_parser_slices() {
        // Regression: `Zoë is here now!` panicked (a byte slice inside `ë`).
        for line in [
            "Zoë is here now!",
            "Noë 24 10:00:01 h a: b",
            "Nov 2ë 10:00:01 h a: b",
            "Nov 24 10:00:0ë h a: b",
            "Nov 24 10:00:01ë h a: b",
            "<13>ëëëëëëëëëëëëëëëëëëëë",
            "2026-11-24T15:17:28.123456ë+01:00 h a: b",
            "Nov 24 10:00:01 hé ap²p[1ë]: mé",
        ] {
            let _ = parse(line, now());
        }
        let p = parse("Nov 24 10:00:01 hé ap²p[1ë]: mé", now()).unwrap();
        assert_eq!(
            (p.hostname, p.appname, p.procid, p.message),
            ("hé", Some("ap²p"), Some("1ë"), "mé")
        );
        assert!(parse("Zoë is here now!", now()).is_none());
    }

    #[test]
    fn not_syslog() {
        assert!(parse("hello world", now()).is_none());
        assert!(parse("<999>Nov 24 10:00:01 h a: b", now()).is_none());
        assert!(parse("", now()).is_none());
    }
}
