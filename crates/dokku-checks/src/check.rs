//! `check-deploy`: is a freshly started container ready for traffic? First the default
//! check (running and, for web, accepting connections on its port: polled, never a fixed
//! sleep), then the healthchecks the app declares (app.json, else a legacy CHECKS file for
//! web). `checks:run` runs the same against the containers in place.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::formation::Dyno;
use dokku_core::{docker, log};

use crate::healthcheck::{self, Container, Healthcheck, Target};
use crate::lists::{self, List};

/// How long a web container has to accept connections on its port.
const WEB_READY_WITHIN: Duration = Duration::from_secs(60);
/// How long any other process must keep running to count as started: a process that
/// cannot start (a missing binary, a bad config) exits within that, and a longer wait
/// would slow every deploy for nothing (Dokku waits 10 s).
const SETTLE_TIME: Duration = Duration::from_secs(1);

/// The legacy CHECKS file of the app's current release.
pub const CHECKS_FILE: &str = "CHECKS";

/// `check-deploy APP CID PROC_TYPE PORT IP [INDEX]`.
pub fn check_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some([app, container, kind, port, ip]) = args.get(..5) else {
        bail!("check-deploy: expected APP CONTAINER_ID PROC_TYPE PORT IP [INDEX]");
    };
    let dyno = Dyno {
        app,
        container,
        kind,
        index: args.get(5).map_or("1", String::as_str),
        port,
        ip,
    };
    run(ctx, &dyno)
}

/// Runs every check of one container; a skipped or disabled process type has none.
pub fn run(ctx: &Ctx, dyno: &Dyno) -> Result<()> {
    let name = format!("{}.{}", dyno.kind, dyno.index);
    for list in [List::Skipped, List::Disabled] {
        if lists::get(ctx, dyno.app, list)?.includes(dyno.kind) {
            log::info2(&format!(
                "Zero downtime checks for {} have been skipped ({name})",
                dyno.app
            ));
            return Ok(());
        }
    }
    let port: Option<u16> = match dyno.port {
        "" => None,
        text => Some(text.parse().with_context(|| format!("the port {text:?}"))?),
    };
    ready(dyno.container, dyno.kind, dyno.ip, port)?;
    let checks = declared(ctx, dyno.app, dyno.kind)?;
    if checks.is_empty() {
        return Ok(());
    }
    let host = first_domain(ctx, dyno.app)?.unwrap_or_else(|| dyno.ip.to_string());
    let container = Process {
        ctx,
        app: dyno.app,
        id: dyno.container,
    };
    let target = Target {
        container: &container,
        ip: dyno.ip,
        port,
        host: &host,
    };
    for check in &checks {
        log::verbose(&format!("Running healthcheck: {} ({name})", check.label()));
        check
            .run(&target, &mut |line| log::verbose(line))
            .with_context(|| format!("the healthcheck {} failed", check.label()))?;
    }
    Ok(())
}

