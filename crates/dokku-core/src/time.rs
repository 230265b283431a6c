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

/// A one-off container's time to live (`--ttl-seconds`): a positive number of seconds,
/// at most 30 days, with Dokku's words for anything else.
pub fn ttl_seconds(text: &str) -> std::result::Result<u64, String> {
    match text.parse::<i64>() {
        Ok(n) if n <= 0 => Err("--ttl-seconds must be a positive integer".into()),
        Ok(n) if n > 30 * 86_400 => Err("--ttl-seconds must be at most 2592000 (30 days)".into()),
        Ok(n) => Ok(n as u64),
        Err(_) => Err("--ttl-seconds must be a positive integer".into()),
    }
}

/// Seconds since the epoch of `2031-11-29 10:00:00` or `2031-11-29T10:00:00Z` (UTC), the
/// forms [`utc`], [`rfc3339`] and `openssl x509 -dateopt iso_8601` write; a fraction of a
/// second (`10:00:00.25Z`, as Go writes times) is dropped.
pub fn parse_utc(text: &str) -> Option<u64> {
    let text = text
        .trim()
        .trim_end_matches(['Z', 'z'])
        .trim_end_matches(" UTC");
    let text = match text.rsplit_once('.') {
        Some((whole, fraction)) if fraction.chars().all(|c| c.is_ascii_digit()) => whole,
        _ => text,
    };
    let (date, clock) = text.split_once([' ', 'T'])?;
    let number = |s: &str| s.parse::<i64>().ok();
    let date: Vec<i64> = date.split('-').map(number).collect::<Option<_>>()?;
    let clock: Vec<i64> = clock.split(':').map(number).collect::<Option<_>>()?;
    let (&[year, month, day], &[hour, minute, second]) = (date.as_slice(), clock.as_slice()) else {
        return None;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days since 1970-01-01, counted as `civil_date` counts them (years from March).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
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
    fn ttl_seconds_are_positive_and_bounded() {
        assert_eq!(ttl_seconds("1"), Ok(1));
        assert_eq!(ttl_seconds("86400"), Ok(86_400));
        for bad in ["0", "-1", "x", "", "1.5"] {
            assert_eq!(
                ttl_seconds(bad).unwrap_err(),
                "--ttl-seconds must be a positive integer",
                "{bad}"
            );
        }
        assert!(ttl_seconds("2592001").is_err());
    }

    #[test]
    fn written_dates_read_back() {
        for secs in [0, 951_782_400, 1_796_023_525, 4_102_444_799] {
            assert_eq!(parse_utc(&utc(secs)), Some(secs));
            assert_eq!(parse_utc(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(parse_utc("2026-11-30 07:25:25Z"), Some(1_796_023_525));
        assert_eq!(
            parse_utc("2026-11-30T07:25:25.123456789Z"),
            Some(1_796_023_525)
        );
        assert_eq!(parse_utc("2026-13-01 00:00:00"), None);
        assert_eq!(parse_utc("Nov 30 07:25:25 2026 GMT"), None);
    }

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_023_525), "2026-11-30 07:25:25 UTC");
        assert_eq!(utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
        assert_eq!(rfc3339(1_796_023_525), "2026-11-30T07:25:25Z");
    }
}
