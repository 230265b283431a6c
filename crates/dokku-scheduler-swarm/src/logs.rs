//! `scheduler-logs swarm APP PROC TAIL PRETTY NUM`: the output of the tasks of the
//! app's services in place, wherever they run (the manager gathers it from every node),
//! Dokku's way: `<timestamp> <app>[<type>.<slot>]: <line>`, or the bare lines when not
//! PRETTY; with TAIL every service is followed at once until the reader goes.

use anyhow::{Result, bail};
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::formation::{LogsRequest, logs_request};

use crate::SCHEDULER;
use crate::tasks::services_in_place;

pub fn logs(ctx: &Ctx, args: &[String]) -> Result<()> {
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
    let (kind, slot) = match process.split_once('.') {
        Some((kind, slot)) => (kind, Some(slot)),
        None => (process, None),
    };
    let services: Vec<(String, String)> = services_in_place(ctx, app)?
        .into_iter()
        .filter(|(k, _)| kind.is_empty() || k == kind)
        .collect();
    if services.is_empty() {
        bail!(
            "{app} has no running service{}",
            if process.is_empty() {
                String::new()
            } else {
                format!(" of {process}")
            }
        );
    }
    let one = |kind: &str, service: &str| -> Result<i32> {
        let mut cmd = docker::docker().args([
            "service",
            "logs",
            "--no-task-ids",
            "--tail",
            &lines.to_string(),
        ]);
        if follow {
            cmd = cmd.arg("--follow");
        }
        if !pretty && slot.is_none() {
            return cmd
                .args(["--raw", service])
                .stream_mapped(|l| l.to_string());
        }
        cmd.args(["--timestamps", service])
            .stream_filter_mapped(|line| pretty_line(app, kind, service, slot, pretty, line))
    };
    dokku_core::cmd::show_streams(&services, follow, |(kind, service)| one(kind, service))
}

/// One line of `docker service logs --no-task-ids --timestamps`
/// (`<timestamp> <service>.<slot>@<node>    | <line>`) as Dokku shows it; None (left
/// out) when it is another slot's than the one asked for.
fn pretty_line(
    app: &str,
    kind: &str,
    service: &str,
    slot: Option<&str>,
    pretty: bool,
    line: &str,
) -> Option<String> {
    let Some((stamp, rest)) = line.split_once(' ') else {
        return Some(line.to_string());
    };
    let Some((context, text)) = rest.split_once(" | ") else {
        return Some(line.to_string());
    };
    let task_slot = context
        .trim()
        .strip_prefix(&format!("{service}."))
        .and_then(|s| s.split('@').next())
        .unwrap_or_default();
    if slot.is_some_and(|s| s != task_slot) {
        return None;
    }
    Some(match pretty {
        true => format!("{stamp} {app}[{kind}.{task_slot}]: {text}"),
        false => text.to_string(),
    })
}

/// `scheduler-logs-failed swarm APP`: what the services of the app's last failed deploy
/// printed.
pub fn failed(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::failed_logs::answer(ctx, args, SCHEDULER, crate::SETTINGS.namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_log_line_reads_as_dokkus() {
        let line = "2026-12-07T20:01:30.19Z app-web-1a.2@node-3    | hello there";
        assert_eq!(
            pretty_line("app", "web", "app-web-1a", None, true, line).as_deref(),
            Some("2026-12-07T20:01:30.19Z app[web.2]: hello there")
        );
        assert_eq!(
            pretty_line("app", "web", "app-web-1a", Some("2"), false, line).as_deref(),
            Some("hello there")
        );
        assert_eq!(
            pretty_line("app", "web", "app-web-1a", Some("1"), true, line),
            None
        );
    }
}
