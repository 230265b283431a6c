//! `scheduler-logs docker-local APP PROC TAIL PRETTY NUM`: the output of the app's
//! containers in place (of one process type or dyno), Dokku's way:
//! `<timestamp> <app>[<dyno>]: <line>`, or the bare lines when not PRETTY. With TAIL every
//! container is followed at once until the reader goes.

use anyhow::{Result, bail};
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::formation::{LogsRequest, logs_request};

use crate::SCHEDULER;
use crate::deploy::containers_in_place;

pub fn logs(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(LogsRequest {
        app,
        which: process,
        follow,
        pretty,
        lines,
    }) = logs_request("scheduler-logs", SCHEDULER, args)?
    else {
        return Ok(());
    };
    let mut containers: Vec<(String, String)> = containers_in_place(app)?
        .iter()
        .filter_map(|c| {
            let dyno = c["Labels"]["com.dokku.dyno"].as_str()?.to_string();
            let wanted = process.is_empty()
                || dyno == *process
                || dyno
                    .split_once('.')
                    .is_some_and(|(kind, _)| kind == process);
            if !wanted {
                return None;
            }
            Some((dyno, c["Id"].as_str()?.to_string()))
        })
        .collect();
    containers.sort();
    if containers.is_empty() {
        bail!(
            "{app} has no running container{}",
            if process.is_empty() {
                String::new()
            } else {
                format!(" of {process}")
            }
        );
    }
    show(app, &containers, follow, pretty, lines)
}

/// The output of `containers` (`(name shown, id)` pairs): the last `lines` of each, then
/// with `follow` all of them at once until the reader goes; `pretty` puts the timestamp and
/// `<app>[<name>]:` before each line.
fn show(
    app: &str,
    containers: &[(String, String)],
    follow: bool,
    pretty: bool,
    lines: u32,
) -> Result<()> {
    let one = |dyno: &str, id: &str| -> Result<i32> {
        let mut cmd = docker::docker()
            .args(["container", "logs", "--tail", &lines.to_string()])
            .arg(id);
        if follow {
            cmd = cmd.arg("--follow");
        }
        if !pretty {
            return cmd.stream_mapped(|line| line.to_string());
        }
        let label = format!("{app}[{dyno}]:");
        cmd.arg("--timestamps")
            .stream_mapped(|line| match line.split_once(' ') {
                Some((stamp, rest)) => format!("{stamp} {label} {rest}"),
                None => format!("{label} {line}"),
            })
    };
    dokku_core::cmd::show_streams(containers, follow, |(dyno, id)| one(dyno, id))
}

/// `scheduler-run-logs docker-local APP CONTAINER TAIL PRETTY NUM`: the output of the app's
/// running one-off containers, or of the one named (only one of them).
pub fn run_logs(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(LogsRequest {
        app,
        which: container,
        follow,
        pretty,
        lines,
    }) = logs_request("scheduler-run-logs", SCHEDULER, args)?
    else {
        return Ok(());
    };
    let containers: Vec<(String, String)> = crate::run::one_off_containers(app, container)?
        .into_iter()
        .map(|(name, id)| {
            let short = name
                .strip_prefix(&format!("{app}."))
                .unwrap_or(&name)
                .to_string();
            (short, id)
        })
        .collect();
    if containers.is_empty() {
        bail!("{app} has no running one-off container");
    }
    show(app, &containers, follow, pretty, lines)
}

/// `scheduler-logs-failed docker-local APP`: what the app's last failed deploy's
/// containers printed.
pub fn failed(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::failed_logs::answer(ctx, args, SCHEDULER, crate::PLUGIN.name)
}
