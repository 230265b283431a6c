//! The `scheduler-docker-local` plugin: an app's processes as containers on this host's
//! docker engine, `<app>.<type>.<n>`, started from the released image, checked, and only
//! then put in the place of the old ones, which retire in the background.

mod deploy;
mod logs;
mod retire;
mod run;

use anyhow::{Result, bail};
use dokku_core::entry::{Plugin, TriggerEntry};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SCHEDULER: &str = "docker-local";

pub const SETTINGS: Settings = Settings {
    namespace: "scheduler-docker-local",
    table: &[
        Setting {
            key: "init-process",
            scope: Scope::AppOrGlobal,
            default: "true",
            validate: settings::boolean,
        },
        Setting {
            key: "parallel-schedule-count",
            scope: Scope::AppOrGlobal,
            default: "1",
            validate: parallel_count,
        },
    ],
};

/// Seconds a stopping container of the app has after SIGTERM before it is killed (ps's
/// `stop-timeout-seconds`, default 30 as in Dokku).
pub(crate) fn stop_timeout(ctx: &dokku_core::entry::Ctx, app: &str) -> u32 {
    ctx.trigger("ps-get-property")
        .args([app, "stop-timeout-seconds"])
        .output_string()
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(30)
}

/// How many containers of a process type start at once: 1 to 64.
fn parallel_count(value: &str) -> Result<()> {
    if !value.parse::<u32>().is_ok_and(|n| (1..=64).contains(&n)) {
        bail!("Invalid parallel-schedule-count {value:?}: 1 to 64");
    }
    Ok(())
}

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler-docker-local",
    description: "Manage the docker-local scheduler integration for an app",
    default_command: None,
    triggers: &[
        TriggerEntry {
            name: "scheduler-app-containers",
            run: deploy::app_containers,
        },
        TriggerEntry {
            name: "scheduler-app-status",
            run: deploy::app_status,
        },
        TriggerEntry {
            name: "scheduler-deploy",
            run: deploy::deploy,
        },
        TriggerEntry {
            name: "scheduler-enter",
            run: run::enter,
        },
        TriggerEntry {
            name: "scheduler-inspect",
            run: deploy::inspect,
        },
        TriggerEntry {
            name: "scheduler-is-deployed",
            run: deploy::is_deployed,
        },
        TriggerEntry {
            name: "scheduler-logs",
            run: logs::logs,
        },
        TriggerEntry {
            name: "scheduler-logs-failed",
            run: logs::failed,
        },
        TriggerEntry {
            name: "scheduler-post-delete",
            run: deploy::post_delete,
        },
        TriggerEntry {
            name: "scheduler-retire",
            run: retire::retire,
        },
        TriggerEntry {
            name: "scheduler-run",
            run: run::run,
        },
        TriggerEntry {
            name: "scheduler-run-list",
            run: run::list,
        },
        TriggerEntry {
            name: "scheduler-run-logs",
            run: logs::run_logs,
        },
        TriggerEntry {
            name: "scheduler-run-retire",
            run: retire::run_retire,
        },
        TriggerEntry {
            name: "scheduler-run-stop",
            run: run::stop,
        },
        TriggerEntry {
            name: "scheduler-stop",
            run: deploy::stop,
        },
        TriggerEntry {
            name: "scheduler-uses-host-cron",
            run: deploy::uses_host_cron,
        },
    ],
    settings: Some(&SETTINGS),
    aliases: &["docker-local"],
    ..Plugin::DEFAULTS
};
