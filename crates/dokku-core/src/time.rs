//! Wall-clock time: now, and seconds since the epoch written as UTC dates (no time zone
//! database is needed for UTC, so no crate is pulled in for it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time since the Unix epoch (zero on a clock set before it).
pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// `2026-11-29 07:35:25 UTC`.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `2026-11-29T07:35:25Z` (RFC 3339).
pub fn rfc3339(secs: u64) -> String {
    let text = utc(secs);
    format!("{}T{}Z", &text[..10], &text[11..19])
}

/// The proleptic Gregorian date `days` after 1970-01-01, by counting 400-year eras of
/// 146,097 days from 0000-03-01 (March first puts the leap day at the end of a year).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_023_525), "2026-11-30 07:25:25 UTC");
        assert_eq!(utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
        assert_eq!(rfc3339(1_796_023_525), "2026-11-30T07:25:25Z");
    }
}
