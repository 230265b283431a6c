//! The `scheduler-docker-local` plugin: an app's processes as containers on this host's
//! docker engine, `<app>.<type>.<n>`, started from the released image, checked, and only
//! then put in the place of the old ones, which retire in the background.

mod deploy;
mod logs;
mod retire;
mod run;

use dokku_core::entry::{Plugin, TriggerEntry};

pub const SCHEDULER: &str = "docker-local";

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler-docker-local",
    description: "Run apps as containers on this host",
    default_command: None,
    keeps_root: false,
    commands: &[],
    triggers: &[
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
            name: "scheduler-run-stop",
            run: run::stop,
        },
        TriggerEntry {
            name: "scheduler-stop",
            run: deploy::stop,
        },
    ],
};
