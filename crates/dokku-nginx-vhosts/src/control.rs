//! Reloading nginx and knowing when the reload took effect. `nginx -s reload` only signals
//! the master: it reads the configuration again, starts new workers and tells the old ones
//! to finish, a few milliseconds later. Until then new connections still reach the old
//! configuration, so a command that returned right after the signal (a certificate added,
//! a challenge path routed) would race the reload. [`reload_and_wait`] returns once every
//! worker that served before the signal has stopped taking connections.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use dokku_core::cmd::{Cmd, Output};

/// The system's nginx configuration, which the root helper always uses.
pub const SYSTEM_NGINX_CONF: &str = "/etc/nginx/nginx.conf";

/// The exit code of a reload that was signalled but not seen to take effect in time
/// (`EX_TEMPFAIL`): the root helper's answer, and the nginx-vhosts plugin's reading of it.
pub const NOT_TAKEN: i32 = 75;
/// The exit code of a reload or stop with no nginx running (`EX_UNAVAILABLE`): its pid
/// file is missing, empty, or names a process that is gone.
pub const NOT_RUNNING: i32 = 69;

/// The pid file an nginx configuration names (`pid ...;`), else Debian's default.
pub fn pid_file(conf: &Path) -> PathBuf {
    let text = std::fs::read_to_string(conf).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("pid "))
        .filter_map(|rest| rest.trim().strip_suffix(';'))
        .map(|path| PathBuf::from(path.trim()))
        .next()
        .unwrap_or_else(|| PathBuf::from("/run/nginx.pid"))
}

/// The master's pid, when its pid file names a process that runs.
fn running_master(pid_file: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (pid > 0 && Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

/// Whether the nginx of this pid file runs.
pub fn is_running(pid_file: &Path) -> bool {
    running_master(pid_file).is_some()
}

/// The processes `master` started (its workers, serving or shutting down).
fn workers(master: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent(*pid) == Some(master))
        .collect()
}

/// The workers of `master` that still take connections (an old worker's title says it
/// is shutting down once it has stopped listening).
fn serving_workers(master: u32) -> Vec<u32> {
    workers(master)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|title| !String::from_utf8_lossy(&title).contains("shutting down"))
        })
        .collect()
}

/// The parent of `pid` (the fourth field of `/proc/<pid>/stat`, after the command name in
/// parentheses, which may itself hold spaces).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The workers of `master`, serving or shutting down, that started before `since_ms`
/// (milliseconds since the epoch).
fn workers_from_before(master: u32, since_ms: u64) -> Vec<u32> {
    workers(master)
        .into_iter()
        .filter(|pid| started_at_ms(*pid).is_some_and(|at| at < since_ms))
        .collect()
}

/// When `pid` started, in milliseconds since the epoch, to the 10 ms of the kernel's
/// clock ticks: `/proc/<pid>/stat` counts its start in ticks since boot (the twenty-second
/// field; the kernel reports them at 100 a second), `/proc/uptime` the time since boot now.
fn started_at_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let start_ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let uptime_ms = (uptime.split_whitespace().next()?.parse::<f64>().ok()? * 1000.0) as u64;
    let now_ms = dokku_core::time::now().as_millis() as u64;
    Some(now_ms.saturating_sub(uptime_ms.saturating_sub(start_ticks * 10)))
}

/// Waits until no worker of the nginx of `pid_file` that started before `since_ms` is
/// left, at most `limit`: an old worker exits once the requests it took have finished, so
/// then nothing the configuration of before sent anywhere is still in flight. True when
/// none is left (or no nginx of this pid file runs).
pub fn wait_old_workers_gone(pid_file: &Path, since_ms: u64, limit: Duration) -> bool {
    let started = Instant::now();
    loop {
        let Some(master) = running_master(pid_file) else {
            return true;
        };
        if workers_from_before(master, since_ms).is_empty() {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How long a reload may take to reach every worker before it counts as [`NOT_TAKEN`].
pub const RELOAD_LIMIT: Duration = Duration::from_secs(3);

/// Runs `quit` (an `nginx -s quit`) when the nginx of `pid_file` runs; otherwise the
/// answer is [`NOT_RUNNING`] without running it.
pub fn stop(quit: &Cmd, pid_file: &Path) -> Result<Output> {
    if !is_running(pid_file) {
        return Ok(Output {
            code: NOT_RUNNING,
            stdout: Vec::new(),
            stderr: Vec::new(),
        });
    }
    quit.output_unchecked()
}

/// Runs `reload` (an `nginx -s reload`), then waits, at most [`RELOAD_LIMIT`], until no worker from
/// before it takes connections and a new one does. The answer is the reload's output, its
/// code rewritten to [`NOT_TAKEN`] when the old workers still served at the limit, and to
/// [`NOT_RUNNING`] when the signal failed with no nginx running. With no master to watch
/// and a signal that succeeded (not an nginx of ours), the signal's answer stands.
pub fn reload_and_wait(reload: &Cmd, pid_file: &Path) -> Result<Output> {
    let before = running_master(pid_file).map(|m| (m, serving_workers(m)));
    let mut out = reload.output_unchecked()?;
    let Some((master, old)) = before else {
        if out.code != 0 {
            out.code = NOT_RUNNING;
        }
        return Ok(out);
    };
    if out.code != 0 {
        return Ok(out);
    }
    let started = Instant::now();
    loop {
        let now = serving_workers(master);
        if !now.is_empty() && now.iter().all(|pid| !old.contains(pid)) {
            return Ok(out);
        }
        if started.elapsed() > RELOAD_LIMIT {
            out.code = NOT_TAKEN;
            return Ok(out);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_file_is_the_configurations_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            "user www-data;\n  pid /tmp/x/nginx.pid;\nevents {}\n",
        )
        .expect("write");
        assert_eq!(pid_file(&conf), PathBuf::from("/tmp/x/nginx.pid"));
        std::fs::write(&conf, "events {}\n").expect("write");
        assert_eq!(pid_file(&conf), PathBuf::from("/run/nginx.pid"));
    }

    #[test]
    fn nginx_runs_only_when_its_pid_file_names_a_live_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("nginx.pid");
        assert!(!is_running(&pid_file), "no pid file");
        for stale in ["", "0", "not a pid", "4194303"] {
            std::fs::write(&pid_file, stale).expect("write");
            assert!(!is_running(&pid_file), "{stale:?}");
        }
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).expect("write");
        assert!(is_running(&pid_file));
    }

    #[test]
    fn a_process_start_time_is_read_from_proc() {
        let now = dokku_core::time::now().as_millis() as u64;
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let at = started_at_ms(child.id()).expect("its start");
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        assert!(at + 1000 > now && at < now + 1000, "{at} vs {now}");
        let me = started_at_ms(std::process::id()).expect("my start");
        assert!(me <= at, "a process started before its child");
    }

    #[test]
    fn a_process_parent_is_read_from_proc() {
        let me = std::process::id();
        let expected = std::os::unix::process::parent_id();
        assert_eq!(parent(me), Some(expected));
    }
}
