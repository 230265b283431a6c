//! The `logs` plugin: `dokku logs APP` shows the output of the app's containers, through
//! the app's scheduler (`scheduler-logs`), `logs:failed` that of its last failed deploy
//! (`scheduler-logs-failed`); the size docker keeps of it (`max-size`); and
//! where vector ships it (`vector-sink`, `vector-cron-sink`, `app-label-alias`), written
//! to `data/logs/vector.json` whenever one of those changes.

mod commands;
mod settings;
mod vector;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "logs",
    description: "Manage log integration for an app",
    default_command: Some("logs"),
    commands: &[
        Command {
            name: "logs",
            args: "<app> [-n <lines>] [-t] [-q] [-p <proc>]",
            help: "Display recent log output",
            run: commands::show,
        },
        Command {
            name: "failed",
            args: "<app>|--all",
            help: "Shows the output of the last failed deploy",
            run: commands::failed,
        },
        Command {
            name: "report",
            args: "[<app>|--global] [<flag>]",
            help: "Displays a logs report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a logs property for an app",
            run: commands::set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: commands::docker_args,
        },
        TriggerEntry {
            name: "logs-get-property",
            run: commands::get_property,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::rewrite_vector_config,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::renamed,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::rewrite_vector_config,
        },
    ],
    settings: Some(&settings::SETTINGS),
    ..Plugin::DEFAULTS
};
