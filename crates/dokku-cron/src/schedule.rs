//! Cron schedules as cron reads them: five fields (minute, hour, day of month, month, day
//! of week) or a macro. Checked before a line reaches the crontab, where a bad one would
//! break the file for every app.

use anyhow::{Result, bail};

const MACROS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// The inclusive range of each field.
const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

pub fn check(schedule: &str) -> Result<()> {
    // cron splits fields on ASCII blanks only: another kind of space would make one field
    // of two here and a line cron refuses there.
    if !schedule
        .chars()
        .all(|c| c.is_ascii_graphic() || c == ' ' || c == '\t')
    {
        bail!("Invalid cron schedule {schedule:?}: ASCII fields separated by spaces");
    }
    if schedule.starts_with('@') {
        if MACROS.contains(&schedule) {
            return Ok(());
        }
        bail!(
            "Invalid cron schedule {schedule:?}: use five fields or one of {}",
            MACROS.join(", ")
        );
    }
    let fields: Vec<&str> = schedule
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() != 5 {
        bail!("Invalid cron schedule {schedule:?}: five fields (minute hour day month weekday)");
    }
    for (i, field) in fields.iter().enumerate() {
        if !field_ok(field, i) {
            bail!("Invalid cron schedule {schedule:?}: bad field {field:?}");
        }
    }
    Ok(())
}

fn field_ok(field: &str, index: usize) -> bool {
    field.split(',').all(|item| {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if step.is_some_and(|s| !s.parse::<u32>().is_ok_and(|n| n > 0)) {
            return false;
        }
        if range == "*" {
            return true;
        }
        let bounds: Vec<&str> = range.splitn(2, '-').collect();
        bounds.iter().all(|b| value_ok(b, index))
    })
}

fn value_ok(value: &str, index: usize) -> bool {
    let (low, high) = RANGES[index];
    if let Ok(n) = value.parse::<u32>() {
        return (low..=high).contains(&n);
    }
    let name = value.to_ascii_lowercase();
    match index {
        3 => MONTHS.contains(&name.as_str()),
        4 => DAYS.contains(&name.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked_as_cron_reads_them() {
        for good in [
            "* * * * *",
            "*/5 * * * *",
            "0 3 * * mon-fri",
            "15,45 1-5/2 1 jan,Jul 0",
            "@hourly",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "@reboot",
            "* * * * mon;rm",
            "a b c d e",
            // A no-break space: two fields to Unicode, one to cron.
            "*\u{a0}* * * *",
            "* * * * 1\u{2003}",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }
}
