//! A build's record and output, for `builds:list`, `builds:output` and `builds:cancel`:
//! the command that takes an app's deploy lock to build or deploy it begins a recording
//! (a build id, `builds-record-start APP ID PID SOURCE`, the log
//! `data/builds/<app>/<id>.log`), and ends it with its exit code
//! (`builds-record-finalize APP ID CODE`). The processes it starts inherit the id
//! ([`BUILD_ID`]) and add to that recording rather than begin their own. The builds plugin
//! keeps the records; a recording that cannot be made never stops a deploy.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::entry::Ctx;
use crate::log;

/// The build id of the recording the process runs in.
pub const BUILD_ID: &str = "DOKKU_BUILD_ID";
/// What began it (`git-hook`, `ps:rebuild`, `deploy`, ...).
pub const BUILD_SOURCE: &str = "DOKKU_BUILD_SOURCE";

/// How long the end of a recording waits for the output already written to reach the
/// terminal and the log (a background process that kept the output open is not waited
/// for).
const DRAIN: Duration = Duration::from_secs(2);

/// A build id: the milliseconds since the epoch and six random characters, in base 36,
/// so that ids sort by the time they were made.
pub fn new_id() -> String {
    let millis = u64::try_from(crate::time::now().as_millis()).unwrap_or(u64::MAX);
    let mut random = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let noise = match read {
        Ok(()) => u64::from_le_bytes(random),
        Err(_) => u64::from(crate::time::now().subsec_nanos()) ^ u64::from(std::process::id()),
    };
    format!(
        "{:0>8}{:0>6}",
        base36(millis % 36u64.pow(8)),
        base36(noise % 36u64.pow(6))
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// One build's recording, ended by [`Recording::finish`] (or, dropped unfinished, as a
/// failure).
pub struct Recording {
    ctx: Ctx,
    app: String,
    id: String,
    tee: Option<Tee>,
    finished: bool,
    exported: bool,
}

impl Recording {
    /// Begins recording the build or deploy of `app` that `source` started, unless this
    /// process runs inside a recording already (its parent's). `None` as well when the
    /// record cannot be written: that is said, and the deploy goes on.
    pub fn begin(ctx: &Ctx, app: &str, source: &str) -> Option<Recording> {
        if crate::env::var(BUILD_ID).is_some_and(|id| !id.is_empty()) {
            return None;
        }
        let id = new_id();
        let started = std::fs::create_dir_all(ctx.roots.data_dir("builds", app))
            .and_then(|()| std::fs::File::create(log_path(ctx, app, &id)))
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                ctx.trigger("builds-record-start")
                    .args([app, &id, &std::process::id().to_string(), source])
                    .stdin(Vec::new())
                    .stream()
            });
        if let Err(err) = started {
            log::warn(&format!("The build of {app} is not recorded: {err:#}"));
            return None;
        }
        Some(Recording {
            ctx: ctx.clone(),
            app: app.to_string(),
            id,
            tee: None,
            finished: false,
            exported: false,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The processes this one starts from now on run inside this recording. Call it while
    /// single-threaded; with several recordings at once, pass [`Recording::id`] to each
    /// child instead.
    pub fn share_with_children(&mut self, source: &str) {
        crate::env::set_early(BUILD_ID, &self.id);
        crate::env::set_early(BUILD_SOURCE, source);
        self.exported = true;
    }

    /// Everything this process and its children write on stdout and stderr from now on
    /// also goes to the build's log. Only for a process recording one build.
    pub fn tee_output(&mut self) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(log_path(&self.ctx, &self.app, &self.id))
            .map_err(anyhow::Error::from)
            .and_then(Tee::start);
        match log {
            Ok(tee) => self.tee = Some(tee),
            Err(err) => log::warn(&format!("The build's output is not logged: {err:#}")),
        }
    }

    /// Ends the recording with the outcome of the work.
    pub fn finish<T>(mut self, outcome: &Result<T>) {
        let code = match outcome {
            Ok(_) => 0,
            Err(err) => match err.downcast_ref::<crate::Error>() {
                Some(crate::Error::Exit(code)) if *code != 0 => *code,
                _ => 1,
            },
        };
        self.end(code);
    }

    fn end(&mut self, code: i32) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(tee) = self.tee.take() {
            tee.stop();
        }
        if self.exported {
            crate::env::remove_early(BUILD_ID);
            crate::env::remove_early(BUILD_SOURCE);
        }
        let finalized = self
            .ctx
            .trigger("builds-record-finalize")
            .args([self.app.as_str(), &self.id, &code.to_string()])
            .stdin(Vec::new())
            .stream();
        if let Err(err) = finalized {
            log::warn(&format!(
                "The build record of {} was not finished: {err:#}",
                self.app
            ));
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.end(1);
    }
}

/// `data/builds/<app>/<id>.log`.
pub fn log_path(ctx: &Ctx, app: &str, id: &str) -> std::path::PathBuf {
    ctx.roots.data_dir("builds", app).join(format!("{id}.log"))
}

/// stdout and stderr (file descriptors 1 and 2, so children's output too) through pipes
/// whose readers copy everything to where the streams went before and to the log.
struct Tee {
    saved: Vec<(i32, OwnedFd)>,
    drained: mpsc::Receiver<()>,
}

impl Tee {
    fn start(log: std::fs::File) -> Result<Tee> {
        let log = Arc::new(Mutex::new(log));
        let (done, drained) = mpsc::channel();
        let mut saved = Vec::new();
        flush_std();
        for fd in [1, 2] {
            let original = owned(nix::unistd::dup(fd).context("saving the output")?);
            let (read, write) = nix::unistd::pipe().context("making the output's pipe")?;
            let to = std::fs::File::from(original.try_clone()?);
            nix::unistd::dup2(write.as_raw_fd(), fd).context("redirecting the output")?;
            drop(write);
            saved.push((fd, original));
            let (log, done) = (log.clone(), done.clone());
            std::thread::spawn(move || {
                copy_to_both(std::fs::File::from(read), to, &log);
                let _ = done.send(());
            });
        }
        Ok(Tee { saved, drained })
    }

    /// Puts the streams back; the readers finish once every writer closed its end.
    fn stop(self) {
        flush_std();
        for (fd, original) in &self.saved {
            let _ = nix::unistd::dup2(original.as_raw_fd(), *fd);
        }
        let deadline = std::time::Instant::now() + DRAIN;
        for _ in &self.saved {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if self.drained.recv_timeout(left).is_err() {
                break;
            }
        }
    }
}

#[allow(unsafe_code)]
fn owned(fd: std::os::fd::RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by dup(2) and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn flush_std() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// Copies until the pipe closes; a terminal that went away (the pusher disconnected) no
/// longer gets the output, the log still does.
fn copy_to_both(mut from: std::fs::File, mut to: std::fs::File, log: &Mutex<std::fs::File>) {
    let mut buffer = [0u8; 8192];
    let mut terminal = true;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if terminal && to.write_all(&buffer[..n]).is_err() {
            terminal = false;
        }
        if let Ok(mut log) = log.lock() {
            let _ = log.write_all(&buffer[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fourteen_base36_characters_that_sort_by_time() {
        let first = new_id();
        std::thread::sleep(Duration::from_millis(3));
        let second = new_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 14, "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
            );
        }
        assert!(first[..8] < second[..8], "{first} {second}");
    }

    #[test]
    fn base36_digits() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
