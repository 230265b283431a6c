//! The `buildpacks` plugin: the ordered list of buildpacks an app is built with (written
//! into the source as `.buildpacks` when the tree is extracted), and the builder image
//! (`stack`) herokuish builds it in.

mod commands;
mod settings;
mod triggers;
mod url;

use dokku_core::entry::{AppScoped, BuildFile, Command, Hooks, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "buildpacks",
    description: "Manage buildpack settings for an app",
    usage: Some("Manage buildpacks settings for an app"),
    commands: &[
        Command {
            name: "add",
            args: "[--index 1] <app> <buildpack>",
            help: "Add new app buildpack while inserting into list of buildpacks if necessary",
            run: commands::add,
        },
        Command {
            name: "clear",
            args: "<app>",
            help: "Clear all buildpacks set on the app",
            run: commands::clear,
        },
        Command {
            name: "detect",
            args: "<app> [--branch <branch>]",
            help: "Detect the buildpack for an app (its deploy branch unless one is named)",
            run: commands::detect,
        },
        Command {
            name: "list",
            args: "<app>",
            help: "List all buildpacks for an app",
            run: commands::list,
        },
        Command {
            name: "remove",
            args: "<app> <buildpack>|--index <n>",
            help: "Remove a buildpack set on the app",
            run: commands::remove,
        },
        Command {
            name: "set",
            args: "[--index 1] [--replace] <app> <buildpack>...",
            help: "Set new app buildpack at a given position (the whole list with --replace)",
            run: commands::set,
        },
        Command {
            name: "set-property",
            args: "[<app>|--global] <key> <value>",
            help: "Set or clear a buildpacks property for an app",
            run: commands::set_property,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "buildpack-stack-name",
            run: triggers::stack_name,
        },
        TriggerEntry {
            name: "post-extract",
            run: triggers::write_buildpacks_file,
        },
    ],
    // The tree gets a .buildpacks only from the app's list or its app.json.
    app_scoped: &[AppScoped {
        trigger: "post-extract",
        namespace: settings::SETTINGS.namespace,
        key: Some(settings::LIST),
    }],
    build_files: &[BuildFile {
        data: "app-json",
        name: "app.json",
        path_setting: None,
    }],
    settings: Some(&settings::SETTINGS),
    hooks: Hooks {
        report_rows: Some(commands::report_rows),
        after_set: Some(commands::after_set),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
