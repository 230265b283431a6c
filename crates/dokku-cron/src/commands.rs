//! The `cron:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{Ctx, parse};
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
    /// What a run does while the last is still running: `allow`, `forbid` or `replace`.
    pub concurrency_policy: String,
}

const POLICIES: [&str; 3] = ["allow", "forbid", "replace"];

/// The tasks of an app.json, each checked; a malformed one is an error.
pub fn tasks_of(app: &str, app_json: &serde_json::Value) -> Result<Vec<Task>> {
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
            if let Some(operator) = shell_operator(command) {
                bail!(
                    "Invalid cron command for app {app} (command {command:?}): {operator:?} is shell syntax; the command runs as words, so wrap it in sh -c '...'"
                );
            }
            let policy = field("concurrency_policy").unwrap_or("allow");
            if !POLICIES.contains(&policy) {
                bail!("Invalid concurrency_policy {policy:?}: allow, forbid or replace");
            }
            Ok(Task {
                id: task_id(app, schedule, command),
                schedule: schedule.to_string(),
                command: command.to_string(),
                concurrency_policy: policy.to_string(),
            })
        })
        .collect()
}

/// The first shell operator outside quotes (`;`, `|`, `&`, redirections, subshells,
/// command substitution): a task's command is split into words and run without a shell,
/// so such a character would reach the program as an argument.
fn shell_operator(command: &str) -> Option<char> {
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => {
                chars.next();
            }
            (Some('"'), '"') => quote = None,
            (Some('"'), '`') => return Some('`'),
            (Some('"'), '$') if chars.peek() == Some(&'(') => return Some('$'),
            (Some('"'), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, ';' | '|' | '&' | '<' | '>' | '(' | ')' | '`') => return Some(c),
            (None, '$') if chars.peek() == Some(&'(') => return Some('$'),
            _ => {}
        }
    }
    None
}

/// A task's id, as Dokku makes it: its app, command and schedule in base 36, so the same
/// task keeps its id across deploys.
pub(crate) fn task_id(app: &str, schedule: &str, command: &str) -> String {
    base36(format!("{app}==={command}==={schedule}").as_bytes())
}

/// The bytes as one big number in lowercase base 36 (each leading zero byte a `0`).
pub(crate) fn base36(bytes: &[u8]) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let mut digits: Vec<u8> = Vec::new();
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            let value = u32::from(*digit) * 256 + carry;
            *digit = (value % 36) as u8;
            carry = value / 36;
        }
        while carry > 0 {
            digits.push((carry % 36) as u8);
            carry /= 36;
        }
    }
    let mut out = "0".repeat(zeros);
    out.extend(digits.iter().rev().map(|d| DIGITS[*d as usize] as char));
    out
}

pub(crate) fn app_tasks(ctx: &Ctx, app: &str) -> Result<Vec<Task>> {
    let text = dokku_core::ask::app_json(ctx, app)?;
    match text.trim() {
        "" => Ok(Vec::new()),
        text => tasks_of(app, &serde_json::from_str(text)?),
    }
}

