//! The `cron` plugin: the scheduled tasks an app's app.json declares (`cron`: entries of
//! `schedule` and `command`) run as one-off containers of the app (`cron:run`, through
//! the scheduler), at their times, from the dokku user's crontab, as Dokku does. The
//! crontab is written whole after every deploy and app removal, from every app's current
//! app.json: cron itself (its own service, started at boot) keeps the times, and a task
//! runs whether or not any dokku process is alive. Each line names the task by its id,
//! never its command, so no command is ever parsed by cron's shell.

mod schedule;

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{AppListing, Command, Ctx, Plugin, TriggerEntry, exactly, parse};
use dokku_core::log;

pub const PLUGIN: Plugin = Plugin {
    name: "cron",
    description: "Manage scheduled cron tasks",
    default_command: Some("list"),
    commands: &[
        Command {
            name: "list",
            args: "<app> [--format stdout|json]",
            help: "List the scheduled tasks of an app",
            run: list,
        },
        Command {
            name: "run",
            args: "[--detach] <app> <cron-id>",
            help: "Run one of an app's scheduled tasks now",
            run: run_task,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "cron-write",
            run: rewrite,
        },
        TriggerEntry {
            name: "post-delete",
            run: rewrite,
        },
        TriggerEntry {
            name: "post-deploy",
            run: rewrite,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: check_release,
        },
    ],
    ..Plugin::DEFAULTS
};

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
fn task_id(schedule: &str, command: &str) -> String {
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

fn app_tasks(ctx: &Ctx, app: &str) -> Result<Vec<Task>> {
    let text = dokku_core::ask::app_json(ctx, app)?;
    match text.trim() {
        "" => Ok(Vec::new()),
        text => tasks_of(&serde_json::from_str(text)?),
    }
}

/// `post-release-builder BUILDER APP IMAGE`: the released app.json's tasks must be valid
/// before the release deploys.
fn check_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    app_tasks(ctx, app).map(|_| ())
}

/// `post-deploy` / `post-delete`: the crontab, written again from every app's tasks.
fn rewrite(ctx: &Ctx, _args: &[String]) -> Result<()> {
    let mut lines = vec![
        "# The scheduled tasks of every app's app.json, written by dokku on each deploy:"
            .to_string(),
        "# edits here are lost.".to_string(),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
    ];
    for (key, value) in ctx.roots.exports() {
        if key.starts_with("DOKKU_") && !key.ends_with("_EXIT") && !value.contains('\n') {
            lines.push(format!("{key}={value}"));
        }
    }
    let dokku = dokku_core::env::dokku_bin();
    let mut count = 0;
    for app in dokku_core::app::list(&ctx.roots)? {
        let tasks = match app_tasks(ctx, app.as_str()) {
            Ok(tasks) => tasks,
            Err(err) => {
                log::warn(&format!("{app}: {err:#}"));
                continue;
            }
        };
        for task in tasks {
            lines.push(format!(
                "{} {} cron:run {app} {}",
                task.schedule,
                shell_words::quote(&dokku),
                task.id
            ));
            count += 1;
        }
    }
    let scheduler = dokku_core::ask::scheduler(ctx, "--global")?;
    for line in ctx.trigger("cron-entries").arg(&scheduler).output_lines()? {
        match plugin_entry(&line) {
            Ok(entry) => {
                lines.push(entry);
                count += 1;
            }
            Err(err) => log::warn(&format!("{err:#}")),
        }
    }
    let dir = ctx.roots.lib_root.join("data/cron");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("crontab");
    let text = lines.join("\n") + "\n";
    let before = dokku_core::fs::read_optional(&file)?;
    if before.as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    // A host that never had a task keeps its crontab untouched.
    let had_tasks = before.as_deref().is_some_and(|b| b.lines().any(is_entry));
    if count == 0 && !had_tasks {
        return dokku_core::fs::write_atomic(&file, text.as_bytes(), 0o600);
    }
    // The candidate becomes the record only once cron has taken it: a crontab cron
    // refuses never replaces the one installed.
    let candidate = dir.join("crontab.candidate");
    dokku_core::fs::write_atomic(&candidate, text.as_bytes(), 0o600)?;
    match install(ctx, &candidate, count) {
        Ok(()) => std::fs::rename(&candidate, &file)?,
        Err(err) => {
            log::warn(&format!("{err:#}"));
            dokku_core::fs::remove_file_if_exists(&candidate)?;
        }
    }
    Ok(())
}

