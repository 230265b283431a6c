//! The `cron` plugin: the scheduled tasks an app's app.json declares (`cron`: entries of
//! `schedule` and `command`) run as one-off containers of the app (`cron:run`, through
//! the scheduler), at their times, from the dokku user's crontab, as Dokku does. The
//! crontab is written whole after every deploy and app removal, from every app's current
//! app.json: cron itself (its own service, started at boot) keeps the times, and a task
//! runs whether or not any dokku process is alive. Each line names the task by its id,
//! never its command, so no command is ever parsed by cron's shell.

mod commands;
mod schedule;
mod settings;
mod triggers;

use dokku_core::entry::{BuildFile, Command, Hooks, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "cron",
    description: "Manage scheduled cron tasks",
    commands: &[
        Command {
            name: "list",
            args: "<app>|--global [--format stdout|json]",
            help: "List the scheduled tasks of an app, or those plugins add for the host",
            run: commands::list,
        },
        Command {
            name: "resume",
            args: "<app> <cron-id>",
            help: "Resume a suspended task",
            run: commands::resume,
        },
        Command {
            name: "run",
            args: "[--detach] [--ttl-seconds N] <app> <cron-id>",
            help: "Run one of an app's scheduled tasks now",
            run: commands::run_task,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a cron property for an app (maintenance.<cron-id> for one task)",
            run: commands::set,
        },
        Command {
            name: "suspend",
            args: "<app> <cron-id>",
            help: "Keep a task from running at its times until resumed",
            run: commands::suspend,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "cron-write",
            run: triggers::rewrite,
        },
        TriggerEntry {
            name: "post-delete",
            run: triggers::rewrite,
        },
        TriggerEntry {
            name: "post-deploy",
            run: triggers::rewrite,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: triggers::check_release,
        },
        TriggerEntry {
            name: "scheduler-cron-write",
            run: triggers::rewrite,
        },
    ],
    // The tasks a release must hold valid are the app.json's.
    settings: Some(&settings::SETTINGS),
    hooks: Hooks {
        report_rows: Some(commands::report_rows),
        ..Hooks::NONE
    },
    build_files: &[BuildFile {
        data: "app-json",
        name: "app.json",
        path_setting: Some(("app-json", "appjson-path")),
    }],
    ..Plugin::DEFAULTS
};