#[derive(Parser)]
pub(crate) struct List {
    #[arg(long)]
    global: bool,
    #[arg(long, default_value = "stdout")]
    format: String,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

/// `cron:list APP|--global [--format stdout|json]`: an app's tasks, or those plugins add
/// for the host (`cron-entries`).
pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("cron:list", args)?;
    if cmd.format != "stdout" && cmd.format != "json" {
        bail!("Invalid format specified, supported formats: json, stdout");
    }
    let (name, listed) = match (cmd.global, cmd.app.as_deref()) {
        (true, _) | (false, Some(GLOBAL)) => ("global".to_string(), global_tasks(ctx)?),
        (false, Some(app)) => {
            let app = dokku_core::app::verify(&ctx.roots, app)?;
            let listed = app_tasks(ctx, app.as_str())?
                .into_iter()
                .map(|task| {
                    let maintenance = maintenance_of(ctx, app.as_str(), &task.id)?;
                    Ok(Listed {
                        app: Some(app.to_string()),
                        task,
                        maintenance,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (app.to_string(), listed)
        }
        (false, None) => return Err(dokku_core::Error::MissingApp.into()),
    };
    if cmd.format == "json" {
        let json: Vec<ListedJson> = listed.iter().map(Listed::json).collect();
        log::data(&serde_json::to_string(&json)?);
        return Ok(());
    }
    log::info2(&format!("{name} cron tasks"));
    let mut rows = vec![
        ["ID", "Schedule", "Concurrency", "Maintenance", "Command"]
            .map(String::from)
            .to_vec(),
    ];
    for entry in &listed {
        rows.push(vec![
            entry.task.id.clone(),
            entry.task.schedule.clone(),
            entry.task.concurrency_policy.clone(),
            match entry.maintenance {
                Some(why) => format!("true ({why})"),
                None => "false".to_string(),
            },
            entry.task.command.clone(),
        ]);
    }
    for line in log::table(&rows) {
        log::data(&line);
    }
    Ok(())
}

/// A task as `cron:list` shows it.
struct Listed {
    /// None for the host's tasks.
    app: Option<String>,
    task: Task,
    maintenance: Option<&'static str>,
}

/// A task in `cron:list --format json`, its fields in Dokku's order.
#[derive(serde::Serialize)]
struct ListedJson<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    command: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    global: bool,
    schedule: &'a str,
    concurrency_policy: &'a str,
    #[serde(rename = "app-in-maintenance")]
    app_in_maintenance: bool,
    #[serde(rename = "task-in-maintenance")]
    task_in_maintenance: bool,
    maintenance: bool,
}

impl Listed {
    fn json(&self) -> ListedJson<'_> {
        ListedJson {
            id: &self.task.id,
            app: self.app.as_deref(),
            command: &self.task.command,
            global: self.app.is_none(),
            schedule: &self.task.schedule,
            concurrency_policy: &self.task.concurrency_policy,
            app_in_maintenance: self.maintenance == Some("app"),
            task_in_maintenance: self.maintenance == Some("task"),
            maintenance: self.maintenance.is_some(),
        }
    }
}

/// The host's tasks, as the plugins add them (`cron-entries docker-local`).
fn global_tasks(ctx: &Ctx) -> Result<Vec<Listed>> {
    Ok(crate::triggers::plugin_entries(ctx, "docker-local")?
        .into_iter()
        .map(|entry| Listed {
            app: None,
            task: Task {
                id: entry.id,
                schedule: entry.schedule,
                command: entry.command,
                concurrency_policy: String::new(),
            },
            maintenance: None,
        })
        .collect())
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
    /// Stop the task's container after this many seconds (default: a day).
    #[arg(long, value_name = "SECONDS", value_parser = dokku_core::time::ttl_seconds, allow_hyphen_values = true)]
    ttl_seconds: Option<u64>,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "CRON_ID")]
    id: String,
}

/// How long a task may run unless `--ttl-seconds` says otherwise, as in Dokku.
const DEFAULT_TTL_SECONDS: u64 = 86_400;

/// `cron:run APP ID [--detach] [--ttl-seconds N]`: the task as a one-off container of the app (`scheduler-run`).
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
        .env("DOKKU_CONCURRENCY_POLICY", &task.concurrency_policy)
        .env(
            "DOKKU_RUN_TTL_SECONDS",
            &cmd.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS).to_string(),
        )
        .stream()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(command: &str) -> Result<Vec<Task>> {
        tasks_of(
            "app",
            &serde_json::json!({"cron": [{"schedule": "@daily", "command": command}]}),
        )
    }

    #[test]
    fn listed_json_keeps_dokkus_field_order() {
        let task = Task {
            id: "abc".into(),
            schedule: "@daily".into(),
            command: "/bin/true".into(),
            concurrency_policy: String::new(),
        };
        let host = Listed {
            app: None,
            task: task.clone(),
            maintenance: None,
        };
        assert_eq!(
            serde_json::to_string(&host.json()).unwrap(),
            r#"{"id":"abc","command":"/bin/true","global":true,"schedule":"@daily","concurrency_policy":"","app-in-maintenance":false,"task-in-maintenance":false,"maintenance":false}"#
        );
        let app = Listed {
            app: Some("web".into()),
            task,
            maintenance: Some("task"),
        };
        assert_eq!(
            serde_json::to_string(&app.json()).unwrap(),
            r#"{"id":"abc","app":"web","command":"/bin/true","schedule":"@daily","concurrency_policy":"","app-in-maintenance":false,"task-in-maintenance":true,"maintenance":true}"#
        );
    }

    #[test]
    fn commands_are_words_not_shell_syntax() {
        for ok in [
            "python3 task.py",
            "sh -c 'echo a; echo b > /tmp/x'",
            "echo \"a|b\" c\\;d",
            "echo $HOME",
        ] {
            assert!(task(ok).is_ok(), "{ok}");
        }
        for bad in [
            "echo CRON_OK; echo hi > /tmp/x",
            "a | b",
            "a && b",
            "a > f",
            "echo $(id)",
            "echo \"`id`\"",
        ] {
            let err = task(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("Invalid cron command for app app"),
                "{bad}: {err}"
            );
        }
    }
}
