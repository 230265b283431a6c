//! The triggers the cron plugin answers.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use dokku_core::property::GLOBAL;

use crate::commands::app_tasks;
use crate::schedule;
use crate::settings::{SETTINGS, maintenance_of};

/// `post-release-builder BUILDER APP IMAGE`: the released app.json's tasks must be valid
/// before the release deploys.
pub(crate) fn check_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    app_tasks(ctx, app).map(|_| ())
}

/// `post-deploy`, `post-delete`, `scheduler-cron-write`: the crontab, written again from
/// the tasks of every app whose scheduler runs them from the host's cron, and those the
/// plugins add; with none, the dokku user has no crontab.
pub(crate) fn rewrite(ctx: &Ctx, _args: &[String]) -> Result<()> {
    let mut lines = vec![
        "# The scheduled tasks of every app's app.json, written by dokku on each deploy:"
            .to_string(),
        "# edits here are lost.".to_string(),
    ];
    let props = SETTINGS.properties(ctx);
    for (key, variable) in [("mailfrom", "MAILFROM"), ("mailto", "MAILTO")] {
        if let Some(value) = props.get(GLOBAL, key)?.filter(|v| !v.trim().is_empty()) {
            lines.push(format!("{variable}={}", value.trim()));
        }
    }
    lines.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string());
    lines.push("SHELL=/bin/bash".to_string());
    for (key, value) in ctx.roots.exports() {
        if key.starts_with("DOKKU_") && !key.ends_with("_EXIT") && !value.contains('\n') {
            lines.push(format!("{key}={value}"));
        }
    }
    let dokku = dokku_core::env::dokku_bin();
    let mut count = 0;
    let mut uses_host_cron = BTreeMap::new();
    for app in dokku_core::app::list(&ctx.roots)? {
        let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
        if !host_cron(ctx, &mut uses_host_cron, &scheduler)? {
            continue;
        }
        let tasks = match app_tasks(ctx, app.as_str()) {
            Ok(tasks) => tasks,
            Err(err) => {
                log::warn(&format!("{app}: {err:#}"));
                continue;
            }
        };
        for task in tasks {
            // A task in maintenance (its own, its app's or the host's) does not run.
            if maintenance_of(ctx, app.as_str(), &task.id)?.is_some() {
                continue;
            }
            lines.push(format!(
                "{} {} cron:run {app} {}",
                task.schedule,
                shell_words::quote(&dokku),
                task.id
            ));
            count += 1;
        }
    }
    let global = dokku_core::ask::scheduler(ctx, GLOBAL)?;
    host_cron(ctx, &mut uses_host_cron, &global)?;
    for (scheduler, _) in uses_host_cron.iter().filter(|(_, host)| **host) {
        for entry in plugin_entries(ctx, scheduler)? {
            lines.push(entry.line());
            count += 1;
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
    if count == 0 {
        // Nothing to run: the dokku user's crontab goes (a host that never had one is
        // left alone).
        if before.as_deref().is_some_and(|b| b.lines().any(is_entry)) {
            remove(ctx)?;
        }
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

/// Whether the scheduler's apps run their tasks from the host's cron
/// (`scheduler-uses-host-cron`), asked once per scheduler.
fn host_cron(ctx: &Ctx, known: &mut BTreeMap<String, bool>, scheduler: &str) -> Result<bool> {
    if let Some(answer) = known.get(scheduler) {
        return Ok(*answer);
    }
    let answer = ctx
        .trigger("scheduler-uses-host-cron")
        .arg(scheduler)
        .output_string()?
        .trim()
        == "true";
    known.insert(scheduler.to_string(), answer);
    Ok(answer)
}

/// A task a plugin adds for the host (`cron-entries SCHEDULER`: `SCHEDULE;COMMAND[;LOG]`).
pub(crate) struct PluginEntry {
    pub id: String,
    pub schedule: String,
    pub command: String,
    pub log_file: Option<String>,
}

impl PluginEntry {
    /// The crontab line: the command's output appended to the log file when one is named.
    fn line(&self) -> String {
        match &self.log_file {
            Some(log) => format!(
                "{} {} &>> {}",
                self.schedule,
                self.command,
                shell_words::quote(log)
            ),
            None => format!("{} {}", self.schedule, self.command),
        }
    }
}

/// The tasks the plugins add for a scheduler's host cron; a malformed line is said and
/// left out.
pub(crate) fn plugin_entries(ctx: &Ctx, scheduler: &str) -> Result<Vec<PluginEntry>> {
    let mut entries = Vec::new();
    // A plugin whose `cron-entries` fails adds nothing, and keeps no other plugin's tasks
    // (or the apps') from cron: such scripts commonly end on a test that did not match
    // (`[[ $1 == k3s ]] && echo ...`), which Dokku takes as "nothing to add".
    let trigger = ctx.trigger("cron-entries").arg(scheduler);
    let lines: Vec<String> = trigger
        .implementers()
        .into_iter()
        .filter_map(|(plugin, _)| trigger.clone().only(&plugin).output_lines().ok())
        .flatten()
        .collect();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        match plugin_entry(&line) {
            Ok(entry) => entries.push(entry),
            Err(err) => log::warn(&format!("{err:#}")),
        }
    }
    Ok(entries)
}

/// A crontab line that runs something (not a comment or a variable).
pub(crate) fn is_entry(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    !first.is_empty() && !first.starts_with('#') && !first.contains('=')
}

/// A plugin's `cron-entries` line, checked; its id is Dokku's (the line in base 36).
pub(crate) fn plugin_entry(line: &str) -> Result<PluginEntry> {
    let parts: Vec<&str> = line.split(';').collect();
    if parts.len() != 2 && parts.len() != 3 {
        bail!("Invalid injected cron task: {line}");
    }
    let (schedule, command) = (parts[0].trim(), parts[1].trim());
    let log_file = parts.get(2).map(|l| l.trim()).filter(|l| !l.is_empty());
    schedule::check(schedule)?;
    if command.is_empty() || command.contains(['\n', '\r', '\0', '%']) {
        bail!("Invalid cron entry {line:?}: one command, without %");
    }
    Ok(PluginEntry {
        id: crate::commands::base36(parts.join(";;;").as_bytes()),
        schedule: schedule.to_string(),
        command: command.to_string(),
        log_file: log_file.map(String::from),
    })
}

/// The dokku user's crontab goes (root names the user; the dokku user removes its own).
fn remove(ctx: &Ctx) -> Result<()> {
    let Some(crontab) = dokku_core::cmd::find_program("crontab") else {
        return Ok(());
    };
    let mut cmd = dokku_core::cmd::Cmd::new(crontab);
    if dokku_core::privilege::is_root() {
        if dokku_core::privilege::system_user(&ctx.roots).is_none() {
            return Ok(());
        }
        cmd = cmd.args(["-u", &ctx.roots.system_user]);
    }
    cmd.arg("-r").output_unchecked()?;
    Ok(())
}

/// Hands the file to cron as the dokku user's crontab (root names the user; the dokku
/// user installs its own).
pub(crate) fn install(ctx: &Ctx, file: &std::path::Path, count: usize) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{task_id, tasks_of};

    #[test]
    fn plugins_entries_are_checked_and_log_where_they_say() {
        assert_eq!(
            plugin_entry("24 6 * * *;/usr/bin/dokku letsencrypt:auto-renew;/var/log/dokku/le.log")
                .unwrap()
                .line(),
            "24 6 * * * /usr/bin/dokku letsencrypt:auto-renew &>> /var/log/dokku/le.log"
        );
        let daily = plugin_entry("@daily;/bin/true").unwrap();
        assert_eq!(daily.line(), "@daily /bin/true");
        assert_eq!(daily.id, "5cruaotm4yzzpnjlsdunblj8qyjp");
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
        let tasks = tasks_of("demo", &json).expect("valid");
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].schedule, "*/5 * * * *");
        assert_eq!(
            tasks[0].id,
            task_id("demo", "*/5 * * * *", "python3 cleanup.py --all")
        );
        assert_ne!(tasks[0].id, tasks[1].id);
        assert!(
            tasks_of("demo", &serde_json::json!({}))
                .expect("none")
                .is_empty()
        );
        for bad in [
            serde_json::json!({"cron": {"command": "x", "schedule": "@daily"}}),
            serde_json::json!({"cron": [{"command": "x"}]}),
            serde_json::json!({"cron": [{"command": "", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "a\nb", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "echo 'x", "schedule": "@daily"}]}),
            serde_json::json!({"cron": [{"command": "x", "schedule": "* * * *"}]}),
            serde_json::json!({"cron": [{"command": "x", "schedule": "@reboot"}]}),
            serde_json::json!({"cron": [{"command": "x", "schedule": "@daily", "concurrency_policy": "sometimes"}]}),
        ] {
            assert!(tasks_of("demo", &bad).is_err(), "{bad}");
        }
    }
}
