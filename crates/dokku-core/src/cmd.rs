//! Child processes: an argv vector (never a shell), explicit env and stdin, a trace line
//! under `DOKKU_TRACE`, and failures that name the program, its status and its stderr.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::Error;
use crate::log;

/// The executable `name` in a directory of `PATH`, now (so that an environment given to
/// the program later never chooses which program it is).
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    crate::env::var("PATH").and_then(|path| {
        path.split(':')
            .map(|dir| std::path::Path::new(dir).join(name))
            .find(|candidate| crate::fs::is_executable(candidate))
    })
}

#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    env_clear: bool,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
    timeout: Option<Duration>,
}

/// What a captured run produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Everything the program said, stderr then stdout, as text (a tool's verdict, such as
    /// `nginx -t`'s, to pass on).
    pub fn words(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned() + &String::from_utf8_lossy(&self.stdout)
    }

    /// Stdout without the trailing newline, as a shell's `$(...)` gives it.
    pub fn stdout_trimmed(&self) -> String {
        self.stdout_str().trim_end_matches('\n').to_string()
    }
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            env_clear: false,
            stdin: None,
            dir: None,
            timeout: None,
        }
    }

    /// Kills the child (and the whole duct expression) once it has run this long; the run
    /// then fails with [`Error::TimedOut`].
    pub fn timeout(mut self, limit: Duration) -> Cmd {
        self.timeout = Some(limit);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.env_remove.push(key.as_ref().to_owned());
        self
    }

    /// The program gets no variable of this process's: only those given with [`Cmd::env`].
    pub fn env_clear(mut self) -> Cmd {
        self.env_clear = true;
        self
    }

    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    pub fn program_name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned()
    }

    fn describe(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| shell_words::quote(&a.to_string_lossy()).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn expression(&self) -> duct::Expression {
        log::trace(&self.describe());
        let mut expr = duct::cmd(&self.program, &self.args).unchecked();
        if self.env_clear {
            expr = expr.full_env(self.env.iter().cloned());
        }
        for (k, v) in &self.env {
            expr = expr.env(k, v);
        }
        for k in &self.env_remove {
            expr = expr.env_remove(k);
        }
        if let Some(bytes) = &self.stdin {
            expr = expr.stdin_bytes(bytes.clone());
        }
        if let Some(dir) = &self.dir {
            expr = expr.dir(dir);
        }
        expr
    }

    fn failed(&self, status: std::process::ExitStatus, stderr: &[u8]) -> Error {
        Error::CommandFailed {
            program: self.program_name(),
            status: status.to_string(),
            code: status.code(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }

    /// Captures stdout and stderr; a non-zero exit is a `CommandFailed` error.
    pub fn output(&self) -> Result<Output> {
        let out = self.output_unchecked()?;
        if out.code != 0 {
            let status = std::os::unix::process::ExitStatusExt::from_raw(out.code << 8);
            return Err(self.failed(status, &out.stderr).into());
        }
        Ok(out)
    }

    /// Captures stdout and stderr and returns whatever the exit code was.
    pub fn output_unchecked(&self) -> Result<Output> {
        let out = self.run(self.expression().stdout_capture().stderr_capture())?;
        Ok(Output {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// Captures stdout and stderr merged as the child wrote them (a container's output,
    /// both its streams in order); returns whatever the exit code was.
    pub fn output_merged(&self) -> Result<Output> {
        let out = self.run(self.expression().stderr_to_stdout().stdout_capture())?;
        Ok(Output {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: Vec::new(),
        })
    }

    /// Runs this command with its stdout fed to `next`'s stdin (`docker save | docker load`),
    /// capturing what `next` prints and both commands' errors; a failure of either (the
    /// last one's status, else the first's) is a `CommandFailed` error.
    pub fn pipe_into(&self, next: &Cmd) -> Result<Output> {
        let out = self
            .expression()
            .pipe(next.expression())
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .with_context(|| {
                format!("running {} | {}", self.program_name(), next.program_name())
            })?;
        if !out.status.success() {
            return Err(next.failed(out.status, &out.stderr).into());
        }
        Ok(Output {
            code: 0,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// Captures stdout only; stderr goes to the user. Returns the exit code with the output.
    pub fn stdout_unchecked(&self) -> Result<Output> {
        let out = self.run(self.expression().stdout_capture())?;
        Ok(Output {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: Vec::new(),
        })
    }

    /// Inherits stdout and stderr; returns the exit code.
    pub fn status(&self) -> Result<i32> {
        let out = self.run(self.expression())?;
        Ok(exit_code(out.status))
    }

    /// Runs the expression to its end, or kills it at the time limit.
    fn run(&self, expression: duct::Expression) -> Result<std::process::Output> {
        let running = || format!("running {}", self.program_name());
        let Some(limit) = self.timeout else {
            return expression.run().with_context(running);
        };
        let handle = expression.start().with_context(running)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(out) = handle.try_wait().with_context(running)? {
                return Ok(out.clone());
            }
            if started.elapsed() >= limit {
                let _ = handle.kill();
                return Err(Error::TimedOut {
                    program: self.program_name(),
                    seconds: limit.as_secs(),
                }
                .into());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Inherits stdout and stderr; a non-zero exit is `Error::Exit(code)` (the child spoke).
    pub fn stream(&self) -> Result<()> {
        match self.status()? {
            0 => Ok(()),
            code => Err(Error::Exit(code).into()),
        }
    }

    /// Runs with stdout and stderr merged and passed on line by line as they come, each
    /// line after `prefix` (docker's build output under a `----->` step). Returns the exit
    /// code. When our reader has gone (a pusher who disconnected), even while the child
    /// is silent, the child is killed and the run fails with [`Error::OutputClosed`], so
    /// nothing after it happens.
    pub fn stream_lines(&self, prefix: &str) -> Result<i32> {
        self.stream_mapped(|line| format!("{prefix}{line}"))
    }

    /// [`Cmd::stream_lines`] with each line rewritten by `map` (a log line gets its
    /// container's name after its timestamp).
    pub fn stream_mapped(&self, map: impl Fn(&str) -> String) -> Result<i32> {
        self.stream_filter_mapped(|line| Some(map(line)))
    }

    /// [`Cmd::stream_mapped`], leaving out the lines `map` gives nothing for.
    pub fn stream_filter_mapped(&self, map: impl Fn(&str) -> Option<String>) -> Result<i32> {
        use std::io::{BufRead, BufReader, Write};
        use std::os::fd::AsFd;
        use std::sync::atomic::{AtomicBool, Ordering};
        let running = || format!("running {}", self.program_name());
        let reader = self
            .expression()
            .stderr_to_stdout()
            .reader()
            .with_context(running)?;
        let (stop_watching, finished) = nix::unistd::pipe().context("creating a pipe")?;
        let closed = AtomicBool::new(false);
        let started = Instant::now();
        let read = std::thread::scope(|scope| {
            scope.spawn(|| {
                if stdout_reader_gone(stop_watching.as_fd()) {
                    closed.store(true, Ordering::Relaxed);
                    let _ = reader.kill();
                }
            });
            let result = (|| -> Result<()> {
                let mut lines = BufReader::new(&reader);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if lines.read_until(b'\n', &mut line).with_context(running)? == 0 {
                        return Ok(());
                    }
                    let text = String::from_utf8_lossy(&line);
                    let Some(shown) = map(text.trim_end_matches(['\n', '\r'])) else {
                        continue;
                    };
                    let mut stdout = std::io::stdout().lock();
                    let written = writeln!(stdout, "{shown}").and_then(|()| stdout.flush());
                    if written.is_err() {
                        closed.store(true, Ordering::Relaxed);
                        let _ = reader.kill();
                        return Ok(());
                    }
                    if let Some(limit) = self.timeout.filter(|l| started.elapsed() >= *l) {
                        let _ = reader.kill();
                        return Err(Error::TimedOut {
                            program: self.program_name(),
                            seconds: limit.as_secs(),
                        }
                        .into());
                    }
                }
            })();
            drop(finished);
            result
        });
        if closed.load(Ordering::Relaxed) {
            return Err(Error::OutputClosed.into());
        }
        read?;
        let status = reader.try_wait().with_context(running)?;
        Ok(status.map_or(1, |out| exit_code(out.status)))
    }

    /// The same command as a `std::process::Command` (stdin and stdout inherited).
    fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        for k in &self.env_remove {
            command.env_remove(k);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs with the caller's stdin in a process group of its own, its output relayed to
    /// ours, for as long as whoever reads our stdout is there. When they go (an SSH client
    /// that disconnected, seen as an error on our stdout even while everything is silent)
    /// while the child has processes of its own running (git's hook: the deploy), the
    /// group gets SIGTERM and the run fails with [`Error::OutputClosed`] — unless the deploy
    /// has passed its gate ([`crate::deploy_gate::DeployGate`]): then it completes, and its
    /// output, ours to relay, is dropped, so git still moves the branch. Either way this
    /// returns only once every process of the group has ended, so a lock the caller holds
    /// covers all of their cleanup.
    pub fn status_until_disconnected(&self) -> Result<i32> {
        use nix::sys::signal::{Signal, killpg};
        use std::os::fd::AsFd;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        log::trace(&self.describe());
        let gate = Arc::new(crate::deploy_gate::DeployGate::create()?);
        let mut command = self.std_command();
        command
            .process_group(0)
            .env(crate::deploy_gate::DEPLOY_GATE_ENV, gate.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("running {}", self.program_name()))?;
        let relays = [
            relay(
                child
                    .stdout
                    .take()
                    .map(|o| Box::new(o) as Box<dyn Read + Send>),
                true,
            ),
            relay(
                child
                    .stderr
                    .take()
                    .map(|e| Box::new(e) as Box<dyn Read + Send>),
                false,
            ),
        ];
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let (stop_watching, finished) = nix::unistd::pipe().context("creating a pipe")?;
        let closed = Arc::new(AtomicBool::new(false));
        {
            let closed = closed.clone();
            let gate = gate.clone();
            std::thread::spawn(move || {
                while stdout_reader_gone(stop_watching.as_fd()) {
                    // A reader who leaves between the child's steps (a git client that
                    // read its last report) is no reason to stop it; only work the child
                    // runs for it (a push's hook, the deploy) is stopped, and only until
                    // the deploy passed its gate.
                    if group_has_children(group) {
                        let stopped = gate.stop_unless_committed(|| {
                            let _ = killpg(group, Signal::SIGTERM);
                        });
                        closed.store(stopped, Ordering::Relaxed);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
        let status = child.wait();
        drop(finished);
        let started = Instant::now();
        while killpg(group, None).is_ok() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = killpg(group, Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for relay in relays.into_iter().flatten() {
            let _ = relay.join();
        }
        let code = exit_code(status?);
        if closed.load(Ordering::Relaxed) {
            return Err(Error::OutputClosed.into());
        }
        Ok(code)
    }

    /// Starts the command and hands back its stdout to read as it comes (a stream of
    /// events); stderr passes through. The child is killed when the reader is dropped.
    pub fn reader(&self) -> Result<duct::ReaderHandle> {
        self.expression()
            .stdin_null()
            .reader()
            .with_context(|| format!("running {}", self.program_name()))
    }

    /// Starts the command in a process group of its own with no stdin or output, and does
    /// not wait: work that outlives the command that started it (retiring old containers
    /// after a deploy) and must neither hold a pusher's session open nor be stopped with
    /// the push.
    pub fn spawn_detached(&self) -> Result<()> {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        log::trace(&self.describe());
        // A process that outlives this one holds nothing this one was handed (a test
        // runner's output pipe, a caller's lock): whoever waits on those is not kept waiting.
        close_inherited_on_exec();
        self.std_command()
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.program_name()))?;
        Ok(())
    }

    /// Replaces this process with the command (the exit code passes straight through).
    pub fn exec_replace(&self) -> Result<std::convert::Infallible> {
        use std::os::unix::process::CommandExt;
        log::trace(&self.describe());
        let mut command = self.std_command();
        let err = command.exec();
        Err(err).with_context(|| format!("executing {}", Path::new(&self.program).display()))
    }
}

/// Marks every descriptor above stderr close-on-exec (those this process inherited; its
/// own are opened that way already).
fn close_inherited_on_exec() {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    }
}

/// Whether the process group `group` holds a process besides its leader (on Linux, from
/// `/proc/<pid>/stat`, whose fifth field is the process group).
fn group_has_children(group: nix::unistd::Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            return false;
        };
        if pid == group.as_raw() {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse::<i32>().ok())
            == Some(group.as_raw())
    })
}

/// Copies a child's output to ours (stdout, or stderr) as it comes; once ours is gone the
/// rest is read and dropped, so the child never writes into a closed pipe.
fn relay(
    from: Option<Box<dyn Read + Send>>,
    to_stdout: bool,
) -> Option<std::thread::JoinHandle<()>> {
    let mut from = from?;
    Some(std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        let mut gone = false;
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if gone {
                continue;
            }
            let written = if to_stdout {
                let mut out = std::io::stdout().lock();
                out.write_all(&buffer[..n]).and_then(|()| out.flush())
            } else {
                let mut out = std::io::stderr().lock();
                out.write_all(&buffer[..n]).and_then(|()| out.flush())
            };
            gone = written.is_err();
        }
    }))
}

/// Waits until our stdout is a pipe whose reading end has closed (poll reports an error
/// on it: true) or until `stop` is readable or closed by its writer (false). A terminal or
/// a file as stdout never reports an error, so then only `stop` ends the wait.
fn stdout_reader_gone(stop: std::os::fd::BorrowedFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    loop {
        let mut fds = [
            PollFd::new(stdout.as_fd(), PollFlags::empty()),
            PollFd::new(stop, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                    return false;
                }
                if fds[0]
                    .revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP))
                {
                    return true;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// The shell's convention: a signal becomes 128 + its number.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Variables git sets for hooks; a git run on another repository must not inherit them.
const GIT_HOOK_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PUSH_OPTION_COUNT",
];

/// `git`, without the variables of a hook this process may run in (a push runs the
/// build inside git's pre-receive hook), and never asking for a password.
pub fn git() -> Cmd {
    let mut cmd = Cmd::new("git").env("GIT_TERMINAL_PROMPT", "0");
    for var in GIT_HOOK_VARS {
        cmd = cmd.env_remove(var);
    }
    cmd
}

/// The output of several streams (`docker logs` of each container): one after another,
/// or with `follow` all at once until the reader goes, the first failure the answer.
pub fn show_streams<T: Sync>(
    items: &[T],
    follow: bool,
    show: impl Fn(&T) -> Result<i32> + Sync,
) -> Result<()> {
    if !follow {
        for item in items {
            show(item)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let followers: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(|| show(item)))
            .collect();
        for follower in followers {
            if let Ok(Err(err)) = follower.join() {
                return Err(err);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_captures_and_feeds_stdin() {
        let out = Cmd::new("cat")
            .stdin_bytes(b"a b\n".to_vec())
            .output()
            .unwrap();
        assert_eq!(out.stdout_trimmed(), "a b");
    }

    #[test]
    fn a_pipe_feeds_one_into_the_next_and_fails_when_either_does() {
        let out = Cmd::new("printf")
            .arg("one\ntwo\n")
            .pipe_into(&Cmd::new("wc").arg("-l"))
            .unwrap();
        assert_eq!(out.stdout_trimmed(), "2");
        let first_fails = Cmd::new("sh")
            .args(["-c", "echo half; exit 4"])
            .pipe_into(&Cmd::new("cat"));
        assert!(first_fails.is_err());
        let next_fails = Cmd::new("echo")
            .arg("x")
            .pipe_into(&Cmd::new("sh").args(["-c", "cat >/dev/null; echo no >&2; exit 5"]));
        assert!(format!("{:#}", next_fails.unwrap_err()).contains("no"));
    }

    #[test]
    fn failure_names_program_and_stderr() {
        let err = Cmd::new("sh")
            .args(["-c", "echo boom >&2; exit 3"])
            .output()
            .unwrap_err();
        let Some(Error::CommandFailed {
            program,
            code,
            stderr,
            ..
        }) = err.downcast_ref()
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(
            (program.as_str(), *code, stderr.as_str()),
            ("sh", Some(3), "boom\n")
        );
    }

    #[test]
    fn a_child_past_its_time_limit_is_killed() {
        let started = Instant::now();
        let err = Cmd::new("sleep")
            .arg("30")
            .timeout(Duration::from_millis(200))
            .output()
            .unwrap_err();
        assert!(
            matches!(err.downcast_ref(), Some(Error::TimedOut { program, .. }) if program == "sleep"),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let quick = Cmd::new("true").timeout(Duration::from_secs(10)).status();
        assert_eq!(quick.unwrap(), 0);
    }

    #[test]
    fn stream_lines_merges_both_streams_and_reports_the_code() {
        let code = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 4"])
            .stream_lines("       ")
            .unwrap();
        assert_eq!(code, 4);
    }

    #[test]
    fn stream_lines_stops_a_silent_child_when_its_reader_goes() {
        // Run in a child of this test binary, whose stdout becomes a pipe nobody reads.
        if std::env::var("DOKKU_STREAM_PROBE").is_ok() {
            let (read, write) = nix::unistd::pipe().unwrap();
            drop(read);
            nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&write), 1).unwrap();
            let started = Instant::now();
            let err = Cmd::new("sleep").arg("30").stream_lines("").unwrap_err();
            let stopped = matches!(err.downcast_ref(), Some(Error::OutputClosed))
                && started.elapsed() < Duration::from_secs(10);
            std::process::exit(if stopped { 42 } else { 1 });
        }
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cmd::tests::stream_lines_stops_a_silent_child_when_its_reader_goes",
            ])
            .env("DOKKU_STREAM_PROBE", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(42));
    }

    #[test]
    fn arguments_are_never_shell_evaluated() {
        let out = Cmd::new("echo").arg("$(id); `id`").output().unwrap();
        assert_eq!(out.stdout_trimmed(), "$(id); `id`");
    }
}
