//! The `cron:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{AppListing, Ctx, parse};
use dokku_core::log;

use crate::schedule;

/// One scheduled task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub schedule: String,
    pub command: String,
}

/// The tasks of an app.json, each checked; a malformed one is an error.
pub fn tasks_of(app_json: &serde_json::Value) -> Result<Vec<Task>> {
    let Some(entries) = app_json.get("cron") else {
        return Ok(Vec::new());
    };
    let Some(entries) = entries.as_array() else {
        bail!("Invalid cron in app.json: expected a list of {{\"schedule\", \"command\"}}");
    };
    entries
        .iter()
        .map(|entry| {
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::trim);
            let (Some(schedule), Some(command)) = (field("schedule"), field("command")) else {
                bail!("Invalid cron entry in app.json: each needs a schedule and a command");
            };
            schedule::check(schedule)?;
            if command.is_empty() || command.contains(['\n', '\r', '\0']) {
                bail!("Invalid cron command {command:?}: one line of text");
            }
            shell_words::split(command).map_err(|_| {
                anyhow::anyhow!("Invalid cron command {command:?}: unbalanced quotes")
            })?;
            Ok(Task {
                id: task_id(schedule, command),
                schedule: schedule.to_string(),
                command: command.to_string(),
            })
        })
        .collect()
}

/// A stable id from the schedule and the command (FNV-1a, base 36): the same task keeps
/// its id across deploys.
pub(crate) fn task_id(schedule: &str, command: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schedule.bytes().chain([0]).chain(command.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut id = Vec::new();
    while hash > 0 {
        id.push(digits[(hash % 36) as usize]);
        hash /= 36;
    }
    id.reverse();
    String::from_utf8_lossy(&id).into_owned()
}

pub(crate) fn app_tasks(ctx: &Ctx, app: &str) -> Result<Vec<Task>> {
    let text = dokku_core::ask::app_json(ctx, app)?;
    match text.trim() {
        "" => Ok(Vec::new()),
        text => tasks_of(&serde_json::from_str(text)?),
    }
}

pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppListing = parse("cron:list", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let tasks = app_tasks(ctx, app.as_str())?;
    if cmd.json() {
        let json: Vec<serde_json::Value> = tasks
            .iter()
            .map(|t| serde_json::json!({"id": t.id, "schedule": t.schedule, "command": t.command}))
            .collect();
        log::data(&serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    log::info2(&format!("{app} cron tasks"));
    let id_w = tasks
        .iter()
        .map(|t| t.id.len())
        .chain([2])
        .max()
        .unwrap_or(2);
    let sched_w = tasks
        .iter()
        .map(|t| t.schedule.len())
        .chain([8])
        .max()
        .unwrap_or(8);
    log::data(&format!(
        "{:<id_w$}  {:<sched_w$}  Command",
        "ID", "Schedule"
    ));
    for task in &tasks {
        log::data(&format!(
            "{:<id_w$}  {:<sched_w$}  {}",
            task.id, task.schedule, task.command
        ));
    }
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Run {
    /// Run in the background and print the container's name.
    #[arg(long)]
    detach: bool,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "CRON_ID")]
    id: String,
}

/// `cron:run APP ID`: the task as a one-off container of the app (`scheduler-run`).
pub(crate) fn run_task(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("cron:run", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let tasks = app_tasks(ctx, app.as_str())?;
    let Some(task) = tasks.iter().find(|t| t.id == cmd.id) else {
        bail!(
            "{app} has no cron task {} (see: dokku cron:list {app})",
            cmd.id
        );
    };
    let words = shell_words::split(&task.command)?;
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    ctx.trigger("scheduler-run")
        .args([scheduler.as_str(), app.as_str(), "0", "--"])
        .args(&words)
        .env("DOKKU_RUN_TTY", "false")
        .env("DOKKU_DETACH_CONTAINER", if cmd.detach { "1" } else { "0" })
        .env("DOKKU_CRON_ID", &task.id)
        .stream()
}
