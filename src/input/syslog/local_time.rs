//! Traditional syslog times (`Mar 29 02:30:00`: no year, no zone) read in the agent's time zone,
//! every one of them an instant. A wall-clock time inside a spring-forward gap (02:30 on the day
//! clocks go from 02:00 to 03:00) is no valid local time: a sender in another zone (a device
//! kept in UTC, say) writes such times for an hour a year. chrono gives nothing for them, which
//! made the line "not syslog" (shipped raw with `error.message`). They are read with the offset
//! in effect before the gap, so 02:30 is 03:30 after it, where java.time and Python's `zoneinfo`
//! put it too. A time in the autumn's repeated hour is its first occurrence (java.time's and
//! Python's choice too; until 2026-12-06 it was the second, as chrono's `earliest()` gives it).

use chrono::offset::LocalResult;
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, Offset, TimeZone};

/// `naive` on the agent's clock as an instant (never none for a valid date and time).
pub fn at(naive: &NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    match Local.from_local_datetime(naive) {
        LocalResult::Single(t) => Some(t.fixed_offset()),
        // The repeated hour: its first occurrence (chrono's `earliest()` gives the second
        // with the system's zone: it orders the two by offset, not by instant).
        LocalResult::Ambiguous(a, b) => Some(a.min(b).fixed_offset()),
        // In a gap: the offset of the day before (gaps last at most a day, and zones do not
        // change twice within one).
        LocalResult::None => {
            let before = naive.checked_sub_signed(chrono::Duration::days(1))?;
            let offset = Local.offset_from_local_datetime(&before).earliest()?.fix();
            offset.from_local_datetime(naive).single()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn valid_times_are_local_times() {
        let naive = NaiveDate::from_ymd_opt(2026, 7, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap();
        assert_eq!(
            at(&naive),
            Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.fixed_offset())
        );
    }
}