/// A crontab line that runs something (not a comment or a variable).
fn is_entry(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    !first.is_empty() && !first.starts_with('#') && !first.contains('=')
}

/// A plugin's `cron-entries` line, `SCHEDULE;COMMAND[;LOG_FILE]`, as a crontab line whose
/// output goes to the log file when one is named.
fn plugin_entry(line: &str) -> Result<String> {
    let mut fields = line.splitn(3, ';');
    let (schedule, command) = (
        fields.next().unwrap_or("").trim(),
        fields.next().unwrap_or("").trim(),
    );
    let log_file = fields.next().unwrap_or("").trim();
    schedule::check(schedule)?;
    if command.is_empty() || command.contains(['\n', '\r', '\0', '%']) {
        bail!("Invalid cron entry {line:?}: one command, without %");
    }
    Ok(match log_file {
        "" => format!("{schedule} {command}"),
        log => format!("{schedule} {command} >> {} 2>&1", shell_words::quote(log)),
    })
}

/// Hands the file to cron as the dokku user's crontab (root names the user; the dokku
/// user installs its own).
fn install(ctx: &Ctx, file: &std::path::Path, count: usize) -> Result<()> {
    let Some(crontab) = dokku_core::cmd::find_program("crontab") else {
        if count > 0 {
            log::warn(
                "crontab is not installed: scheduled tasks will not run (apt-get install cron)",
            );
        }
        return Ok(());
    };
    let mut cmd = dokku_core::cmd::Cmd::new(crontab);
    if dokku_core::privilege::is_root() {
        // A host with no dokku user (a hermetic one) has no crontab to install into.
        if dokku_core::privilege::system_user(&ctx.roots).is_none() {
            if count > 0 {
                log::warn(&format!(
                    "There is no user {}: scheduled tasks will not run",
                    ctx.roots.system_user
                ));
            }
            return Ok(());
        }
        cmd = cmd.args(["-u", &ctx.roots.system_user]);
    }
    let out = cmd.arg(file).output_unchecked()?;
    if out.code != 0 {
        bail!(
            "cron refused the new crontab of {}, the old one stays: {}",
            ctx.roots.system_user,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
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
struct Run {
    /// Run in the background and print the container's name.
    #[arg(long)]
    detach: bool,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "CRON_ID")]
    id: String,
}

/// `cron:run APP ID`: the task as a one-off container of the app (`scheduler-run`).
fn run_task(ctx: &Ctx, args: &[String]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_entries_are_checked_and_log_where_they_say() {
        assert_eq!(
            plugin_entry("24 6 * * *;/usr/bin/dokku letsencrypt:auto-renew;/var/log/dokku/le.log")
                .unwrap(),
            "24 6 * * * /usr/bin/dokku letsencrypt:auto-renew >> /var/log/dokku/le.log 2>&1"
        );
        assert_eq!(plugin_entry("@daily;true").unwrap(), "@daily true");
        assert!(plugin_entry("every day;true").is_err());
        assert!(plugin_entry("@daily;date +%s").is_err());
        assert!(plugin_entry("@daily;").is_err());
        assert!(is_entry("@daily true"));
        assert!(!is_entry("PATH=/bin"));
        assert!(!is_entry("# a comment"));
    }

    #[test]
    fn tasks_are_read_and_checked() {
        let json = serde_json::json!({"cron": [
            {"command": "python3 cleanup.py --all", "schedule": "*/5 * * * *"},
            {"command": "echo hi", "schedule": "@daily"}
        ]});
        let tasks = tasks_of(&json).expect("valid");
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].schedule, "*/5 * * * *");
        assert_eq!(
            tasks[0].id,
            task_id("*/5 * * * *", "python3 cleanup.py --all")
        );
        assert_ne!(tasks[0].id, tasks[1].id);
        assert!(tasks_of(&serde_json::json!({})).expect("none").is_empty());
        for bad in [
            serde_json::json!({"cron": {"command": "x", "schedule": "@daily"}}),
            serde_json::json!({"cron": [{"command": "x"}]}),
            serde_json::json!({"cron": [{"command": "", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "a\nb", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "echo 'x", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "x", "schedule": "* * * *"}]}),
            serde_json::json!({"cron": [{"command": "x", "schedule": "@reboot"}]}),
        ] {
            assert!(tasks_of(&bad).is_err(), "{bad}");
        }
    }
}
