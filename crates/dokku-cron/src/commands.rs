//! The `cron:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{AppListing, Ctx, parse};
use dokku_core::log;
use dokku_core::property::GLOBAL;
use dokku_core::settings::SetArgs;

use crate::schedule;
use crate::settings::{SETTINGS, TASK_MAINTENANCE, maintenance_of};

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
    let maintenance = tasks
        .iter()
        .map(|t| maintenance_of(ctx, app.as_str(), &t.id))
        .collect::<Result<Vec<_>>>()?;
    if cmd.json() {
        let json: Vec<serde_json::Value> = tasks
            .iter()
            .zip(&maintenance)
            .map(|(t, m)| {
                serde_json::json!({
                    "id": t.id,
                    "app": app.as_str(),
                    "schedule": t.schedule,
                    "command": t.command,
                    "maintenance": m.is_some(),
                    "task_in_maintenance": *m == Some("task"),
                    "app_in_maintenance": *m == Some("app"),
                })
            })
            .collect();
        log::data(&serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    log::info2(&format!("{app} cron tasks"));
    let mut rows = vec![vec![
        "ID".to_string(),
        "Schedule".to_string(),
        "Maintenance".to_string(),
        "Command".to_string(),
    ]];
    for (task, m) in tasks.iter().zip(&maintenance) {
        rows.push(vec![
            task.id.clone(),
            task.schedule.clone(),
            match m {
                Some(why) => format!("true ({why})"),
                None => "false".to_string(),
            },
            task.command.clone(),
        ]);
    }
    for line in log::table(&rows) {
        log::data(&line);
    }
    Ok(())
}

/// `cron:set [--global|APP] KEY [VALUE]`: the settings, and `maintenance.<ID>` for one
/// task of the app; the crontab follows.
pub(crate) fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: SetArgs = parse("cron:set", args)?;
    let mut words = cmd.rest.clone();
    let global = cmd.global || words.first().is_some_and(|w| w == GLOBAL);
    if words.first().is_some_and(|w| w == GLOBAL) {
        words.remove(0);
    }
    let key_at = if global { 0 } else { 1 };
    match words
        .get(key_at)
        .and_then(|k| k.strip_prefix(TASK_MAINTENANCE))
    {
        Some(_) if global => bail!("Task maintenance properties cannot be set globally"),
        Some(id) => {
            let value = words.get(2).filter(|v| !v.is_empty());
            set_task_maintenance(ctx, &words[0], id, value.map(String::as_str))?;
        }
        None => {
            SETTINGS.set(ctx, global, &words)?;
        }
    }
    crate::triggers::rewrite(ctx, &[])
}

/// `cron:suspend APP ID`: the task stops running at its times until resumed.
pub(crate) fn suspend(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: TaskArgs = parse("cron:suspend", args)?;
    set_task_maintenance(ctx, &cmd.app, &cmd.id, Some("true"))?;
    crate::triggers::rewrite(ctx, &[])
}

/// `cron:resume APP ID`: a suspended task runs at its times again.
pub(crate) fn resume(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: TaskArgs = parse("cron:resume", args)?;
    set_task_maintenance(ctx, &cmd.app, &cmd.id, None)?;
    crate::triggers::rewrite(ctx, &[])
}

#[derive(Parser)]
pub(crate) struct TaskArgs {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "CRON_ID")]
    id: String,
}

/// Sets (`true`/`false`) or clears the maintenance of one of the app's tasks.
fn set_task_maintenance(ctx: &Ctx, app: &str, id: &str, value: Option<&str>) -> Result<()> {
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    if id.is_empty() {
        bail!("Invalid task maintenance property, missing ID");
    }
    let key = format!("{TASK_MAINTENANCE}{id}");
    if !app_tasks(ctx, app.as_str())?.iter().any(|t| t.id == id) {
        bail!("Invalid task maintenance property, no matching task ID found: {key}");
    }
    let props = SETTINGS.properties(ctx);
    match value {
        Some(value) => {
            dokku_core::settings::boolean(value)?;
            log::info2_quiet(&format!("Setting {key} to {value}"));
            props.set(app.as_str(), &key, value)
        }
        None => {
            log::info2_quiet(&format!("Unsetting {key}"));
            props.delete(app.as_str(), &key)
        }
    }
}

/// The report's rows beyond the settings': how many tasks each app has, and each task's
/// own maintenance.
pub(crate) fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    let props = SETTINGS.properties(ctx);
    apps.iter()
        .map(|app| {
            let count = app_tasks(ctx, app.as_str()).map_or(0, |tasks| tasks.len());
            let mut rows = vec![("cron-task-count".to_string(), count.to_string())];
            for (key, value) in props.all(app.as_str())? {
                if let Some(id) = key.strip_prefix(TASK_MAINTENANCE) {
                    rows.push((format!("cron-maintenance-{id}"), value.trim().to_string()));
                }
            }
            Ok(rows)
        })
        .collect()
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
