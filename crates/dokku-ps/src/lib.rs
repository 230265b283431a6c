//! The `ps` plugin: an app's processes. On each build its Procfile (at `procfile-path`,
//! default `Procfile`) is checked as Dokku checks it and kept with the build; once the build
//! is released it becomes the app's Procfile and its process types join the app's scale
//! (`web` at 1, others at 0 until scaled), which the scheduler runs.

mod commands;
mod settings;
mod triggers;

use dokku_core::entry::{BuildFile, Command, Hooks, Plugin, TriggerEntry};

use crate::commands::report_rows;
use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "ps",
    description: "Manage app processes",
    commands: &[
        Command {
            name: "inspect",
            args: "<app>",
            help: "Displays a sanitized version of docker inspect for an app",
            run: commands::inspect,
        },
        Command {
            name: "rebuild",
            args: "[--all [--parallel N]] <app>",
            help: "Rebuild an app from its deploy branch, and deploy it",
            run: commands::rebuild,
        },
        Command {
            name: "restart",
            args: "[--all [--parallel N]] <app> [<proc>]",
            help: "Restart an app's processes (or one process type), with zero downtime",
            run: commands::restart,
        },
        Command {
            name: "restore",
            args: "[<app>]",
            help: "Start every app (or one) that was running and is not",
            run: commands::restore,
        },
        Command {
            name: "retire",
            args: "[<app>]",
            help: "Retire old containers whose time has come, and expired run and cron containers",
            run: commands::retire,
        },
        Command {
            name: "scale",
            args: "[--skip-deploy] [--format stdout|json] <app> [<proc>=<count>...]",
            help: "Get or set how many instances of each process type run",
            run: commands::scale_command,
        },
        Command {
            name: "start",
            args: "[--all [--parallel N]] <app>",
            help: "Start an app that is not running",
            run: commands::start,
        },
        Command {
            name: "stop",
            args: "[--all [--parallel N]] <app>",
            help: "Stop an app's processes",
            run: commands::stop,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-extract",
            run: triggers::keep_procfile,
        },
        TriggerEntry {
            name: "core-post-deploy",
            run: triggers::mark_running,
        },
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: triggers::restart_args,
        },
        TriggerEntry {
            name: "post-create",
            run: triggers::initial_scale,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: triggers::adopt_release,
        },
        TriggerEntry {
            name: "ps-get-property",
            run: triggers::get_property,
        },
        TriggerEntry {
            name: "procfile-get-command",
            run: triggers::procfile_command,
        },
        TriggerEntry {
            name: "procfile-get-raw-command",
            run: triggers::procfile_raw_command,
        },
        TriggerEntry {
            name: "procfile-exists",
            run: triggers::procfile_exists,
        },
        TriggerEntry {
            name: "ps-current-scale",
            run: triggers::current_scale,
        },
        TriggerEntry {
            name: "post-app-clone",
            run: triggers::rebuild_renamed,
        },
        TriggerEntry {
            name: "post-app-rename",
            run: triggers::rebuild_renamed,
        },
    ],
    // The scale follows the Procfile's process types and the app.json's formation.
    build_files: &[
        BuildFile {
            data: "ps",
            name: "Procfile",
            path_setting: Some(("ps", "procfile-path")),
        },
        BuildFile {
            data: "app-json",
            name: "app.json",
            path_setting: Some(("app-json", "appjson-path")),
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
