//! The triggers the cron plugin answers.

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

/// `post-deploy` / `post-delete`: the crontab, written again from every app's tasks.
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
pub(crate) fn is_entry(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    !first.is_empty() && !first.starts_with('#') && !first.contains('=')
}

/// A plugin's `cron-entries` line, `SCHEDULE;COMMAND[;LOG_FILE]`, as a crontab line whose
/// output goes to the log file when one is named.
pub(crate) fn plugin_entry(line: &str) -> Result<String> {
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