/// The default check: still running, never restarted, and for web, its port accepts a
/// connection (at most [`WEB_READY_WITHIN`]); other processes must stay up for
/// [`SETTLE_TIME`]. Meanwhile the port listening check (Dokku's name and parameters) looks
/// at the ports the web process listens on: listening on other ports only, at each of
/// [`Listening::ATTEMPTS`] looks [`Listening::WAIT`] seconds apart, fails the deploy (it will
/// not be reachable); listening on nothing at all by the end is let through with a warning,
/// as Dokku's listening check only warns (a web process may serve nothing).
fn ready(container: &str, kind: &str, ip: &str, port: Option<u16>) -> Result<()> {
    let started = Instant::now();
    let web_port = port.filter(|_| kind == "web");
    let limit = if web_port.is_some() {
        WEB_READY_WITHIN
    } else {
        SETTLE_TIME
    };
    if let Some(port) = web_port {
        log::verbose(&format!(
            "Running healthcheck name='port listening check' attempts={} port={port} retries={} timeout={} type='listening' wait={}",
            Listening::ATTEMPTS,
            Listening::ATTEMPTS - 1,
            Listening::TIMEOUT.as_secs(),
            Listening::WAIT.as_secs()
        ));
    }
    let mut elsewhere = Listening::default();
    loop {
        let state = State::of(container)?;
        if !state.running {
            bail!("the container exited with code {}", state.exit_code);
        }
        match web_port {
            Some(port) => {
                let ip = if ip.is_empty() { "127.0.0.1" } else { ip };
                let address: SocketAddr = format!("{ip}:{port}")
                    .parse()
                    .with_context(|| format!("the address {ip}:{port}"))?;
                if TcpStream::connect_timeout(&address, Listening::TIMEOUT).is_ok() {
                    return Ok(());
                }
                let listening = state.pid.and_then(listening_ports);
                match listening.as_deref() {
                    Some([first, ..])
                        if !listening.as_deref().unwrap_or_default().contains(&port) =>
                    {
                        if elsewhere.failed_attempt() {
                            bail!(
                                "Failure in name='port listening check': container listening on expected IPv4 interface with an unexpected port: expected={port} actual={first}"
                            );
                        }
                    }
                    _ => elsewhere = Listening::default(),
                }
                if started.elapsed() >= limit {
                    if listening.as_deref() == Some(&[]) {
                        log::warn(&format!(
                            "The web process listens on no port after {} s: deploying it anyway, as it may serve nothing",
                            limit.as_secs()
                        ));
                        return Ok(());
                    }
                    bail!(
                        "nothing listened on port {port} within {} s",
                        limit.as_secs()
                    );
                }
            }
            None if started.elapsed() >= limit => return Ok(()),
            None => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process's container: on this host's engine, or a task of a swarm, which runs on a
/// node whose engine only the app's scheduler reaches (`scheduler-enter --container-id`).
struct Process<'a> {
    ctx: &'a Ctx,
    app: &'a str,
    id: &'a str,
}

impl Container for Process<'_> {
    fn exec(&self, command: &[String], timeout: Duration) -> Result<(i32, String)> {
        if docker::container_inspect(self.id)?.is_some() {
            let out = docker::docker()
                .args(["container", "exec", self.id])
                .args(command)
                .timeout(timeout)
                .output_unchecked()?;
            let output = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            return Ok((out.code, output));
        }
        let scheduler = dokku_core::ask::scheduler(self.ctx, self.app)?;
        let entered = self
            .ctx
            .trigger("scheduler-enter")
            .args([scheduler.as_str(), self.app, "--container-id", self.id])
            .args(command)
            .stdin(Vec::new())
            .env("DOKKU_RUN_TTY", "false")
            .timeout(timeout)
            .output();
        match entered {
            Ok(out) => Ok((0, String::from_utf8_lossy(&out).into_owned())),
            Err(err) => match err.downcast_ref() {
                Some(dokku_core::Error::TriggerFailed { code, .. }) => Ok((*code, String::new())),
                _ => Err(err),
            },
        }
    }

    fn up(&self) -> Result<bool> {
        Ok(State::of(self.id)?.running)
    }
}

/// What the default check reads of a container: on this host's engine, or a swarm task
/// (the manager knows its state; its processes run on another host).
struct State {
    /// Running, and never restarted (a restart is a crash the engine hid).
    running: bool,
    exit_code: i64,
    /// The process on this host, whose network namespace tells the ports it listens on.
    pid: Option<u32>,
}

impl State {
    fn of(container: &str) -> Result<State> {
        if let Some(info) = docker::container_inspect(container)? {
            let state = &info["State"];
            let restarted = info["RestartCount"].as_u64().unwrap_or(0) > 0
                || state["Restarting"].as_bool() == Some(true);
            return Ok(State {
                running: state["Running"].as_bool() == Some(true) && !restarted,
                exit_code: state["ExitCode"].as_i64().unwrap_or(-1),
                pid: state["Pid"].as_u64().map(|pid| pid as u32),
            });
        }
        // A task the orchestrator restarted is another task: this one then is not running.
        let Some(task) = docker::swarm_task(container)? else {
            bail!("the container is gone");
        };
        let status = &task["Status"];
        Ok(State {
            running: status["State"].as_str() == Some("running"),
            exit_code: status["ContainerStatus"]["ExitCode"].as_i64().unwrap_or(-1),
            pid: None,
        })
    }
}

/// The port listening check's failed looks in a row: a web process listening on other
/// ports only fails at the last of [`Listening::ATTEMPTS`] looks [`Listening::WAIT`] apart
/// (an app may open several ports, its own last); one seen on its port starts it over.
#[derive(Default)]
struct Listening {
    failed: u32,
    last: Option<Instant>,
}

impl Listening {
    const ATTEMPTS: u32 = 3;
    const WAIT: Duration = Duration::from_secs(5);
    /// How long one connection attempt to the port may take.
    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Counts a look that found the process listening elsewhere, at most one per
    /// [`Listening::WAIT`]; true when that was the last attempt.
    fn failed_attempt(&mut self) -> bool {
        if self.last.is_none_or(|last| last.elapsed() >= Self::WAIT) {
            self.failed += 1;
            self.last = Some(Instant::now());
        }
        self.failed >= Self::ATTEMPTS
    }
}

/// The TCP ports a process's network namespace listens on (on any address), sorted; None
/// when they cannot be read.
fn listening_ports(pid: u32) -> Option<Vec<u16>> {
    let mut ports = Vec::new();
    let mut read_any = false;
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        read_any = true;
        ports.extend(parse_listening(&text));
    }
    ports.sort_unstable();
    ports.dedup();
    read_any.then_some(ports)
}

