//! The `apps` plugin: an app's life from `apps:create` to `apps:destroy`. It owns
//! `$DOKKU_ROOT/<app>` (whose existence is the app's) and the `apps` property namespace;
//! every other plugin follows through the lifecycle triggers it fires.

mod lifecycle;
mod subcommands;
mod triggers;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "apps",
    description: "Manage apps",
    commands: &[
        Command {
            name: "clone",
            args: "[--skip-deploy] [--ignore-existing] <old-app> <new-app>",
            help: "Clones an app",
            run: subcommands::clone,
        },
        Command {
            name: "create",
            args: "<app>",
            help: "Create a new app",
            run: subcommands::create,
        },
        Command {
            name: "destroy",
            args: "<app> [--force]",
            help: "Permanently destroy an app",
            run: subcommands::destroy,
        },
        Command {
            name: "exists",
            args: "<app>",
            help: "Checks if an app exists",
            run: subcommands::exists,
        },
        Command {
            name: "list",
            args: "[--format stdout|json]",
            help: "List your apps",
            run: subcommands::list,
        },
        Command {
            name: "lock",
            args: "<app>",
            help: "Locks an app for deployment",
            run: subcommands::lock,
        },
        Command {
            name: "locked",
            args: "<app>",
            help: "Checks if an app is locked for deployment",
            run: subcommands::locked,
        },
        Command {
            name: "rename",
            args: "[--skip-deploy] <old-app> <new-app>",
            help: "Rename an app",
            run: subcommands::rename,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Display report about an app",
            run: subcommands::report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear an apps property for an app",
            run: subcommands::set,
        },
        Command {
            name: "unlock",
            args: "<app>",
            help: "Unlocks an app for deployment",
            run: subcommands::unlock,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "app-create",
            run: triggers::app_create,
        },
        TriggerEntry {
            name: "app-destroy",
            run: triggers::app_destroy,
        },
        TriggerEntry {
            name: "app-exists",
            run: triggers::app_exists,
        },
        TriggerEntry {
            name: "app-list",
            run: triggers::app_list,
        },
        TriggerEntry {
            name: "app-maybe-create",
            run: triggers::app_maybe_create,
        },
        TriggerEntry {
            name: "deploy-source-set",
            run: triggers::deploy_source_set,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: triggers::post_app_clone_setup,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: triggers::post_app_rename_setup,
        },
        TriggerEntry {
            name: "report",
            run: triggers::report,
        },
    ],
    settings: Some(&subcommands::SETTINGS),
    ..Plugin::DEFAULTS
};
