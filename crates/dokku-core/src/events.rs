//! The event log (`events:on`): while `DOKKU_EVENTS` is set, every trigger call is a line
//! in `$DOKKU_LOGS_DIR/events.log`, as Dokku's syslog filter writes them
//! (`Dec  3 09:30:12 HOST dokku-event[PID]: INVOKED: TRIGGER( ARGS ) NAME=...`). The
//! trigger runner writes the line itself: no process per trigger call.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::env::{self, Roots};

/// Set (by `events:on`, through `$DOKKU_ROOT/.dokkurc`) while events are logged.
pub const DOKKU_EVENTS: &str = "DOKKU_EVENTS";

pub fn enabled() -> bool {
    env::var(DOKKU_EVENTS).is_some()
}

/// `$DOKKU_LOGS_DIR/events.log`.
pub fn log_path(roots: &Roots) -> std::path::PathBuf {
    roots.logs_dir.join("events.log")
}

/// The call of trigger `name` with `args`, when events are logged.
pub fn trigger_called(roots: &Roots, name: &str, args: &[std::ffi::OsString]) {
    if !enabled() {
        return;
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let who = |key: &str| env::var(key).unwrap_or_default();
    record(
        roots,
        &format!(
            "INVOKED: {name}( {} ) NAME={} FINGERPRINT={} DOKKU_PID={}",
            args.join(" "),
            who(env::NAME),
            who(env::FINGERPRINT),
            who("DOKKU_PID"),
        ),
    );
}

/// Appends `message` to the event log, if there is one: a regular file, opened without
/// following a link or waiting on a pipe (the log's directory is the dokku group's).
pub fn record(roots: &Roots, message: &str) {
    let opened = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc_flags())
        .open(log_path(roots));
    let Ok(mut file) = opened else {
        return;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return;
    }
    let line = format!(
        "{} {} dokku-event[{}]: {}\n",
        syslog_time(crate::time::now().as_secs()),
        hostname(),
        std::process::id(),
        message.replace('\n', " ")
    );
    let _ = file.write_all(line.as_bytes());
}

fn libc_flags() -> i32 {
    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// `Dec  3 09:30:12`, syslog's time of a line (UTC).
fn syslog_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = crate::time::utc(secs);
    let month: usize = text[5..7].parse().unwrap_or(1);
    let day: u32 = text[8..10].parse().unwrap_or(1);
    format!(
        "{} {day:>2} {}",
        MONTHS[month.clamp(1, 12) - 1],
        &text[11..19]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_syslog_writes_them() {
        assert_eq!(syslog_time(1_796_023_525), "Nov 30 07:25:25");
        assert_eq!(syslog_time(1_796_284_800), "Dec  3 08:00:00");
    }

    #[test]
    fn a_link_in_place_of_the_log_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        std::fs::create_dir_all(&roots.logs_dir).unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, log_path(&roots)).unwrap();
        record(&roots, "x");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
        std::fs::remove_file(log_path(&roots)).unwrap();
        std::fs::write(log_path(&roots), "").unwrap();
        record(&roots, "hello\nworld");
        let logged = std::fs::read_to_string(log_path(&roots)).unwrap();
        assert!(logged.ends_with("]: hello world\n"), "{logged}");
        assert!(logged.contains(" dokku-event["), "{logged}");
    }
}
