//! The `network` plugin: docker networks (`network:create`, `destroy`, `list`, ...) and
//! the networks an app's containers join: `initial-network` (created on it instead of
//! docker's bridge), `attach-post-create` (joined before they start) and
//! `attach-post-deploy` (joined once the deploy is done, under the alias
//! `APP.PROCESS[.TLD]`). `bind-all-interfaces` publishes the web ports on every interface.

mod commands;
mod settings;
mod triggers;

use dokku_core::entry::{AppScoped, Command, Hooks, Plugin, TriggerEntry};

use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "network",
    description: "Manage network settings for an app",
    commands: &[
        Command {
            name: "create",
            args: "<network>",
            help: "Creates an attachable docker network",
            run: commands::create,
        },
        Command {
            name: "destroy",
            args: "<network>",
            help: "Destroys a docker network",
            run: commands::destroy,
        },
        Command {
            name: "exists",
            args: "<network>",
            help: "Checks if a docker network exists",
            run: commands::exists,
        },
        Command {
            name: "info",
            args: "<network> [--format text|json]",
            help: "Outputs information about a docker network",
            run: commands::info,
        },
        Command {
            name: "list",
            args: "[--format text|json] [--dokku-managed]",
            help: "Lists all docker networks",
            run: commands::list,
        },
        Command {
            name: "rebuild",
            args: "<app>",
            help: "Rebuilds network settings for an app",
            run: commands::rebuild,
        },
        Command {
            name: "rebuildall",
            args: "",
            help: "Rebuild network settings for all apps",
            run: commands::rebuild_all,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>...]",
            help: "Set or clear a network property for an app",
            run: commands::set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-deploy",
            run: triggers::attach_post_deploy,
        },
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: triggers::deploy_args,
        },
        TriggerEntry {
            name: "docker-args-run",
            run: triggers::run_args,
        },
        TriggerEntry {
            name: "network-get-property",
            run: triggers::get_property,
        },
        TriggerEntry {
            name: "post-container-create",
            run: triggers::attach_post_create,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(commands::report_rows),
        ..Hooks::NONE
    },
    app_scoped: &[
        AppScoped {
            trigger: "core-post-deploy",
            namespace: "network",
            key: Some("attach-post-deploy"),
        },
        AppScoped {
            trigger: "docker-args-process-deploy",
            namespace: "network",
            key: None,
        },
        AppScoped {
            trigger: "docker-args-run",
            namespace: "network",
            key: Some("initial-network"),
        },
        AppScoped {
            trigger: "post-container-create",
            namespace: "network",
            key: Some("attach-post-create"),
        },
    ],
    ..Plugin::DEFAULTS
};
