//! The `builds` plugin: the record of every build and deploy (`data/builds/<app>/<id>.json`,
//! with its output in `<id>.log`), written through the triggers a deploy fires
//! (`builds-record-start`, `builds-record-finalize`; see `dokku_core::builds`), and the
//! commands that read them, follow a running build and cancel it.

mod commands;
mod record;
mod settings;
mod triggers;

use dokku_core::entry::{Command, Hooks, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "builds",
    description: "Manage running and historical builds",
    commands: &[
        Command {
            name: "cancel",
            args: "<app>",
            help: "Cancel a running build for an app",
            run: commands::cancel,
        },
        Command {
            name: "info",
            args: "<app> <build-id> [--format stdout|json]",
            help: "Show details for a single build",
            run: commands::info,
        },
        Command {
            name: "list",
            args: "[<app>] [--format stdout|json] [--kind build|deploy] [--status <status>]",
            help: "List running builds, or the builds of an app",
            run: commands::list,
        },
        Command {
            name: "output",
            args: "<app> [<build-id>|current]",
            help: "Show the output of a build, following it while it runs",
            run: commands::output,
        },
        Command {
            name: "prune",
            args: "[<app>|--all-apps]",
            help: "Remove build records beyond the retention",
            run: commands::prune,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "builds-generate-id",
            run: triggers::generate_id,
        },
        TriggerEntry {
            name: "builds-record-finalize",
            run: triggers::record_finalize,
        },
        TriggerEntry {
            name: "builds-record-start",
            run: triggers::record_start,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: triggers::renamed,
        },
    ],
    settings: Some(&settings::SETTINGS),
    hooks: Hooks {
        report_rows: Some(commands::report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
