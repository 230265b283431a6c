//! The `builder-dockerfile` plugin: an app with a `Dockerfile` (or the one named by
//! `dockerfile-path`) is built with `docker image build`, streamed to the pusher.

mod build;
mod commands;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "builder-dockerfile",
    description: "Manage the dockerfile builder of an app",
    default_command: Some("report"),
    keeps_root: false,
    root_commands: &[],
    commands: &[
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a builder-dockerfile report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a builder-dockerfile property for an app",
            run: commands::set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "builder-build",
            run: build::build,
        },
        TriggerEntry {
            name: "builder-detect",
            run: commands::detect,
        },
        TriggerEntry {
            name: "builder-release",
            run: build::release,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: commands::place_dockerfile,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copy_settings,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::copy_settings,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::delete_settings,
        },
    ],
};