/// The local ports of the LISTEN rows (state `0A`) of a `/proc/net/tcp` table.
fn parse_listening(table: &str) -> Vec<u16> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            (state == "0A").then_some(())?;
            u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()
        })
        .collect()
}

/// The healthchecks of a process type: app.json's, else (web only) the CHECKS file's.
fn declared(ctx: &Ctx, app: &str, kind: &str) -> Result<Vec<Healthcheck>> {
    let text = dokku_core::ask::app_json(ctx, app)?;
    let app_json: serde_json::Value = match text.trim() {
        "" => serde_json::json!({}),
        text => serde_json::from_str(text)?,
    };
    let checks = healthcheck::from_app_json(&app_json, kind)?;
    if !checks.is_empty() || kind != "web" {
        return Ok(checks);
    }
    let path = ctx.roots.data_dir("checks", app).join(CHECKS_FILE);
    let Some(text) = dokku_core::fs::read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let setting = |key: &str| -> Result<u64> {
        Ok(crate::SETTINGS
            .computed(ctx, app, key)?
            .parse()
            .unwrap_or(0))
    };
    Ok(healthcheck::from_checks_file(
        &text,
        setting("wait")?,
        setting("timeout")?,
        setting("attempts")? as u32,
    ))
}

/// The app's first domain, for the `Host` header of http checks.
fn first_domain(ctx: &Ctx, app: &str) -> Result<Option<String>> {
    Ok(ctx
        .trigger("domains-list")
        .arg(app)
        .output_lines()?
        .into_iter()
        .next())
}

/// `checks:run APP [TYPES|TYPE.N]`: the checks of the app's containers in place, as its
/// scheduler lists them (`scheduler-app-containers`).
pub fn run_command(ctx: &Ctx, app: &str, only: Option<&str>) -> Result<()> {
    let mut dynos: Vec<[String; 5]> = dokku_core::ask::app_containers(ctx, app)?
        .iter()
        .filter_map(|c| {
            let (kind, index) = c.dyno.rsplit_once('.')?;
            Some([kind, index, &c.id, &c.ip, &c.port].map(String::from))
        })
        .collect();
    log::info1("Running pre-flight checks");
    if let Some(only) = only {
        dynos.retain(|[kind, index, ..]| {
            only == format!("{kind}.{index}") || only.split(',').any(|k| k == kind)
        });
        if dynos.is_empty() {
            let what = if only.contains('.') {
                "container id"
            } else {
                "process type"
            };
            bail!("Invalid {what} specified ({app}.{only})");
        }
    }
    if dynos.is_empty() {
        bail!("{app} has no running containers to check");
    }
    for [kind, index, container, ip, port] in &dynos {
        log::info1(&format!("Running checks for app ({app}.{kind}.{index})"));
        run(
            ctx,
            &Dyno {
                app,
                container,
                kind,
                index,
                port,
                ip,
            },
        )?;
        log::verbose(&format!("All checks successful ({kind}.{index})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_check_fails_at_its_last_attempt_not_at_the_first_looks() {
        let mut check = Listening::default();
        assert!(!check.failed_attempt());
        assert!(
            !check.failed_attempt(),
            "looks within the wait are one attempt"
        );
        let earlier = |by: u64| Instant::now().checked_sub(Duration::from_secs(by));
        check.last = earlier(Listening::WAIT.as_secs());
        assert!(!check.failed_attempt());
        check.last = earlier(Listening::WAIT.as_secs());
        assert!(check.failed_attempt());
    }

    #[test]
    fn listening_rows_give_their_ports() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0\n\
   2: 020011AC:1389 010011AC:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(parse_listening(table), vec![5000, 8080]);
        assert_eq!(parse_listening("header only\n"), Vec::<u16>::new());
    }
}
